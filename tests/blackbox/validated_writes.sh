#!/usr/bin/env bash
# Validated files (goals, memory, config, settings, policies) over a real FUSE mount and HTTP:
# the write() whose bytes can no longer begin a valid document fails with EINVAL, so even
# `echo >` reports it; a document found incomplete only at close fails the close, which tee,
# cp, dd and `agent9 write` report but the shell's `>` does not; either way nothing is stored
# and logs/trace records why (never quoting a config, which may hold secrets).
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
mkdir "$M/agents/alice"
A=$M/agents/alice
G=$A/goals
W=$A9_ROOT/work
mkdir -p "$W"
trace() { h_get /v1/fs/agents/alice/logs/trace; }
absent() { [ ! -e "$1" ] || fail "$1 was stored: $(cat "$1")"; }

# The write that makes the document impossible fails: `{n` can begin no JSON object.
if { echo "{not json" > "$G/bad.json"; } 2>"$W/err"; then fail "echo {not json > goal exited 0"; fi
expect_eq EINVAL "$(errno_class "$(cat "$W/err")")" "echo {not json errno"
absent "$G/bad.json"
expect_contains "$(trace)" "goals/bad.json: syntax error while parsing object key - invalid literal; last read: '{n'; expected string literal" "trace of the bad write"
for bad in '{"a":1} x' '[1]' '{"a":tru }' '{"a":01}' '{"a":"\uDC00"}' '{"description":"x"}}'; do
  if { echo "$bad" > "$G/b.json"; } 2>"$W/err"; then fail "echo $bad > goal exited 0"; fi
  expect_eq EINVAL "$(errno_class "$(cat "$W/err")")" "echo $bad errno"
done
absent "$G/b.json"
if { printf '{"a":\n' >> "$A/memory/conversations/c.jsonl"; } 2>"$W/err"; then
  fail "a JSON line cut by its newline was accepted"
fi
if { echo '[1]' > "$A/hud/settings"; } 2>/dev/null; then fail "hud/settings took an array"; fi
if { echo '{"allowed_models":[1,]}' > "$A/compute/policy"; } 2>/dev/null; then
  fail "compute/policy took [1,]"
fi
# dd bs=1 shows the exact write that fails: every byte before it was accepted.
refused_at() {  # refused_at TEXT TARGET: how many 1-byte writes succeeded before one failed
  printf '%s' "$1" > "$W/in"
  if dd if="$W/in" of="$2" bs=1 2>"$W/dd"; then fail "dd bs=1 of [$1] succeeded"; fi
  sed -n 's/^\([0-9]*\)+0 records out$/\1/p' "$W/dd"
}
expect_eq 1 "$(refused_at '{not json' "$G/dd.json")" "{not json, a byte at a time"
expect_eq 20 "$(refused_at '{"description":"x"} x' "$G/dd.json")" "trailing x, a byte at a time"
expect_eq 17 "$(refused_at "$(printf '{"description":"\303(')" "$G/dd.json")" "bad UTF-8"
absent "$G/dd.json"
# nostr/relays: every whole line a relay URL, the last one the beginning of one.
list=$(printf 'ws://127.0.0.1:9/a\n# a comment\n  wss://[::1]:9 idle\nws')
expect_eq "${#list}" "$(refused_at "${list}x" "$A/nostr/relays")" "relays, a byte at a time"
expect_eq 19 "$(refused_at "$(printf 'ws://127.0.0.1:9/a\nhttp://x')" "$A/nostr/relays")" "http relay"

# Incomplete only at close: the shell's `>` ignores close errors and exits 0, but nothing is
# stored and the trace says why.
printf '{"a":' > "$G/x.json" || fail "printf > reported the close error (update docs/FILESYSTEM.md)"
echo -n '{"description":"half' > "$G/y.json" || fail "echo -n > reported the close error"
absent "$G/x.json"
absent "$G/y.json"
t=$(trace)
expect_contains "$t" "goals/x.json: incomplete document: syntax error while parsing value - unexpected end of input" "trace of the close"
expect_contains "$t" '"error":"invalid_argument"' "trace error code"
expect_contains "$t" "goals/y.json: incomplete document" "trace of echo -n"

# tee, cp, dd and agent9 write check close(2): they exit non-zero.
if printf '{"a":' | tee "$G/t.json" >/dev/null 2>"$W/err"; then fail "tee exited 0"; fi
expect_eq EINVAL "$(errno_class "$(cat "$W/err")")" "tee errno"
printf '{"a":' > "$W/partial.json"
if cp "$W/partial.json" "$G/c.json" 2>"$W/err"; then fail "cp exited 0"; fi
expect_eq EINVAL "$(errno_class "$(cat "$W/err")")" "cp errno"
if dd if="$W/partial.json" of="$G/d.json" status=none 2>"$W/err"; then fail "dd exited 0"; fi
expect_eq EINVAL "$(errno_class "$(cat "$W/err")")" "dd errno"
if "$AGENT9_BIN" write agents/alice/goals/w.json '{"a":' 2>"$W/err"; then fail "agent9 write exited 0"; fi
expect_contains "$(cat "$W/err")" "incomplete document" "agent9 write message"
for f in t c d w; do absent "$G/$f.json"; done

# A config may hold secrets (env): its messages and the trace never quote it.
printf '{"env":{"TOKEN":"sk-secret-42' > "$A/config" || fail "printf > config"
printf '{"env":{"TOKEN":"sk-secret-43\001"}}' > "$A/config" 2>/dev/null && fail "a control byte in config"
t=$(trace)
expect_contains "$t" "config: incomplete document" "trace of the config"
case "$t" in *sk-secret*) fail "the trace quotes the config: $t" ;; esac

# Over HTTP: the same bodies, 400 with the message.
expect_eq 400 "$(h_code PUT /v1/fs/agents/alice/goals/h.json "$A9_TOKEN" '{not json')" "PUT {not json"
expect_contains "$(last_body)" '"error":"invalid_argument"' "PUT {not json body"
expect_contains "$(last_body)" "goals/h.json: syntax error while parsing object key - invalid literal" "PUT {not json message"
expect_eq 400 "$(h_code PUT /v1/fs/agents/alice/goals/h.json "$A9_TOKEN" '{"a":')" "PUT incomplete"
expect_contains "$(last_body)" "goals/h.json: incomplete document" "PUT incomplete message"
expect_eq 404 "$(h_code GET /v1/fs/agents/alice/goals/h.json)" "nothing stored over HTTP"

# A valid document written a byte at a time (a multi-byte character and an escape cut
# across writes) is accepted, and so is 1 MiB in 4 KiB writes.
printf '{"description":"caf\303\251 \\u00e9 \360\237\230\200","priority":-3}\n' > "$W/good.json"
dd if="$W/good.json" of="$G/good.json" bs=1 status=none || fail "dd bs=1 of a valid goal"
expect_eq "$(cat "$W/good.json")" "$(cat "$G/good.json")" "goal written a byte at a time"
{
  printf '{"description":"big","items":['
  seq 1 37000 | sed 's/.*/{"n":&,"s":"caf\\u00e9"},/' | tr -d '\n'
  printf '{}]}\n'
} > "$W/big.json"
[ "$(stat -c %s "$W/big.json")" -le 1048576 ] || fail "big.json over 1 MiB"
start=$(date +%s%N)
dd if="$W/big.json" of="$G/big.json" bs=4096 status=none || fail "dd bs=4096 of a 1 MiB goal"
echo "1 MiB goal in 4 KiB writes over FUSE: $((($(date +%s%N) - start) / 1000000)) ms"
cmp -s "$W/big.json" "$G/big.json" || fail "big goal differs"
pass
