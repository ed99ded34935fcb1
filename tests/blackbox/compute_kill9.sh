#!/usr/bin/env bash
# Compute jobs survive kill -9 as the ledger says (DESIGN 4.2): with jobs running and one
# queued behind max_concurrent, the daemon is killed and restarted on the same data dir. The
# running jobs end failed ("interrupted") with their holds released, the queued one keeps its
# hold and runs to completion, the day's spend is exactly the complete jobs' costs, and the
# llm and exec agents whose jobs were cut get their event triggers after the restart (once). A
# clean stop (SIGTERM) with a job running does not wait for the model and ends it the same way.
source "$(dirname "$0")/lib/common.sh"
need_fuse
source "$(dirname "$0")/lib/compute.sh"

fake_start main
A9_DATA=$A9_ROOT/data
mkdir -p "$A9_DATA"
cat >"$A9_DATA/agent9.toml" <<EOF
[compute]
retry_base_ms = 50
detect_env = false

[[compute.providers]]
id = "fake"
type = "openai"
base_url = "$FAKE_main_URL/v1"
max_concurrent = 4
  [[compute.providers.models]]
  id = "m1"
  input_usd_per_mtok = 1.0
  output_usd_per_mtok = 2.0
  [[compute.providers.models]]
  id = "slow-20000"
  input_usd_per_mtok = 1.0
  output_usd_per_mtok = 2.0
  [[compute.providers.models]]
  id = "slow-1500"
  input_usd_per_mtok = 1.0
  output_usd_per_mtok = 2.0
EOF
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
a9() { "$AGENT9_BIN" "$@"; }
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"a"}')" "create a"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" \
  '{"id":"bot","kind":"llm","config":{"model":"slow-20000","max_cost_usd":300}}')" "create bot"
cat >"$A9_ROOT/asker.sh" <<'EOF'
#!/bin/sh
exec jq -c 'if .trigger.type == "message" then {compute: [{model: "slow-20000", input: "think hard", max_cost_usd: 300, tag: {n: 7}}]}
  elif .trigger.type == "event" then {state: {event: .trigger.event}} else {} end'
EOF
chmod +x "$A9_ROOT/asker.sh"
SANDBOX=''
command -v bwrap >/dev/null || SANDBOX=',"sandbox":false'
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" \
  "{\"id\":\"asker\",\"config\":{\"kind\":\"exec\",\"program\":\"$A9_ROOT/asker.sh\"$SANDBOX}}")" "create asker"
h_code PUT /v1/fs/agents/a/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":100000}' >/dev/null
C=$M/agents/a/compute

# A job that completes before the crash: its spend must stay counted once.
J0=$(submit a '{"model":"m1","input":"hello world","max_cost_usd":1000}')
wait_state a "$J0" complete
COST0=$(job_field a "$J0" result .cost_usd)
expect_eq 8 "$COST0" "m1 cost"

# Four slow jobs fill the lane (max_concurrent 4): the llm's, the exec agent's and two of a's.
a9 send bot "are you there" >/dev/null
a9 send asker "go" >/dev/null
first_job() {  # first_job AGENT: waits for the agent's first job and prints its id
  for _ in $(seq 1 200); do
    local j
    j=$(h_get "/v1/fs/agents/$1/compute/jobs" 2>/dev/null | jq -r '.[0].name // empty' 2>/dev/null || true)
    [ -n "$j" ] && { echo "$j"; return 0; }
    sleep 0.05
  done
  fail "$1 submitted no job"
}
BJ=$(first_job bot)
XJ=$(first_job asker)
J1=$(submit a '{"model":"slow-20000","input":"long one","max_cost_usd":1000}')
J2=$(submit a '{"model":"slow-20000","input":"long two","max_cost_usd":1000}')
for j in "$J1" "$J2"; do wait_state a "$j" running; done
wait_state bot "$BJ" running
wait_state asker "$XJ" running
# The fifth waits for a worker.
JP=$(submit a '{"model":"slow-1500","input":"queued behind","max_cost_usd":500}')
sleep 0.3
expect_eq pending "$(job_state a "$JP")" "queued job"
expect_eq 2500 "$(usage_field a .day.reserved_usd)" "reserved before the crash"
expect_eq "$COST0" "$(usage_field a .day.spent_usd)" "spent before the crash"

a9_kill9
fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M"

# Right after the restart only the queued job holds money (until it ends).
R=$(usage_field a .day.reserved_usd)
PSTATE=$(job_state a "$JP")
case "$PSTATE" in
  pending | running | streaming) expect_eq 500 "$R" "reserved after the restart (queued job only)" ;;
  complete) ;;
  *) fail "queued job after the restart: $PSTATE" ;;
esac
for j in "$J1" "$J2"; do
  S=$(h_get "/v1/fs/agents/a/compute/jobs/$j/status")
  expect_eq failed "$(jq -r .state <<<"$S")" "running job $j after kill -9"
  expect_contains "$(jq -r .error <<<"$S")" "interrupted" "error of $j"
  expect_contains "$(cat "$C/jobs/$j/stream")" "interrupted" "stream of $j ends with the error"
done
expect_eq failed "$(job_state bot "$BJ")" "the llm's job"
expect_eq failed "$(job_state asker "$XJ")" "the exec agent's job"
wait_state a "$JP" complete 20
expect_eq "echo: queued behind" "$(job_field a "$JP" result .output.text)" "the queued job ran"
COSTP=$(job_field a "$JP" result .cost_usd)
expect_eq 8 "$COSTP" "queued job cost (2 in + 3 out x 2)"
expect_eq 0 "$(usage_field a .day.reserved_usd)" "reserved at the end"
SUM=0
for d in "$C"/jobs/*/; do
  if [ "$(jq -r .state "$d/status")" = complete ]; then
    SUM=$((SUM + $(jq .cost_usd "$d/result")))
  fi
done
expect_eq $((COST0 + COSTP)) "$SUM" "complete jobs' costs"
expect_eq "$SUM" "$(usage_field a .day.spent_usd)" "spent = the complete jobs' costs"
read -r size avail < <(df -B1 --output=size,avail "$C" | tail -1)
expect_eq "100000 $((100000 - SUM))" "$size $avail" "df after the restart"

# The agents whose jobs were cut hear about it.
wait_for /v1/fs/agents/bot/outbox '"name":"1.json"'
expect_contains "$(h_get /v1/fs/agents/bot/outbox/1.json)" "interrupted" "the llm agent's answer"
wait_for /v1/fs/agents/asker/state '"compute.job"'
ST=$(h_get /v1/fs/agents/asker/state)
expect_eq failed "$(jq -r .event.state <<<"$ST")" "exec agent's event state"
expect_contains "$(jq -r .event.error <<<"$ST")" "interrupted" "exec agent's event error"
expect_eq '{"n":7}' "$(jq -c .event.tag <<<"$ST")" "exec agent's event tag"
expect_eq 0 "$(usage_field bot .day.reserved_usd)" "bot reserved"
expect_eq 0 "$(usage_field asker .day.reserved_usd)" "asker reserved"
# A clean stop (SIGTERM) with a job running: the stop does not wait for the model, the job
# ends failed (interrupted), and exactly one event each: the restart sends nothing again.
JT=$(submit a '{"model":"slow-20000","input":"stop me","max_cost_usd":700}')
wait_state a "$JT" running
t0=$(date +%s)
a9_stop
[ $(( $(date +%s) - t0 )) -le 8 ] || fail "SIGTERM waited for a running job"
a9_start --mount "$M"
expect_eq failed "$(job_state a "$JT")" "a job running at SIGTERM"
expect_contains "$(job_field a "$JT" status .error)" "interrupted" "its error"
expect_eq 0 "$(usage_field a .day.reserved_usd)" "reserved after a clean stop"
expect_eq "$SUM" "$(usage_field a .day.spent_usd)" "spent after a clean stop"
sleep 1
expect_eq 1 "$(h_get /v1/fs/agents/bot/outbox | jq '[.[] | select(.name | test("^[0-9]+\\.json$"))] | length')" "bot outbox after a second restart"
expect_eq 1 "$(h_get /v1/fs/agents/asker/logs/trajectory | jq -s '[.[] | select(.trigger.type == "event")] | length')" "one event tick for asker"
pass
