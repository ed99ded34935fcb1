#!/usr/bin/env bash
# SIGTERM unmounts cleanly; a stale mount left by kill -9 is handled at the next start.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
mkdir "$M/agents/keep"
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
