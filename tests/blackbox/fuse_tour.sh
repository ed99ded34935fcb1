#!/usr/bin/env bash
# The README tour over a real FUSE mount, with the shell tools a user would use.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"

[ -d "$M/agents" ] || fail "no agents/ in the mount"
mkdir "$M/agents/alice"
expect_eq "alice" "$(ls "$M/agents")" "ls agents"
grep -qx status <<<"$(ls "$M/agents/alice")" || fail "no status file"

# Status is JSON; stat works; ls -l shows sane modes.
status=$(cat "$M/agents/alice/status")
expect_contains "$status" '"id": "alice"' "status"
expect_contains "$status" '"queue_depth": 0' "status"
stat "$M/agents/alice/status" >/dev/null
expect_contains "$(ls -l "$M/agents/alice/config")" "-rw-r--r--" "config mode"
expect_contains "$(ls -ld "$M/agents/alice/inbox")" "drwx" "inbox mode"

# Enqueue by creating a file; list; read.
echo "hello alice" > "$M/agents/alice/inbox/m1"
echo '{"id":"fixed-1","body":{"n":1}}' > "$M/agents/alice/inbox/m2"
echo '{"id":"fixed-1","body":{"n":1}}' > "$M/agents/alice/inbox/m3"   # same id: once
expect_eq "1.json 2.json" "$(ls "$M/agents/alice/inbox" | tr '\n' ' ' | sed 's/ $//')" "inbox"
expect_contains "$(cat "$M/agents/alice/inbox/1.json")" '"text":"hello alice"' "message 1"
expect_contains "$(cat "$M/agents/alice/inbox/1.json")" '"from":"operator"' "message 1 sender"
expect_contains "$(cat "$M/agents/alice/status")" '"queue_depth": 2' "status after send"
rm "$M/agents/alice/inbox/1.json"
expect_eq "2.json" "$(ls "$M/agents/alice/inbox")" "inbox after rm"

# Goals: create, read, replace, bad writes fail and keep the old content, rm.
echo '{"description":"ship","priority":2}' > "$M/agents/alice/goals/g1.json"
expect_eq '{"description":"ship","priority":2}' "$(cat "$M/agents/alice/goals/g1.json")" "goal"
if { echo 'not json' > "$M/agents/alice/goals/g1.json"; } 2>"$A9_ROOT/err"; then fail "bad goal accepted"; fi
expect_eq EINVAL "$(errno_class "$(cat "$A9_ROOT/err")")" "bad goal errno"
if { echo '{"priority":1}' > "$M/agents/alice/goals/g1.json"; } 2>"$A9_ROOT/err"; then fail "goal without description accepted"; fi
expect_eq EINVAL "$(errno_class "$(cat "$A9_ROOT/err")")" "invalid goal errno"
expect_eq '{"description":"ship","priority":2}' "$(cat "$M/agents/alice/goals/g1.json")" "goal kept"
expect_eq 36 "$(stat -c %s "$M/agents/alice/goals/g1.json")" "goal size"
rm "$M/agents/alice/goals/g1.json"
[ -z "$(ls "$M/agents/alice/goals")" ] || fail "goal not removed"

# Conversations: O_APPEND.
echo '{"role":"user","text":"hi"}' > "$M/agents/alice/memory/conversations/c1.jsonl"
echo '{"role":"agent","text":"hello"}' >> "$M/agents/alice/memory/conversations/c1.jsonl"
expect_eq 2 "$(wc -l < "$M/agents/alice/memory/conversations/c1.jsonl")" "conversation lines"
echo '{"k":"v"}' > "$M/agents/alice/memory/patterns/p1.json"

# Config: validated, a bad value leaves the old one.
echo '{"kind":"echo","inbox":{"max_depth":5}}' > "$M/agents/alice/config"
expect_contains "$(cat "$M/agents/alice/config")" '"max_depth": 5' "config"
if echo '{"inbox":{"max_depth":-3}}' > "$M/agents/alice/config" 2>/dev/null; then fail "bad config accepted"; fi
expect_contains "$(cat "$M/agents/alice/config")" '"max_depth": 5' "config kept"

# ctl: bad verbs are EINVAL and the message is readable on the same handle.
if { echo "explode" > "$M/agents/alice/ctl"; } 2>"$A9_ROOT/err"; then fail "bad ctl accepted"; fi
expect_eq EINVAL "$(errno_class "$(cat "$A9_ROOT/err")")" "ctl errno"
msg=$(exec 3<>"$M/agents/alice/ctl"; echo explode >&3 2>/dev/null; cat <&3)
expect_contains "$msg" "unknown control message: explode" "ctl error read"
echo hibernate > "$M/agents/alice/ctl"
expect_contains "$(cat "$M/agents/alice/status")" '"state": "hibernated"' "hibernated"
echo wake > "$M/agents/alice/ctl"
echo '{"description":"x"}' > "$M/agents/alice/goals/r1.json"
if { mv "$M/agents/alice/goals/r1.json" "$M/agents/alice/goals/r2.json"; } 2>"$A9_ROOT/err"; then fail "rename should be unsupported"; fi
expect_eq EOPNOTSUPP "$(errno_class "$(cat "$A9_ROOT/err")")" "rename errno"
rm "$M/agents/alice/goals/r1.json"
# alice is an echo agent now (config above): it answers its inbox and manual ticks.
echo "tick by hand" > "$M/agents/alice/ctl"
for _ in $(seq 1 100); do grep -q '"type":"manual"' "$M/agents/alice/logs/trajectory" && break; sleep 0.05; done
expect_contains "$(cat "$M/agents/alice/logs/trajectory")" '"reason":"by hand"' "manual tick in the trajectory"
expect_contains "$(cat "$M/agents/alice/status")" '"last_tick_cause": "manual"' "status after a manual tick"

# find walks the whole agent; missing files are ENOENT.
find "$M/agents/alice" > "$A9_ROOT/find.out"
grep -q "memory/conversations/c1.jsonl" "$A9_ROOT/find.out" || fail "find misses the conversation"
if { cat "$M/agents/alice/nope"; } 2>"$A9_ROOT/err"; then fail "missing file read"; fi
expect_eq ENOENT "$(errno_class "$(cat "$A9_ROOT/err")")" "missing errno"
if { mkdir "$M/agents/Bad_Name"; } 2>"$A9_ROOT/err"; then fail "bad agent name accepted"; fi
expect_eq EINVAL "$(errno_class "$(cat "$A9_ROOT/err")")" "bad name errno"

# rmdir deletes the agent.
rmdir "$M/agents/alice"
[ -z "$(ls "$M/agents")" ] || fail "agent not deleted"
pass
