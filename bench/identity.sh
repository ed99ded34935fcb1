#!/usr/bin/env bash
# agent9 identity and nostr benchmark: identity/sign, verify, encrypt and decrypt calls/s over
# FUSE and HTTP next to the same Identity calls in-process (bench/identity_bench.cc), unpinned
# and with daemon and client pinned to one core; events/s the daemon publishes to a loopback
# relay (POST nostr/publish) and gift-wrapped DMs/s it receives into an inbox, each next to
# the relay alone; inbound DM -> tick latency and the echo round trip, next to one relay hop.
# Prints a Markdown report and writes bench/results/identity.md and identity.json.
# See bench/README.md, section "Identity and Nostr".
#
# Environment knobs (defaults in brackets):
#   RUNS [3]  CALL_SECS [1] whole seconds per call run (FUSE, HTTP; in-process: 1 s per op)
#   BUILD_DIR [<repo>/build-bench]  AGENT9_BIN / IDENTITY_BENCH_BIN: set them to skip building
#   RELAY_DIR [$BUILD_DIR/nostr-relay]  where scripts/nostr-relay-setup installs the relay
#   PIN [1]  0 skips the pinned (taskset -c 0) call runs
#   PUB_SECS [2]  PUB_CONNS ["1 4"]  POST nostr/publish runs: seconds, wrk connection counts
#   NOTE_N [500]  notes per relay-alone publish run  DM_N [400]  DMs per receive run
#   DM_WINDOW [8]  unanswered EVENTs the DM publisher keeps in flight
#   RTT_N [200]  DMs of the latency series (one at a time)
#   OUT_DIR [bench/results]  IDENTITY_HEADING [##]  IDENTITY_BODY_OUT [unset: the report
#   without its title goes there too, for bench/run.sh]  KEEP_TMP [0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
RUNS=${RUNS:-3}
CALL_SECS=${CALL_SECS:-1}
RELAY_DIR=${RELAY_DIR:-$BUILD_DIR/nostr-relay}
PIN=${PIN:-1}
PUB_SECS=${PUB_SECS:-2}
PUB_CONNS=${PUB_CONNS:-"1 4"}
NOTE_N=${NOTE_N:-500}
DM_N=${DM_N:-400}
DM_WINDOW=${DM_WINDOW:-8}
RTT_N=${RTT_N:-200}
OUT_DIR=${OUT_DIR:-$HERE/results}
H=${IDENTITY_HEADING:-##}
KEEP_TMP=${KEEP_TMP:-0}
[[ $CALL_SECS =~ ^[1-9][0-9]*$ && $PUB_SECS =~ ^[1-9][0-9]*$ ]] || { echo "CALL_SECS and PUB_SECS are whole seconds (wrk -d)" >&2; exit 2; }
OPS=(sign verify encrypt decrypt)
T_START=$SECONDS

log() { printf '[identity %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in wrk curl gcc node npm taskset fusermount3 timeout; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
[[ -e /dev/fuse ]] || die "no /dev/fuse"

# ---- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/agent9-identity.XXXXXX)
MNT=$TMP/mnt
DAEMON_PID="" RELAY1_PID="" RELAY2_PID=""

stop_pid() {  # stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "$DAEMON_PID" "$RELAY1_PID" "$RELAY2_PID"; do [[ -n $p ]] && stop_pid "$p"; done
  if grep -qs " $MNT " /proc/mounts; then fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; fi
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "data and logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -------------------------------------------------------------------------------
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null | wc -l)
T0=$SECONDS
targets=()
[[ -n ${AGENT9_BIN:-} ]] || targets+=(agent9)
[[ -n ${IDENTITY_BENCH_BIN:-} ]] || targets+=(agent9_identity_bench)
if ((${#targets[@]})); then
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    die "need cmake and ninja (or set AGENT9_BIN and IDENTITY_BENCH_BIN)"
  fi
  log "building ${targets[*]} (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
    { tail -20 "$TMP/cmake.log"; die "cmake"; }
  ninja -C "$BUILD_DIR" "${targets[@]}" >"$TMP/ninja.log" 2>&1 ||
    { tail -30 "$TMP/ninja.log"; die "ninja"; }
  AGENT9_BIN=${AGENT9_BIN:-$BUILD_DIR/controlplane/agent9}
  IDENTITY_BENCH_BIN=${IDENTITY_BENCH_BIN:-$BUILD_DIR/bench/agent9_identity_bench}
fi
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"
[[ -x $IDENTITY_BENCH_BIN ]] || die "no agent9_identity_bench at $IDENTITY_BENCH_BIN"
TOOLS=$BUILD_DIR/bench-tools
mkdir -p "$TOOLS" 2>/dev/null || TOOLS=$TMP/tools
mkdir -p "$TOOLS"
if [[ ! -x $TOOLS/fsloop || $HERE/fsloop.c -nt $TOOLS/fsloop ]]; then
  log "compiling bench/fsloop.c"
  gcc -O2 -Wall -Wextra -o "$TOOLS/fsloop" "$HERE/fsloop.c" -pthread || die "compile fsloop.c"
fi
"$ROOT/scripts/nostr-relay-setup" "$RELAY_DIR" >"$TMP/relay-setup.log" 2>&1 ||
  { cat "$TMP/relay-setup.log" >&2; die "scripts/nostr-relay-setup $RELAY_DIR"; }
T_BUILD=$((SECONDS - T0))

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work will skew the figures"
fi

# ---- results store (as bench/run.sh) -----------------------------------------------------
# $TMP/results.tsv: key <TAB> run <TAB> value <TAB> p50_ms <TAB> p99_ms
RES=$TMP/results.tsv
: >"$RES"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" >>"$RES"; }
summary() {  # summary KEY COLUMN -> "median min max" (3 = value, 4 = p50, 5 = p99)
  awk -F'\t' -v k="$1" -v c="$2" '$1 == k && $c != "-" { print $c }' "$RES" | sort -g |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan nan nan"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %s %s\n", m, v[1], v[NR] }'
}
med() { summary "$1" "${2:-3}" | cut -d' ' -f1; }
ratio() {  # ratio KEY_A KEY_B: median(A) / median(B)
  awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {
    if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"; else if (a / b < 0.1) printf "%.3f", a / b; else printf "%.2f", a / b }'
}
added_us() {  # added_us KEY BASE_KEY: 1e6/median(KEY) - 1e6/median(BASE): µs a call adds
  awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {
    if (a == "nan" || b == "nan" || a + 0 == 0 || b + 0 == 0) print "n/a"; else printf "%.0f", 1e6 / a - 1e6 / b }'
}
jnum() { if [[ $1 == nan || $1 == n/a || -z $1 ]]; then echo null; else echo "$1"; fi; }
fmt() {  # 3 significant digits, plain
  awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'
}
cell() {  # cell KEY [COLUMN]: "median (min–max)"
  local m lo hi
  read -r m lo hi <<<"$(summary "$1" "${2:-3}")"
  [[ $m == nan ]] && { echo "n/a"; return; }
  if [[ $lo == "$hi" ]]; then fmt "$m"; else printf '%s (%s–%s)' "$(fmt "$m")" "$(fmt "$lo")" "$(fmt "$hi")"; fi
}
lat_cell() { printf '%s / %s' "$(fmt "$(med "$1" 4)")" "$(fmt "$(med "$1" 5)")"; }  # "p50 / p99"
kv() { sed -n 's/.*[ ]'"$1"'=\([0-9.]*\).*/\1/p' <<<" $2"; }  # kv NAME "RESULT a=1 b=2"
jget() { sed -n 's/.*"'"$1"'":\([-0-9.]*\).*/\1/p' <<<"$2"; }  # jget KEY ONE_LINE_JSON

# ---- relays and daemon -------------------------------------------------------------------
start_relay() {  # start_relay NAME -> sets RELAY_URL; the pid in RELAY<NAME>_PID
  local out=$TMP/relay$1.out i u=""
  : >"$out"
  LOCAL_RELAY_MAX_SECONDS=900 node "$RELAY_DIR/local-relay.mjs" 0 >"$out" 2>&1 &
  printf -v "RELAY$1_PID" '%s' "$!"
  for ((i = 0; i < 200; i++)); do
    u=$(sed -n 's/^listening \(ws:\/\/.*\)$/\1/p' "$out" | head -1)
    [[ -n $u ]] && break
    sleep 0.05
  done
  [[ -n $u ]] || { cat "$out" >&2; die "relay $1 did not listen"; }
  RELAY_URL=$u
}
start_relay 1
RELAY1=$RELAY_URL  # the daemon's relay
start_relay 2
RELAY2=$RELAY_URL  # nobody subscribes here: the relay alone
log "relays: $RELAY1 (the daemon's), $RELAY2 (relay alone)"

DATA=$TMP/data
mkdir -p "$DATA" "$MNT"
printf '[nostr]\nrelays = ["%s"]\n' "$RELAY1" >"$DATA/agent9.toml"
: >"$TMP/agent9.out"
"$AGENT9_BIN" serve --data "$DATA" --listen 127.0.0.1:0 --mount "$MNT" >"$TMP/agent9.out" 2>"$TMP/agent9.err" &
DAEMON_PID=$!
URL=""
for ((i = 0; i < 2000; i++)); do
  URL=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/agent9.out" | head -1)
  [[ -n $URL ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { tail -5 "$TMP/agent9.err" >&2; die "agent9 exited"; }
  sleep 0.01
done
[[ -n $URL ]] || die "agent9 did not print its address in 20 s"
T=$(cat "$DATA/admin.token")
AUTH="Authorization: Bearer $T"
api() {  # api METHOD PATH [BODY]: the HTTP status; the body is in $TMP/api.out
  curl -sS -o "$TMP/api.out" -w '%{http_code}' --max-time 30 -X "$1" -H "$AUTH" \
    ${3:+--data-binary "$3"} "$URL$2"
}
create() {  # create ID KIND [CONFIG_JSON] -> the agent's hex pubkey
  local body="{\"id\":\"$1\"${2:+,\"kind\":\"$2\"}${3:+,\"config\":$3}}"
  [[ $(api POST /v1/agents "$body") == 201 ]] || die "create $1: $(cat "$TMP/api.out")"
  sed -n 's/.*"pubkey":"\([0-9a-f]\{64\}\)".*/\1/p' "$TMP/api.out"
}
PUB_A=$(create a "")  # identity calls and nostr/publish
PUB_B=$(create b "")  # the peer of encrypt / decrypt
# r receives the DM floods, hibernated (nothing consumes them), with room for all of them
PUB_R=$(create r "" '{"inbox":{"max_depth":1000000}}')
PUB_E=$(create e echo)  # the latency series
create s "" '{"inbox":{"max_depth":1000000}}' >/dev/null  # the serial durable-commit baseline (POST send)
[[ $(api POST /v1/agents/r/hibernate) == 200 ]] || die "hibernate r: $(cat "$TMP/api.out")"
log "agent9 at $URL, mount $MNT; agents a b r e s"
for ((i = 0; i < 200; i++)); do
  [[ $(api GET /v1/fs/nostr/relays) == 200 ]] && grep -q ' connected' "$TMP/api.out" && break
  sleep 0.05
done
grep -q ' connected' "$TMP/api.out" || die "the daemon did not connect to $RELAY1: $(cat "$TMP/api.out")"

nl() { node "$HERE/nostr_load.mjs" "$RELAY_DIR" "$@"; }
# One DM to r, waited for in its inbox: the daemon subscribes for every agent (the
# subscription plan is rebuilt when agents are created) before anything is measured.
nl flood "$RELAY1" --kind dm --n 1 --window 1 --to "$PUB_R" --api "$URL" --token "$T" --agent r \
  --timeout-ms 40000 >"$TMP/probe.json" || die "the probe DM never reached r's inbox"

# ---- requests ----------------------------------------------------------------------------
# The same requests for FUSE, HTTP and (same sizes) in-process: a 64-byte message to sign and
# to encrypt; a signature of it by a; a NIP-44 payload of it from b to a.
MSG=benchmark-message-0123456789abcdef0123456789abcdef0123456789abcd  # 64 bytes
printf '%s' "$MSG" >"$TMP/req.sign"
[[ $(api POST /v1/fs/agents/a/identity/sign "$MSG") == 200 ]] || die "sign: $(cat "$TMP/api.out")"
SIG=$(tr -d '\n' <"$TMP/api.out")
printf '{"pubkey":"%s","sig":"%s","message":"%s"}' "$PUB_A" "$SIG" "$MSG" >"$TMP/req.verify"
printf '{"to":"%s","plaintext":"%s"}' "$PUB_B" "$MSG" >"$TMP/req.encrypt"
[[ $(api POST /v1/fs/agents/b/identity/encrypt "{\"to\":\"$PUB_A\",\"plaintext\":\"$MSG\"}") == 200 ]] ||
  die "encrypt: $(cat "$TMP/api.out")"
printf '{"from":"%s","ciphertext":"%s"}' "$PUB_B" "$(tr -d '\n' <"$TMP/api.out")" >"$TMP/req.decrypt"
declare -A RESP_BYTES=()
for op in "${OPS[@]}"; do
  [[ $(curl -sS -o "$TMP/api.out" -w '%{http_code}' --max-time 30 -H "$AUTH" \
    --data-binary "@$TMP/req.$op" "$URL/v1/fs/agents/a/identity/$op") == 200 ]] || die "$op: $(cat "$TMP/api.out")"
  RESP_BYTES[$op]=$(wc -c <"$TMP/api.out")
done
[[ $(cat "$TMP/api.out") == "$MSG" ]] || die "decrypt answered $(cat "$TMP/api.out")"
curl -sS --max-time 30 -H "$AUTH" --data-binary "@$TMP/req.verify" "$URL/v1/fs/agents/a/identity/verify" |
  grep -qx ok || die "verify did not answer ok"

# ---- 1. identity calls -------------------------------------------------------------------
NPROC=$(nproc)
pin() { taskset -a -p -c "$1" "$DAEMON_PID" >/dev/null; }  # every thread of the daemon
fuse_run() {  # fuse_run KEY RUN OP [taskset-prefix...]
  local key=$1 r=$2 op=$3 out
  shift 3
  out=$("$@" timeout 60 "$TOOLS/fsloop" call "$MNT/agents/a/identity/$op" 1 "$CALL_SECS" "$TMP/req.$op") ||
    die "$key: fsloop call failed"
  local ops bytes
  ops=$(awk '{ print $4 }' <<<"$out")
  bytes=$(awk '{ print $6 }' <<<"$out")
  ((bytes == ops * RESP_BYTES[$op])) || die "$key: $bytes response bytes for $ops calls (expected ${RESP_BYTES[$op]} each)"
  record "$key" "$r" "$(awk '{ print $2 }' <<<"$out")"
}
wrk_call() {  # wrk_call KEY RUN OP [taskset-prefix...]
  local key=$1 r=$2 op=$3 line
  shift 3
  "$@" timeout 60 wrk -t1 -c1 -d"${CALL_SECS}s" --latency -s "$HERE/wrk_call.lua" -H "$AUTH" \
    "$URL/v1/fs/agents/a/identity/$op" -- "$TMP/req.$op" >"$TMP/wrk.out" 2>&1 || die "$key: wrk failed"
  line=$(grep '^RESULT ' "$TMP/wrk.out") || die "$key: no RESULT from wrk"
  (($(kv status_errors "$line") == 0 && $(kv socket_errors "$line") == 0)) || die "$key: errors: $line"
  record "$key" "$r" "$(awk -v n="$(kv requests "$line")" -v d="$(kv duration_us "$line")" 'BEGIN { printf "%.1f", n / (d / 1e6) }')" \
    "$(awk -v v="$(kv p50_us "$line")" 'BEGIN { printf "%.3f", v / 1000 }')" \
    "$(awk -v v="$(kv p99_us "$line")" 'BEGIN { printf "%.3f", v / 1000 }')"
}
log "identity calls: in-process, FUSE, HTTP$( ((PIN)) && echo ', and pinned to CPU 0') x ${#OPS[@]} ops x $RUNS runs, ${CALL_SECS} s each"
for ((r = 1; r <= RUNS; r++)); do
  "$IDENTITY_BENCH_BIN" --secs 1 --msg-bytes ${#MSG} --dir "$TMP" >"$TMP/inproc$r.json" 2>"$TMP/inproc$r.err" ||
    { cat "$TMP/inproc$r.err" >&2; die "agent9_identity_bench run $r"; }
  for k in pubkey "${OPS[@]}"; do
    record "call.$k.inproc" "$r" "$(sed -n 's/^  "'"$k"'.per_s": \([0-9.]*\).*/\1/p' "$TMP/inproc$r.json")"
  done
  for op in "${OPS[@]}"; do
    fuse_run "call.$op.fuse" "$r" "$op"
    wrk_call "call.$op.http" "$r" "$op"
  done
  if ((PIN)); then
    pin 0
    for op in "${OPS[@]}"; do
      fuse_run "call.$op.fuse_pinned" "$r" "$op" taskset -c 0
      wrk_call "call.$op.http_pinned" "$r" "$op" taskset -c 0
    done
    pin "0-$((NPROC - 1))"
  fi
  log "calls run $r/$RUNS: sign in-process $(awk -F'\t' -v r="$r" '$1=="call.sign.inproc" && $2==r {print $3}' "$RES")/s, FUSE $(awk -F'\t' -v r="$r" '$1=="call.sign.fuse" && $2==r {print $3}' "$RES")/s, HTTP $(awk -F'\t' -v r="$r" '$1=="call.sign.http" && $2==r {print $3}' "$RES")/s"
done
PAYLOAD_BYTES=$(sed -n 's/^  "payload_bytes": \([0-9]*\).*/\1/p' "$TMP/inproc1.json")
T_CALLS=$((SECONDS - T0 - T_BUILD))

# ---- 2. publish and receive --------------------------------------------------------------
T0=$SECONDS
flood() {  # flood KEY RUN ARGS...: nostr_load flood; records publish_per_s (and land_per_s)
  local key=$1 r=$2 out
  shift 2
  out=$(nl flood "$@" --timeout-ms 60000) || die "$key: nostr_load flood failed"
  [[ $(jget refused "$out") == 0 ]] || die "$key: the relay refused events: $out"
  record "$key.publish" "$r" "$(jget publish_per_s "$out")"
  if [[ $out == *land_per_s* ]]; then record "$key.receive" "$r" "$(jget land_per_s "$out")"; fi
  echo "$out" >>"$TMP/floods.jsonl"
}
log "publish and receive: POST nostr/publish (wrk, $PUB_CONNS conns, ${PUB_SECS} s), $NOTE_N notes and $DM_N DMs to the relay alone, $DM_N DMs to r x $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  for c in $PUB_CONNS; do
    timeout 60 wrk -t1 -c"$c" -d"${PUB_SECS}s" --latency -s "$HERE/wrk_publish.lua" -H "$AUTH" \
      "$URL/v1/fs/agents/a/nostr/publish" -- "r$r$RANDOM" >"$TMP/wrk.out" 2>&1 || die "publish: wrk failed"
    line=$(grep '^RESULT ' "$TMP/wrk.out") || die "publish: no RESULT from wrk"
    (($(kv refused "$line") == 0)) || log "WARNING: publish c$c run $r: $(kv refused "$line") answers without every relay ok"
    record "nostr.publish.http.c$c" "$r" \
      "$(awk -v n="$(kv ok "$line")" -v d="$(kv duration_us "$line")" 'BEGIN { printf "%.1f", n / (d / 1e6) }')" \
      "$(awk -v v="$(kv p50_us "$line")" 'BEGIN { printf "%.3f", v / 1000 }')" \
      "$(awk -v v="$(kv p99_us "$line")" 'BEGIN { printf "%.3f", v / 1000 }')"
    flood "nostr.notes.relay_alone.w$c" "$r" "$RELAY2" --kind note --n "$NOTE_N" --window "$c"
  done
  flood nostr.dm.relay_alone "$r" "$RELAY2" --kind dm --n "$DM_N" --window "$DM_WINDOW" --to "$PUB_R"
  flood nostr.dm.daemon "$r" "$RELAY1" --kind dm --n "$DM_N" --window "$DM_WINDOW" --to "$PUB_R" \
    --api "$URL" --token "$T" --agent r
  # Right after: serial durable commits through the same Database (the disk's fsync rate now).
  timeout 60 wrk -t1 -c1 -d"${CALL_SECS}s" -s "$HERE/wrk_send.lua" -H "$AUTH" "$URL/v1/agents/s/send" \
    >"$TMP/wrk.out" 2>&1 || die "send: wrk failed"
  line=$(grep '^RESULT ' "$TMP/wrk.out") || die "send: no RESULT from wrk"
  (($(kv status_errors "$line") == 0)) || die "send: errors: $line"
  record nostr.commit_base "$r" "$(awk -v n="$(kv requests "$line")" -v d="$(kv duration_us "$line")" 'BEGIN { printf "%.1f", n / (d / 1e6) }')"
  log "nostr run $r/$RUNS: publish c1 $(awk -F'\t' -v r="$r" '$1=="nostr.publish.http.c1" && $2==r {print $3}' "$RES")/s; DMs relay alone $(awk -F'\t' -v r="$r" '$1=="nostr.dm.relay_alone.publish" && $2==r {print $3}' "$RES")/s, received $(awk -F'\t' -v r="$r" '$1=="nostr.dm.daemon.receive" && $2==r {print $3}' "$RES")/s"
done
[[ $(api GET /v1/agents/r) == 200 ]] || die "GET r"
R_DEPTH=$(sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p' "$TMP/api.out")
R_STATE=$(sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' "$TMP/api.out")
((R_DEPTH == RUNS * DM_N + 1)) || log "WARNING: r holds $R_DEPTH messages, not $((RUNS * DM_N + 1))"
T_NOSTR=$((SECONDS - T0))

# ---- 3. DM -> tick latency ---------------------------------------------------------------
T0=$SECONDS
log "latency: $RTT_N DMs to the echo agent e one at a time, and $RTT_N DMs looped through the relay alone"
rtt_series() {  # rtt_series KEY ARGS...
  local key=$1 out k
  shift
  out=$(nl rtt "$@") || die "$key: nostr_load rtt failed"
  for k in tick_p50_ms tick_p99_ms tick_max_ms rtt_p50_ms rtt_p99_ms rtt_max_ms; do
    [[ $out == *"\"$k\""* ]] && record "$key.$k" 1 "$(jget "$k" "$out")"
  done
  echo "$out" >>"$TMP/rtt.jsonl"
}
rtt_series nostr.hop "$RELAY2" --loop 1 --n "$RTT_N"
rtt_series nostr.echo "$RELAY1" --to "$PUB_E" --n "$RTT_N" --api "$URL" --token "$T" --agent e
T_RTT=$((SECONDS - T0))
NOSTR_METRICS=$(curl -sS --max-time 10 -H "$AUTH" "$URL/metrics" | grep '^agent9_nostr_events_total' | tr '\n' ' ' || true)

# ---- report ------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FSTYPE=$(df -PT "$DATA" | awk 'NR == 2 { print $2 }')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NODEV=$(node --version)
T_TOTAL=$((SECONDS - T_START))
BODY=$TMP/body.md
{
  echo "Every figure: median of $RUNS runs (min–max) unless marked; ratios are of medians. One daemon (\`agent9 serve --mount\`, Release), data dir on $FSTYPE; two loopback relays (\`local-relay.mjs\`, node $NODEV, one core each at most: it verifies every event's signature in JS): relay 1 is the daemon's, relay 2 has no subscriber (the *relay alone*). Wall time: build ${T_BUILD} s, calls ${T_CALLS} s, publish/receive ${T_NOSTR} s, latency ${T_RTT} s, total ${T_TOTAL} s."
  echo
  echo "$H Identity calls, calls/s (one client, one call at a time)"
  echo
  echo "In-process: \`Identity::Sign/Verify/Encrypt/Decrypt\` (bench/identity_bench.cc, one thread, 1 s per op, a real SQLite store). FUSE: open(O_RDWR) + write of the request + read of the response + close of \`agents/a/identity/<op>\` (bench/fsloop.c \`call\`, 1 thread, ${CALL_SECS} s). HTTP: \`POST /v1/fs/agents/a/identity/<op>\`, wrk -t1 -c1 keep-alive, ${CALL_SECS} s. Requests: a ${#MSG}-byte message (sign, encrypt), its signature (verify), a ${PAYLOAD_BYTES}-byte NIP-44 payload (decrypt). *added µs* = 1/rate − 1/in-process rate: what the transport adds to one call."
  echo
  echo "| op | in-process | FUSE | HTTP (p50 / p99 ms) | FUSE / in-process | HTTP / in-process | FUSE added µs | HTTP added µs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for op in "${OPS[@]}"; do
    k=call.$op
    echo "| $op | $(cell "$k.inproc") | $(cell "$k.fuse") | $(cell "$k.http") ($(lat_cell "$k.http")) | $(ratio "$k.fuse" "$k.inproc") | $(ratio "$k.http" "$k.inproc") | $(added_us "$k.fuse" "$k.inproc") | $(added_us "$k.http" "$k.inproc") |"
  done
  echo
  echo "In-process \`Identity::Pubkey\` (one read of the key table, no crypto): $(cell call.pubkey.inproc) calls/s. Sign, encrypt and decrypt open the agent's sealed key from SQLite for every call (XChaCha20-Poly1305 under the master key, in guarded memory); verify opens no key."
  if ((PIN)); then
    echo
    echo "$H Identity calls with daemon and client pinned to CPU 0 (\`taskset\`), calls/s"
    echo
    echo "| op | in-process (unpinned) | FUSE pinned | HTTP pinned (p50 / p99 ms) | FUSE pinned / unpinned | HTTP pinned / unpinned | FUSE pinned / in-process | HTTP pinned / in-process |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for op in "${OPS[@]}"; do
      k=call.$op
      echo "| $op | $(cell "$k.inproc") | $(cell "$k.fuse_pinned") | $(cell "$k.http_pinned") ($(lat_cell "$k.http_pinned")) | $(ratio "$k.fuse_pinned" "$k.fuse") | $(ratio "$k.http_pinned" "$k.http") | $(ratio "$k.fuse_pinned" "$k.inproc") | $(ratio "$k.http_pinned" "$k.inproc") |"
    done
  fi
  echo
  echo "$H Nostr: events/s published and received"
  echo
  echo "| figure | events/s | relay alone, same load | figure / relay alone |"
  echo "|---|---:|---:|---:|"
  for c in $PUB_CONNS; do
    echo "| POST nostr/publish, $c conn(s) (p50 / p99 $(lat_cell "nostr.publish.http.c$c") ms) | $(cell "nostr.publish.http.c$c") | $(cell "nostr.notes.relay_alone.w$c.publish") ($NOTE_N notes, $c in flight) | $(ratio "nostr.publish.http.c$c" "nostr.notes.relay_alone.w$c.publish") |"
  done
  echo "| $DM_N NIP-17 DMs published by a node client to the daemon's relay | $(cell nostr.dm.daemon.publish) | $(cell nostr.dm.relay_alone.publish) | $(ratio nostr.dm.daemon.publish nostr.dm.relay_alone.publish) |"
  echo "| the same DMs landed in r's inbox (first send → queue_depth +$DM_N) | $(cell nostr.dm.daemon.receive) | $(cell nostr.dm.relay_alone.publish) | $(ratio nostr.dm.daemon.receive nostr.dm.relay_alone.publish) |"
  echo
  echo "Second baseline for the receive row, measured right after each DM run: serial durable commits through the same daemon, \`POST /v1/agents/s/send\` with one connection (one commit each, synchronous=FULL): $(cell nostr.commit_base) commits/s. The daemon receives in one thread, one event after another, with two durable commits per event (the delivery into the inbox; the seen-id mark), so half of it, $(awk -v c="$(med nostr.commit_base)" 'BEGIN { if (c == "nan") print "n/a"; else printf "%.0f", c / 2 }') events/s, is the receive ceiling the disk allows before any crypto; received / that ceiling: $(awk -v a="$(med nostr.dm.daemon.receive)" -v c="$(med nostr.commit_base)" 'BEGIN { if (a == "nan" || c == "nan" || c == 0) print "n/a"; else printf "%.2f", a / (c / 2) }')."
  echo
  echo "POST nostr/publish: each 200 is one kind-1 event signed with a's key, sent to relay 1 and answered OK by it (the HTTP answer waits for the relay's OK); relay alone: the same number of events in flight, pre-signed kind-1 notes from a node client on one WebSocket. DMs: gift wraps (kind 1059) made before the clock starts, $DM_WINDOW in flight on one WebSocket; r is hibernated (nothing consumes them) and holds $R_DEPTH messages at the end (state $R_STATE). Receiving one costs the daemon a BIP-340 verify of the wrap, two NIP-44 decryptions with ECDH and a verify of the seal (UnwrapDm), then durable commits: the delivery and the seen-id mark."
  echo
  echo "$H Inbound DM → tick latency (one DM at a time, $RTT_N DMs, one series)"
  echo
  echo "| figure | p50 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|"
  echo "| DM sent by the client → the echo agent's tick starts (\`started_at\` in logs/trajectory) | $(fmt "$(med nostr.echo.tick_p50_ms)") | $(fmt "$(med nostr.echo.tick_p99_ms)") | $(fmt "$(med nostr.echo.tick_max_ms)") |"
  echo "| DM sent → the echo's reply DM arrives back at the client (round trip) | $(fmt "$(med nostr.echo.rtt_p50_ms)") | $(fmt "$(med nostr.echo.rtt_p99_ms)") | $(fmt "$(med nostr.echo.rtt_max_ms)") |"
  echo "| baseline: one relay hop, relay alone (a DM to the client's own key, sent → back on its subscription) | $(fmt "$(med nostr.hop.rtt_p50_ms)") | $(fmt "$(med nostr.hop.rtt_p99_ms)") | $(fmt "$(med nostr.hop.rtt_max_ms)") |"
  echo
  echo "The tick latency holds one relay hop (its signature check in JS) plus the daemon's receive (verify, unwrap, durable delivery) and the engine's wake-up; the round trip adds the tick's commit, the reply's seal and gift wrap and a second relay hop. \`started_at\` has millisecond resolution (same clock as the client). The first 3 DMs (warm-up: the daemon looks up the client's DM relay list once and caches it) are not counted. Daemon counters at the end: \`${NOSTR_METRICS% }\`."
} >"$BODY"

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/identity.md
{
  echo "# agent9 identity and nostr benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build · \`RUNS=$RUNS bash bench/identity.sh\`"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $(uname -sr). Load average (1 min) at start $LOAD_START, at end $LOAD_END (the benchmark itself adds up to ~2)."
  echo
  cat "$BODY"
} >"$MD"
if [[ -n ${IDENTITY_BODY_OUT:-} ]]; then cp "$BODY" "$IDENTITY_BODY_OUT"; fi

JSON=$OUT_DIR/identity.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "fs": "%s", "node": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$(uname -sr)" "$FSTYPE" "$NODEV" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "call_secs": %s, "pin": %s, "pub_secs": %s, "pub_conns": [%s], "note_n": %s, "dm_n": %s, "dm_window": %s, "rtt_n": %s, "msg_bytes": %s, "payload_bytes": %s},\n' \
    "$RUNS" "$CALL_SECS" "$PIN" "$PUB_SECS" "$(tr ' ' ',' <<<"$PUB_CONNS")" "$NOTE_N" "$DM_N" "$DM_WINDOW" "$RTT_N" "${#MSG}" "$PAYLOAD_BYTES"
  printf '  "section_secs": {"build": %s, "calls": %s, "nostr": %s, "latency": %s, "total": %s},\n' \
    "$T_BUILD" "$T_CALLS" "$T_NOSTR" "$T_RTT" "$T_TOTAL"
  printf '  "units": {"call.*": "calls/s", "nostr.publish.*": "events/s (HTTP 200 with every relay ok)", "nostr.*.publish": "events/s the relay answered OK", "nostr.dm.daemon.receive": "DMs/s landed in the inbox", "*_ms": "milliseconds"},\n'
  printf '  "series": {\n'
  first=1
  # shellcheck disable=SC2013  # keys have no spaces
  for k in $(cut -f1 "$RES" | awk '!seen[$0]++'); do
    read -r m lo hi <<<"$(summary "$k" 3)"
    runs=$(awk -F'\t' -v k="$k" '$1 == k { printf "%s%s", (n++ ? "," : ""), $3 }' "$RES")
    ((first)) || printf ',\n'
    first=0
    printf '    "%s": {"runs": [%s], "median": %s, "min": %s, "max": %s' "$k" "$runs" "$(jnum "$m")" "$(jnum "$lo")" "$(jnum "$hi")"
    p50=$(med "$k" 4)
    [[ $p50 != nan ]] && printf ', "p50_ms": %s, "p99_ms": %s' "$p50" "$(med "$k" 5)"
    printf '}'
  done
  printf '\n  },\n  "ratios": {\n'
  sep=""
  for op in "${OPS[@]}"; do
    for t in fuse http fuse_pinned http_pinned; do
      [[ $t == *pinned && $PIN != 1 ]] && continue
      printf '%s    "call.%s.%s/inproc": %s,\n    "call.%s.%s.added_us": %s' "$sep" "$op" "$t" \
        "$(jnum "$(ratio "call.$op.$t" "call.$op.inproc")")" "$op" "$t" "$(jnum "$(added_us "call.$op.$t" "call.$op.inproc")")"
      sep=$',\n'
    done
  done
  for c in $PUB_CONNS; do
    printf ',\n    "nostr.publish.http.c%s/relay_alone": %s' "$c" "$(jnum "$(ratio "nostr.publish.http.c$c" "nostr.notes.relay_alone.w$c.publish")")"
  done
  printf ',\n    "nostr.dm.daemon.publish/relay_alone": %s' "$(jnum "$(ratio nostr.dm.daemon.publish nostr.dm.relay_alone.publish)")"
  printf ',\n    "nostr.dm.daemon.receive/relay_alone": %s' "$(jnum "$(ratio nostr.dm.daemon.receive nostr.dm.relay_alone.publish)")"
  printf ',\n    "nostr.dm.daemon.receive/(commit_base/2)": %s\n  },\n' "$(jnum "$(awk -v a="$(med nostr.dm.daemon.receive)" -v c="$(med nostr.commit_base)" 'BEGIN { if (a == "nan" || c == "nan" || c == 0) print "n/a"; else printf "%.2f", a / (c / 2) }')")"
  printf '  "inbox_r": {"queue_depth": %s, "expected": %s, "state": "%s"}\n}\n' "$R_DEPTH" "$((RUNS * DM_N + 1))" "$R_STATE"
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
