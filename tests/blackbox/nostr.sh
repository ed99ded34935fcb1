#!/usr/bin/env bash
# Nostr through a real daemon and the real loopback relay, with nostr-tools on the other side:
# relay lists and their state, publish then read back, NIP-65/NIP-17 relay lists published, a
# NIP-17 DM into an echo agent's inbox and its reply back out as a NIP-17 DM, a legacy kind-4
# DM, an exec program's send to an npub, a forged seal and an impersonating rumor never enqueued, a replayed wrap not doubled
# across a daemon restart, a relay restart mid-run, a relay that demands NIP-42 AUTH, and an
# agent's send to an npub from an exec program.
source "$(dirname "$0")/lib/common.sh"
need_fuse
source "$(dirname "$0")/lib/nostr.sh"
M=$(a9_mountpoint mnt)
W=$A9_ROOT/work
mkdir -p "$W"
relay_start main 0
URL=$RELAY_main_URL
mkdir -p "$A9_ROOT/data"
printf '[nostr]\nrelays = ["%s"]\nreconnect_min_ms = 100\nreconnect_max_ms = 500\nredeliver_ms = 300\n' "$URL" \
  > "$A9_ROOT/data/agent9.toml"
a9_start --mount "$M"
json() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice","kind":"echo"}')" "create alice"
ALICE_PK=$(last_body | json pubkey)
ALICE_NPUB=$(last_body | json npub)
N=$M/agents/alice/nostr
expect_eq "publish relays" "$(ls "$N" | xargs)" "ls nostr"
for _ in $(seq 1 100); do grep -q ' connected' "$N/relays" && break; sleep 0.05; done
expect_contains "$(cat "$N/relays")" "$URL connected" "alice's relays (the default)"
expect_contains "$(cat "$N/relays")" " default" "marked as the default"
expect_contains "$(cat "$M/nostr/relays")" "$URL" "the global default"
expect_contains "$(cat "$M/agents/alice/mounts")" "/nostr/	agent	nostr" "mounts"

# ---- publish, then read it back from the relay -------------------------------------------
exec 3<>"$N/publish"
printf '{"kind":1,"content":"hello from alice","tags":[["t","agent9"]]}' >&3
ANSWER=$(cat <&3)
exec 3>&-
EID=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["event"]["id"])' <<< "$ANSWER")
expect_contains "$ANSWER" "\"pubkey\": \"$ALICE_PK\"" "signed by alice"
expect_contains "$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["relays"][sys.argv[1]])' "$URL" <<< "$ANSWER")" "'ok': True" "the relay's OK"
expect_contains "$(nc_ query "$URL" "{\"ids\":[\"$EID\"]}" 3000)" '"content":"hello from alice"' "read back"
# Over HTTP too; bad templates are 400.
expect_eq 200 "$(h_code POST /v1/fs/agents/alice/nostr/publish "$A9_TOKEN" '{"kind":30078,"content":"x","tags":[["d","a9"]]}')" "HTTP publish"
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/nostr/publish "$A9_TOKEN" '{"kind":-1}')" "bad kind"
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/nostr/publish "$A9_TOKEN" '{"kind":1,"sig":"x"}')" "unknown field"
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/nostr/publish "$A9_TOKEN" '{"kind":1,"tags":[[1]]}')" "bad tags"
# NIP-65 and NIP-17 relay lists went out when alice was made.
for _ in $(seq 1 100); do
  grep -qF "$URL" <<<"$(nc_ query "$URL" "{\"kinds\":[10050],\"authors\":[\"$ALICE_PK\"]}" 3000)" && break
  sleep 0.05
done
expect_contains "$(nc_ query "$URL" "{\"kinds\":[10002],\"authors\":[\"$ALICE_PK\"]}" 3000)" "[\"r\",\"$URL\"]" "kind 10002"
expect_contains "$(nc_ query "$URL" "{\"kinds\":[10050],\"authors\":[\"$ALICE_PK\"]}" 3000)" "[\"relay\",\"$URL\"]" "kind 10050"

# ---- a NIP-17 DM in, the echo reply out as a NIP-17 DM --------------------------------------
read -r BOB_SK BOB_PK BOB_NPUB < <(nc_ keygen | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sk"], d["pk"], d["npub"])')
nc_ dm "$URL" "$BOB_SK" "$ALICE_PK" "hello alice, it is bob" >/dev/null
wait_for /v1/fs/agents/alice/outbox '"name":"1.json"'
REPLY=$(nc_ wait-dm "$URL" "$BOB_SK" 1 10000)
expect_contains "$REPLY" '"content":"hello alice, it is bob"' "the echo came back over NIP-17"
expect_contains "$REPLY" "\"pubkey\":\"$ALICE_PK\"" "from alice"
expect_contains "$REPLY" '"kind":14' "a chat message"
OUT=$(h_get /v1/fs/agents/alice/outbox/1.json)
expect_contains "$OUT" '"type":"nostr_dm"' "outbox records the DM"
expect_contains "$OUT" '"status":"sent"' "sent"
expect_contains "$OUT" "\"to\":\"$BOB_NPUB\"" "to bob"
TRAJ=$(h_get /v1/fs/agents/alice/logs/trajectory)
expect_contains "$TRAJ" "\"from\":\"$BOB_NPUB\"" "the tick saw bob's npub as the sender"

# ---- a legacy kind-4 DM ---------------------------------------------------------------------
nc_ nip04 "$URL" "$BOB_SK" "$ALICE_PK" "old style" >/dev/null
wait_for /v1/fs/agents/alice/outbox '"name":"2.json"'
expect_contains "$(nc_ wait-dm "$URL" "$BOB_SK" 2 10000)" '"content":"old style"' "kind-4 in, NIP-17 out"

# ---- an exec program's send to an npub goes out as a NIP-17 DM -----------------------------
cat > "$W/dm.sh" <<EOF
#!/bin/sh
cat >/dev/null
printf '{"send":[{"to":"%s","body":{"text":"hi from exec"}}]}' "$BOB_NPUB"
EOF
chmod +x "$W/dm.sh"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" \
  "{\"id\":\"prog\",\"kind\":\"exec\",\"config\":{\"program\":\"$W/dm.sh\",\"max_attempts\":1}}")" "exec agent"
expect_contains "$(nc_ wait-dm "$URL" "$BOB_SK" 3 10000)" '"content":"hi from exec"' "an exec send to an npub"
wait_for /v1/fs/agents/prog/outbox '"name":"1.json"'
expect_contains "$(h_get /v1/fs/agents/prog/outbox/1.json)" '"status":"sent"' "its outbox"
expect_contains "$(h_get /v1/fs/agents/prog/logs/trajectory)" '"sent":1' "counted as sent by the tick"

# ---- what must never be enqueued ------------------------------------------------------------
h_code POST /v1/agents/alice/hibernate >/dev/null  # so queued messages stay visible
read -r EVE_SK EVE_PK _ < <(nc_ keygen | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sk"], d["pk"], d["npub"])')
nc_ forged-seal "$URL" "$EVE_SK" "$ALICE_PK" "forged" >/dev/null
nc_ impersonate "$URL" "$EVE_SK" "$BOB_PK" "$ALICE_PK" "i am bob" >/dev/null
for _ in $(seq 1 100); do
  [ "$(h_get /metrics | sed -n 's/^agent9_nostr_events_total{result="rejected"} //p')" -ge 2 ] && break
  sleep 0.05
done
expect_eq 2 "$(h_get /metrics | sed -n 's/^agent9_nostr_events_total{result="rejected"} //p')" "rejected"
expect_eq 0 "$(h_get /v1/agents/alice | json queue_depth)" "nothing enqueued"
TRACE=$(h_get /v1/fs/agents/alice/logs/trace)
expect_contains "$TRACE" '"op":"rejected"' "traced"
expect_contains "$TRACE" "seal pubkey differs from the rumor's" "impersonation named"

# ---- a full inbox defers a DM; it lands once there is room ---------------------------------
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"tiny","config":{"inbox":{"max_depth":1}}}')" "create tiny"
TINY_PK=$(last_body | json pubkey)
for _ in $(seq 1 100); do grep -q ' connected' "$M/agents/tiny/nostr/relays" && break; sleep 0.05; done
sleep 0.5  # its DM subscription is planned once it exists
nc_ dm "$URL" "$BOB_SK" "$TINY_PK" "first" >/dev/null
wait_for /v1/agents/tiny '"queue_depth":1'
nc_ dm "$URL" "$BOB_SK" "$TINY_PK" "second" >/dev/null
for _ in $(seq 1 100); do
  grep -q '"op":"deferred"' <<<"$(h_get /v1/fs/agents/tiny/logs/trace)" && break
  sleep 0.05
done
expect_contains "$(h_get /v1/fs/agents/tiny/logs/trace)" '"op":"deferred"' "deferred, not dropped"
FIRST=$(h_get /v1/fs/agents/tiny/inbox | grep -o '"name":"[0-9]*.json"' | cut -d'"' -f4)
expect_eq 204 "$(h_code DELETE "/v1/fs/agents/tiny/inbox/$FIRST")" "make room"
for _ in $(seq 1 200); do
  grep -q '"name"' <<<"$(h_get /v1/fs/agents/tiny/inbox)" && break
  sleep 0.05
done
SECOND=$(h_get /v1/fs/agents/tiny/inbox | grep -o '"name":"[0-9]*.json"' | cut -d'"' -f4)
[ -n "$SECOND" ] || fail "the deferred DM never landed"
expect_contains "$(h_get "/v1/fs/agents/tiny/inbox/$SECOND")" '"text":"second"' "the deferred DM landed"

# ---- a replayed wrap, before and across a restart -------------------------------------------
WRAP=$(nc_ dm "$URL" "$BOB_SK" "$ALICE_PK" "exactly once")
wait_for /v1/agents/alice '"queue_depth":1'
WRAP_JSON=$(nc_ query "$URL" "{\"ids\":[\"$WRAP\"]}" 3000)
nc_ publish "$URL" "$WRAP_JSON" >/dev/null || true  # the relay says duplicate; we must too
a9_stop
a9_start --mount "$M"
for _ in $(seq 1 100); do grep -q ' connected' "$N/relays" && break; sleep 0.05; done
sleep 1  # the resubscription replays two days of wraps; give it the time to be ignored
expect_eq 1 "$(h_get /v1/agents/alice | json queue_depth)" "the wrap once, across a restart"
expect_contains "$(h_get /v1/fs/agents/alice/inbox/$(h_get /v1/fs/agents/alice/inbox | grep -o '"name":"[0-9]*.json"' | head -1 | cut -d'"' -f4))" "exactly once" "the message"

# ---- the relay restarts mid-run -------------------------------------------------------------
PORT=${URL##*:}
kill "$RELAY_main_PID"
for _ in $(seq 1 100); do grep -q ' backoff' "$N/relays" && break; sleep 0.05; done
expect_contains "$(cat "$N/relays")" "backoff" "the relay is gone"
relay_start main "$PORT"
for _ in $(seq 1 200); do grep -q ' connected' "$N/relays" && break; sleep 0.05; done
expect_contains "$(cat "$N/relays")" "connected" "reconnected"
nc_ dm "$URL" "$BOB_SK" "$ALICE_PK" "after the restart" >/dev/null
wait_for /v1/agents/alice '"queue_depth":2'

# ---- a relay that demands NIP-42 AUTH -------------------------------------------------------
relay_start auth 0 LOCAL_RELAY_AUTH=1
AUTH_URL=$RELAY_auth_URL
echo "$AUTH_URL" > "$N/relays"
for _ in $(seq 1 200); do grep -q 'authenticated' "$N/relays" && break; sleep 0.05; done
expect_contains "$(cat "$N/relays")" "$AUTH_URL connected authenticated" "AUTH answered"
case "$(cat "$N/relays")" in *" default"*) fail "an own list is not the default" ;; esac
nc_ dm "$AUTH_URL" "$BOB_SK" "$ALICE_PK" "through an auth relay" >/dev/null
wait_for /v1/agents/alice '"queue_depth":3'
expect_eq 403 "$(h_code PUT /v1/fs/agents/alice/nostr/relays "$(h_get /v1/agents/alice >/dev/null; \
  curl -sS -H "Authorization: Bearer $A9_TOKEN" -X POST "$A9_URL/v1/agents/alice/tokens" | json token)" "$URL")" \
  "an agent sets its own relays"
echo "not a url" > "$W/bad" && if cp "$W/bad" "$N/relays" 2>/dev/null; then fail "a bad relay URL"; fi
expect_contains "$(cat "$N/relays")" "$AUTH_URL" "the list stayed"
pass
