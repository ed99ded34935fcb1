#!/usr/bin/env bash
# agent9 replay: an exec agent's committed tick re-runs offline; the same program replays
# identically (exit 0), a changed one shows its state and emit differences (exit 1), an
# unrecorded tick is an error (exit 2), and only the admin may replay.
source "$(dirname "$0")/lib/common.sh"
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
command -v jq >/dev/null || skip "jq is not installed"
a9() { "$AGENT9_BIN" "$@"; }
program() {  # program FILE STEP: counts ticks in state.n (by STEP) and emits the count
  printf '#!/bin/sh\nexec jq -c %s\n' \
    "'((.state.n // 0) + $2) as \$n | {state: {n: \$n}, emit: [{type: \"count\", n: \$n}]}'" >"$1"
  chmod +x "$1"
}
a9_start
program "$A9_ROOT/counter.sh" 1
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" \
  "{\"id\":\"a\",\"config\":{\"kind\":\"exec\",\"program\":\"$A9_ROOT/counter.sh\"}}")" "create a"
# Tick 1 is init; the two messages are ticks 2 and 3.
a9 send a one >/dev/null
a9 send a two >/dev/null
wait_for /v1/agents/a '"tick_count":3'
expect_contains "$(h_get /v1/fs/agents/a/state)" '"n":3' "state after three ticks"

out=$(a9 replay a 2) || fail "replay of the same program exited $?: $out"
expect_eq "tick 2 of a (kind exec): identical" "$out" "identical replay"

program "$A9_ROOT/changed.sh" 10
rc=0
out=$(a9 replay a 2 --program "$A9_ROOT/changed.sh") || rc=$?
expect_eq 1 "$rc" "exit status of a differing replay"
expect_contains "$out" "2 difference(s)" "difference count"
expect_contains "$out" "  state/n: replace recorded=2 replayed=11" "state difference"
expect_contains "$out" "  emit/0/n: replace recorded=2 replayed=11" "emit difference"
json=$(a9 --json replay a 2 --program "$A9_ROOT/changed.sh") && fail "--json replay exited 0"
expect_contains "$json" '"identical":false' "json result"

rc=0
a9 replay a 99 >"$A9_ROOT/out" 2>"$A9_ROOT/err" || rc=$?
expect_eq 2 "$rc" "exit status of an unrecorded tick"
expect_contains "$(cat "$A9_ROOT/err")" "no record of tick 99" "message on stderr"
expect_eq "" "$(cat "$A9_ROOT/out")" "nothing on stdout"

# Replaying changed nothing.
expect_contains "$(h_get /v1/agents/a)" '"tick_count":3' "no tick committed by replay"
expect_contains "$(h_get /v1/fs/agents/a/state)" '"n":3' "state untouched by replay"

# Only the admin may replay: it runs a program the caller names.
T=$(a9 token a)
expect_eq 403 "$(h_code POST /v1/agents/a/replay "$T" '{"tick":2}')" "agent token"
expect_eq 401 "$(h_code POST /v1/agents/a/replay "" '{"tick":2}')" "no token"
expect_eq 400 "$(h_code POST /v1/agents/a/replay "$A9_TOKEN" '{"tick":"two"}')" "bad tick"
expect_contains "$(last_body)" 'tick' "400 names the field"
expect_eq 404 "$(h_code POST /v1/agents/nobody/replay "$A9_TOKEN" '{"tick":1}')" "unknown agent"
pass
