#!/usr/bin/env bash
# Container sessions across kill -9 of the daemon (DESIGN 4.4): with sessions running
# (`sleep 1000`, and an interactive one) and others queued behind max_concurrent, the daemon is
# killed. Its sandboxes die with it (bwrap --die-with-parent). After the restart on the same
# data dir the running sessions are failed / interrupted (status and result), the queued ones
# either run to their end or are failed / interrupted (docs/CONTAINERS.md says which), nothing
# stays reserved, no sandbox process is left and the run dir is empty. A clean stop (SIGTERM)
# with a session running does not wait for it and ends it the same way.
source "$(dirname "$0")/lib/common.sh"
need_fuse
source "$(dirname "$0")/lib/containers.sh"

M=$(a9_mountpoint mnt)
ct_config
a9_start --mount "$M"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"k"}')" "create k"
expect_eq 204 "$(h_code PUT /v1/fs/agents/k/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":100000000}')" "day limit"
cpolicy k '{"max_concurrent":3,"max_queued":5,"usd_per_cpu_second":1000,"usd_per_wall_second":1000}'
K=$M/agents/k/containers

R1=$(cnew k '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000}')
R2=$(cnew k '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000}')
RI=$(cnew k '{"kind":"interactive","max_cost_usd":1000000}')
Q1=$(cnew k '{"kind":"ephemeral","command":"echo queued-one","max_cost_usd":1000000}')
Q2=$(cnew k '{"kind":"ephemeral","command":"echo queued-two","max_cost_usd":1000000}')
for s in "$R1" "$R2" "$RI"; do wait_sstate k "$s" running; done
expect_eq "pending pending" "$(sstate k "$Q1") $(sstate k "$Q2")" "queued behind max_concurrent 3"
[ "$(cusage k .day.reserved_usd)" -gt 0 ] || fail "nothing reserved before the crash"
echo hello >"$K/sessions/$RI/files/note.txt"
BEFORE=$(sandbox_pids | xargs)
[ -n "$BEFORE" ] || fail "no sandbox process (uid >= $CT_UID_MIN) while 3 sessions run: $(all_sandbox_uid_pids)"
for s in "$R1" "$R2" "$RI"; do
  [ -d "$A9_DATA/containers/run/$s" ] || fail "no run dir for the running session $s"
done

a9_kill9
fusermount3 -uz "$M" 2>/dev/null || true
# The sandboxes die with the daemon (die-with-parent), before any restart.
LEFT=""
for _ in $(seq 1 100); do
  LEFT=""
  for p in $BEFORE; do kill -0 "$p" 2>/dev/null && LEFT="$LEFT $p"; done
  [ -z "$LEFT" ] && break
  sleep 0.05
done
[ -z "$LEFT" ] || fail "sandbox processes outlived the daemon by 5 s:$(ps -o pid=,uid=,args= -p "$(tr ' ' ',' <<<"${LEFT# }")")"
[ -z "$(sandbox_pids)" ] || fail "sandbox processes left after kill -9: $(sandbox_pids | xargs)"

a9_start --mount "$M"
for s in "$R1" "$R2" "$RI"; do
  ST=$(h_get "/v1/fs/agents/k/containers/sessions/$s/status")
  expect_eq "failed interrupted" "$(jq -r '"\(.state) \(.reason)"' <<<"$ST")" "running session $s after kill -9: $ST"
  jq -e 'has("ended_at")' <<<"$ST" >/dev/null || fail "no ended_at: $ST"
  expect_eq "failed interrupted" "$(sfield k "$s" result '"\(.state) \(.reason)"')" "result of $s"
  expect_contains "$(tail -1 "$K/sessions/$s/output")" '"end":' "output of $s ends"
done
expect_fail cat "$K/sessions/$RI/files/note.txt"  # its workdir went with it
QDOC=""
for q in "$Q1" "$Q2"; do
  st=$(wait_send k "$q" 20)
  case "$st" in
    exited)
      expect_contains "$(sfield k "$q" result .stdout_tail)" queued "queued session $q ran"
      QDOC="$QDOC $q:ran" ;;
    failed)
      expect_eq interrupted "$(sfield k "$q" status .reason)" "queued session $q failed"
      QDOC="$QDOC $q:failed/interrupted" ;;
    *) fail "queued session $q after the restart: $st" ;;
  esac
done
echo "queued sessions after kill -9 + restart:$QDOC" >&2
expect_eq 0 "$(cusage k .day.reserved_usd)" "reserved after the restart"
clean_after "kill -9 and restart"

# Restarting again changes nothing (no second end, no second charge).
SPENT=$(cusage k .day.spent_usd)
a9_stop
fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M"
expect_eq "0 $SPENT" "$(cusage k '"\(.day.reserved_usd) \(.day.spent_usd)"')" "usage after a second restart"
expect_eq "failed interrupted" "$(sfield k "$R1" status '"\(.state) \(.reason)"')" "still interrupted"

# A clean stop with a session running: the stop does not wait for the sleep.
RT=$(cnew k '{"kind":"ephemeral","command":"sleep 1000","max_cost_usd":1000000}')
wait_sstate k "$RT" running
t0=$(date +%s)
kill -TERM "$A9_PID"
for _ in $(seq 1 150); do kill -0 "$A9_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$A9_PID" 2>/dev/null; then
  CT_SOFT_FAILS+=("FAIL: SIGTERM with a running session (sleep 1000): the daemon was still up after 15 s (killed with -9 to go on)")
  a9_kill9
else
  wait "$A9_PID" 2>/dev/null || true
  [ $(( $(date +%s) - t0 )) -le 8 ] || CT_SOFT_FAILS+=("FAIL: SIGTERM waited $(( $(date +%s) - t0 )) s for a running session")
fi
fusermount3 -uz "$M" 2>/dev/null || true
[ -z "$(sandbox_pids)" ] || fail "sandbox processes left after SIGTERM: $(sandbox_pids | xargs)"
a9_start --mount "$M"
expect_eq "failed interrupted" "$(sfield k "$RT" status '"\(.state) \(.reason)"')" "a session running at SIGTERM"
expect_eq 0 "$(cusage k .day.reserved_usd)" "reserved after a clean stop"
clean_after "SIGTERM and restart"
soft_done
pass
