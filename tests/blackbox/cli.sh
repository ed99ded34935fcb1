#!/usr/bin/env bash
# The agent9 CLI against a real daemon: human output, --json, errors on stderr + exit codes.
source "$(dirname "$0")/lib/common.sh"
a9_start
a9() { "$AGENT9_BIN" "$@"; }

out=$(a9 create alice)
expect_contains "$out" "alice" "create output"
a9 create bob >/dev/null
expect_contains "$(a9 ls)" "alice" "ls"
expect_contains "$(a9 ls --json)" '"id":"bob"' "ls --json"
expect_contains "$(a9 send alice hello there)" "seq 1" "send"
echo '{"id":"k1","body":"piped"}' | a9 send alice - >/dev/null
echo '{"id":"k1","body":"piped"}' | a9 send alice - >/dev/null
expect_contains "$(a9 status alice)" "queue_depth" "status"
expect_contains "$(a9 status alice --json)" '"queue_depth":2' "status --json"
expect_contains "$(a9 cat agents/alice/inbox/1.json)" '"text":"hello there"' "cat"
expect_contains "$(a9 cat /agents/alice/inbox)" "1.json" "cat dir"
echo '{"description":"via cli"}' | a9 write agents/alice/goals/c.json -
expect_eq '{"description":"via cli"}' "$(a9 cat agents/alice/goals/c.json)" "write + cat"
T=$(a9 token alice)
[ -n "$T" ] || fail "empty token"
expect_contains "$(AGENT9_TOKEN=$T a9 cat agents/alice/status)" '"id": "alice"' "agent token"
a9 create bot --kind echo >/dev/null
a9 send bot "are you there" >/dev/null
for _ in $(seq 1 100); do a9 cat agents/bot/outbox/1.json >/dev/null 2>&1 && break; sleep 0.05; done
expect_contains "$(a9 cat agents/bot/outbox/1.json)" '"text":"are you there"' "echo reply via the CLI"
a9 tick bot >/dev/null
if a9 tick alice 2>"$A9_ROOT/err"; then fail "tick of a kind-none agent succeeded"; fi
expect_contains "$(cat "$A9_ROOT/err")" "runs no ticks" "tick error"
a9 hibernate alice >/dev/null
expect_contains "$(a9 status alice --json)" '"state":"hibernated"' "hibernate"
a9 wake alice >/dev/null
# watch: a plain file is re-read and printed each time it changes; a stream is followed.
a9 create w >/dev/null
a9 watch -n 2 --interval 50 agents/w/metrics/queue >"$A9_ROOT/watch.out" 2>"$A9_ROOT/watch.err" &
wpid=$!
for _ in $(seq 1 100); do [ -s "$A9_ROOT/watch.out" ] && break; sleep 0.05; done
a9 send w "change the queue" >/dev/null
for _ in $(seq 1 100); do kill -0 $wpid 2>/dev/null || break; sleep 0.05; done
if kill -0 $wpid 2>/dev/null; then kill $wpid; fail "watch -n 2 did not stop after two versions"; fi
wait $wpid || fail "watch exited non-zero: $(cat "$A9_ROOT/watch.err")"
expect_eq 2 "$(grep -c '"inbox_depth"' "$A9_ROOT/watch.out")" "two versions printed"
expect_contains "$(cat "$A9_ROOT/watch.out")" '"inbox_depth": 1' "the changed version"
a9 watch agents/bot/outbox/stream >"$A9_ROOT/stream.out" 2>&1 &
spid=$!
sleep 0.3
a9 send bot "watched reply" >/dev/null
for _ in $(seq 1 100); do grep -q 'watched reply' "$A9_ROOT/stream.out" && break; sleep 0.05; done
kill $spid; wait $spid 2>/dev/null || true
expect_contains "$(cat "$A9_ROOT/stream.out")" '"text":"watched reply"' "watch follows a stream"
if a9 watch agents/nobody/status 2>"$A9_ROOT/err"; then fail "watch of a missing agent exited 0"; fi
expect_contains "$(cat "$A9_ROOT/err")" "no such agent" "watch error"
set +e
a9 watch --interval 1 agents/w/status 2>/dev/null; rc=$?
set -e
expect_eq 2 "$rc" "watch --interval below 50 ms is a usage error"

a9 rm bob
if a9 status bob 2>"$A9_ROOT/err"; then fail "status of a removed agent"; fi
expect_contains "$(cat "$A9_ROOT/err")" "agent9:" "error on stderr"

# Errors: clear message on stderr, non-zero exit, nothing on stdout.
set +e
a9 send nobody hi >"$A9_ROOT/out" 2>"$A9_ROOT/err"; rc=$?
set -e
[ $rc -ne 0 ] || fail "send to a missing agent exited 0"
[ ! -s "$A9_ROOT/out" ] || fail "stdout on error: $(cat "$A9_ROOT/out")"
expect_contains "$(cat "$A9_ROOT/err")" "no such agent" "send error"
if AGENT9_TOKEN=bogus a9 ls 2>"$A9_ROOT/err"; then fail "bogus token accepted"; fi
expect_contains "$(cat "$A9_ROOT/err")" "agent9:" "auth error"
if AGENT9_TOKEN=$T a9 write agents/alice/config '{"kind":"none"}' 2>"$A9_ROOT/err"; then fail "agent wrote config via CLI"; fi
if a9 create "Bad Name" 2>"$A9_ROOT/err"; then fail "bad name accepted"; fi
if a9 --server http://127.0.0.1:1 ls 2>"$A9_ROOT/err"; then fail "unreachable server succeeded"; fi
expect_contains "$(cat "$A9_ROOT/err")" "agent9:" "unreachable message"
if a9 frobnicate 2>/dev/null; then fail "unknown subcommand accepted"; fi
pass
