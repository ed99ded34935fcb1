#!/usr/bin/env bash
# The remote container provider through a real daemon and the loopback fake of Daytona's
# sandbox API (tests/fakes/fake_daytona.h): health before and after the admin stores the API
# key (sealed; the credential file is write-only and no file, log or data file shows the key),
# a session that runs remotely over FUSE and HTTP, its output, exit code and end, a refused key
# (HTTP 401, named without the key), Nostr auth (auth/challenge signed with the agent's key,
# auth/status), who may write credentials, and bundles that carry the containers and compute
# policies through an export and a clone import.
source "$(dirname "$0")/lib/common.sh"
need_fuse
[ -x "${AGENT9_FAKE_DAYTONA:-}" ] || { echo "AGENT9_FAKE_DAYTONA not set" >&2; exit 77; }

SECRET="dtn-$RANDOM$RANDOM-secret"
out="$A9_ROOT/fake-daytona.out"
"$AGENT9_FAKE_DAYTONA" --api-key "$SECRET" >"$out" 2>&1 &
FAKE_PID=$!
trap '{ kill -KILL "$FAKE_PID"; wait "$FAKE_PID"; } 2>/dev/null || true; _a9_cleanup' EXIT
for _ in $(seq 1 200); do grep -q '^listening http://' "$out" && break; sleep 0.05; done
FAKE_URL=$(sed -n 's/^listening \(http:\/\/.*\)$/\1/p' "$out" | head -1)
[ -n "$FAKE_URL" ] || fail "fake-daytona did not listen: $(cat "$out")"

A9_DATA=$A9_ROOT/data
mkdir -p "$A9_DATA"
cat >"$A9_DATA/agent9.toml" <<EOF2
[[containers.providers]]
id = "daytona"
type = "daytona"
base_url = "$FAKE_URL"
api_key_env = "A9_BB_NO_SUCH_VAR"
nostr_auth = true
EOF2
M=$(a9_mountpoint mnt)
a9_start --mount "$M"
mkdir "$M/agents/r"
K=$M/agents/r/containers

expect_eq "daytona local" "$(ls "$K/providers" | xargs)" "providers"
case "$(cat "$K/providers/daytona/health")" in
  "unavailable: not configured"*) ;;
  *) fail "health without a key: $(cat "$K/providers/daytona/health")" ;;
esac

# The agent cannot store a credential; the admin can, and nobody reads it back.
RT=$("$AGENT9_BIN" token r)
expect_eq 403 "$(h_code PUT /v1/fs/containers/credentials/daytona "$RT" "x")" "agent writes a credential"
printf %s "wrong-key" | "$AGENT9_BIN" write /containers/credentials/daytona - || fail "agent9 write"
case "$(cat "$K/providers/daytona/health")" in
  "unavailable: HTTP 401"*) ;;
  *) fail "health with a wrong key: $(cat "$K/providers/daytona/health")" ;;
esac
printf %s "$SECRET" | "$AGENT9_BIN" write /containers/credentials/daytona - || fail "agent9 write"
expect_eq ok "$(cat "$K/providers/daytona/health")" "health with the stored key"
expect_fail cat "$M/containers/credentials/daytona"
expect_eq 403 "$(h_code GET /v1/fs/containers/credentials/daytona)" "GET a credential (admin)"

# A session over FUSE, on the remote provider.
echo '{"command":"echo remote; exit 3","provider":"daytona"}' >"$K/new"
SID=$(jq -r .session_id <"$K/new")
[ -n "$SID" ] && [ "$SID" != null ] || fail "no session id: $(cat "$K/new")"
OUT=$(timeout 30 cat "$K/sessions/$SID/output")
grep -q '"data":"remote\\n"' <<<"$OUT" || fail "remote output: $OUT"
expect_eq "exited 3 daytona" "$(jq -r '"\(.state) \(.exit_code) \(.provider)"' <"$K/sessions/$SID/status")" "remote session status"
# ... and over HTTP, with its stream as SSE.
S=/v1/fs/agents/r/containers
expect_eq 200 "$(h_code POST $S/new "$A9_TOKEN" '{"command":"echo over-http","provider":"daytona"}')" "POST new"
SID2=$(last_body | jq -r .session_id)
SSE=$(timeout 30 curl -sN -H "Authorization: Bearer $A9_TOKEN" "$A9_URL$S/sessions/$SID2/output?watch=1")
grep -q '^data: {"data":"over-http\\n"' <<<"$SSE" || fail "SSE of a remote session: $SSE"
grep -q '"end"' <<<"$SSE" || fail "no end line: $SSE"

# Nostr auth: the agent's own key signs the provider's challenge.
AUTH=$(cat "$K/auth/challenge")
PUB=$(cat "$M/agents/r/identity/pubkey")
expect_eq "true $PUB" "$(echo "$AUTH" | jq -r '"\(.daytona.ok) \(.daytona.pubkey)"')" "auth/challenge"
expect_eq "true" "$(jq -r .daytona.authenticated <"$K/auth/status")" "auth/status"

# Bundles carry the containers policy (and compute's): an export and a clone import keep them.
POL='{"images":[],"network":true,"max_wall_ms":1000,"max_concurrent":2,"usd_per_wall_second":7}'
expect_eq 204 "$(h_code PUT $S/policy "$A9_TOKEN" "$POL")" "set the containers policy"
expect_eq 204 "$(h_code PUT /v1/fs/agents/r/compute/policy "$A9_TOKEN" '{"max_cost_usd_per_day":4242}')" "set the compute policy"
"$AGENT9_BIN" export r -o "$A9_ROOT/r.tar" || fail "export r"
grep -qx "containers/policy.json" <<<"$(tar tf "$A9_ROOT/r.tar")" || fail "no containers/policy.json in the bundle: $(tar tf "$A9_ROOT/r.tar" | xargs)"
"$AGENT9_BIN" import "$A9_ROOT/r.tar" --mode clone --id r2 >/dev/null || fail "import the clone"
expect_eq "$(jq -cS . <<<"$POL" | jq -c 'del(.max_memory_bytes,.max_queued,.usd_per_cpu_second)')" \
  "$(h_get $S/policy | jq -cS 'del(.max_memory_bytes,.max_queued,.usd_per_cpu_second)')" "policy as set"
expect_eq "$(h_get $S/policy | jq -cS .)" "$(h_get /v1/fs/agents/r2/containers/policy | jq -cS .)" "the clone's containers policy"
expect_eq 4242 "$(h_get /v1/fs/agents/r2/compute/policy | jq .max_cost_usd_per_day)" "the clone's compute policy"

# The key is nowhere: not in the data dir (sealed), the daemon's logs, or any file shown.
if grep -rqF -- "$SECRET" "$A9_DATA" "$A9_ERR" 2>/dev/null; then fail "the API key leaked"; fi
for f in providers/daytona/info providers/daytona/health sessions/$SID/status sessions/$SID/result; do
  if grep -qF -- "$SECRET" "$K/$f"; then fail "the API key is in $f"; fi
done
pass
