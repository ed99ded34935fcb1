# Compute helpers for black-box scenarios (source after common.sh): the loopback fake LLM
# server (tests/fakes/fake_llm.h; AGENT9_FAKE_LLM names its binary) and job helpers over HTTP.
# The model name picks the fake's behaviour: echo, "429-once*", "500-always*", "slow-<ms>*",
# "bad-request*", ...
[ -n "${AGENT9_FAKE_LLM:-}" ] && [ -x "${AGENT9_FAKE_LLM}" ] ||
  skip "AGENT9_FAKE_LLM does not name the fake-llm binary"
command -v jq >/dev/null || skip "jq is not installed"
command -v python3 >/dev/null || skip "no python3"

FAKE_PIDS=()
# A fake answering a slow model sleeps in its handler: kill it outright before the daemons.
trap 'for p in "${FAKE_PIDS[@]:-}"; do [ -n "$p" ] && { kill -KILL "$p"; wait "$p"; } 2>/dev/null || true; done; _a9_cleanup' EXIT

# fake_start NAME [fake-llm args...]: starts a fake LLM server on a free port; sets
# FAKE_<NAME>_URL ("http://127.0.0.1:PORT") and FAKE_<NAME>_PID.
fake_start() {
  local name=$1
  shift
  local out="$A9_ROOT/fake-$name.$RANDOM.out"
  "$AGENT9_FAKE_LLM" "$@" >"$out" 2>&1 &
  local pid=$!
  FAKE_PIDS+=("$pid")
  for _ in $(seq 1 200); do
    grep -q '^listening http://' "$out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; fail "fake-llm $name exited"; }
    sleep 0.05
  done
  grep -q '^listening http://' "$out" || { cat "$out" >&2; fail "fake-llm $name did not listen"; }
  printf -v "FAKE_${name}_URL" '%s' "$(sed -n 's/^listening \(http:\/\/.*\)$/\1/p' "$out" | head -1)"
  printf -v "FAKE_${name}_PID" '%s' "$pid"
}

# fake_stop PID: kill -9 and wait (a slow handler would hold a SIGTERM'd server for seconds).
fake_stop() {
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# submit AGENT JOB-JSON [TOKEN]: POST compute/new over HTTP; prints the job id (fails unless 200).
submit() {
  local code
  code=$(h_code POST "/v1/fs/agents/$1/compute/new" "${3:-$A9_TOKEN}" "$2")
  [ "$code" = 200 ] || fail "submit $2 to $1: HTTP $code $(last_body)"
  last_body | jq -r .job_id
}

# job_field AGENT ID FILE JQ: a field of compute/jobs/<id>/<file> over HTTP.
job_field() { h_get "/v1/fs/agents/$1/compute/jobs/$2/$3" | jq -r "$4"; }
job_state() { job_field "$1" "$2" status .state; }

# wait_state AGENT ID STATE [SECONDS]: polls the job's status until its state is STATE.
wait_state() {
  local got="" n=$(( ${4:-15} * 20 ))
  for _ in $(seq 1 "$n"); do
    got=$(job_state "$1" "$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && return 0
    case "$got" in complete | failed | cancelled) break ;; esac
    sleep 0.05
  done
  fail "job $2 of $1: want state $3, got [$got]: $(h_get "/v1/fs/agents/$1/compute/jobs/$2/status" 2>&1)"
}

# usage_field AGENT JQ: a field of compute/usage (e.g. .day.reserved_usd).
usage_field() { h_get "/v1/fs/agents/$1/compute/usage" | jq -r "$2"; }

# call_errno PATH REQUEST: writes REQUEST on one read-write handle and reads it back (the call
# runs at that read); prints OK or the errno name the read failed with (EINVAL, EDQUOT, ...).
call_errno() {
  python3 - "$1" "$2" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, sys.argv[2].encode())
    os.read(fd, 65536)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
finally:
    try:
        os.close(fd)
    except OSError:
        pass
EOF
}
