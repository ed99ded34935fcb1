#!/usr/bin/env bash
# NIP-98 over real HTTP: requests signed with a Nostr key (Authorization: Nostr <base64 event>,
# made by nostr-tools): a stranger's send lands with its npub as the sender, an operator's npub
# gets the admin's rights, and every failed check is 401 naming it: a replayed event, another
# URL, method or body, a stale event; an agent that refuses strangers answers 403.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/nostr.sh"
W=$A9_ROOT/work
mkdir -p "$W" "$A9_ROOT/data"
keys() { nc_ keygen | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sk"], d["pk"], d["npub"])'; }
read -r OP_SK OP_PK OP_NPUB < <(keys)
read -r ST_SK ST_PK ST_NPUB < <(keys)
printf '[http]\noperators = ["%s"]\n' "$OP_NPUB" > "$A9_ROOT/data/agent9.toml"
a9_start
h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}' >/dev/null
h_code POST /v1/agents "$A9_TOKEN" '{"id":"shy","config":{"accept_strangers":false}}' >/dev/null

# signed METHOD PATH BODY [SK] [CREATED_AT]: the status of the request signed for that exact URL.
signed() {
  local auth
  auth=$(nc_ nip98 "${4:-$ST_SK}" "$1" "$A9_URL$2" "$3" ${5:+"$5"})
  curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -X "$1" -H "Authorization: $auth" \
    ${3:+--data-binary "$3"} "$A9_URL$2"
}

expect_eq 202 "$(signed POST /v1/agents/alice/send 'hello from a stranger')" "a stranger's send"
MSG=$(h_get /v1/fs/agents/alice/inbox/1.json)
expect_contains "$MSG" "\"from\":\"$ST_NPUB\"" "the sender is the verified npub"
expect_contains "$MSG" '"text":"hello from a stranger"' "the body"
expect_eq 401 "$(signed GET /v1/agents/alice '')" "a stranger reads status"
expect_eq 403 "$(signed POST /v1/agents/shy/send 'hi')" "an agent that accepts no strangers"
expect_contains "$(last_body)" "strangers" "says why"
expect_eq 0 "$(h_get /v1/agents/shy | python3 -c 'import json,sys; print(json.load(sys.stdin)["queue_depth"])')" "nothing queued"

# An operator is the admin: it lists agents and its sends carry its npub.
expect_eq 200 "$(signed GET /v1/agents '' "$OP_SK")" "an operator lists agents"
expect_contains "$(last_body)" '"id":"alice"' "the listing"
expect_eq 202 "$(signed POST /v1/agents/shy/send 'from the operator' "$OP_SK")" "an operator sends"
expect_contains "$(h_get /v1/fs/agents/shy/inbox/1.json)" "\"from\":\"$OP_NPUB\"" "signed as its npub"

# Each check, failing: 401 with the check named.
AUTH=$(nc_ nip98 "$ST_SK" POST "$A9_URL/v1/agents/alice/send" 'once')
code() { curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -X POST -H "Authorization: $1" --data-binary "$3" "$A9_URL$2"; }
expect_eq 202 "$(code "$AUTH" /v1/agents/alice/send 'once')" "first use"
expect_eq 401 "$(code "$AUTH" /v1/agents/alice/send 'once')" "replayed"
expect_contains "$(last_body)" "already used" "replay named"
AUTH=$(nc_ nip98 "$ST_SK" POST "$A9_URL/v1/agents/alice/send" 'signed body')
expect_eq 401 "$(code "$AUTH" /v1/agents/alice/send 'another body')" "another body"
expect_contains "$(last_body)" "payload" "payload named"
AUTH=$(nc_ nip98 "$ST_SK" POST "$A9_URL/v1/agents/bob/send" 'x')
expect_eq 401 "$(code "$AUTH" /v1/agents/alice/send 'x')" "another URL"
expect_contains "$(last_body)" "u tag" "url named"
AUTH=$(nc_ nip98 "$ST_SK" GET "$A9_URL/v1/agents/alice/send" 'x')
expect_eq 401 "$(code "$AUTH" /v1/agents/alice/send 'x')" "another method"
expect_contains "$(last_body)" "method" "method named"
expect_eq 401 "$(signed POST /v1/agents/alice/send 'old' "$ST_SK" $(($(date +%s) - 120)))" "stale"
expect_contains "$(last_body)" "created_at" "time named"
expect_eq 401 "$(code 'Nostr bm90IGFuIGV2ZW50' /v1/agents/alice/send 'x')" "not an event"
expect_eq 401 "$(code 'Nostr %%%' /v1/agents/alice/send 'x')" "not base64"
expect_eq 401 "$(code 'Digest abc' /v1/agents/alice/send 'x')" "an unknown scheme"
# Only the two accepted sends were queued: none of the refused requests left anything.
expect_eq 2 "$(h_get /v1/agents/alice | python3 -c 'import json,sys; print(json.load(sys.stdin)["queue_depth"])')" \
  "refused requests queued nothing"
pass
