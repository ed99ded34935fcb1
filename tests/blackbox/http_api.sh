#!/usr/bin/env bash
# The v1 HTTP control plane with curl: routes, tokens, and hostile input.
source "$(dirname "$0")/lib/common.sh"
a9_start

expect_eq 600 "$(stat -c %a "$A9_DATA/admin.token")" "admin.token mode"
expect_eq 600 "$(stat -c %a "$A9_DATA/agent9.db")" "database mode"
expect_eq 200 "$(h_code GET /v1/healthz '')" "healthz without a token"
expect_eq 401 "$(h_code GET /v1/runtime '')" "runtime without a token"
expect_contains "$(last_body)" '"error":"unauthenticated"' "401 body"
expect_eq 401 "$(h_code GET /v1/runtime wrong-token)" "wrong token"
expect_eq 200 "$(h_code GET /v1/runtime)" "runtime"
expect_contains "$(last_body)" '"agents"' "runtime body"

# Create: 201 with a token; duplicates 409; bad names 400.
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}')" "create alice"
ALICE_TOKEN=$(last_body | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$ALICE_TOKEN" ] || fail "no token in create response: $(last_body)"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"bob"}')" "create bob"
BOB_TOKEN=$(last_body | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
expect_eq 409 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}')" "duplicate"
for bad in '{"id":"Alice"}' '{"id":"../x"}' '{"id":""}' '{"id":5}' '{"kind":"robot"}' \
           '{"config":{"timeout_ms":-1}}' '{"id":"ok","extra":1}' '{"id":' 'not json' '[]'; do
  expect_eq 400 "$(h_code POST /v1/agents "$A9_TOKEN" "$bad")" "create $bad"
  expect_contains "$(last_body)" '"error":"invalid_argument"' "create $bad body"
done
expect_eq 403 "$(h_code POST /v1/agents "$ALICE_TOKEN" '{"id":"eve"}')" "agent token creating agents"

# List, paginated.
for i in 1 2 3; do h_code POST /v1/agents "$A9_TOKEN" "{\"id\":\"p$i\"}" >/dev/null; done
expect_eq 200 "$(h_code GET '/v1/agents?limit=2')" "list page 1"
expect_contains "$(last_body)" '"next":"bob"' "list next"
expect_eq 200 "$(h_code GET '/v1/agents?limit=2&after=bob')" "list page 2"
expect_contains "$(last_body)" '"id":"p1"' "page 2"
for q in 'limit=0' 'limit=abc' 'limit=99999999999999999999' 'after=..' 'limit=-1'; do
  expect_eq 400 "$(h_code GET "/v1/agents?$q")" "list $q"
done

# Send: 202 {id, seq}; idempotent with a client id; status shows the depth.
expect_eq 202 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" 'hello')" "send"
expect_contains "$(last_body)" '"seq":1' "send seq"
expect_eq 202 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" '{"id":"m-7","body":"x"}')" "send id"
expect_eq 202 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" '{"id":"m-7","body":"x"}')" "resend id"
expect_contains "$(last_body)" '"seq":2' "idempotent seq"
expect_eq 200 "$(h_code GET /v1/agents/alice)" "agent status"
expect_contains "$(last_body)" '"queue_depth":2' "depth"
expect_contains "$(h_get /v1/fs/agents/alice/inbox/1.json)" '"from":"http"' "sender http"
expect_eq 404 "$(h_code POST /v1/agents/nobody/send "$A9_TOKEN" 'x')" "send to nobody"
expect_eq 400 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" '')" "empty message"
expect_eq 400 "$(h_code POST /v1/agents/BAD/send "$A9_TOKEN" 'x')" "bad id in route"

# Body limit: 413 with a JSON error.
head -c 2000000 /dev/zero | tr '\0' 'a' > "$A9_ROOT/big"
code=$(curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -H "Authorization: Bearer $A9_TOKEN" \
  --data-binary @"$A9_ROOT/big" "$A9_URL/v1/agents/alice/send")
expect_eq 413 "$code" "oversized body"
expect_contains "$(last_body)" '"error":"too_large"' "413 body"

# Path traversal and encoding tricks are 400 before anything is touched.
for p in '/v1/fs/agents/../admin.token' '/v1/fs/agents/%2e%2e/x' '/v1/fs/agents/alice%2Fstatus' \
         '/v1/fs/agents//alice' '/v1/fs/agents/alice/%00' '/v1/fs/agents/%2E%2E'; do
  code=$(curl -sS --path-as-is -o "$A9_ROOT/last_body" -w '%{http_code}' \
    -H "Authorization: Bearer $A9_TOKEN" "$A9_URL$p")
  expect_eq 400 "$code" "hostile path $p"
done

# Agent tokens: own files yes; other agents, policy/config writes and admin routes no.
expect_eq 200 "$(h_code GET /v1/fs/agents/alice/status "$ALICE_TOKEN")" "own status"
expect_eq 403 "$(h_code GET /v1/fs/agents/bob/status "$ALICE_TOKEN")" "other agent's status"
expect_eq 403 "$(h_code GET /v1/fs/agents/bob/inbox "$ALICE_TOKEN")" "other agent's inbox"
expect_eq 403 "$(h_code POST /v1/agents/bob/send "$ALICE_TOKEN" 'hi')" "send to other agent"
expect_eq 403 "$(h_code PUT /v1/fs/agents/alice/config "$ALICE_TOKEN" '{"kind":"none"}')" "agent writes config"
expect_eq 403 "$(h_code GET /v1/fs/agents "$ALICE_TOKEN")" "agent lists agents"
expect_eq 403 "$(h_code DELETE /v1/agents/bob "$ALICE_TOKEN")" "agent deletes bob"
expect_eq 403 "$(h_code POST /v1/agents/bob/tokens "$ALICE_TOKEN")" "agent mints token"
expect_eq 403 "$(h_code GET /v1/runtime "$BOB_TOKEN")" "agent reads runtime"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/status '')" "private agent, no token"
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/goals/g.json "$ALICE_TOKEN" '{"description":"d"}')" "agent writes own goal"
expect_eq '{"description":"d"}' "$(h_get /v1/fs/agents/alice/goals/g.json "$ALICE_TOKEN")" "goal via HTTP"

# Public: nothing until the admin sets hud/settings public; then status and goals only.
expect_eq 403 "$(h_code PUT /v1/fs/agents/alice/hud/settings "$ALICE_TOKEN" '{"public":true}')" "agent writes hud/settings"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/goals/g.json '')" "private goal, no token"
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/hud/settings "$A9_TOKEN" '{"public":true}')" "admin makes alice public"
expect_eq 200 "$(h_code GET /v1/fs/agents/alice/status '')" "public status"
expect_eq 200 "$(h_code GET /v1/fs/agents/alice/goals/g.json '')" "public goal"
expect_eq 200 "$(h_code GET /v1/fs/agents/alice/metrics/queue '')" "public metrics/queue"
expect_eq 200 "$(h_code GET /v1/fs/agents/alice/metrics/apm '')" "public metrics/apm"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/logs/trajectory '')" "trajectory stays private"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/config '')" "config stays private"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/inbox '')" "inbox stays private"
expect_eq 401 "$(h_code PUT /v1/fs/agents/alice/goals/x.json '' '{"description":"x"}')" "public cannot write"
expect_eq 401 "$(h_code GET /v1/fs/agents/bob/status '')" "bob stays private"
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/hud/settings "$A9_TOKEN" '{"public":false}')" "private again"
expect_eq 401 "$(h_code GET /v1/fs/agents/alice/status '')" "private again: 401"

# Files: PUT validation, directory listings, HEAD, DELETE.
expect_eq 400 "$(h_code PUT /v1/fs/agents/alice/goals/g.json "$A9_TOKEN" '{"priority":1}')" "invalid goal"
expect_eq '{"description":"d"}' "$(h_get /v1/fs/agents/alice/goals/g.json)" "goal kept"
expect_contains "$(h_get /v1/fs/agents/alice/goals)" '"name":"g.json"' "dir listing"
code=$(curl -sS -I -o "$A9_ROOT/head" -w '%{http_code}' -H "Authorization: Bearer $A9_TOKEN" \
  "$A9_URL/v1/fs/agents/alice/goals/g.json")
expect_eq 200 "$code" "HEAD"
expect_eq 204 "$(h_code DELETE /v1/fs/agents/alice/goals/g.json)" "DELETE goal"
expect_eq 404 "$(h_code GET /v1/fs/agents/alice/goals/g.json)" "deleted goal"
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/ctl "$A9_TOKEN" 'explode')" "bad ctl"
expect_contains "$(last_body)" 'unknown control message' "ctl message"
expect_eq 400 "$(h_code POST /v1/agents/alice/tick)" "tick of a kind-none agent"
expect_contains "$(last_body)" "runs no ticks" "tick of kind none"

# An echo agent answers: the reply to an HTTP sender lands in its outbox, the tick in its
# trajectory, and status counts it.
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"bot","kind":"echo"}')" "create echo bot"
expect_eq 202 "$(h_code POST /v1/agents/bot/send "$A9_TOKEN" '{"id":"q-1","body":{"ask":42}}')" "send to bot"
for _ in $(seq 1 100); do
  [ "$(h_code GET /v1/fs/agents/bot/outbox/1.json)" = 200 ] && break; sleep 0.05
done
expect_contains "$(h_get /v1/fs/agents/bot/outbox/1.json)" '"in_reply_to":"q-1"' "echo reply event"
expect_contains "$(h_get /v1/fs/agents/bot/outbox/1.json)" '"body":{"ask":42}' "echo reply body"
expect_contains "$(h_get /v1/fs/agents/bot/outbox/stream)" '"to":"http"' "outbox stream backlog"
expect_contains "$(h_get /v1/fs/agents/bot/logs/trajectory)" '"result":"ok"' "trajectory"
expect_contains "$(h_get /v1/agents/bot)" '"tick_count":2' "tick_count (init + message)"
# Tick ranges over HTTP: ?from=&to= selects records by tick number.
expect_eq 2 "$(h_get /v1/fs/agents/bot/logs/trajectory | wc -l)" "two trajectory records"
range=$(h_get '/v1/fs/agents/bot/logs/trajectory?from=2&to=2')
expect_eq 1 "$(printf '%s\n' "$range" | wc -l)" "one record in [2,2]"
expect_contains "$range" '"tick":2' "the record of tick 2"
expect_eq 0 "$(h_get '/v1/fs/agents/bot/logs/trajectory?from=5' | wc -c)" "nothing from tick 5"
for q in 'from=x' 'to=-1' 'from=3&to=1' 'from=99999999999999999999'; do
  expect_eq 400 "$(h_code GET "/v1/fs/agents/bot/logs/trajectory?$q")" "trajectory ?$q"
done
expect_contains "$(h_get /v1/fs/agents/bot/metrics/apm)" '"ticks": 2' "metrics/apm ticks"
expect_contains "$(h_get /v1/fs/agents/bot/metrics/apm)" '"apm": 1' "metrics/apm actions (the reply)"
expect_contains "$(h_get /v1/fs/agents/bot/metrics/queue)" '"inbox_depth": 0' "metrics/queue"
expect_eq 200 "$(h_code POST /v1/agents/bot/tick "$A9_TOKEN" 'nudge')" "manual tick"
expect_eq 200 "$(h_code POST /v1/agents/alice/hibernate)" "hibernate"
expect_contains "$(last_body)" '"state":"hibernated"' "hibernate body"
expect_eq 200 "$(h_code POST /v1/agents/alice/wake)" "wake"

# Tokens and delete.
expect_eq 201 "$(h_code POST /v1/agents/bob/tokens)" "mint"
T2=$(last_body | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
expect_eq 200 "$(h_code GET /v1/fs/agents/bob/status "$T2")" "minted token works"
expect_eq 204 "$(h_code DELETE /v1/agents/bob)" "delete"
expect_eq 404 "$(h_code GET /v1/agents/bob)" "deleted agent"
expect_eq 401 "$(h_code GET /v1/fs/agents/bob/status "$T2")" "token of a deleted agent"
expect_contains "$(h_get /metrics)" "agent9_agents " "metrics"

# Secrets never appear in the daemon's output.
if grep -q "$A9_TOKEN" "$A9_ERR" || grep -q "$ALICE_TOKEN" "$A9_ERR"; then fail "a token leaked into the log"; fi
pass
