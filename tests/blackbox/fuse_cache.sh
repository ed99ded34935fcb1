#!/usr/bin/env bash
# The kernel caches agents' fixed names, agents and documents (docs/FILESYSTEM.md "Caching"):
# every change made over HTTP, the CLI or another mount is still seen at once over FUSE.
# Each check runs right after the call that made the change returns: no sleeps, no retries.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint global)
L=$(a9_mountpoint local)
a9_start
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}')" "create alice"
a9_stop
a9_start --mount "$M" --mount-agent "alice=$L"

# Warm the caches: the names along each path, the attributes of dirs and generated files.
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/goals/g.json "$A9_TOKEN" '{"description":"one"}')" "put goal"
for _ in 1 2 3; do
  stat "$M/agents/alice/status" "$M/agents/alice/goals/g.json" "$L/goals/g.json" >/dev/null
done

# A document deleted over HTTP is gone on both mounts at once.
expect_eq 204 "$(h_code DELETE /v1/fs/agents/alice/goals/g.json)" "delete goal"
[ ! -e "$M/agents/alice/goals/g.json" ] || fail "global mount still shows the deleted goal"
[ ! -e "$L/goals/g.json" ] || fail "agent mount still shows the deleted goal"
# Written again (bigger): there at once, with its new size and content.
body='{"description":"two, and longer than before"}'
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/goals/g.json "$A9_TOKEN" "$body")" "put goal again"
expect_eq "$body" "$(cat "$M/agents/alice/goals/g.json")" "goal content"
expect_eq "${#body}" "$(stat -c %s "$L/goals/g.json")" "goal size on the agent mount"
# Removed on one mount: gone on the other at once.
rm "$L/goals/g.json"
[ ! -e "$M/agents/alice/goals/g.json" ] || fail "global mount still shows a goal removed on the agent mount"
echo '{"description":"three"}' > "$M/agents/alice/goals/h.json"
stat "$L/goals/h.json" >/dev/null
rm "$M/agents/alice/goals/h.json"
[ ! -e "$L/goals/h.json" ] || fail "agent mount still shows a goal removed on the global mount"

# A new agent: there at once, though its name was looked up (and missed) just before.
[ ! -e "$M/agents/bob" ] || fail "bob exists before he is created"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"bob"}')" "create bob"
expect_contains "$(cat "$M/agents/bob/status")" '"id": "bob"' "bob's status"
grep -qx bob <<<"$(ls "$M/agents")" || fail "ls agents/ does not show bob"
# Deleted over HTTP: gone at once, the whole tree below it too.
stat "$M/agents/bob/status" "$M/agents/bob/goals" >/dev/null
expect_eq 204 "$(h_code DELETE /v1/agents/bob)" "delete bob"
[ ! -e "$M/agents/bob" ] || fail "the deleted agent is still there"
[ ! -e "$M/agents/bob/status" ] || fail "the deleted agent's status is still there"
# Created again with the same id: a fresh agent, at once.
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"bob","kind":"echo"}')" "create bob again"
expect_contains "$(cat "$M/agents/bob/status")" '"kind": "echo"' "the new bob's status"
# Deleted with the CLI and with rmdir on the mount.
AGENT9_TOKEN=$A9_TOKEN "$AGENT9_BIN" rm bob || fail "agent9 rm bob"
[ ! -e "$M/agents/bob" ] || fail "bob is still there after the second delete"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"carol"}')" "create carol"
stat "$M/agents/carol/status" >/dev/null
rmdir "$M/agents/carol"
[ ! -e "$M/agents/carol" ] || fail "carol is still there after rmdir"

# A config write over HTTP is read back over FUSE at once (contents are never cached).
cat "$M/agents/alice/config" >/dev/null
expect_eq 204 "$(h_code PUT /v1/fs/agents/alice/config "$A9_TOKEN" '{"kind":"echo"}')" "write config"
expect_contains "$(cat "$M/agents/alice/config")" '"kind": "echo"' "config over FUSE"
expect_contains "$(cat "$L/config")" '"kind": "echo"' "config over the agent mount"
pass
