#!/usr/bin/env bash
# --mount-agent ID=DIR: the agent-local view, with the agent's own permissions.
source "$(dirname "$0")/lib/common.sh"
need_fuse
A=$(a9_mountpoint alice)
a9_start
h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}' >/dev/null
h_code POST /v1/agents "$A9_TOKEN" '{"id":"bob"}' >/dev/null
a9_stop
a9_start --mount-agent "alice=$A"

# Root is the agent.
expect_contains "$(cat "$A/status")" '"id": "alice"' "status at /"
grep -qx inbox <<<"$(ls "$A")" || fail "no inbox at the agent root"
[ ! -e "$A/agents" ] || fail "the agent view shows the global tree"
[ ! -e "$A/../bob" ] || true  # outside the mount: not ours to judge
# The agent may write its goals and memory and send to itself...
echo '{"description":"mine"}' > "$A/goals/g.json"
echo "note to self" > "$A/inbox/n"
expect_contains "$(cat "$A/inbox/1.json")" '"from":"alice"' "self message sender"
echo hibernate > "$A/ctl"
expect_contains "$(cat "$A/status")" '"state": "hibernated"' "agent hibernated itself"
# ...but never write its config, remove queued messages, or see other agents.
if { echo '{"kind":"echo"}' > "$A/config"; } 2>"$A9_ROOT/err"; then fail "agent wrote config"; fi
expect_eq EACCES "$(errno_class "$(cat "$A9_ROOT/err")")" "config errno"
if { rm "$A/inbox/1.json"; } 2>"$A9_ROOT/err"; then fail "agent removed a queued message"; fi
expect_eq EACCES "$(errno_class "$(cat "$A9_ROOT/err")")" "rm errno"
expect_contains "$(ls -l "$A/config")" "-r--r--r--" "config mode for the agent"
expect_contains "$(cat "$A/mounts")" "$A" "mounts lists the FUSE mount"
# Bob's files are unreachable by any path from here.
if grep -sq '"id": "bob"' "$A/../../bob/status"; then fail "reached bob"; fi
pass
