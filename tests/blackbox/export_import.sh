#!/usr/bin/env bash
# Export and import through a real daemon: an agent with goals, memory, queued messages, a
# dead letter, an alarm and a trajectory is exported over HTTP, FUSE (memory/export) and the
# CLI; restored into a fresh daemon and cloned in the same one, its files read back the same.
source "$(dirname "$0")/lib/common.sh"
need_fuse
command -v tar >/dev/null || skip "no tar"
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
W=$A9_ROOT/work
mkdir -p "$W"

create() {  # create ID BODY: prints the agent token
  expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" "$2")" "create $1"
  last_body | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
post_file() {  # post_file FILE QUERY [TOKEN]: POST /v1/agents/import, prints the status
  curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -H "Authorization: Bearer ${3:-$A9_TOKEN}" \
    -H 'Content-Type: application/x-tar' --data-binary "@$1" "$A9_URL/v1/agents/import$2"
}
# snapshot ID DIR: the agent's files, byte for byte (listings as names).
snapshot() {
  local id=$1 dir=$2 d f
  mkdir -p "$dir"
  for f in state config ctl logs/trajectory; do
    h_get "/v1/fs/agents/$id/$f" > "$dir/${f//\//_}"
  done
  for d in inbox deadletter outbox goals memory/conversations memory/patterns; do
    h_get "/v1/fs/agents/$id/$d" | grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/' \
      > "$dir/${d//\//_}.ls"
    while read -r f; do
      case "$f" in ctl | stream) continue ;; esac
      h_get "/v1/fs/agents/$id/$d/$f" > "$dir/${d//\//_}_$f"
    done < "$dir/${d//\//_}.ls"
  done
}

# alice: an echo agent whose inbox holds 3 (then overflows into deadletter/).
ALICE_TOKEN=$(create alice '{"id":"alice","kind":"echo","config":{"inbox":{"max_depth":3,"overflow":"deadletter"}}}')
BOB_TOKEN=$(create bob '{"id":"bob"}')
h_code POST /v1/agents/alice/send "$A9_TOKEN" 'hello' >/dev/null
wait_for /v1/agents/alice '"tick_count":2'  # init, then the message
wait_for /v1/fs/agents/alice/outbox '"name":"1.json"'
echo '{"description":"ship it","priority":2}' > "$M/agents/alice/goals/g1.json"
echo '{"role":"user","text":"hi"}' > "$M/agents/alice/memory/conversations/c1.jsonl"
echo '{"role":"agent","text":"hello"}' >> "$M/agents/alice/memory/conversations/c1.jsonl"
echo '{"when":"x","then":"y"}' > "$M/agents/alice/memory/patterns/p1.json"
# Hibernated, so what arrives stays queued.
expect_eq 200 "$(h_code POST /v1/agents/alice/hibernate)" "hibernate"
for m in 'first' '{"id":"m-2","body":{"n":2}}' '{"n":3}' 'overflow'; do
  expect_eq 202 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" "$m")" "send $m"
done
echo "alarm 3600000 wake-up" > "$M/agents/alice/ctl"
status=$(h_get /v1/agents/alice)
expect_contains "$status" '"queue_depth":3' "queued"
expect_contains "$status" '"deadletter_depth":1' "dead-lettered"
expect_contains "$(cat "$M/agents/alice/ctl")" "alarm 1 due" "alarm set"

# Export three ways: HTTP, FUSE, CLI (file and stdout).
curl -sS -D "$W/headers" -o "$W/http.tar" -H "Authorization: Bearer $A9_TOKEN" \
  "$A9_URL/v1/agents/alice/export"
expect_contains "$(cat "$W/headers")" "200" "export status"
expect_contains "$(tr -d '\r' < "$W/headers")" "Content-Type: application/x-tar" "export type"
expect_contains "$(tr -d '\r' < "$W/headers")" 'Content-Disposition: attachment; filename="alice.tar"' "disposition"
cat "$M/agents/alice/memory/export" > "$W/fuse.tar"
"$AGENT9_BIN" export alice -o "$W/cli.tar"
"$AGENT9_BIN" export alice > "$W/stdout.tar"
tar -tf "$W/http.tar" > "$W/list"
for name in manifest.json config.json state.json goals/g1.json memory/conversations/c1.jsonl \
  memory/patterns/p1.json inbox.jsonl deadletter.jsonl trajectory.jsonl alarms.json outbox.jsonl; do
  grep -qx "$name" "$W/list" || fail "the bundle lacks $name: $(cat "$W/list")"
done
expect_eq 3 "$(tar -xOf "$W/http.tar" inbox.jsonl | wc -l)" "queued messages in the bundle"
expect_contains "$(tar -xOf "$W/http.tar" manifest.json)" '"format": 1' "manifest format"
PUB=$(h_get /v1/fs/agents/alice/identity/pubkey)
expect_contains "$(tar -xOf "$W/http.tar" manifest.json)" "\"pubkey\": \"$PUB\"" "manifest pubkey"
HTTP_TAR=$(tar -tf "$W/http.tar")
if grep -q key.ncryptsec <<<"$HTTP_TAR"; then fail "a secret key in a plain export"; fi
# The same bundle every way (only exported_at in the manifest may differ).
for t in fuse cli stdout; do
  expect_eq "$(tar -tf "$W/http.tar")" "$(tar -tf "$W/$t.tar")" "$t entries"
  while read -r name; do
    case "$name" in */ | manifest.json) continue ;; esac
    cmp -s <(tar -xOf "$W/http.tar" "$name") <(tar -xOf "$W/$t.tar" "$name") ||
      fail "$t export differs in $name"
  done < "$W/list"
done
mkdir -p "$W/unpacked" && tar -xf "$W/http.tar" -C "$W/unpacked"
expect_eq "$(cat "$M/agents/alice/goals/g1.json")" "$(cat "$W/unpacked/goals/g1.json")" "unpacked goal"

# Tokens: an agent exports itself, never another agent, and never imports.
expect_eq 200 "$(h_code GET /v1/agents/alice/export "$ALICE_TOKEN")" "agent exports itself"
expect_eq 403 "$(h_code GET /v1/agents/alice/export "$BOB_TOKEN")" "agent exports another"
expect_eq 401 "$(h_code GET /v1/agents/alice/export "")" "no token"
expect_eq 403 "$(post_file "$W/http.tar" "?mode=clone" "$ALICE_TOKEN")" "agent imports"
expect_eq 409 "$(post_file "$W/http.tar" "?mode=restore")" "restore onto an existing id"
expect_contains "$(last_body)" '"error":"already_exists"' "409 body"
printf 'this is not a tar file' > "$W/garbage"
expect_eq 400 "$(post_file "$W/garbage" "?mode=restore")" "garbage"
expect_contains "$(last_body)" '"error":"invalid_argument"' "400 body"
expect_eq 400 "$(post_file "$W/http.tar" "?mode=merge")" "unknown mode"
if "$AGENT9_BIN" import "$W/garbage" 2>"$W/err"; then fail "CLI imported garbage"; fi
expect_contains "$(cat "$W/err")" "(invalid_argument)" "CLI import error"

snapshot alice "$W/orig"
h_get /v1/agents/alice > "$W/orig.status"

# Clone in the same daemon: a new id, the same content; the original is untouched.
CLONE=$("$AGENT9_BIN" import "$W/cli.tar" --mode clone)
[[ $CLONE =~ ^alice-[0-9a-f]{6}$ ]] || fail "clone id: [$CLONE]"
snapshot "$CLONE" "$W/clone"
diff -r "$W/orig" "$W/clone" >&2 || fail "the clone differs from the original"
snapshot alice "$W/after"
diff -r "$W/orig" "$W/after" >&2 || fail "cloning changed the original"
expect_contains "$(h_get "/v1/agents/$CLONE")" '"state":"hibernated"' "clone state"
expect_eq "named-copy" "$("$AGENT9_BIN" import "$W/fuse.tar" --mode clone --id named-copy)" "clone --id"
"$AGENT9_BIN" --json import - --mode clone --id json-copy < "$W/http.tar" > "$W/json"
expect_contains "$(cat "$W/json")" '"mode":"clone"' "import --json"

# Restore into a fresh daemon with a new data dir: every file reads back the same.
a9_stop
A9_DATA=$A9_ROOT/data2
a9_start
expect_eq "alice" "$("$AGENT9_BIN" import "$W/http.tar")" "restore prints the id"
snapshot alice "$W/restored"
diff -r "$W/orig" "$W/restored" >&2 || fail "the restored agent differs"
# The same status, but for the key: a bundle exported without --with-key restores with a new
# one (tests/blackbox/identity.sh restores keys).
nokey() { sed -e 's/"pubkey":"[0-9a-f]*"//' -e 's/"npub":"npub1[0-9a-z]*"//'; }
expect_eq "$(nokey < "$W/orig.status")" "$(h_get /v1/agents/alice | nokey)" "restored status"
[ "$(h_get /v1/fs/agents/alice/identity/pubkey)" != "$PUB" ] || fail "a keyless restore kept the key"
# It is live: a resend of a queued message id is still a duplicate; wake runs its queue.
expect_eq 202 "$(h_code POST /v1/agents/alice/send "$A9_TOKEN" '{"id":"m-2","body":{"n":2}}')" "resend"
expect_contains "$(last_body)" '"duplicate":true' "idempotent after restore"
h_code POST /v1/agents/alice/wake >/dev/null
wait_for /v1/agents/alice '"queue_depth":0'
wait_for /v1/agents/alice '"tick_count":5'
pass
