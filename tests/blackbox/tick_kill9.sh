#!/usr/bin/env bash
# Exactly-once ticks across kill -9: an echo agent under sustained load is killed mid-stream
# and restarted; every acknowledged message is answered exactly once, and the agent's own
# state counter equals the replies (nothing lost, nothing processed twice).
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
cfg='{"kind":"echo","inbox":{"max_depth":100000},"retention":{"events":100000,"trajectory":100000}}'
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" "{\"id\":\"e\",\"config\":$cfg}")" "create echo"

URL=$A9_URL
senders=()
for w in 1 2 3 4; do
  (
    i=0
    while [ $i -lt 400 ]; do
      i=$((i + 1)); id="w$w-$i"
      code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
        -H "Authorization: Bearer $A9_TOKEN" --data-binary "{\"id\":\"$id\",\"body\":$i}" \
        "$URL/v1/agents/e/send" 2>/dev/null) || break
      [ "$code" = 202 ] && echo "$id" >> "$A9_ROOT/acked.$w"
    done
  ) &
  senders+=($!)
done
# Let the load run, then kill the daemon in the middle of it.
for _ in $(seq 1 100); do
  [ "$(cat "$A9_ROOT"/acked.* 2>/dev/null | wc -l)" -ge 300 ] && break; sleep 0.05
done
a9_kill9
wait "${senders[@]}"
cat "$A9_ROOT"/acked.* | sort > "$A9_ROOT/acked"
acked=$(wc -l < "$A9_ROOT/acked")
[ "$acked" -ge 300 ] || fail "only $acked sends were acknowledged before the kill"

fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M"
for _ in $(seq 1 600); do
  depth=$(h_get /v1/agents/e | sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p')
  [ "$depth" = 0 ] && break; sleep 0.05
done
expect_eq 0 "$depth" "queue drained after restart"

cat "$M"/agents/e/outbox/[0-9]*.json | sed -n 's/.*"in_reply_to":"\([^"]*\)".*/\1/p' | sort > "$A9_ROOT/answered"
dups=$(uniq -d "$A9_ROOT/answered" | wc -l)
expect_eq 0 "$dups" "messages answered twice"
lost=$(comm -23 "$A9_ROOT/acked" "$A9_ROOT/answered" | wc -l)
expect_eq 0 "$lost" "acknowledged messages never answered"
answered=$(wc -l < "$A9_ROOT/answered")
echoed=$(sed -n 's/.*"echoed":\([0-9]*\).*/\1/p' "$M/agents/e/state")
expect_eq "$answered" "$echoed" "the agent's own counter vs its replies"
echo "tick_kill9: $acked acknowledged, $answered answered, lost 0, duplicated 0"
pass
