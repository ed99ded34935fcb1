#!/usr/bin/env bash
# Identity through a real daemon: a key per agent made at creation, identity/ over FUSE
# (both call forms) and HTTP, who may call it, bad requests, rotation, key export (NIP-49)
# and restore into a daemon with another master key, and no trace of a secret key anywhere:
# an agent restored from the NIP-49 test vector (so its secret is known) is driven through
# every identity call, a restart and exports, then every file, log and bundle is searched
# for the key in hex, nsec and raw form.
source "$(dirname "$0")/lib/common.sh"
need_fuse
command -v python3 >/dev/null || skip "no python3"
VECTORS="$(cd "$(dirname "$0")/../../.." && pwd)/shared/vectors"
[ -f "$VECTORS/nip49/nip49-vector.json" ] || fail "no NIP-49 vector in $VECTORS"
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
W=$A9_ROOT/work
mkdir -p "$W"

create() {  # create ID: prints the answer
  expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" "{\"id\":\"$1\"}")" "create $1"
  last_body
}
json() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

# ---- a key per agent, in the create answer, status and identity/ -------------------------
ANSWER=$(create alice)
PUB=$(json pubkey <<< "$ANSWER")
NPUB=$(json npub <<< "$ANSWER")
ALICE_TOKEN=$(json token <<< "$ANSWER")
[[ $PUB =~ ^[0-9a-f]{64}$ ]] || fail "pubkey in the create answer: [$PUB]"
[[ $NPUB =~ ^npub1[02-9ac-hj-np-z]{58}$ ]] || fail "npub in the create answer: [$NPUB]"
expect_eq "$PUB" "$(cat "$M/agents/alice/identity/pubkey")" "identity/pubkey"
expect_eq "$NPUB" "$(cat "$M/agents/alice/identity/npub")" "identity/npub"
expect_contains "$(cat "$M/agents/alice/status")" "\"pubkey\": \"$PUB\"" "status pubkey"
expect_contains "$(cat "$M/agents/alice/status")" "\"npub\": \"$NPUB\"" "status npub"
expect_eq "$NPUB" "$(h_get /v1/fs/agents/alice/identity/npub)" "npub over HTTP"
BOB_PUB=$(create bob | json pubkey)
[ "$BOB_PUB" != "$PUB" ] || fail "two agents share a key"
mkdir "$M/agents/carol"  # mkdir makes a key too
[[ $(cat "$M/agents/carol/identity/pubkey") =~ ^[0-9a-f]{64}$ ]] || fail "mkdir made no key"
expect_contains "$(cat "$M/agents/alice/mounts")" "/identity/	agent	identity" "mounts"
expect_eq "ctl decrypt encrypt npub pubkey sign verify" "$(ls "$M/agents/alice/identity" | xargs)" "ls identity"

# ---- sign and verify: both FUSE call forms and HTTP --------------------------------------
I=$M/agents/alice/identity
exec 3<>"$I/sign"
printf 'hello world' >&3
SIG1=$(cat <&3)
exec 3>&-
printf 'hello world' > "$I/sign"
SIG2=$(cat "$I/sign")
SIG3=$(curl -sS --fail-with-body -H "Authorization: Bearer $A9_TOKEN" --data-binary 'hello world' \
  "$A9_URL/v1/fs/agents/alice/identity/sign")
for s in "$SIG1" "$SIG2" "$SIG3"; do
  [[ $s =~ ^[0-9a-f]{128}$ ]] || fail "signature: [$s]"
  req="{\"pubkey\":\"$NPUB\",\"sig\":\"$s\",\"message\":\"hello world\"}"
  exec 3<>"$I/verify"
  printf '%s' "$req" >&3
  expect_eq ok "$(cat <&3)" "verify over FUSE"
  exec 3>&-
  expect_eq ok "$(curl -sS -H "Authorization: Bearer $A9_TOKEN" --data-binary "$req" \
    "$A9_URL/v1/fs/agents/bob/identity/verify")" "verify over HTTP (any agent verifies)"
done
printf '{"pubkey":"%s","sig":"%s","message":"hello world!"}' "$PUB" "$SIG1" > "$I/verify"
expect_eq invalid "$(cat "$I/verify")" "a tampered message"
printf '{"pubkey":"%s","sig":"%s","message":"hello world"}' "$BOB_PUB" "$SIG1" > "$I/verify"
expect_eq invalid "$(cat "$I/verify")" "the wrong key"

# ---- encrypt and decrypt: alice to bob and back -------------------------------------------
P=$(curl -sS -H "Authorization: Bearer $A9_TOKEN" \
  --data-binary "{\"to\":\"$BOB_PUB\",\"plaintext\":\"meet at noon\"}" \
  "$A9_URL/v1/fs/agents/alice/identity/encrypt")
[[ $P =~ ^[A-Za-z0-9+/]+=*$ ]] || fail "NIP-44 payload: [$P]"
exec 3<>"$M/agents/bob/identity/decrypt"
printf '{"from":"%s","ciphertext":"%s"}' "$NPUB" "$P" >&3
expect_eq "meet at noon" "$(cat <&3)" "bob decrypts alice's payload"
exec 3>&-
# Carol holds neither key of the pair: the payload does not authenticate for her.
expect_eq 400 "$(h_code POST /v1/fs/agents/carol/identity/decrypt "$A9_TOKEN" \
  "{\"from\":\"$PUB\",\"ciphertext\":\"$P\"}")" "decrypt by a third agent"
expect_contains "$(last_body)" "MAC" "names the failed check"
# A long plaintext (over 65535 bytes: NIP-44's extended length prefix) round-trips.
python3 -c 'import json,sys; print(json.dumps({"to":sys.argv[1],"plaintext":"x"*70000}))' \
  "$BOB_PUB" > "$W/long.json"
LP=$(curl -sS -H "Authorization: Bearer $A9_TOKEN" --data-binary "@$W/long.json" \
  "$A9_URL/v1/fs/agents/alice/identity/encrypt")
printf '{"from":"%s","ciphertext":"%s"}' "$PUB" "$LP" > "$W/long.req"
expect_eq 70000 "$(curl -sS -H "Authorization: Bearer $A9_TOKEN" --data-binary "@$W/long.req" \
  "$A9_URL/v1/fs/agents/bob/identity/decrypt" | wc -c)" "70000-byte plaintext"

# ---- bad requests: EINVAL over FUSE, 400 over HTTP; the message stays readable -------------
for bad in 'not json' '{"pubkey":"zz","sig":"00","message":"m"}' '{"pubkey":1}' \
  "{\"pubkey\":\"$PUB\",\"sig\":\"$SIG1\",\"message\":\"m\",\"extra\":1}"; do
  # One handle, written then read without a close in between: the read fails with EINVAL.
  python3 - "$I/verify" "$bad" <<'EOF' || fail "verify over FUSE accepted [$bad]"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, sys.argv[2].encode())
try:
    os.read(fd, 4096)
    sys.exit(1)
except OSError as e:
    sys.exit(0 if e.errno == errno.EINVAL else 1)
EOF
  # The shell's form: a builtin's redirection closes a dup, which runs the call; the error's
  # message is what the next read on the handle returns.
  exec 3<>"$I/verify"
  printf '%s' "$bad" >&3
  expect_contains "$(cat <&3)" "error invalid_argument: identity/verify request" "verify [$bad]"
  exec 3>&-
  expect_eq 400 "$(h_code POST /v1/fs/agents/alice/identity/verify "$A9_TOKEN" "$bad")" "HTTP [$bad]"
  expect_contains "$(last_body)" '"error":"invalid_argument"' "400 body"
done
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/identity/decrypt "$A9_TOKEN" \
  "{\"from\":\"$BOB_PUB\",\"ciphertext\":\"AgAAAA==\"}")" "a short payload"
expect_eq 400 "$(h_code POST /v1/fs/agents/alice/identity/encrypt "$A9_TOKEN" \
  "{\"to\":\"npub1nothing\",\"plaintext\":\"x\"}")" "a bad npub"

# ---- who may call: the agent itself and the admin only ------------------------------------
expect_eq 200 "$(h_code POST /v1/fs/agents/alice/identity/sign "$ALICE_TOKEN" x)" "alice signs"
expect_eq 403 "$(h_code POST /v1/fs/agents/bob/identity/sign "$ALICE_TOKEN" x)" "alice signs as bob"
expect_eq 403 "$(h_code POST /v1/fs/agents/bob/identity/decrypt "$ALICE_TOKEN" "{}")" "alice decrypts for bob"
expect_eq 401 "$(h_code POST /v1/fs/agents/alice/identity/sign "" x)" "no token"
expect_eq 403 "$(h_code PUT /v1/fs/agents/alice/identity/ctl "$ALICE_TOKEN" rotate)" "agent rotates"
# Calls are traced without their payload.
TRACE=$(curl -sS -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs/agents/alice/logs/trace")
expect_contains "$TRACE" '"op":"sign"' "sign traced"
expect_contains "$TRACE" '"op":"encrypt"' "encrypt traced"
case "$TRACE" in *"hello world"* | *"meet at noon"*) fail "a payload reached logs/trace" ;; esac
expect_contains "$(h_get /metrics)" 'agent9_identity_calls_total{op="sign"}' "metrics"

# ---- a message from a local agent carries the sender's identity ----------------------------
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"echoer","kind":"echo"}')" "create echoer"
ECHO_PUB=$(last_body | json pubkey)
# prog's program sends to echoer on its init tick and sleeps, so echoer's reply stays queued.
printf '#!/bin/sh\ncat >/dev/null\necho %s\n' \
  "'{\"send\":[{\"to\":\"echoer\",\"body\":\"ping\"}],\"hibernate\":true}'" > "$W/ping.sh"
chmod +x "$W/ping.sh"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" \
  "{\"id\":\"prog\",\"kind\":\"exec\",\"config\":{\"program\":\"$W/ping.sh\"}}")" "create prog"
wait_for /v1/fs/agents/prog/inbox '"name":"1.json"'
REPLY=$(h_get /v1/fs/agents/prog/inbox/1.json)
expect_contains "$REPLY" '"from":"echoer"' "from the agent id"
expect_contains "$REPLY" "\"pubkey\":\"$ECHO_PUB\"" "and its pubkey"

# ---- rotation ----------------------------------------------------------------------------
echo rotate > "$M/agents/carol/identity/ctl"
OLD_CAROL=$(h_get /v1/agents/carol | json pubkey)
echo rotate > "$M/agents/carol/identity/ctl"
NEW_CAROL=$(cat "$M/agents/carol/identity/pubkey")
[ "$OLD_CAROL" != "$NEW_CAROL" ] || fail "rotate kept the key"
expect_eq "$NEW_CAROL" "$(h_get /v1/agents/carol | json pubkey)" "status after rotate"

# ---- export with the key, restore elsewhere ------------------------------------------------
printf 'correct horse\n' > "$W/pass"
"$AGENT9_BIN" export alice --with-key --passphrase-file "$W/pass" -o "$W/alice-key.tar"
grep -qx key.ncryptsec <<<"$(tar -tf "$W/alice-key.tar")" || fail "no key.ncryptsec in the bundle"
[[ $(tar -xOf "$W/alice-key.tar" key.ncryptsec) =~ ^ncryptsec1 ]] || fail "key.ncryptsec format"
expect_contains "$(tar -xOf "$W/alice-key.tar" manifest.json)" "\"pubkey\": \"$PUB\"" "manifest pubkey"
"$AGENT9_BIN" export alice -o "$W/alice.tar"
ALICE_TAR=$(tar -tf "$W/alice.tar")
if grep -q key.ncryptsec <<<"$ALICE_TAR"; then fail "a key without --with-key"; fi
expect_eq 400 "$(h_code GET '/v1/agents/alice/export?with_key=1')" "with_key without a passphrase"
expect_contains "$(last_body)" "X-Agent9-Passphrase" "names the header"
curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ALICE_TOKEN" \
  -H 'X-Agent9-Passphrase: p' "$A9_URL/v1/agents/alice/export?with_key=1" > "$W/code"
expect_eq 403 "$(cat "$W/code")" "an agent exports its own key"

a9_stop
A9_DATA=$A9_ROOT/data2
a9_start  # another data dir, so another master key
import() {  # import FILE PASSPHRASE [QUERY]: prints the status
  local hdr=()
  [ -n "$2" ] && hdr=(-H "X-Agent9-Passphrase: $2")
  curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -H "Authorization: Bearer $A9_TOKEN" \
    "${hdr[@]}" --data-binary "@$1" "$A9_URL/v1/agents/import${3:-?mode=restore}"
}
expect_eq 400 "$(import "$W/alice-key.tar" '')" "no passphrase"
expect_contains "$(last_body)" "passphrase" "missing passphrase named"
expect_eq 400 "$(import "$W/alice-key.tar" 'wrong horse')" "wrong passphrase"
expect_contains "$(last_body)" "wrong passphrase" "wrong passphrase named"
expect_eq 404 "$(h_code GET /v1/agents/alice)" "nothing half-imported"
mkdir -p "$W/badsum" && tar -xf "$W/alice-key.tar" -C "$W/badsum"
python3 - "$W/badsum/key.ncryptsec" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read().strip()
s = s[:-7] + ("q" if s[-7] != "q" else "p") + s[-6:]  # one character off: a bad checksum
open(p, "w").write(s + "\n")
EOF
(cd "$W/badsum" && tar -cf "$W/bad-sum.tar" *)
expect_eq 400 "$(import "$W/bad-sum.tar" 'correct horse')" "bad checksum"
expect_contains "$(last_body)" "checksum" "bad checksum named"
expect_eq "alice" "$("$AGENT9_BIN" import "$W/alice-key.tar" --passphrase-file "$W/pass")" "restore"
expect_eq "$PUB" "$(h_get /v1/fs/agents/alice/identity/pubkey)" "the key came back"
CLONE=$(import "$W/alice-key.tar" 'correct horse' '?mode=clone&id=alice2' >/dev/null; last_body | json pubkey)
[ "$CLONE" != "$PUB" ] && [[ $CLONE =~ ^[0-9a-f]{64}$ ]] || fail "a clone keeps the key: [$CLONE]"
expect_eq 201 "$(import "$W/alice.tar" '' '?mode=clone&id=alice3')" "keyless clone"
expect_eq 400 "$(import "$W/alice.tar" 'p')" "passphrase, no key"
expect_contains "$(last_body)" "holds no key" "passphrase without a key named"

# ---- a known secret: the NIP-49 vector's key restored into bob-known -----------------------
read -r SK NCS PASS < <(python3 - "$VECTORS/nip49/nip49-vector.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["cases"][0]
print(c["secret_key_hex"], c["ncryptsec"], c["password"])
EOF
)
"$AGENT9_BIN" export alice3 -o "$W/a3.tar"
mkdir -p "$W/known" && tar -xf "$W/a3.tar" -C "$W/known"
python3 - "$W/known/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["agent"] = "known"; m["pubkey"] = None; m["npub"] = None
open(sys.argv[1], "w").write(json.dumps(m))
EOF
echo "$NCS" > "$W/known/key.ncryptsec"
(cd "$W/known" && tar -cf "$W/known.tar" *)
expect_eq 201 "$(import "$W/known.tar" "$PASS")" "restore the vector's key"
KPUB=$(h_get /v1/fs/agents/known/identity/pubkey)
a9_stop
a9_start --mount "$M"
K=$M/agents/known/identity
printf 'secret?' > "$K/sign"; cat "$K/sign" >/dev/null
printf '{"to":"%s","plaintext":"hi"}' "$PUB" > "$K/encrypt"; KP=$(cat "$K/encrypt")
printf '{"from":"%s","ciphertext":"%s"}' "$PUB" "$KP" > "$K/decrypt"; cat "$K/decrypt" >/dev/null
printf '{"from":"%s","ciphertext":"AgAA"}' "$PUB" > "$K/decrypt"; cat "$K/decrypt" >/dev/null 2>&1 || true
curl -sS -o "$W/known-key.tar" -H "Authorization: Bearer $A9_TOKEN" -H "X-Agent9-Passphrase: x" \
  "$A9_URL/v1/agents/known/export?with_key=1"
cat "$M/agents/known/memory/export" > "$W/known-fuse.tar"
h_get /v1/fs/agents/known/logs/trace > "$W/known-trace"
h_get /v1/fs/agents/known/logs/trajectory > "$W/known-trajectory"
h_get /v1/agents/known > "$W/known-status"
h_get /metrics > "$W/metrics"
expect_eq "$KPUB" "$(cat "$K/pubkey")" "the key survives a restart"
a9_kill9  # the WAL is searched as the crash left it
python3 - "$SK" "$A9_ROOT" <<'EOF'
import os, sys
sk = bytes.fromhex(sys.argv[1])
CH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def polymod(v):
    g = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    c = 1
    for x in v:
        b = c >> 25
        c = (c & 0x1ffffff) << 5 ^ x
        for i in range(5):
            c ^= g[i] if (b >> i) & 1 else 0
    return c
def nsec(data):
    acc = bits = 0; out = []
    for b in data:
        acc = (acc << 8) | b; bits += 8
        while bits >= 5:
            bits -= 5; out.append((acc >> bits) & 31)
    if bits: out.append((acc << (5 - bits)) & 31)
    hrp = "nsec"
    ex = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(ex + out + [0] * 6) ^ 1
    return hrp + "1" + "".join(CH[d] for d in out + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])
needles = [sk.hex().encode(), sk.hex().upper().encode(), nsec(sk).encode(), sk]
found = []
n = 0
for root, dirs, files in os.walk(sys.argv[2]):
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as fh:
            data = fh.read()
        n += 1
        for needle in needles:
            if needle in data:
                found.append(p)
if found:
    print("FAIL: the secret key is in " + ", ".join(sorted(set(found))))
    sys.exit(1)
print(f"searched {n} files: no hex, nsec or raw form of the secret key")
EOF
pass
