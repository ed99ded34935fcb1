#!/usr/bin/env bash
# Acknowledged means durable: N sends acknowledged over HTTP, the CLI and FUSE, then kill -9,
# then restart: every message is present exactly once.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
h_code POST /v1/agents "$A9_TOKEN" '{"id":"sink","config":{"inbox":{"max_depth":100000}}}' >/dev/null

N_HTTP=300; N_CLI=20; N_FUSE=100
: > "$A9_ROOT/acked"
# Concurrent HTTP senders, each with its own message ids.
senders=()
for w in 1 2 3 4; do
  (
    for i in $(seq 1 $((N_HTTP / 4))); do
      id="h$w-$i"
      code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A9_TOKEN" \
        --data-binary "{\"id\":\"$id\",\"body\":$i}" "$A9_URL/v1/agents/sink/send")
      [ "$code" = 202 ] && echo "$id" >> "$A9_ROOT/acked.$w"
    done
  ) &
  senders+=($!)
done
for i in $(seq 1 $N_CLI); do
  "$AGENT9_BIN" send sink --id "c-$i" "cli $i" >/dev/null && echo "c-$i" >> "$A9_ROOT/acked.cli"
done
for i in $(seq 1 $N_FUSE); do
  echo "{\"id\":\"f-$i\",\"body\":$i}" > "$M/agents/sink/inbox/m" && echo "f-$i" >> "$A9_ROOT/acked.fuse"
done
wait "${senders[@]}"
cat "$A9_ROOT"/acked.* > "$A9_ROOT/acked"
acked=$(wc -l < "$A9_ROOT/acked")
expect_eq $((N_HTTP + N_CLI + N_FUSE)) "$acked" "acknowledged sends"

a9_kill9
fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M"

# Every acknowledged id is in the inbox exactly once.
curl -sS -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs/agents/sink/inbox" \
  | grep -o '"name":"[0-9]*.json"' | sed 's/"name":"\(.*\)"/\1/' > "$A9_ROOT/names"
expect_eq "$acked" "$(wc -l < "$A9_ROOT/names")" "messages after restart"
: > "$A9_ROOT/ids"
while read -r n; do
  sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$M/agents/sink/inbox/$n" >> "$A9_ROOT/ids"
done < "$A9_ROOT/names"
sort "$A9_ROOT/ids" > "$A9_ROOT/ids.sorted"
sort "$A9_ROOT/acked" > "$A9_ROOT/acked.sorted"
dups=$(uniq -d "$A9_ROOT/ids.sorted" | wc -l)
expect_eq 0 "$dups" "duplicated messages"
cmp -s "$A9_ROOT/ids.sorted" "$A9_ROOT/acked.sorted" || fail "lost messages: $(comm -23 "$A9_ROOT/acked.sorted" "$A9_ROOT/ids.sorted" | head)"
echo "kill9: $acked acknowledged, lost 0, duplicated 0"
pass
