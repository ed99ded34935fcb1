#!/usr/bin/env bash
# Compute through a real daemon and the loopback fake LLM server (DESIGN 4.2): provider
# health and info (no API key anywhere), jobs over FUSE (both call forms) and HTTP, results,
# costs, streams (file and SSE, live and ended), cancel, retries, timeouts, idempotency, the
# day budget (EDQUOT / 402, statfs), who may read and write what, bad requests, the llm kind
# (reply, conversation memory, history in the next job), an exec agent's compute action and
# its event trigger, and an offline replay of that event tick with the fake LLM gone.
source "$(dirname "$0")/lib/common.sh"
need_fuse
source "$(dirname "$0")/lib/compute.sh"

SECRET="sk-ant-bb-$RANDOM$RANDOM-secret"
export A9_BB_SECRET="$SECRET"
fake_start main
fake_start keyed --api-key "$SECRET"
A9_DATA=$A9_ROOT/data
mkdir -p "$A9_DATA"
# Providers: "fake" lists priced models; "any" accepts every model at price 0 (the fake's
# behaviour models); "claude" is an Anthropic one whose key comes from the environment; "dead"
# answers nothing.
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
  id = "m2"
  input_usd_per_mtok = 0.3
  output_usd_per_mtok = 0.3

[[compute.providers]]
id = "any"
type = "openai"
base_url = "$FAKE_main_URL/v1"
max_concurrent = 8

[[compute.providers]]
id = "claude"
type = "anthropic"
base_url = "$FAKE_keyed_URL"
api_key_env = "A9_BB_SECRET"
  [[compute.providers.models]]
  id = "c1"
  input_usd_per_mtok = 3.0
  output_usd_per_mtok = 15.0

[[compute.providers]]
id = "dead"
type = "openai"
base_url = "http://127.0.0.1:1/v1"
connect_timeout_ms = 500
EOF
M=$(a9_mountpoint mnt)
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
create q >/dev/null
C=$M/agents/a/compute

# ---- providers: health, info, models --------------------------------------------------------
expect_eq "any claude dead fake" "$(ls "$C/providers" | xargs)" "ls providers"
expect_eq ok "$(cat "$C/providers/fake/health")" "fake health"
expect_eq ok "$(cat "$C/providers/claude/health")" "claude health (keyed fake)"
DEAD=$(cat "$C/providers/dead/health")
expect_eq 1 "$(printf '%s\n' "$DEAD" | wc -l)" "dead health is one line"
case "$DEAD" in "unavailable: "?*) ;; *) fail "dead health: [$DEAD]" ;; esac
expect_eq ok "$(h_get /v1/fs/agents/a/compute/providers/any/health)" "health over HTTP"
expect_eq '["m1","m2"]' "$(jq -c '[.[].id]' "$C/providers/fake/models")" "fake models"
expect_eq 2 "$(jq '.[] | select(.id=="m1") | .output_usd_per_mtok' "$C/providers/fake/models")" "m1 price"
expect_contains "$(cat "$C/providers/claude/info")" "claude" "claude info"

# ---- submit: FUSE (both call forms) and HTTP; results and costs ------------------------------
exec 3<>"$C/new"
echo '{"model":"m1","input":"hello world"}' >&3
ANS1=$(cat <&3)
exec 3>&-
J1=$(jq -r .job_id <<<"$ANS1")
[[ $J1 =~ ^j[0-9a-f]+$ ]] || fail "job id from the call handle: [$ANS1]"
expect_eq "compute/jobs/$J1/status" "$(jq -r .status_path <<<"$ANS1")" "status_path"
echo '{"model":"m2","input":"hello world"}' >"$C/new"
J2=$(jq -r .job_id "$C/new")
[[ $J2 =~ ^j[0-9a-f]+$ ]] && [ "$J2" != "$J1" ] || fail "job id from echo > new; cat new: [$J2]"
J3=$(curl -sS --fail-with-body -X POST -H "Authorization: Bearer $A9_TOKEN" \
  --data-binary '{"model":"m1","input":"three little words"}' "$A9_URL/v1/fs/agents/a/compute/new" |
  jq -r .job_id)
[[ $J3 =~ ^j[0-9a-f]+$ ]] || fail "job id over HTTP: [$J3]"
J4=$(submit a '{"provider":"claude","model":"c1","input":"hi there"}')
for j in "$J1" "$J2" "$J3" "$J4"; do wait_state a "$j" complete; done
R1=$(cat "$C/jobs/$J1/result")
expect_eq "echo: hello world" "$(jq -r .output.text <<<"$R1")" "m1 answer"
expect_eq '{"input_tokens":2,"output_tokens":3}' "$(jq -c .usage <<<"$R1")" "m1 usage"
# 2 words in at $1/Mtok, 3 out at $2/Mtok: 2 + 6 micro-USD.
expect_eq 8 "$(jq .cost_usd <<<"$R1")" "m1 cost"
expect_eq fake "$(jq -r .provider <<<"$R1")" "m1 provider"
# 5 tokens at $0.3/Mtok: 1.5 micro-USD, rounded up.
expect_eq 2 "$(jq .cost_usd "$C/jobs/$J2/result")" "m2 cost (rounded up)"
expect_eq "echo: three little words" "$(job_field a "$J3" result .output.text)" "HTTP job answer"
# 3 in, 4 out: 3 + 8 micro-USD.
expect_eq 11 "$(job_field a "$J3" result .cost_usd)" "HTTP job cost"
expect_eq "echo: hi there" "$(jq -r .output.text "$C/jobs/$J4/result")" "anthropic (keyed) answer"
expect_eq 51 "$(jq .cost_usd "$C/jobs/$J4/result")" "anthropic cost (2 x 3 + 3 x 15)"
S1=$(cat "$C/jobs/$J1/status")
expect_eq complete "$(jq -r .state <<<"$S1")" "status state"
expect_eq 1 "$(jq .attempts <<<"$S1")" "status attempts"
expect_eq '{"model":"m1","kind":"chat"}' "$(jq -c '{model,kind}' <<<"$S1")" "status model, kind"
expect_eq "hello world" "$(jq -r '.input.messages[0].content' "$C/jobs/$J1/request")" "request"
grep -qx "$J3" <<<"$(ls "$C/jobs")" || fail "ls jobs lacks $J3"

# Embeddings and tool calls.
JE=$(submit a '{"kind":"embeddings","model":"emb","input":["first text","second text"]}')
JT=$(submit a '{"model":"tools","input":"weather in Paris?","stream":true}')
wait_state a "$JE" complete
expect_eq 2 "$(job_field a "$JE" result '.output.vectors | length')" "one vector per input"
wait_state a "$JT" complete
expect_eq get_weather "$(job_field a "$JT" result '.output.tool_calls[0].function.name // .output.tool_calls[0].name')" "tool call"
expect_contains "$(cat "$C/jobs/$JT/stream")" '{"delta":{"tool_calls":' "tool call delta"

# ---- streams: file and SSE, ended and live ---------------------------------------------------
JS=$(submit a '{"model":"m1","input":"one two three four","stream":true}')
wait_state a "$JS" complete
STREAM=$(cat "$C/jobs/$JS/stream")
expect_eq "echo: one two three four" "$(jq -j 'select(.delta) | .delta.text' <<<"$STREAM")" "deltas"
[ "$(grep -c '"delta"' <<<"$STREAM")" -ge 2 ] || fail "one delta only: $STREAM"
expect_eq "echo: one two three four" "$(tail -1 <<<"$STREAM" | jq -r .result.output.text)" "final line"
expect_eq "$(jq -c . "$C/jobs/$JS/result")" "$(tail -1 <<<"$STREAM" | jq -c .result)" "final = result"
SSE=$(curl -sS -m 10 -N -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs/agents/a/compute/jobs/$JS/stream?watch=1")
expect_contains "$SSE" 'data: {"delta":{"text":"echo:' "SSE deltas (?watch=1)"
expect_contains "$SSE" 'data: {"result":' "SSE result line"
SSE2=$(curl -sS -m 10 -N -H "Authorization: Bearer $A9_TOKEN" -H 'Accept: text/event-stream' \
  "$A9_URL/v1/fs/agents/a/compute/jobs/$JS/stream")
expect_contains "$SSE2" 'data: {"delta":' "SSE deltas (Accept)"
# A slow job's stream blocks until the job ends, then ends with the result line.
JW=$(submit a '{"model":"slow-3000","input":"wait for it","stream":true}')
t0=$(date +%s%N)
LIVE=$(timeout 20 cat "$C/jobs/$JW/stream") || fail "cat of a live stream failed or hung"
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$elapsed" -ge 1500 ] || fail "cat of a live stream returned after $elapsed ms"
expect_eq "echo: wait for it" "$(tail -1 <<<"$LIVE" | jq -r .result.output.text)" "live stream end"
expect_eq "echo: wait for it" "$(jq -j 'select(.delta) | .delta.text' <<<"$LIVE")" "live deltas"
# SSE while the job runs: deltas and the result arrive, then the stream ends.
JW2=$(submit a '{"model":"slow-1500","input":"live sse","stream":true}')
SSE3=$(curl -sS -m 15 -N -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs/agents/a/compute/jobs/$JW2/stream?watch=1")
expect_contains "$SSE3" 'data: {"result":{' "live SSE result"
expect_contains "$SSE3" '"text":" sse"' "live SSE delta"

# ---- cancel: the hold comes back -------------------------------------------------------------
JC=$(submit a '{"model":"slow-8000","input":"never mind","max_cost_usd":500}')
wait_state a "$JC" running
expect_eq 500 "$(usage_field a .day.reserved_usd)" "reserved while running"
echo cancel >"$C/jobs/$JC/ctl"
wait_state a "$JC" cancelled 5
expect_eq 0 "$(usage_field a .day.reserved_usd)" "reserved after cancel"
expect_eq cancelled "$(jq -r .state "$C/jobs/$JC/result")" "result of a cancelled job"
expect_fail sh -c "echo cancel > '$C/jobs/$JC/ctl'"  # already ended
# Cancel over HTTP.
JC2=$(submit a '{"model":"slow-8000","input":"x"}')
wait_state a "$JC2" running
expect_eq 204 "$(h_code PUT "/v1/fs/agents/a/compute/jobs/$JC2/ctl" "$A9_TOKEN" cancel)" "cancel over HTTP"
wait_state a "$JC2" cancelled 5
expect_eq 0 "$(usage_field a .day.reserved_usd)" "reserved after the second cancel"

# ---- retries, errors, timeout ---------------------------------------------------------------
JR1=$(submit a '{"model":"429-once-bb","input":"again"}')
JR2=$(submit a '{"model":"500-always","input":"boom"}')
JR3=$(submit a '{"model":"bad-request","input":"no"}')
JR4=$(submit a '{"model":"slow-5000","input":"late","timeout_ms":500}')
JR5=$(submit a '{"model":"500-once-bb","input":"second time lucky"}')
wait_state a "$JR1" complete
expect_eq 2 "$(job_field a "$JR1" status .attempts)" "429 then ok: attempts"
expect_eq "echo: again" "$(job_field a "$JR1" result .output.text)" "429 then ok: answer"
wait_state a "$JR5" complete
expect_eq 2 "$(job_field a "$JR5" status .attempts)" "500 then ok: attempts"
wait_state a "$JR2" failed
S=$(h_get "/v1/fs/agents/a/compute/jobs/$JR2/status")
expect_eq 4 "$(jq .attempts <<<"$S")" "500-always: attempts (1 + max_retries 3)"
expect_contains "$(jq -r .error <<<"$S")" "500" "500-always: error"
wait_state a "$JR3" failed
S=$(h_get "/v1/fs/agents/a/compute/jobs/$JR3/status")
expect_eq 1 "$(jq .attempts <<<"$S")" "bad-request: no retry"
expect_contains "$(jq -r .error <<<"$S")" "400" "bad-request: error"
wait_state a "$JR4" failed
expect_contains "$(job_field a "$JR4" status .error)" "timeout" "timeout error"
expect_contains "$(cat "$C/jobs/$JR4/stream")" '"error":{' "a failed job's stream ends with its error"

# ---- idempotency ----------------------------------------------------------------------------
K1=$(submit a '{"model":"m1","input":"once","idempotency_key":"k-1"}')
echo '{"model":"m1","input":"once","idempotency_key":"k-1"}' >"$C/new"
ANS=$(cat "$C/new")
expect_eq "$K1" "$(jq -r .job_id <<<"$ANS")" "same key, same job"
expect_eq true "$(jq .existing <<<"$ANS")" "existing"
wait_state a "$K1" complete
expect_eq "$K1" "$(submit a '{"model":"m1","input":"once","idempotency_key":"k-1"}')" "after it ended"
expect_eq 1 "$(for d in "$C"/jobs/*/; do jq -r '.idempotency_key // empty' "$d/request"; done | grep -c '^k-1$')" "one job for k-1"

# ---- the day budget: EDQUOT / 402 and statfs ------------------------------------------------
Q=$M/agents/q/compute
echo '{"max_cost_usd_per_day":1000}' >"$Q/policy"
expect_eq 1000 "$(jq .max_cost_usd_per_day "$Q/policy")" "policy written"
read -r size avail < <(df -B1 --output=size,avail "$Q" | tail -1)
expect_eq "1000 1000" "$size $avail" "df before any job"
QJ=$(submit q '{"model":"slow-30000","input":"hold it","max_cost_usd":600}')
wait_state q "$QJ" running
# The call runs at close, and the shell's own `echo > new` ignores what close returns: tee,
# cp and dd report it.
ERR=$(echo '{"model":"slow-6000","input":"x","max_cost_usd":600}' | tee "$Q/new" 2>&1 >/dev/null) &&
  fail "a submit over budget succeeded over FUSE: $ERR"
expect_contains "$ERR" "Disk quota exceeded" "tee's error"
echo '{"model":"slow-6000","input":"x","max_cost_usd":600}' >"$A9_ROOT/job.json"
ERR=$(cp "$A9_ROOT/job.json" "$Q/new" 2>&1) && fail "cp of a job over budget succeeded"
expect_contains "$ERR" "Disk quota exceeded" "cp's error"
expect_eq EDQUOT "$(call_errno "$Q/new" '{"model":"slow-6000","input":"x","max_cost_usd":600}')" "errno"
exec 3<>"$Q/new"
echo '{"model":"slow-6000","input":"x","max_cost_usd":600}' >&3 2>/dev/null || true
expect_contains "$(cat <&3)" "budget" "the failed handle keeps the message"
exec 3>&-
expect_eq 402 "$(h_code POST /v1/fs/agents/q/compute/new "$A9_TOKEN" \
  '{"model":"slow-6000","input":"x","max_cost_usd":600}')" "HTTP over budget"
expect_eq 400 "$(last_body | jq .remaining_usd)" "402 remaining_usd"
expect_eq true "$(last_body | jq 'has("error") and has("message")')" "402 body"
read -r size avail < <(df -B1 --output=size,avail "$Q" | tail -1)
expect_eq "1000 400" "$size $avail" "df while 600 is reserved"
expect_eq 400 "$(usage_field q .day.remaining_usd)" "usage remaining"
expect_eq 1000 "$(usage_field q .day.limit_usd)" "usage limit"
expect_eq 1 "$(ls "$Q/jobs" | wc -l)" "refused submits leave no job"
# A small one still fits.
wait_state q "$(submit q '{"model":"m1","input":"fits","max_cost_usd":100}')" complete
echo cancel >"$Q/jobs/$QJ/ctl"
wait_state q "$QJ" cancelled 5
expect_eq 0 "$(usage_field q .day.reserved_usd)" "nothing reserved at the end"
read -r size avail < <(df -B1 --output=size,avail "$Q" | tail -1)
expect_eq "1000 995" "$size $avail" "df at the end"
expect_eq 5 "$(usage_field q .day.spent_usd)" "spent = the m1 job's cost (1 + 2 x 2)"
# Who may read and write.
TQ=$(a9 token q)
expect_eq 403 "$(h_code PUT /v1/fs/agents/q/compute/policy "$TQ" '{"max_cost_usd_per_day":9999}')" "agent writes its policy"
expect_eq 200 "$(h_code GET /v1/fs/agents/q/compute/policy "$TQ")" "agent reads its policy"
expect_eq 1000 "$(last_body | jq .max_cost_usd_per_day)" "policy unchanged"
expect_eq 200 "$(h_code GET /v1/fs/agents/a/compute/usage "$TA")" "agent a reads its usage"
expect_eq 403 "$(h_code GET /v1/fs/agents/a/compute/usage "$TB")" "agent b reads a's usage"
expect_eq 403 "$(h_code POST /v1/fs/agents/a/compute/new "$TB" '{"model":"m1","input":"x"}')" "b submits as a"
expect_eq 401 "$(h_code GET /v1/fs/agents/a/compute/usage "")" "no token"
expect_eq 200 "$(h_code POST /v1/fs/agents/a/compute/new "$TA" '{"model":"m1","input":"mine"}')" "a submits"
expect_eq 400 "$(h_code PUT /v1/fs/agents/q/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":-1}')" "negative limit"
expect_fail sh -c "echo '{\"max_cost_per_day\":1}' > '$Q/policy'"
expect_eq 1000 "$(jq .max_cost_usd_per_day "$Q/policy")" "policy after bad writes"
# allowed_models: anything else is refused before it is sent (403 / EACCES) and makes no job.
expect_eq 204 "$(h_code PUT /v1/fs/agents/q/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":1000,"allowed_models":["m1"]}')" "policy with allowed_models"
expect_eq 403 "$(h_code POST /v1/fs/agents/q/compute/new "$A9_TOKEN" '{"model":"m2","input":"x"}')" "a model the policy does not allow"
expect_eq EACCES "$(call_errno "$Q/new" '{"model":"m2","input":"x"}')" "the same over FUSE"
expect_eq 2 "$(h_get /v1/fs/agents/q/compute/jobs | jq length)" "no job for refused models"

# ---- bad requests: EINVAL over FUSE, 400 over HTTP naming the field --------------------------
for bad in '{"model":"m1"}' 'not json' '{"model":"m1","input":"x","colour":"red"}' \
  '{"model":"nobody-offers-this","provider":"fake","input":"x"}' '{"model":"m1","input":"x","max_cost_usd":-5}'; do
  expect_eq EINVAL "$(call_errno "$C/new" "$bad")" "FUSE [$bad]"
  expect_eq 400 "$(h_code POST /v1/fs/agents/a/compute/new "$A9_TOKEN" "$bad")" "HTTP [$bad]"
  expect_contains "$(last_body)" '"error":"invalid_argument"' "400 body [$bad]"
done
h_code POST /v1/fs/agents/a/compute/new "$A9_TOKEN" '{"model":"m1"}' >/dev/null
expect_contains "$(last_body)" "input" "names the missing input"
h_code POST /v1/fs/agents/a/compute/new "$A9_TOKEN" '{"model":"m1","input":"x","colour":"red"}' >/dev/null
expect_contains "$(last_body)" "colour" "names the unknown field"
exec 3<>"$C/new"
printf '%s' '{"model":"m1","input":"x","colour":"red"}' >&3
expect_contains "$(cat <&3)" "colour" "the failed FUSE handle names the field"
exec 3>&-
expect_eq 404 "$(h_code GET /v1/fs/agents/a/compute/jobs/jnosuchjob/status)" "unknown job"

# ---- the llm kind ----------------------------------------------------------------------------
create bot '{"id":"bot","kind":"llm","config":{"model":"m1","system":"be brief"}}' >/dev/null
a9 send bot "hello there" >/dev/null
wait_for /v1/fs/agents/bot/outbox '"name":"1.json"'
EV=$(h_get /v1/fs/agents/bot/outbox/1.json)
expect_eq reply "$(jq -r .type <<<"$EV")" "reply event: $EV"
expect_eq "echo: hello there" "$(jq -r .body.text <<<"$EV")" "reply text: $EV"
SENDER=$(jq -r .to <<<"$EV")  # the CLI sends over HTTP: "http"
expect_eq http "$SENDER" "the reply goes to the sender"
CONV=$(cat "$M/agents/bot/memory/conversations/$SENDER.jsonl")
expect_eq '["user","hello there"]' "$(head -1 <<<"$CONV" | jq -c '[.role,.content]')" "conversation user line"
expect_eq '["assistant","echo: hello there"]' "$(sed -n 2p <<<"$CONV" | jq -c '[.role,.content]')" "conversation assistant line"
a9 send bot "and again" >/dev/null
wait_for /v1/fs/agents/bot/outbox '"name":"2.json"'
BJ=$(h_get /v1/fs/agents/bot/compute/jobs | jq -r ".[-1].name")  # newest last
MSGS=$(jq -c '[.input.messages[] | [.role, .content]]' "$M/agents/bot/compute/jobs/$BJ/request")
expect_eq '[["system","be brief"],["user","hello there"],["assistant","echo: hello there"],["user","and again"]]' \
  "$MSGS" "second job's messages"
expect_eq 4 "$(wc -l <"$M/agents/bot/memory/conversations/$SENDER.jsonl")" "conversation after two"
expect_eq 400 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"bot2","kind":"llm","config":{"model":"m1","colour":"red"}}')" "llm bad config"
expect_contains "$(last_body)" "colour" "names the key"
expect_eq 404 "$(h_code GET /v1/agents/bot2)" "no half-made agent"

# ---- an exec agent's compute action and event trigger; replay without the network ----------
cat >"$A9_ROOT/asker.sh" <<'EOF'
#!/bin/sh
exec jq -c 'if .trigger.type == "message" then {compute: [{model: "m1", input: "hi", tag: {n: 1}}]}
  elif .trigger.type == "event" then {state: {event: .trigger.event}} else {} end'
EOF
chmod +x "$A9_ROOT/asker.sh"
SANDBOX=''
command -v bwrap >/dev/null || SANDBOX=',"sandbox":false'
create asker "{\"id\":\"asker\",\"config\":{\"kind\":\"exec\",\"program\":\"$A9_ROOT/asker.sh\"$SANDBOX}}" >/dev/null
a9 send asker "go" >/dev/null
wait_for /v1/fs/agents/asker/state '"compute.job"'
ST=$(h_get /v1/fs/agents/asker/state)
expect_eq complete "$(jq -r .event.state <<<"$ST")" "event state"
expect_eq '{"n":1}' "$(jq -c .event.tag <<<"$ST")" "event tag"
expect_eq "echo: hi" "$(jq -r .event.result.output.text <<<"$ST")" "event result"
AJ=$(jq -r .event.job_id <<<"$ST")
expect_eq complete "$(jq -r .state "$M/agents/asker/compute/jobs/$AJ/status")" "the job itself"
ETICK=$(h_get /v1/fs/agents/asker/logs/trajectory | jq -rs 'map(select(.trigger.type == "event")) | first | .tick // empty')
[[ $ETICK =~ ^[0-9]+$ ]] || fail "no event tick in the trajectory"
# Replay needs no network: the fake LLM is gone.
fake_stop "$FAKE_main_PID"
expect_contains "$(cat "$C/providers/fake/health")" "unavailable: " "fake gone"
OUT=$(a9 replay asker "$ETICK") || fail "replay of the event tick exited $?: $OUT"
expect_eq "tick $ETICK of asker (kind exec): identical" "$OUT" "replay"

# ---- no API key value anywhere ---------------------------------------------------------------
expect_contains "$(cat "$C/providers/claude/info")" "A9_BB_SECRET" "info names the variable"
for ag in a b q bot asker; do
  for f in "$M/agents/$ag/compute"/providers/*/{info,models,health} \
    "$M/agents/$ag/compute"/jobs/*/{request,status,result,stream} \
    "$M/agents/$ag/compute/policy" "$M/agents/$ag/compute/usage"; do
    [ -e "$f" ] || continue
    if grep -q -- "$SECRET" "$f"; then fail "the API key is in $f"; fi
  done
done
for f in "$A9_ERR" "${A9_ERR%.err}" "$A9_DATA"/*; do
  if [ -f "$f" ] && grep -q -a -- "$SECRET" "$f"; then fail "the API key is in $f"; fi
done
TRACE=$(h_get /v1/fs/agents/a/logs/trace)
if grep -qF -- "$SECRET" <<<"$TRACE"; then fail "the API key is in logs/trace"; fi
pass
