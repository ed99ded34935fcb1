# Container helpers for black-box scenarios (source after common.sh): session requests and
# their files over HTTP, waits, and the after-every-case checks of DESIGN 4.4: no sandbox
# process left (uid >= 2000000000) and the run directory (<data>/containers/run) empty.
# Skips (77) unless bubblewrap is installed and we are root (the daemon then runs sandboxes
# as unprivileged uids).
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
[ "$(id -u)" = 0 ] || skip "containers need a root daemon (sandboxes run as uids >= 2000000000)"
command -v jq >/dev/null || skip "jq is not installed"
command -v python3 >/dev/null || skip "no python3"

CT_UID_MIN=2000000000

# ct_config: writes the daemon's runtime config (<data>/agent9.toml) with a uid range of its
# own. The local provider kills every process of a pool uid when a session ends, and sweeps its
# whole range at start: two daemons on one machine with the default range (2000000000, 256)
# kill each other's sandboxes, so each scenario takes a random range above 2000000000 (and
# below 2^31: bwrap cannot map a larger uid).
ct_config() {
  A9_DATA=${A9_DATA:-$A9_ROOT/data}
  mkdir -p "$A9_DATA"
  CT_UID_BASE=$((CT_UID_MIN + 1000000 + (RANDOM * 32768 + RANDOM) % 500000 * 256))
  printf '[containers]\nuid_base = %s\nuid_count = 256\n' "$CT_UID_BASE" >>"$A9_DATA/agent9.toml"
}

# cnew AGENT REQUEST-JSON [TOKEN]: POST containers/new over HTTP; prints the session id
# (fails unless 200).
cnew() {
  local code
  code=$(h_code POST "/v1/fs/agents/$1/containers/new" "${3:-$A9_TOKEN}" "$2")
  [ "$code" = 200 ] || fail "containers/new $2 for $1: HTTP $code $(last_body)"
  local sid
  sid=$(last_body | jq -r .session_id)
  [[ $sid =~ ^[A-Za-z0-9._-]+$ ]] || fail "containers/new for $1: no session_id in $(last_body)"
  echo "$sid"
}

# sfield AGENT SID FILE JQ: a field of containers/sessions/<sid>/<file> over HTTP.
sfield() { h_get "/v1/fs/agents/$1/containers/sessions/$2/$3" | jq -r "$4"; }
sstate() { sfield "$1" "$2" status .state; }

# wait_sstate AGENT SID STATE [SECONDS]: polls the session's status until its state is STATE
# (fails at once when it reaches another final state).
wait_sstate() {
  local got="" n=$(( ${4:-15} * 20 ))
  for _ in $(seq 1 "$n"); do
    got=$(sstate "$1" "$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && return 0
    case "$got" in exited | stopped | failed) break ;; esac
    sleep 0.05
  done
  fail "session $2 of $1: want state $3, got [$got]: $(h_get "/v1/fs/agents/$1/containers/sessions/$2/status" 2>&1)"
}

# wait_send AGENT SID [SECONDS]: waits until the session is in a final state; prints it.
wait_send() {
  local got="" n=$(( ${3:-15} * 20 ))
  for _ in $(seq 1 "$n"); do
    got=$(sstate "$1" "$2" 2>/dev/null || true)
    case "$got" in exited | stopped | failed) echo "$got"; return 0 ;; esac
    sleep 0.05
  done
  fail "session $2 of $1 did not end in ${3:-15} s: state [$got]"
}

# cusage AGENT JQ: a field of containers/usage.
cusage() { h_get "/v1/fs/agents/$1/containers/usage" | jq -r "$2"; }

# cpolicy AGENT JSON: writes containers/policy as the admin (any 2xx).
cpolicy() {
  local code
  code=$(h_code PUT "/v1/fs/agents/$1/containers/policy" "$A9_TOKEN" "$2")
  [[ $code =~ ^20[0-9]$ ]] || fail "containers/policy of $1 <- $2: HTTP $code $(last_body)"
}

# sandbox_pids: pids of processes run as a sandbox uid (>= 2000000000) that belong to this
# scenario: their mount table names our private root (the workdir bind), or their cwd/root
# does, or they descend from one of our daemons. Other scenarios' sandboxes on the same
# machine are left out.
sandbox_pids() {
  local tag pid uid
  tag=$(basename "$A9_ROOT")
  ps -e -o pid=,uid= | while read -r pid uid; do
    [ "$uid" -ge "$CT_UID_MIN" ] 2>/dev/null || continue
    if grep -qs -- "$tag" "/proc/$pid/mountinfo" ||
      grep -qsF -- "$tag" <<<"$(readlink "/proc/$pid/cwd" "/proc/$pid/root" 2>/dev/null)" ||
      _ct_descends "$pid"; then
      echo "$pid"
    fi
  done
}
_ct_descends() {  # _ct_descends PID: true when an ancestor is one of our daemons
  local p=$1 d
  for _ in $(seq 1 64); do
    p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || return 1
    [ -n "$p" ] && [ "$p" -gt 1 ] || return 1
    for d in "${A9_PIDS[@]:-}"; do [ "$p" = "$d" ] && return 0; done
  done
  return 1
}
# all_sandbox_uid_pids: every process with a sandbox uid, ours or not (for messages).
all_sandbox_uid_pids() { ps -e -o pid=,uid=,args= | awk -v m="$CT_UID_MIN" '$2 >= m'; }

# run_dir_entries: what is left under <data>/containers/run.
run_dir_entries() {
  [ -d "$A9_DATA/containers/run" ] || return 0
  find "$A9_DATA/containers/run" -mindepth 1 -maxdepth 2 2>/dev/null
}

# clean_after CASE: after a case, no sandbox process of ours is left and the run dir is empty
# (waits up to 5 s: a session's end is reported before its last process is reaped only if
# the module is late, and that wait is named in the failure).
clean_after() {
  local pids="" left=""
  for _ in $(seq 1 100); do
    pids=$(sandbox_pids | xargs)
    left=$(run_dir_entries | xargs)
    [ -z "$pids" ] && [ -z "$left" ] && return 0
    sleep 0.05
  done
  [ -z "$pids" ] || fail "after $1: sandbox processes left: $(ps -o pid=,uid=,args= -p "${pids// /,}" 2>/dev/null)"
  fail "after $1: the run dir is not empty: $left"
}

# stream_times SOURCE [TOKEN]: reads a session's output to its end and prints one JSON array of
# [seconds since the read began, line] pairs. SOURCE is a file path (NDJSON lines), or an
# http(s) URL (SSE: each `data:` line); a read gives up after 30 s.
stream_times() {
  python3 - "$1" "${2:-}" <<'EOF'
import json, sys, time, urllib.request
src, tok = sys.argv[1], sys.argv[2]
t0 = time.time()
out = []
if src.startswith("http"):
    req = urllib.request.Request(src, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=30) as r:
        for raw in r:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                out.append([time.time() - t0, line[5:].strip()])
else:
    with open(src, "rb", buffering=0) as f:
        buf = b""
        while True:
            d = f.read(65536)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out.append([time.time() - t0, line.decode()])
        if buf:
            out.append([time.time() - t0, buf.decode()])
print(json.dumps(out))
EOF
}

# call_errno PATH REQUEST: writes REQUEST on one read-write handle and reads it back (the call
# runs at that read); prints OK or the errno name the read (or write) failed with.
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

# errno_of CMD...: runs CMD; prints OK, or the errno name its failure message names.
errno_of() {
  local out
  if out=$("$@" 2>&1); then echo OK; else errno_class "$out"; fi
}

# soft CMD...: runs CMD (a function of checks) in a subshell; a failure is recorded rather
# than ending the scenario, so one run reports every case that breaks the contract.
# soft_done: fails the scenario when any was recorded, listing them all.
CT_SOFT_FAILS=()
soft() {
  local err
  if ! err=$( ("$@") 2>&1 >/dev/null); then
    CT_SOFT_FAILS+=("$(grep '^FAIL' <<<"$err" | head -1 | cut -c1-600)")
    echo "recorded: ${CT_SOFT_FAILS[-1]}" >&2
  fi
}
soft_done() {
  [ "${#CT_SOFT_FAILS[@]}" = 0 ] && return 0
  printf '  %s\n' "${CT_SOFT_FAILS[@]}" >&2
  fail "${#CT_SOFT_FAILS[@]} case(s) broke the contract (above)"
}
