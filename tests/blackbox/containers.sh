#!/usr/bin/env bash
# Container sessions through a real daemon and the local (bubblewrap) provider (DESIGN 4.4):
# provider health, sessions over FUSE (both call forms) and HTTP, live output (file and SSE),
# results; the limits (pids and a fork bomb, memory, cpu_time, wall_time, output_bytes) with
# their reasons; policy refusals (403 naming the rule) and idempotency; no network without
# policy; path escapes through files/; files/ written from the host and read inside by execs
# (and back); ctl stop and kill; max_concurrent / max_queued (429, EAGAIN); the day budget
# (402, EDQUOT); usage after every way a session can end; an exec agent's {"run": ...} and its
# containers.session event; bad requests; who may read and write what. After every case no
# sandbox process (uid >= 2000000000) is left and <data>/containers/run is empty. Cases run
# under `soft` are recorded when they break the contract and listed together at the end.
source "$(dirname "$0")/lib/common.sh"
need_fuse
source "$(dirname "$0")/lib/containers.sh"

M=$(a9_mountpoint mnt)
ct_config
a9_start --mount "$M"
a9() { "$AGENT9_BIN" "$@"; }
create() {  # create ID [JSON]: prints the agent's token
  local body=${2:-}
  [ -n "$body" ] || body="{\"id\":\"$1\"}"
  expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" "$body")" "create $1"
  last_body | jq -r .token
}
TA=$(create a)
TB=$(create b)
# Again with a's agent-local view too (--mount-agent needs the agent to exist at start).
MA=$(a9_mountpoint mnt-a)
a9_stop
fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M" --mount-agent "a=$MA"
A=$M/agents/a/containers
S=/v1/fs/agents/a/containers
req() {  # req KIND COMMAND [EXTRA (a jq object)]: a request as JSON
  local extra=${3:-'{}'}
  jq -cn --arg k "$1" --arg c "$2" "{kind: \$k, command: \$c} + ($extra)"
}

# ---- the provider ---------------------------------------------------------------------------
expect_contains " $(ls "$A/providers" | xargs) " " local " "ls providers"
HEALTH=$(cat "$A/providers/local/health")
case "$HEALTH" in "ok cgroup" | "ok rlimit") ;; *) fail "local health: [$HEALTH]" ;; esac
expect_eq "$HEALTH" "$(h_get $S/providers/local/health)" "health over HTTP"
expect_eq local "$(jq -r .id "$A/providers/local/info")" "local info id"
echo "local provider: $HEALTH" >&2
expect_eq 200 "$(h_code GET $S/policy)" "admin reads the policy"
cpolicy a '{"network":false,"max_concurrent":8,"max_queued":32}'

# ---- a Python one-liner over FUSE (both call forms) and HTTP; live output ---------------------
PY='import time; print("one", flush=True); time.sleep(1.5); print("two", flush=True)'
exec 3<>"$A/new"
req ephemeral "python3 -c '$PY'" >&3
ANS=$(cat <&3)
exec 3>&-
S1=$(jq -r .session_id <<<"$ANS")
[[ $S1 =~ ^[A-Za-z0-9._-]+$ ]] || fail "session id from the call handle: [$ANS]"
expect_eq "containers/sessions/$S1/status" "$(jq -r .status_path <<<"$ANS")" "status_path"
expect_eq "containers/sessions/$S1/output" "$(jq -r .output_path <<<"$ANS")" "output_path"
case "$(jq -r .state <<<"$ANS")" in pending | running) ;; *) fail "state in the answer: $ANS" ;; esac
# The output file streams: "one" comes ~1.5 s before the end line.
TIMES=$(stream_times "$A/sessions/$S1/output")
T_ONE=$(jq -r '[.[] | select(.[1] | fromjson | .stream == "stdout" and (.data | test("one")))][0][0]' <<<"$TIMES")
T_END=$(jq -r '[.[] | select(.[1] | fromjson | has("end"))][0][0]' <<<"$TIMES")
[ "$T_ONE" != null ] && [ "$T_END" != null ] || fail "output lacks the first line or the end: $TIMES"
awk -v a="$T_ONE" -v b="$T_END" 'BEGIN { exit !(b - a >= 0.5) }' ||
  fail "the first line did not arrive before the end (one at $T_ONE s, end at $T_END s): $TIMES"
OUT=$(cat "$A/sessions/$S1/output")
expect_eq "one
two" "$(jq -j 'select(.stream == "stdout") | .data' <<<"$OUT")" "stdout lines in output"
END=$(tail -1 <<<"$OUT" | jq -c .end)
expect_eq exited "$(jq -r .state <<<"$END")" "end line state"
expect_eq "$(jq -c . "$A/sessions/$S1/result")" "$END" "end line = result"
R1=$(cat "$A/sessions/$S1/result")
expect_eq "$S1 exited 0" "$(jq -r '"\(.session_id) \(.state) \(.exit_code)"' <<<"$R1")" "result"
expect_contains "$(jq -r .stdout_tail <<<"$R1")" "two" "stdout_tail"
expect_eq true "$(jq '.usage | has("cpu_ms") and has("wall_ms") and has("memory_peak_bytes") and has("output_bytes")' <<<"$R1")" "usage fields: $R1"
[ "$(jq .usage.wall_ms <<<"$R1")" -ge 500 ] || fail "wall_ms below the sleep: $R1"
expect_eq 8 "$(jq .usage.output_bytes <<<"$R1")" "output_bytes (one\\ntwo\\n)"
expect_eq "one
two" "$(cat "$A/sessions/$S1/stdout")" "stdout file"
expect_eq "" "$(cat "$A/sessions/$S1/stderr")" "stderr file"
expect_eq "$(jq -c .usage <<<"$R1")" "$(jq -c ".usage // ." "$A/sessions/$S1/usage")" "usage file (its usage)"
ST=$(cat "$A/sessions/$S1/status")
expect_eq "exited local 0" "$(jq -r '"\(.state) \(.provider) \(.exit_code)"' <<<"$ST")" "status"
expect_eq true "$(jq 'has("created_at") and has("started_at") and has("ended_at")' <<<"$ST")" "status times: $ST"
# The shell form: echo > new; cat new. stderr and a non-zero exit.
req ephemeral 'echo to-err >&2; exit 7' >"$A/new"
S2=$(jq -r .session_id "$A/new")
[ -n "$S2" ] && [ "$S2" != null ] && [ "$S2" != "$S1" ] || fail "session id from echo > new; cat new: [$S2]"
expect_eq exited "$(wait_send a "$S2")" "exit 7 state"
expect_eq 7 "$(sfield a "$S2" status .exit_code)" "exit code 7"
expect_eq to-err "$(cat "$A/sessions/$S2/stderr")" "stderr"
expect_eq "to-err" "$(jq -j 'select(.stream == "stderr") | .data' "$A/sessions/$S2/output")" "stderr in output"
# HTTP, and SSE while it runs.
S3=$(cnew a "$(req ephemeral "python3 -c '$PY'" '{env: {GREETING: "hej"}, files: {"in.txt": "from files\n"}}')")
TIMES=$(stream_times "$A9_URL$S/sessions/$S3/output?watch=1" "$A9_TOKEN")
T_ONE=$(jq -r '[.[] | select(.[1] | fromjson | .stream == "stdout" and (.data | test("one")))][0][0]' <<<"$TIMES")
T_END=$(jq -r '[.[] | select(.[1] | fromjson | has("end"))][0][0]' <<<"$TIMES")
[ "$T_ONE" != null ] && [ "$T_END" != null ] || fail "SSE lacks the first line or the end: $TIMES"
awk -v a="$T_ONE" -v b="$T_END" 'BEGIN { exit !(b - a >= 0.5) }' ||
  fail "SSE: the first line did not arrive before the end (one at $T_ONE s, end at $T_END s)"
SSE=$(curl -sS -m 10 -N -H "Authorization: Bearer $A9_TOKEN" -H 'Accept: text/event-stream' "$A9_URL$S/sessions/$S3/output")
SSE_LINES=$(sed -n 's/^data: *//p' <<<"$SSE")
expect_eq "one
two" "$(jq -j 'select(.stream == "stdout") | .data' <<<"$SSE_LINES")" "SSE by Accept"
expect_eq exited "$(jq -r 'select(.end) | .end.state' <<<"$SSE_LINES")" "SSE end line"
expect_contains "$(h_get "$S/sessions/$S3/output")" '"end"' "GET without watch: the backlog"
S4=$(cnew a "$(req ephemeral 'echo "$GREETING"; cat in.txt; pwd' '{env: {GREETING: "hej"}, files: {"in.txt": "from files\n"}, workdir: "/work"}')")
expect_eq exited "$(wait_send a "$S4")" "env/files session"
expect_eq "hej
from files
/work" "$(h_get "$S/sessions/$S4/stdout")" "env, files and workdir"
S5=$(cnew a '{"kind":"ephemeral","commands":["echo first","echo second"]}')
expect_eq exited "$(wait_send a "$S5")" "commands session"
expect_eq "first
second" "$(h_get "$S/sessions/$S5/stdout")" "commands run in order"
grep -qx "$S3" <<<"$(ls "$A/sessions")" || fail "ls sessions lacks $S3"
expect_eq 404 "$(h_code GET "$S/sessions/nosuchsession/status")" "unknown session"
clean_after "the python sessions"

# ---- limits: pids, memory, cpu_time, wall_time, output_bytes ---------------------------------
limit_case() {  # limit_case REASON COMMAND LIMITS-JSON
  local sid st
  sid=$(cnew a "$(req ephemeral "$2" "{limits: $3}")")
  st=$(wait_send a "$sid" 30)
  local status
  status=$(h_get "$S/sessions/$sid/status" | jq -c .)
  [ "$st" = failed ] && [ "$(jq -r .reason <<<"$status")" = "$1" ] ||
    fail "limit $1: command [$2] limits $3: want failed/$1, got $status"
  expect_eq "$1" "$(sfield a "$sid" result .reason)" "result reason ($1)"
  clean_after "the $1 limit"
}
soft limit_case pids 'while :; do sleep 1000 & done' '{pids: 32, wall_ms: 20000}'
soft limit_case memory 'python3 -c "b = []
while True: b.append(bytearray(8 << 20))"' '{memory_bytes: 67108864, wall_ms: 20000}'
soft limit_case cpu_time 'while :; do :; done' '{cpu_ms: 500, wall_ms: 20000}'
soft limit_case wall_time 'sleep 30' '{wall_ms: 500}'
soft limit_case output_bytes 'yes' '{output_bytes: 65536, wall_ms: 20000}'
# A fork bomb proper (functions piping into each other) ends on its pids limit too.
fork_bomb() {
  local sid
  sid=$(cnew a "$(req ephemeral 'f() { f | f & }; f; sleep 30' '{limits: {pids: 32, wall_ms: 10000}}')")
  wait_send a "$sid" 30 >/dev/null
  expect_eq "failed pids" "$(sfield a "$sid" status '"\(.state) \(.reason)"')" "fork bomb: $(h_get "$S/sessions/$sid/status" | jq -c .)"
  clean_after "the fork bomb"
}
soft fork_bomb

# ---- policy refusals (403 naming the rule), idempotency -------------------------------------
cpolicy a '{"network":false,"max_concurrent":8,"max_queued":32,"max_wall_ms":60000,"max_memory_bytes":1073741824}'
expect_eq 403 "$(h_code POST "$S/new" "$A9_TOKEN" '{"kind":"ephemeral","command":"true","limits":{"wall_ms":120000}}')" "wall_ms past max_wall_ms"
expect_contains "$(last_body)" max_wall_ms "403 names max_wall_ms"
expect_eq EACCES "$(call_errno "$A/new" '{"kind":"ephemeral","command":"true","limits":{"memory_bytes":2147483648}}')" "memory past max_memory_bytes over FUSE"
expect_eq 403 "$(h_code POST "$S/new" "$A9_TOKEN" '{"kind":"ephemeral","command":"true","limits":{"memory_bytes":2147483648}}')" "memory past max_memory_bytes"
expect_contains "$(last_body)" max_memory_bytes "403 names max_memory_bytes"
SID1=$(cnew a '{"kind":"ephemeral","command":"echo once","idempotency_key":"k-1"}')
expect_eq "$SID1" "$(cnew a '{"kind":"ephemeral","command":"echo once","idempotency_key":"k-1"}')" "same key, same session"
expect_eq exited "$(wait_send a "$SID1")" "the keyed session"
expect_eq once "$(h_get "$S/sessions/$SID1/stdout")" "it ran once"
expect_eq true "$(cusage a 'has("tick") and (.day | has("reserved_usd") and has("spent_usd") and has("limit_usd") and has("remaining_usd"))')" "usage shape"
clean_after "policy refusals"

# ---- network ----------------------------------------------------------------------------------
PORT=${A9_URL##*:}
SN=$(cnew a "$(req ephemeral "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $PORT), timeout=2); print(\"connected\")'")")
expect_eq exited "$(wait_send a "$SN")" "network attempt"
[ "$(sfield a "$SN" status .exit_code)" != 0 ] || fail "the sandbox reached the daemon's port without network"
expect_eq "" "$(h_get "$S/sessions/$SN/stdout")" "no connection"
expect_eq 403 "$(h_code POST "$S/new" "$A9_TOKEN" '{"kind":"ephemeral","command":"true","network":true}')" "network:true without policy"
expect_contains "$(last_body)" network "403 names network"
expect_eq EACCES "$(call_errno "$A/new" '{"kind":"ephemeral","command":"true","network":true}')" "network:true over FUSE"
clean_after "network"

# ---- interactive: files/ in and out, exec, path escapes ---------------------------------------
# The session's own command makes files and symlinks inside, then it idles for exec and files/.
exec 3<>"$A/new"
req interactive 'echo made inside > b.txt; mkdir sub; echo deep > sub/c.txt; ln -s /etc/shadow shadow; ln -s ../../../../../etc/passwd passwd; ln -s b.txt good' >&3
SI=$(cat <&3 | jq -r .session_id)
exec 3>&-
wait_sstate a "$SI" running
F=$A/sessions/$SI/files
[ -d "$A9_DATA/containers/run/$SI" ] || fail "no run dir $A9_DATA/containers/run/$SI while $SI runs"
for _ in $(seq 1 100); do [ -e "$F/good" ] && break; sleep 0.05; done
expect_eq "made inside" "$(cat "$F/b.txt")" "a file made inside, read from the host"
expect_eq deep "$(cat "$F/sub/c.txt")" "nested file"
expect_eq "b.txt good passwd shadow sub" "$(ls "$F" | xargs)" "ls files"
echo hi >"$F/a.txt"
expect_eq hi "$(cat "$F/a.txt")" "files/a.txt read back from the host"
cp "$F/b.txt" "$F/copy.txt"
expect_eq "made inside" "$(cat "$F/copy.txt")" "cp within files/"
expect_eq "made inside" "$(h_get "$S/sessions/$SI/files/b.txt")" "files/ over HTTP"
expect_eq 204 "$(h_code PUT "$S/sessions/$SI/files/h.txt" "$A9_TOKEN" 'over http')" "PUT files/h.txt"
expect_eq "over http" "$(cat "$F/h.txt")" "an HTTP write, read over FUSE"
exec_run() {  # exec_run SID COMMAND: runs an exec in SID (FUSE call form); prints its stdout
  local ans eid
  exec 4<>"$A/sessions/$1/exec/new"
  jq -cn --arg c "$2" '{command: $c}' >&4
  ans=$(cat <&4)
  exec 4>&-
  eid=$(jq -r .exec_id <<<"$ans")
  [ -n "$eid" ] && [ "$eid" != null ] || fail "exec/new [$2]: $ans"
  for _ in $(seq 1 200); do
    case "$(jq -r .state "$A/sessions/$1/exec/$eid/status" 2>/dev/null)" in exited | stopped | failed) break ;; esac
    sleep 0.05
  done
  jq -j 'select(.stream == "stdout") | .data' "$A/sessions/$1/exec/$eid/output"
  echo "$eid" >"$A9_ROOT/exec_last"
}
exec_case() {  # the host's writes, read inside by execs; an exec's result
  local eid
  expect_eq "hi" "$(exec_run "$SI" 'cat a.txt')" "files/ write, read inside (exec cat a.txt; exec status: $(cat "$A/sessions/$SI/exec/$(cat "$A9_ROOT/exec_last")/status" | jq -c .))"
  eid=$(cat "$A9_ROOT/exec_last")
  expect_eq 0 "$(jq .exit_code "$A/sessions/$SI/exec/$eid/result")" "exec result exit code"
  expect_eq "over http" "$(exec_run "$SI" 'cat h.txt')" "an HTTP write, read inside"
  expect_eq "made inside" "$(exec_run "$SI" 'cat copy.txt')" "a cp, read inside"
  exec_run "$SI" 'echo from exec > e.txt' >/dev/null
  expect_eq "from exec" "$(cat "$F/e.txt")" "a file an exec made"
  expect_eq 200 "$(h_code POST "$S/sessions/$SI/exec/new" "$A9_TOKEN" '{"command":"echo over http"}')" "exec/new over HTTP"
  eid=$(last_body | jq -r .exec_id)
  for _ in $(seq 1 100); do
    case "$(sfield a "$SI" "exec/$eid/status" .state)" in exited | failed | stopped) break ;; esac
    sleep 0.05
  done
  expect_eq "over http" "$(h_get "$S/sessions/$SI/exec/$eid/output" | jq -j 'select(.stream == "stdout") | .data' | tr -d '\n')" "exec output over HTTP"
}
soft exec_case
expect_eq 400 "$(h_code POST "$S/sessions/$S1/exec/new" "$A9_TOKEN" '{"command":"true"}' | sed 's/^409$/400/; s/^503$/400/')" "exec in an ended session"
# Escapes: `..` (the kernel resolves it above files/, the HTTP edge refuses it), absolute
# symlinks and relative ones that climb out are refused, never followed.
SHADOW_HEAD=$(head -c 16 /etc/shadow)
for p in "$F/../../etc/passwd" "$F/../../../../../../etc/passwd"; do
  if OUT=$(cat "$p" 2>/dev/null); then fail "cat $p succeeded: $(head -c 80 <<<"$OUT")"; fi
done
for l in shadow passwd; do
  E=$(errno_of cat "$F/$l")
  expect_eq EACCES "$E" "cat files/$l (a symlink out of the workdir)"
  CODE=$(h_code GET "$S/sessions/$SI/files/$l")
  expect_eq 403 "$CODE" "GET files/$l"
  if grep -q "root:" "$A9_ROOT/last_body"; then fail "GET files/$l leaked the host file"; fi
done
if grep -sqF -- "$SHADOW_HEAD" "$F/shadow"; then fail "files/shadow shows the host's /etc/shadow"; fi
E=$(errno_of sh -c "echo pwned > '$F/shadow'")
expect_eq EACCES "$E" "write through an escaping symlink"
if grep -q pwned <<<"$(head -c 10 /etc/shadow)"; then fail "the host's /etc/shadow was written"; fi
expect_eq "made inside" "$(cat "$F/good")" "a symlink inside the workdir is fine"
CODE=$(curl -sS --path-as-is -o "$A9_ROOT/last_body" -w '%{http_code}' -H "Authorization: Bearer $A9_TOKEN" \
  "$A9_URL$S/sessions/$SI/files/../../../../../../etc/passwd")
case "$CODE" in 400 | 403) ;; *) fail "GET files/../../etc/passwd: HTTP $CODE $(last_body | head -c 200)" ;; esac
CODE=$(h_code GET "$S/sessions/$SI/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd")
case "$CODE" in 400 | 403 | 404) ;; *) fail "GET files/%2e%2e/...: HTTP $CODE $(last_body | head -c 200)" ;; esac
if grep -q "root:" "$A9_ROOT/last_body"; then fail "percent-encoded .. leaked /etc/passwd"; fi
echo stop >"$A/sessions/$SI/ctl"
expect_eq stopped "$(wait_send a "$SI")" "interactive stop"
expect_fail cat "$F/a.txt"  # the workdir is gone with the session
clean_after "interactive files"

# ---- ctl: stop, kill, a TERM-proof command -----------------------------------------------------
SS=$(cnew a "$(req ephemeral 'sleep 1000')")
wait_sstate a "$SS" running
echo stop >"$A/sessions/$SS/ctl"
expect_eq stopped "$(wait_send a "$SS" 10)" "stop"
expect_fail sh -c "echo stop > '$A/sessions/$SS/ctl'"  # already ended
SK=$(cnew a "$(req ephemeral 'sleep 1000')")
wait_sstate a "$SK" running
expect_eq 204 "$(h_code PUT "$S/sessions/$SK/ctl" "$A9_TOKEN" kill)" "kill over HTTP"
expect_eq stopped "$(wait_send a "$SK" 5)" "kill"
ST=$(cnew a "$(req ephemeral "trap '' TERM; echo ready; while :; do sleep 1; done")")
wait_sstate a "$ST" running
expect_eq 400 "$(h_code PUT "$S/sessions/$ST/ctl" "$A9_TOKEN" explode)" "unknown ctl verb"
t0=$(date +%s)
echo stop >"$A/sessions/$ST/ctl"
expect_eq stopped "$(wait_send a "$ST" 20)" "stop of a command that ignores SIGTERM"
echo "stop of a TERM-proof command took $(( $(date +%s) - t0 )) s" >&2
expect_eq 409 "$(h_code PUT "$S/sessions/$SK/ctl" "$A9_TOKEN" stop)" "stop after the end (docs: 409)"
clean_after "ctl"

# ---- max_concurrent 4, max_queued 10: 20 at once ---------------------------------------------
create cc >/dev/null
cpolicy cc '{"max_concurrent":4,"max_queued":10}'
expect_eq 4 "$(h_get /v1/fs/agents/cc/containers/policy | jq .max_concurrent)" "policy written"
seq 1 20 | xargs -P 20 -I{} curl -sS -o "$A9_ROOT/cc.{}.json" -w '%{http_code}\n' -X POST \
  -H "Authorization: Bearer $A9_TOKEN" --data-binary '{"kind":"ephemeral","command":"sleep 3"}' \
  "$A9_URL/v1/fs/agents/cc/containers/new" >"$A9_ROOT/cc.codes"
expect_eq "14 6" "$(grep -c '^200$' "$A9_ROOT/cc.codes") $(grep -c '^429$' "$A9_ROOT/cc.codes")" "20 at once: 200s and 429s ($(sort "$A9_ROOT/cc.codes" | uniq -c | xargs))"
for f in "$A9_ROOT"/cc.*.json; do jq -r '.session_id // empty' "$f" 2>/dev/null; done >"$A9_ROOT/cc.sids"
expect_eq 14 "$(wc -l <"$A9_ROOT/cc.sids")" "session ids"
grep -qs '"error"' "$A9_ROOT"/cc.*.json || fail "no 429 body names an error"
states() { while read -r s; do sstate cc "$s"; done <"$A9_ROOT/cc.sids" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'; }
for _ in $(seq 1 50); do
  FIRST=$(states)
  case "$FIRST" in *"running=4 "*) break ;; esac
  sleep 0.1
done
expect_contains "$FIRST" "running=4 " "4 run at once"
expect_contains "$FIRST" "pending=10 " "10 queue"
expect_eq EAGAIN "$(call_errno "$M/agents/cc/containers/new" '{"kind":"ephemeral","command":"true"}')" "queue full over FUSE"
retry_after() {
  local hdr
  hdr=$(curl -sS -D - -o /dev/null -X POST -H "Authorization: Bearer $A9_TOKEN" \
    --data-binary '{"kind":"ephemeral","command":"true"}' "$A9_URL/v1/fs/agents/cc/containers/new")
  expect_contains "$hdr" " 429" "queue full: status line"
  grep -qi '^retry-after:' <<<"$hdr" || fail "429 without Retry-After (DESIGN 6): $hdr"
}
soft retry_after
# While they run: the agent's usage counts at most 4 running (one read is one snapshot).
MAXRUN=0
for _ in $(seq 1 400); do
  n=$(cusage cc '.sessions.running // empty' 2>/dev/null || true)
  [ -n "$n" ] && [ "$n" -gt "$MAXRUN" ] && MAXRUN=$n
  [ "$(cusage cc '(.sessions.running // 0) + (.sessions.pending // 0)' 2>/dev/null)" = 0 ] && break
  sleep 0.1
done
[ "$MAXRUN" -le 4 ] || fail "usage showed $MAXRUN sessions running at once (max_concurrent 4)"
for _ in $(seq 1 100); do
  case "$(states)" in *running=* | *pending=*) sleep 0.1 ;; *) break ;; esac
done
# And after: the sessions' own started_at / ended_at never overlap more than 4 deep.
while read -r s; do h_get "/v1/fs/agents/cc/containers/sessions/$s/status"; done <"$A9_ROOT/cc.sids" |
  jq -s -c '.' >"$A9_ROOT/cc.status.json"
OVERLAP=$(python3 - "$A9_ROOT/cc.status.json" <<'PY'
import json, sys
from datetime import datetime
def t(x): return datetime.strptime(x.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
ev = []
for st in json.load(open(sys.argv[1])):
    ev.append((t(st["started_at"]), 1)); ev.append((t(st["ended_at"]), -1))
ev.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
n = m = 0
for _, d in ev:
    n += d; m = max(m, n)
print(m)
PY
)
[ "$OVERLAP" -le 4 ] || fail "by started_at/ended_at, $OVERLAP sessions ran at once (max_concurrent 4): $(jq -c '[.[] | [.started_at, .ended_at]]' "$A9_ROOT/cc.status.json")"
expect_eq "exited=14 " "$(states)" "all 14 ran"
expect_eq 0 "$(cusage cc .day.reserved_usd)" "cc reserved at the end"
clean_after "max_concurrent"

# ---- the day budget: 402 / EDQUOT before anything starts -------------------------------------
create bq >/dev/null
Q=$M/agents/bq/containers
expect_eq 204 "$(h_code PUT /v1/fs/agents/bq/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":10}')" "day limit 10"
cpolicy bq '{"usd_per_cpu_second":1000,"usd_per_wall_second":1000}'
expect_eq 402 "$(h_code POST /v1/fs/agents/bq/containers/new "$A9_TOKEN" '{"kind":"ephemeral","command":"touch /tmp/started","max_cost_usd":100}')" "over budget"
expect_eq 10 "$(last_body | jq .remaining_usd)" "402 remaining_usd"
expect_eq true "$(last_body | jq 'has("error") and has("message")')" "402 body"
expect_eq EDQUOT "$(call_errno "$Q/new" '{"kind":"ephemeral","command":"true","max_cost_usd":100}')" "over budget over FUSE"
# Without max_cost_usd the hold is what the limits may cost (wall 60 s at 1000/s): refused too.
expect_eq 402 "$(h_code POST /v1/fs/agents/bq/containers/new "$A9_TOKEN" '{"kind":"ephemeral","command":"true","limits":{"wall_ms":60000,"cpu_ms":60000}}')" "over budget by the limits"
expect_eq 0 "$(ls "$Q/sessions" | wc -l)" "refused requests leave no session"
expect_eq "10 0 0 10" "$(cusage bq '"\(.day.limit_usd) \(.day.reserved_usd) \(.day.spent_usd) \(.day.remaining_usd)"')" "usage after refusals"
expect_eq "$(h_get /v1/fs/agents/bq/compute/usage | jq -c .day)" "$(cusage bq '.day|tojson')" "containers/usage day = compute/usage day"
clean_after "budget"

# ---- usage after every way of ending ----------------------------------------------------------
create u >/dev/null
expect_eq 204 "$(h_code PUT /v1/fs/agents/u/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":100000000}')" "u day limit"
cpolicy u '{"usd_per_cpu_second":1000,"usd_per_wall_second":1000,"max_concurrent":8}'
UE=$(cnew u '{"kind":"ephemeral","command":"sleep 0.2; echo done","max_cost_usd":1000000}')
US=$(cnew u '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000}')
UK=$(cnew u '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000}')
UL=$(cnew u '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000,"limits":{"wall_ms":400}}')
UI=$(cnew u '{"kind":"interactive","max_cost_usd":1000000}')
UX=$(cnew u '{"kind":"ephemeral","command":"while :; do :; done","max_cost_usd":1000000,"limits":{"cpu_ms":300,"wall_ms":20000}}')
for s in "$US" "$UK" "$UI"; do wait_sstate u "$s" running; done
[ "$(cusage u .day.reserved_usd)" -gt 0 ] || fail "nothing reserved while sessions run: $(h_get /v1/fs/agents/u/containers/usage)"
echo stop >"$M/agents/u/containers/sessions/$US/ctl"
echo kill >"$M/agents/u/containers/sessions/$UK/ctl"
echo stop >"$M/agents/u/containers/sessions/$UI/ctl"
expect_eq exited "$(wait_send u "$UE")" "u exit"
expect_eq stopped "$(wait_send u "$US")" "u stop"
expect_eq stopped "$(wait_send u "$UK")" "u kill"
expect_eq stopped "$(wait_send u "$UI")" "u interactive stop"
expect_eq failed "$(wait_send u "$UL")" "u wall limit"
expect_eq failed "$(wait_send u "$UX" 20)" "u cpu limit"
sleep 0.2
USAGE=$(h_get /v1/fs/agents/u/containers/usage)
expect_eq 0 "$(jq .day.reserved_usd <<<"$USAGE")" "u reserved after every way of ending: $USAGE"
SPENT=$(jq .day.spent_usd <<<"$USAGE")
[ "$SPENT" -gt 0 ] || fail "u spent is 0 with prices set: $USAGE"
SUM=0
for s in "$UE" "$US" "$UK" "$UL" "$UI" "$UX"; do
  c=$(sfield u "$s" result .cost_usd)
  [ "$c" -gt 0 ] || fail "session $s cost $c with prices set: $(h_get "/v1/fs/agents/u/containers/sessions/$s/result")"
  SUM=$((SUM + c))
done
expect_eq "$SUM" "$SPENT" "spent = the sessions' costs"
expect_eq "$USAGE" "$(h_get /v1/fs/agents/u/containers/usage)" "usage steady"
clean_after "usage"

# ---- an exec agent's {"run": ...} and its containers.session event ----------------------------
cat >"$A9_ROOT/runner.sh" <<'EOF'
#!/bin/sh
exec jq -c 'if .trigger.type == "message" then {run: {kind: "ephemeral", command: "echo from-tick; exit 3"}}
  elif .trigger.type == "event" then {state: {event: .trigger.event}} else {} end'
EOF
chmod +x "$A9_ROOT/runner.sh"
create runner "{\"id\":\"runner\",\"config\":{\"kind\":\"exec\",\"program\":\"$A9_ROOT/runner.sh\"}}" >/dev/null
a9 send runner go >/dev/null
wait_for /v1/fs/agents/runner/state '"containers.session"'
EV=$(h_get /v1/fs/agents/runner/state | jq -c .event)
expect_eq containers.session "$(jq -r .type <<<"$EV")" "event type"
expect_eq 3 "$(jq .exit_code <<<"$EV")" "event exit code: $EV"
expect_contains "$(jq -r .stdout_tail <<<"$EV")" from-tick "event stdout_tail"
expect_eq true "$(jq 'has("usage")' <<<"$EV")" "event usage"
RS=$(jq -r .session_id <<<"$EV")
expect_eq exited "$(sstate runner "$RS")" "the tick's session"
ETR=$(h_get /v1/fs/agents/runner/logs/trajectory | jq -cs 'map(select(.trigger.type == "event")) | first // empty')
[ -n "$ETR" ] || fail "no event tick in the trajectory"
# An array of requests starts each.
cat >"$A9_ROOT/runner2.sh" <<'EOF'
#!/bin/sh
exec jq -c 'if .trigger.type == "message" then {run: [{kind: "ephemeral", command: "echo one"}, {kind: "ephemeral", command: "echo two"}]}
  elif .trigger.type == "event" then {state: {events: ((.state.events // []) + [.trigger.event.stdout_tail])}} else {} end'
EOF
chmod +x "$A9_ROOT/runner2.sh"
create runner2 "{\"id\":\"runner2\",\"config\":{\"kind\":\"exec\",\"program\":\"$A9_ROOT/runner2.sh\"}}" >/dev/null
a9 send runner2 go >/dev/null
for _ in $(seq 1 200); do
  [ "$(h_get /v1/fs/agents/runner2/state | jq '.events | length' 2>/dev/null)" = 2 ] && break
  sleep 0.05
done
expect_eq '["one","two"]' "$(h_get /v1/fs/agents/runner2/state | jq -c '[.events[] | rtrimstr("\n")] | sort')" "two sessions from one tick"
clean_after "exec agent run"

# ---- bad requests: EINVAL / 400 naming the field ---------------------------------------------
bad_case() {  # bad_case REQUEST FIELD
  expect_eq EINVAL "$(call_errno "$A/new" "$1")" "FUSE [$1]"
  expect_eq 400 "$(h_code POST "$S/new" "$A9_TOKEN" "$1")" "HTTP [$1]"
  expect_contains "$(last_body)" '"error":"invalid_argument"' "400 body [$1]"
  expect_contains "$(last_body)" "$2" "400 names $2 [$1]"
}
bad_case '{"kind":"ephemeral"}' command
bad_case '{"kind":"sometimes","command":"true"}' kind
bad_case '{"kind":"ephemeral","command":"true","colour":"red"}' colour
bad_case '{"kind":"ephemeral","command":"true","limits":{"wall_ms":-1}}' wall_ms
bad_case '{"kind":"ephemeral","command":"true","limits":{"cpu_ms":"lots"}}' cpu_ms
bad_case '{"kind":"ephemeral","command":"true","limits":{"bogus":1}}' bogus
bad_case '{"kind":"ephemeral","command":"true","files":{"../escape":"x"}}' files
bad_case '{"kind":"ephemeral","command":"true","env":{"A":1}}' env
bad_case '{"kind":"ephemeral","command":"true","provider":"nowhere"}' provider
bad_case '{"kind":"ephemeral","command":"true","max_cost_usd":-5}' max_cost_usd
bad_case '{"kind":"ephemeral","command":"true","commands":["a"]}' command
expect_eq EINVAL "$(call_errno "$A/new" 'not json')" "FUSE not json"
expect_eq 400 "$(h_code POST "$S/new" "$A9_TOKEN" 'not json')" "HTTP not json"
exec 3<>"$A/new"
printf '%s' '{"kind":"ephemeral","command":"true","colour":"red"}' >&3
expect_contains "$(cat <&3 2>/dev/null)" "colour" "the failed FUSE handle names the field"
exec 3>&-
expect_eq 400 "$(h_code PUT "$S/policy" "$A9_TOKEN" '{"max_concurrent":-1}')" "bad policy"
expect_eq 400 "$(h_code PUT "$S/policy" "$A9_TOKEN" '{"colour":"red"}')" "unknown policy field"
clean_after "bad requests"

# ---- who may read and write -------------------------------------------------------------------
expect_eq 403 "$(h_code PUT "$S/policy" "$TA" '{"network":true}')" "agent writes its policy"
expect_eq 200 "$(h_code GET "$S/policy" "$TA")" "agent reads its policy"
expect_eq false "$(last_body | jq .network)" "policy unchanged"
expect_eq 8 "$(last_body | jq .max_concurrent)" "policy unchanged (max_concurrent)"
expect_eq 200 "$(h_code GET "$S/usage" "$TA")" "agent reads its usage"
expect_eq 200 "$(h_code POST "$S/new" "$TA" '{"kind":"ephemeral","command":"echo mine"}')" "agent starts its own session"
SA=$(last_body | jq -r .session_id)
expect_eq exited "$(wait_send a "$SA")" "agent's session"
expect_eq 200 "$(h_code GET "$S/sessions/$SA/stdout" "$TA")" "agent reads its session"
for req_ in "GET $S/usage" "GET $S/policy" "GET $S/sessions/$SA/stdout" "GET $S/sessions" "PUT $S/sessions/$SA/ctl"; do
  read -r meth path <<<"$req_"
  if [ "$meth" = PUT ]; then CODE=$(h_code PUT "$path" "$TB" stop); else CODE=$(h_code GET "$path" "$TB"); fi
  case "$CODE" in 403 | 404) ;; *) fail "agent b: $meth $path: HTTP $CODE" ;; esac
done
CODE=$(h_code POST "$S/new" "$TB" '{"kind":"ephemeral","command":"true"}')
case "$CODE" in 403 | 404) ;; *) fail "agent b starts a session as a: HTTP $CODE" ;; esac
expect_eq 401 "$(h_code GET "$S/usage" "")" "no token"
# The agent-local view: the agent reads its policy but cannot write it; it runs its own sessions.
if { echo '{"network":true}' >"$MA/containers/policy"; } 2>"$A9_ROOT/err"; then fail "the agent wrote its containers/policy over FUSE"; fi
expect_eq EACCES "$(errno_class "$(cat "$A9_ROOT/err")")" "agent policy write errno"
expect_eq false "$(jq .network "$MA/containers/policy")" "agent reads its policy over FUSE"
exec 3<>"$MA/containers/new"
echo '{"kind":"ephemeral","command":"echo local view"}' >&3
SL=$(cat <&3 | jq -r .session_id)
exec 3>&-
expect_eq exited "$(wait_send a "$SL")" "a session from the agent-local view"
expect_eq "local view" "$(cat "$MA/containers/sessions/$SL/stdout")" "its stdout over the agent view"
[ ! -e "$MA/agents" ] || fail "the agent view shows the global tree"
clean_after "permissions"
soft_done
pass
