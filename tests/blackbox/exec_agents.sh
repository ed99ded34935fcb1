#!/usr/bin/env bash
# Exec agents from examples/ run in the bubblewrap sandbox through the real daemon: a shell
# agent and a Python agent answer their inboxes; a failing program dead-letters its message.
source "$(dirname "$0")/lib/common.sh"
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
EX=$(cd "$(dirname "$0")/../../examples" && pwd)
a9_start
create() {  # create ID CONFIG-JSON
  expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" "{\"id\":\"$1\",\"config\":$2}")" "create $1"
}

create sh "{\"kind\":\"exec\",\"program\":\"$EX/echo.sh\"}"
h_code POST /v1/agents/sh/send "$A9_TOKEN" 'hello shell' >/dev/null
wait_for /v1/fs/agents/sh/outbox/1.json '"text":"hello shell"'
expect_contains "$(h_get /v1/fs/agents/sh/state)" '"count":1' "shell agent state"
expect_contains "$(h_get /v1/fs/agents/sh/logs/trace)" 'shell agent tick 1' "shell agent log line"
# Its first tick was init, right after creation; then the message.
traj=$(h_get /v1/fs/agents/sh/logs/trajectory)
expect_eq '"init" "message"' "$(printf '%s\n' "$traj" | sed -n 's/.*"trigger":{[^}]*"type":\("[a-z]*"\).*/\1/p' | tr '\n' ' ' | sed 's/ $//')" "shell agent triggers"
expect_contains "$(h_get /v1/fs/agents/sh/logs/trace)" 'shell agent ready' "init log line"

create py "{\"kind\":\"exec\",\"program\":\"$EX/counter.py\"}"
h_code POST /v1/agents/py/send "$A9_TOKEN" '{"add":60}' >/dev/null
h_code POST /v1/agents/py/send "$A9_TOKEN" '{"add":60}' >/dev/null
wait_for /v1/fs/agents/py/state '"total":120'
wait_for /v1/fs/agents/py/outbox '"name":"3.json"'
events="$(h_get /v1/fs/agents/py/outbox/2.json)$(h_get /v1/fs/agents/py/outbox/3.json)"
expect_contains "$events" '"body":{"total":120}' "python reply"
expect_contains "$events" '"type":"threshold"' "python event"

create bad "{\"kind\":\"exec\",\"program\":\"/bin/false\",\"max_attempts\":2}"
h_code POST /v1/agents/bad/send "$A9_TOKEN" 'doomed' >/dev/null
wait_for /v1/agents/bad '"deadletter_depth":1'
expect_contains "$(h_get /v1/fs/agents/bad/deadletter/1.json)" 'exited with status 1' "dead letter reason"
expect_contains "$(h_get /v1/fs/agents/bad/logs/trajectory)" '"result":"error"' "failed ticks recorded"
expect_contains "$(h_get /v1/agents/bad)" '"tick_count":0' "no tick committed"
pass
