# Nostr helpers for black-box scenarios (source after common.sh): the loopback test relay from
# ../shared/tools/nostr-relay (installed by scripts/nostr-relay-setup into AGENT9_RELAY_DIR) and
# the nostr-tools client in lib/nostr_client.mjs.
command -v node >/dev/null || skip "no node"
: "${AGENT9_RELAY_DIR:=$A9_ROOT/relay}"
if [ ! -d "$AGENT9_RELAY_DIR/node_modules" ]; then
  "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/nostr-relay-setup" "$AGENT9_RELAY_DIR" >/dev/null
fi
NOSTR_CLIENT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nostr_client.mjs"

# relay_start NAME [PORT] [ENV=VALUE...]: starts a relay (port 0 = free), sets RELAY_<NAME>_URL
# and RELAY_<NAME>_PID. It exits by itself after 170 s whatever happens to this script.
relay_start() {
  local name=$1 port=${2:-0}
  shift 2 || shift $#
  local out="$A9_ROOT/relay-$name.$RANDOM.out"
  env LOCAL_RELAY_MAX_SECONDS=170 "$@" node "$AGENT9_RELAY_DIR/local-relay.mjs" "$port" \
    >"$out" 2>&1 &
  local pid=$!
  A9_PIDS+=("$pid")
  for _ in $(seq 1 200); do
    grep -q '^listening ws://' "$out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; fail "relay $name exited"; }
    sleep 0.05
  done
  grep -q '^listening ws://' "$out" || { cat "$out" >&2; fail "relay $name did not listen"; }
  printf -v "RELAY_${name}_URL" '%s' "$(sed -n 's/^listening \(ws:\/\/.*\)$/\1/p' "$out" | head -1)"
  printf -v "RELAY_${name}_PID" '%s' "$pid"
}

nc_() { node "$NOSTR_CLIENT" "$AGENT9_RELAY_DIR" "$@"; }
