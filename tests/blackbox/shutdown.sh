#!/usr/bin/env bash
# SIGTERM unmounts cleanly; a stale mount left by kill -9 is handled at the next start.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
mkdir "$M/agents/keep"
# A second daemon on the same data dir refuses to start, with a message, and harms nothing.
set +e
"$AGENT9_BIN" serve --data "$A9_DATA" --listen 127.0.0.1:0 >"$A9_ROOT/second.out" 2>"$A9_ROOT/second.err"
rc=$?
set -e
[ $rc -ne 0 ] || fail "a second daemon started on the same data dir"
expect_contains "$(cat "$A9_ROOT/second.err")" "another agent9 daemon is using the data dir" "second daemon"
expect_eq keep "$(ls "$M/agents")" "first daemon still serving"
grep -qs " $M fuse" /proc/mounts || fail "not mounted"
a9_stop
if grep -qs " $M fuse" /proc/mounts; then fail "still mounted after SIGTERM"; fi
[ -z "$(ls -A "$M")" ] || fail "mountpoint not empty after unmount"

# A crash leaves the mount behind (ENOTCONN); the next start must recover it.
a9_start --mount "$M"
a9_kill9
grep -qs " $M fuse" /proc/mounts || fail "kill -9 did not leave a stale mount (test premise)"
a9_start --mount "$M"
expect_eq keep "$(ls "$M/agents")" "agents after restart over a stale mount"
expect_contains "$(cat "$M/agents/keep/status")" '"id": "keep"' "status after restart"
pass
