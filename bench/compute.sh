#!/usr/bin/env bash
# agent9 compute benchmark: what a compute job costs over sending the same request straight to
# the provider, on a loopback OpenAI-compatible server that answers at once (fake-llm):
# submit -> first streamed byte p50/p99 (unpinned and with everything on CPU 0), jobs/s at
# 1, 16 and 64 clients, each next to a plain client talking to the server directly; budget
# reservations/s with 64 clients on one agent, and a contention check (a day limit that
# covers exactly BURST_JOBS jobs, BURST_N concurrent submits: exactly BURST_JOBS must be
# accepted). Prints a Markdown report and writes bench/results/compute.md and compute.json.
# See bench/README.md, section "Compute".
#
# Environment knobs (defaults in brackets):
#   RUNS [3]  TTFB_N [500] samples per first-byte series  JOBS_SECS [5] seconds per jobs/s run
#   JOBS_CONC ["1 16 64"]  RES_SECS [5] seconds of the reservation run (1 s slices)
#   BURST_N [200] concurrent submits of the contention check  BURST_JOBS [10] jobs the limit covers
#   PIN [1]  0 skips the first-byte series pinned to CPU 0
#   POLL_MS [2]  status poll interval of a client whose watch was refused (503)
#   SYNC_OFF [1]  0 skips the attribution rows: a second daemon with --sync off (no fsync)
#   BUILD_DIR [<repo>/build-bench]  AGENT9_BIN, FAKE_LLM_BIN, COMPUTE_LOAD_BIN: set them to
#   skip building  OUT_DIR [bench/results]  COMPUTE_HEADING [##]  COMPUTE_BODY_OUT [unset: the
#   report without its title goes there too, for bench/run.sh]  KEEP_TMP [0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
RUNS=${RUNS:-3}
TTFB_N=${TTFB_N:-500}
JOBS_SECS=${JOBS_SECS:-5}
JOBS_CONC=${JOBS_CONC:-"1 16 64"}
RES_SECS=${RES_SECS:-5}
BURST_N=${BURST_N:-200}
BURST_JOBS=${BURST_JOBS:-10}
PIN=${PIN:-1}
POLL_MS=${POLL_MS:-2}
SYNC_OFF=${SYNC_OFF:-1}
OUT_DIR=${OUT_DIR:-$HERE/results}
H=${COMPUTE_HEADING:-##}
KEEP_TMP=${KEEP_TMP:-0}
T_START=$SECONDS

log() { printf '[compute %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in curl taskset timeout; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done

# ---- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/agent9-compute.XXXXXX)
DAEMON_PID="" FAKE_PID="" DAEMON2_PID=""

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
  for p in "$DAEMON_PID" "$DAEMON2_PID" "$FAKE_PID"; do [[ -n $p ]] && stop_pid "$p"; done
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
[[ -n ${FAKE_LLM_BIN:-} ]] || targets+=(fake-llm)
[[ -n ${COMPUTE_LOAD_BIN:-} ]] || targets+=(agent9_compute_load)
if ((${#targets[@]})); then
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    die "need cmake and ninja (or set AGENT9_BIN, FAKE_LLM_BIN and COMPUTE_LOAD_BIN)"
  fi
  log "building ${targets[*]} (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
    { tail -20 "$TMP/cmake.log"; die "cmake"; }
  ninja -C "$BUILD_DIR" "${targets[@]}" >"$TMP/ninja.log" 2>&1 ||
    { tail -30 "$TMP/ninja.log"; die "ninja"; }
fi
AGENT9_BIN=${AGENT9_BIN:-$BUILD_DIR/controlplane/agent9}
FAKE_LLM_BIN=${FAKE_LLM_BIN:-$BUILD_DIR/tests/fakes/fake-llm}
COMPUTE_LOAD_BIN=${COMPUTE_LOAD_BIN:-$BUILD_DIR/bench/agent9_compute_load}
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"
[[ -x $FAKE_LLM_BIN ]] || die "no fake-llm at $FAKE_LLM_BIN"
[[ -x $COMPUTE_LOAD_BIN ]] || die "no agent9_compute_load at $COMPUTE_LOAD_BIN"
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
ratio() {  # ratio KEY_A KEY_B [COLUMN]: median(A) / median(B)
  awk -v a="$(med "$1" "${3:-3}")" -v b="$(med "$2" "${3:-3}")" 'BEGIN {
    if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"; else if (a / b < 0.1) printf "%.3f", a / b; else printf "%.2f", a / b }'
}
jnum() { if [[ $1 == nan || $1 == n/a || -z $1 ]]; then echo null; else echo "$1"; fi; }
fmt() {  # 3 significant digits, plain
  awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else if (v >= 1) printf "%.2f", v; else printf "%.3f", v }'
}
cell() {  # cell KEY [COLUMN]: "median (min–max)"
  local m lo hi
  read -r m lo hi <<<"$(summary "$1" "${2:-3}")"
  [[ $m == nan ]] && { echo "n/a"; return; }
  if [[ $lo == "$hi" ]]; then fmt "$m"; else printf '%s (%s–%s)' "$(fmt "$m")" "$(fmt "$lo")" "$(fmt "$hi")"; fi
}
lat_cell() { printf '%s / %s' "$(fmt "$(med "$1" 4)")" "$(fmt "$(med "$1" 5)")"; }  # "p50 / p99"
kv() { sed -n 's/.*[ ]'"$1"'=\([-0-9.]*\).*/\1/p' <<<" $2"; }  # kv NAME "RESULT a=1 b=2"

# ---- fake provider and daemon ------------------------------------------------------------
# 256 server threads: cpp-httplib serves one keep-alive connection per thread, and both the
# direct baseline (64 clients) and the daemon's lane (max_concurrent 64) keep that many open;
# the slow jobs of the budget part hold up to 64 more.
: >"$TMP/fake.out"
"$FAKE_LLM_BIN" --port 0 --threads 256 >"$TMP/fake.out" 2>"$TMP/fake.err" &
FAKE_PID=$!
FAKE=""
for ((i = 0; i < 500; i++)); do
  FAKE=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/fake.out" | head -1)
  [[ -n $FAKE ]] && break
  kill -0 "$FAKE_PID" 2>/dev/null || { cat "$TMP/fake.err" >&2; die "fake-llm exited"; }
  sleep 0.01
done
[[ -n $FAKE ]] || die "fake-llm did not print its address"

# m1 answers "echo: <input>" at once; slow-600000 waits 10 minutes (the budget part's jobs, so
# that none ends and settles while the reservations are counted).
SLOW_MODEL=slow-600000
DATA=$TMP/data
mkdir -p "$DATA" "$TMP/data2"
cat >"$DATA/agent9.toml" <<EOF
[[compute.providers]]
id = "fake"
type = "openai"
base_url = "$FAKE/v1"
max_concurrent = 64
  [[compute.providers.models]]
  id = "m1"
  input_usd_per_mtok = 1.0
  output_usd_per_mtok = 2.0
  [[compute.providers.models]]
  id = "$SLOW_MODEL"
  input_usd_per_mtok = 1.0
  output_usd_per_mtok = 2.0
EOF
cp "$DATA/agent9.toml" "$TMP/data2/agent9.toml"
start_daemon() {  # start_daemon NAME DATA [ARGS...] -> STARTED_URL, STARTED_PID
  local name=$1 data=$2 i u=""
  shift 2
  : >"$TMP/$name.out"
  "$AGENT9_BIN" serve --data "$data" --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  STARTED_PID=$!
  for ((i = 0; i < 2000; i++)); do
    u=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/$name.out" | head -1)
    [[ -n $u ]] && break
    kill -0 "$STARTED_PID" 2>/dev/null || { tail -5 "$TMP/$name.err" >&2; die "$name exited"; }
    sleep 0.01
  done
  [[ -n $u ]] || die "$name did not print its address in 20 s"
  STARTED_URL=$u
}
start_daemon agent9 "$DATA"
DAEMON_PID=$STARTED_PID
URL=$STARTED_URL
T=$(cat "$DATA/admin.token")
AUTH="Authorization: Bearer $T"
if ((SYNC_OFF)); then
  # Attribution only: the same daemon without fsync (--sync off is not a durable setting).
  start_daemon agent9-sync-off "$TMP/data2" --sync off
  DAEMON2_PID=$STARTED_PID
  URL2=$STARTED_URL
  T2=$(cat "$TMP/data2/admin.token")
fi
api() {  # api METHOD PATH [BODY]: the HTTP status; the body is in $TMP/api.out
  curl -sS -o "$TMP/api.out" -w '%{http_code}' --max-time 30 -X "$1" -H "${AUTH_OF:-$AUTH}" \
    ${3:+--data-binary "$3"} "${URL_API:-$URL}$2"
}
create() {  # create ID: an agent of kind none (its jobs send no events, nothing ticks)
  [[ $(api POST /v1/agents "{\"id\":\"$1\"}") == 201 ]] || die "create $1: $(cat "$TMP/api.out")"
}
create2() {  # create2 ID: the same on the --sync off daemon
  URL_API=$URL2 AUTH_OF="Authorization: Bearer $T2" create "$1"
}
FAKE_PORT=${FAKE##*:}
# Connections toward the provider: the TIME-WAIT sockets (local address) a run leaves behind
# that were not there before it (each is a connection closed during the run), and the kernel's
# listen-queue overflows (system-wide: a SYN dropped because a listen backlog was full; the
# client retransmits it after 1 s; cpp-httplib listens with a backlog of 5).
tw_socks() { ss -tanH state time-wait "( dport = :$FAKE_PORT )" 2>/dev/null | awk '{ print $3 }' | sort; }
overflows() {
  awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
    else { for (i = 2; i <= NF; i++) if (n[i] == "ListenOverflows") print $i } }' /proc/net/netstat
}
policy() {  # policy AGENT JSON
  [[ $(api PUT "/v1/fs/agents/$1/compute/policy" "$2") =~ ^20[0-9]$ ]] ||
    die "policy $1: $(cat "$TMP/api.out")"
}
log "fake-llm at $FAKE, agent9 at $URL"

JOB_STREAM='{"model":"m1","input":"hello","stream":true}'
JOB_PLAIN='{"model":"m1","input":"hello"}'
CHAT_STREAM='{"model":"m1","messages":[{"role":"user","content":"hello"}],"stream":true}'
CHAT_PLAIN='{"model":"m1","messages":[{"role":"user","content":"hello"}]}'

# A probe: one streamed job end to end, and its stored stream.
create probe
[[ $(api POST /v1/fs/agents/probe/compute/new "$JOB_STREAM") == 200 ]] || die "probe submit: $(cat "$TMP/api.out")"
PROBE_ID=$(sed -n 's/.*"job_id": *"\([^"]*\)".*/\1/p' "$TMP/api.out")
[[ -n $PROBE_ID ]] || die "probe: no job_id in $(cat "$TMP/api.out")"
curl -sS --max-time 30 -H "$AUTH" "$URL/v1/fs/agents/probe/compute/jobs/$PROBE_ID/stream?watch=1" >"$TMP/probe.sse" ||
  die "probe watch"
grep -q '"result"' "$TMP/probe.sse" || die "probe: no result line in $(cat "$TMP/probe.sse")"
[[ $(api GET "/v1/fs/agents/probe/compute/jobs/$PROBE_ID/stream") == 200 ]] || die "probe stream"
grep -q '"delta"' "$TMP/api.out" || die "probe: no delta line in the stored stream"

load() { timeout 300 "$COMPUTE_LOAD_BIN" "$@"; }
NPROC=$(nproc)
pin() {  # pin CPUS: every thread of the daemon and of the fake server
  taskset -a -p -c "$1" "$DAEMON_PID" >/dev/null
  taskset -a -p -c "$1" "$FAKE_PID" >/dev/null
}
ttfb() {  # ttfb KEY RUN MODE BODY [AGENT] [taskset-prefix...]
  local key=$1 r=$2 mode=$3 body=$4 agent=${5:-x} out
  shift 5 || shift $#
  out=$("$@" timeout 300 "$COMPUTE_LOAD_BIN" "$mode" --url "$URL_OF" --token "${TOKEN_OF:-$T}" --agent "$agent" \
    --body "$body" --n "$TTFB_N") || die "$key: $out"
  line=$(grep '^RESULT ' <<<"$out") || die "$key: no RESULT: $out"
  record "$key" "$r" "$(kv p50_ms "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")"
  record "$key.mean" "$r" "$(kv mean_ms "$line")"
}

# ---- 1. submit -> first streamed byte ----------------------------------------------------
T0=$SECONDS
log "first byte: $TTFB_N samples per series, agent9 and direct$( ((PIN)) && echo ', unpinned and on CPU 0') x $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  create "t$r"
  URL_OF=$FAKE ttfb ttfb.direct "$r" ttfb-direct "$CHAT_STREAM" x
  URL_OF=$URL ttfb ttfb.agent9 "$r" ttfb-agent9 "$JOB_STREAM" "t$r"
  if ((PIN)); then
    create "tp$r"
    pin 0
    URL_OF=$FAKE ttfb ttfb.direct_pinned "$r" ttfb-direct "$CHAT_STREAM" x taskset -c 0
    URL_OF=$URL ttfb ttfb.agent9_pinned "$r" ttfb-agent9 "$JOB_STREAM" "tp$r" taskset -c 0
    pin "0-$((NPROC - 1))"
  fi
  if ((SYNC_OFF)); then
    create2 "t$r"
    URL_OF=$URL2 TOKEN_OF=$T2 ttfb ttfb.agent9_sync_off "$r" ttfb-agent9 "$JOB_STREAM" "t$r"
  fi
  log "first byte run $r/$RUNS: p50 agent9 $(awk -F'\t' -v r="$r" '$1=="ttfb.agent9" && $2==r {print $4}' "$RES") ms, direct $(awk -F'\t' -v r="$r" '$1=="ttfb.direct" && $2==r {print $4}' "$RES") ms"
done
T_TTFB=$((SECONDS - T0))

# ---- 2. jobs/s ---------------------------------------------------------------------------
T0=$SECONDS
log "jobs/s: $JOBS_CONC clients x ${JOBS_SECS} s, agent9 and direct x $RUNS runs"
jobs_run() {  # jobs_run KEY RUN MODE URL BODY AGENT CONC [TOKEN]
  local out line o0
  tw_socks >"$TMP/tw0"
  o0=$(overflows)
  out=$(load "$3" --url "$4" --token "${8:-$T}" --body "$5" --agent "$6" --conc "$7" --secs "$JOBS_SECS" \
    --poll-ms "$POLL_MS") || die "$1: $out"
  line=$(grep '^RESULT ' <<<"$out") || die "$1: no RESULT: $out"
  record "$1" "$2" "$(kv per_s "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")"
  record "$1.errors" "$2" "$(kv errors "$line")"
  record "$1.polled" "$2" "$(kv polled "$line")"
  record "$1.closed_conns" "$2" "$(comm -13 "$TMP/tw0" <(tw_socks) | wc -l)"
  record "$1.listen_overflows" "$2" "$(($(overflows) - o0))"
}
for ((r = 1; r <= RUNS; r++)); do
  for k in $JOBS_CONC; do
    create "j${r}c$k"  # a fresh agent per run: every run starts with no holds
    jobs_run "jobs.c$k.direct" "$r" jobs-direct "$FAKE" "$CHAT_PLAIN" x "$k"
    jobs_run "jobs.c$k.agent9" "$r" jobs-agent9 "$URL" "$JOB_PLAIN" "j${r}c$k" "$k"
  done
  if ((SYNC_OFF)); then
    create2 "j${r}c1"
    jobs_run jobs.c1.agent9_sync_off "$r" jobs-agent9 "$URL2" "$JOB_PLAIN" "j${r}c1" 1 "$T2"
  fi
  log "jobs run $r/$RUNS: c1 agent9 $(awk -F'\t' -v r="$r" '$1=="jobs.c1.agent9" && $2==r {print $3}' "$RES")/s direct $(awk -F'\t' -v r="$r" '$1=="jobs.c1.direct" && $2==r {print $3}' "$RES")/s"
done
curl -sS --max-time 10 -H "$AUTH" "$URL/metrics" | grep -i '^agent9_compute' >"$TMP/metrics.txt" || true
T_JOBS=$((SECONDS - T0))

# ---- 3. budget ---------------------------------------------------------------------------
# Both parts submit the slow model: no job ends (and settles) while they run. The contention
# check comes first, while the lane still has free workers.
T0=$SECONDS
BURST_EACH=100000  # micro-USD per job
create q
policy q "{\"max_cost_usd_per_day\":$((BURST_EACH * BURST_JOBS))}"
log "budget: $BURST_N concurrent submits against a day limit of $BURST_JOBS jobs"
out=$(load burst --url "$URL" --token "$T" --agent q --conc "$BURST_N" \
  --body "{\"model\":\"$SLOW_MODEL\",\"input\":\"hello\",\"max_cost_usd\":$BURST_EACH}") || die "burst: $out"
BURST_LINE=$(grep '^RESULT ' <<<"$out") || die "burst: no RESULT: $out"
BURST_200=$(kv c200 "$BURST_LINE")
BURST_402=$(kv c402 "$BURST_LINE")
BURST_OTHER=$(kv other "$BURST_LINE")
[[ $(api GET /v1/fs/agents/q/compute/usage) == 200 ]] || die "usage q"
tr -d '\n ' <"$TMP/api.out" >"$TMP/usage_q.json"
if [[ $BURST_200 == "$BURST_JOBS" && $BURST_402 == $((BURST_N - BURST_JOBS)) ]]; then
  BURST_VERDICT=ok
  log "budget contention check: $BURST_200 accepted, $BURST_402 refused (402): ok"
else
  BURST_VERDICT=MISMATCH
  log "!!!!!!!! MISMATCH: budget contention check: $BURST_200 accepted (want $BURST_JOBS), $BURST_402 refused with 402, $BURST_OTHER other: $BURST_LINE"
fi

create r
policy r '{"max_cost_usd_per_day":1000000000000000}'
log "budget: reservations/s, 64 clients submitting to one agent for ${RES_SECS} s"
out=$(load submit --url "$URL" --token "$T" --agent r --conc 64 --secs "$RES_SECS" \
  --body "{\"model\":\"$SLOW_MODEL\",\"input\":\"hello\",\"max_cost_usd\":1000}") || die "submit: $out"
RES_LINE=$(grep '^RESULT ' <<<"$out") || die "submit: no RESULT: $out"
grep '^SLICE ' <<<"$out" >"$TMP/slices.txt" || true
record reserve.c64 1 "$(kv per_s "$RES_LINE")"
RES_OTHER=$(kv other "$RES_LINE")
[[ $(api GET /v1/fs/agents/r/compute/usage) == 200 ]] || die "usage r"
tr -d '\n ' <"$TMP/api.out" >"$TMP/usage_r.json"
T_BUDGET=$((SECONDS - T0))

# ---- report ------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FSTYPE=$(df -PT "$DATA" | awk 'NR == 2 { print $2 }')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T_TOTAL=$((SECONDS - T_START))
BODY=$TMP/body.md
slice_list() { awk '{ split($3, a, "="); split($4, b, "="); printf "%s%s (%s total)", (NR > 1 ? ", " : ""), b[2], a[2] }' "$TMP/slices.txt"; }
{
  echo "Every figure: median of $RUNS runs (min–max) unless marked; ratios are of medians (agent9 / direct). One daemon (\`agent9 serve\`, Release, no mount), data dir on $FSTYPE, and one loopback provider: \`fake-llm --threads 256\` (tests/fakes, cpp-httplib), which answers \"echo: <input>\" at once, configured as provider \`fake\` (type openai, max_concurrent 64, model m1 at \$1 / \$2 per Mtok). Agents are of kind none (a finished job sends no event). Client: \`agent9_compute_load\` (bench/compute_load.cc, cpp-httplib, keep-alive, one connection per thread). Wall time: build ${T_BUILD} s, first byte ${T_TTFB} s, jobs/s ${T_JOBS} s, budget ${T_BUDGET} s, total ${T_TOTAL} s."
  echo
  echo "$H Submit → first streamed byte (one job at a time, $TTFB_N samples a run), ms"
  echo
  echo "agent9: \`POST /v1/fs/agents/<a>/compute/new\` with \`$JOB_STREAM\`, then \`GET …/compute/jobs/<id>/stream?watch=1\` (SSE) on the same connection; from just before the POST to the first byte of the first \`data:\` line (the first \`{\"delta\":…}\`); each stream is read to its result line before the next job. Direct: \`POST /v1/chat/completions\` with \`$CHAT_STREAM\` to the fake server, to the first byte of its first SSE \`data:\` line. 20 warm-up samples are dropped."
  echo
  echo "| placement | agent9 p50 | agent9 p99 | direct p50 | direct p99 | p50 agent9 / direct | p99 agent9 / direct | added p50 ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for v in "" _pinned; do
    [[ $v == _pinned && $PIN != 1 ]] && continue
    place="unpinned: daemon, fake server and client on any of $NPROC CPUs"
    [[ $v == _pinned ]] && place="pinned: daemon, fake server and client all on CPU 0 (taskset)"
    echo "| $place | $(cell "ttfb.agent9$v" 4) | $(cell "ttfb.agent9$v" 5) | $(cell "ttfb.direct$v" 4) | $(cell "ttfb.direct$v" 5) | **$(ratio "ttfb.agent9$v" "ttfb.direct$v" 4)** | $(ratio "ttfb.agent9$v" "ttfb.direct$v" 5) | $(awk -v a="$(med "ttfb.agent9$v" 4)" -v b="$(med "ttfb.direct$v" 4)" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%.3f", a - b }') |"
  done
  if ((SYNC_OFF)); then
    echo "| attribution, unpinned: a second daemon with \`--sync off\` (no fsync; not a durable setting) | $(cell ttfb.agent9_sync_off 4) | $(cell ttfb.agent9_sync_off 5) | $(cell ttfb.direct 4) | $(cell ttfb.direct 5) | $(ratio ttfb.agent9_sync_off ttfb.direct 4) | $(ratio ttfb.agent9_sync_off ttfb.direct 5) | $(awk -v a="$(med ttfb.agent9_sync_off 4)" -v b="$(med ttfb.direct 4)" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%.3f", a - b }') |"
  fi
  echo
  echo "Before the first byte agent9 does: the submit (parse, resolve the model, one SQLite write transaction: the job row and its budget hold, synchronous=FULL), the answer, the GET and the watch's open; meanwhile a lane worker claims the job (a second write transaction), sends the request to the provider through libcurl (a kept-alive connection), and appends the first delta to the stream the watch follows (the streaming state is kept in memory: no write)."
  echo
  echo "$H Jobs/s (${JOBS_SECS} s per run, unpinned)"
  echo
  echo "agent9: each client loops: submit \`$JOB_PLAIN\` (not streamed), then read \`jobs/<id>/stream?watch=1\` to its end (it ends after the result line). Direct: each client loops a plain \`POST /v1/chat/completions\` (\`$CHAT_PLAIN\`). Latency columns: one job (submit → result) or one request, p50 / p99 ms."
  echo
  echo "| clients | agent9 jobs/s | p50 / p99 ms | direct req/s | p50 / p99 ms | agent9 / direct | agent9 errors | watches refused (polled) | connections to the provider closed: agent9 / direct | listen overflows during agent9 / direct |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for k in $JOBS_CONC; do
    echo "| $k | $(cell "jobs.c$k.agent9") | $(lat_cell "jobs.c$k.agent9") | $(cell "jobs.c$k.direct") | $(lat_cell "jobs.c$k.direct") | **$(ratio "jobs.c$k.agent9" "jobs.c$k.direct")** | $(cell "jobs.c$k.agent9.errors") | $(cell "jobs.c$k.agent9.polled") | $(cell "jobs.c$k.agent9.closed_conns") / $(cell "jobs.c$k.direct.closed_conns") | $(cell "jobs.c$k.agent9.listen_overflows") / $(cell "jobs.c$k.direct.listen_overflows") |"
  done
  if ((SYNC_OFF)); then
    echo "| 1, \`--sync off\` daemon (attribution) | $(cell jobs.c1.agent9_sync_off) | $(lat_cell jobs.c1.agent9_sync_off) | $(cell jobs.c1.direct) | $(lat_cell jobs.c1.direct) | $(ratio jobs.c1.agent9_sync_off jobs.c1.direct) | $(cell jobs.c1.agent9_sync_off.errors) | $(cell jobs.c1.agent9_sync_off.polled) | $(cell jobs.c1.agent9_sync_off.closed_conns) / $(cell jobs.c1.direct.closed_conns) | $(cell jobs.c1.agent9_sync_off.listen_overflows) / $(cell jobs.c1.direct.listen_overflows) |"
  fi
  echo
  echo "Durable writes per job (each a \`Database::Write\`, synchronous=FULL; concurrent writes share one commit and fsync, the daemon's group commit, so one client pays an fsync per write and 64 clients share them): submit (job row + budget hold), claim (pending → running), finish (state, result, stored stream, the settled hold and, for an agent that ticks, its event trigger, in one transaction). So 3 per job, streamed or not; the direct request writes nothing. The daemon serves at most HTTP threads / 2 = 32 SSE watches at once (controlplane/http/http_server.h): a watch refused with 503 falls back to polling \`jobs/<id>/status\` every $POLL_MS ms (the *polled* column counts those jobs). *Connections closed*: TIME-WAIT sockets toward the fake server's port that a run left behind (each one a TCP connection closed during the run; the direct client closes its K connections when it exits). *Listen overflows*: the kernel's \`ListenOverflows\` counter over the run (system-wide; a SYN dropped because a listen backlog was full, retransmitted by the client after 1 s; cpp-httplib, hence fake-llm, listens with a backlog of 5)."
  echo
  echo "Daemon counters after the jobs runs: \`$(tr '\n' ' ' <"$TMP/metrics.txt" | sed 's/ *$//')\`."
  echo
  echo "$H Budget reservations under contention (one run, unpinned)"
  echo
  echo "Both parts submit model \`$SLOW_MODEL\` (the fake server waits 10 minutes before answering), so no job ends and settles while they run: each accepted submit is exactly one reservation. Unlimited tick window, a day limit set with \`PUT compute/policy\`."
  echo
  echo "| figure | value |"
  echo "|---|---:|"
  echo "| 64 clients submitting to ONE agent (day limit \$10^9, 1000 micro-USD each), accepted submits/s over ${RES_SECS} s | $(fmt "$(med reserve.c64)") |"
  echo "| the same, per 1 s slice (accepted so far) | $(slice_list) |"
  echo "| contention check: day limit $((BURST_EACH * BURST_JOBS)) micro-USD, $BURST_N concurrent submits of $BURST_EACH each: HTTP 200 / 402 / other | $BURST_200 / $BURST_402 / $BURST_OTHER (want $BURST_JOBS / $((BURST_N - BURST_JOBS)) / 0): **$BURST_VERDICT** |"
  echo
  echo "Agent q's usage after the check: \`$(cat "$TMP/usage_q.json")\`. Agent r's usage after the reservation run: \`$(cat "$TMP/usage_r.json")\`; submits answered other than 200 in that run: $RES_OTHER."
  echo
  echo "Each reservation is one write transaction: read the policy, \`Ledger::Reserve\` (two point reads of the running totals of the tick and day windows, the hold's INSERT and two total updates), \`max(seq)\`, the job's INSERT, and every 256th submit the agent's job retention sweep. No step reads more rows as an agent's holds and jobs pile up; the 1 s slices show whether the rate holds."
} >"$BODY"

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/compute.md
{
  echo "# agent9 compute benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build · \`RUNS=$RUNS TTFB_N=$TTFB_N JOBS_SECS=$JOBS_SECS RES_SECS=$RES_SECS bash bench/compute.sh\`"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $(uname -sr). Load average (1 min) at start $LOAD_START, at end $LOAD_END (the benchmark itself adds up to ~2; other work shares this machine)."
  if awk -v a="$LOAD_START" -v b="$LOAD_END" -v n="$NPROC" 'BEGIN { exit !(a > n / 2 || b > n / 2) }'; then
    echo
    echo "**Noisy run**: the load average was above half the CPUs, so other work (builds, tests) ran during the benchmark and skews the figures, the fsync-bound ones most; the ratios of interleaved runs suffer less than the absolute figures."
  fi
  echo
  cat "$BODY"
} >"$MD"
if [[ -n ${COMPUTE_BODY_OUT:-} ]]; then cp "$BODY" "$COMPUTE_BODY_OUT"; fi

JSON=$OUT_DIR/compute.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$(uname -sr)" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "ttfb_n": %s, "jobs_secs": %s, "jobs_conc": [%s], "res_secs": %s, "burst_n": %s, "burst_jobs": %s, "pin": %s, "poll_ms": %s, "sync_off": %s, "max_concurrent": 64, "fake_threads": 256},\n' \
    "$RUNS" "$TTFB_N" "$JOBS_SECS" "$(tr ' ' ',' <<<"$JOBS_CONC")" "$RES_SECS" "$BURST_N" "$BURST_JOBS" "$PIN" "$POLL_MS" "$SYNC_OFF"
  printf '  "section_secs": {"build": %s, "ttfb": %s, "jobs": %s, "budget": %s, "total": %s},\n' \
    "$T_BUILD" "$T_TTFB" "$T_JOBS" "$T_BUDGET" "$T_TOTAL"
  printf '  "units": {"ttfb.*": "ms (value = p50)", "jobs.*": "jobs/s or requests/s", "reserve.c64": "accepted submits/s", "*_ms": "milliseconds"},\n'
  printf '  "placement": {"ttfb.*_pinned": "daemon, fake server and client on CPU 0", "other": "unpinned"},\n'
  printf '  "notes": {"*_sync_off": "a second daemon with --sync off (no fsync), for attribution", "*.closed_conns": "TIME-WAIT sockets toward the provider left by the run", "*.listen_overflows": "kernel ListenOverflows delta over the run (system-wide)"},\n'
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
  printf '    "ttfb.p50.agent9/direct": %s,\n    "ttfb.p99.agent9/direct": %s' \
    "$(jnum "$(ratio ttfb.agent9 ttfb.direct 4)")" "$(jnum "$(ratio ttfb.agent9 ttfb.direct 5)")"
  if ((PIN)); then
    printf ',\n    "ttfb_pinned.p50.agent9/direct": %s,\n    "ttfb_pinned.p99.agent9/direct": %s' \
      "$(jnum "$(ratio ttfb.agent9_pinned ttfb.direct_pinned 4)")" "$(jnum "$(ratio ttfb.agent9_pinned ttfb.direct_pinned 5)")"
  fi
  if ((SYNC_OFF)); then
    printf ',\n    "ttfb_sync_off.p50.agent9/direct": %s,\n    "jobs.c1.agent9_sync_off/direct": %s' \
      "$(jnum "$(ratio ttfb.agent9_sync_off ttfb.direct 4)")" "$(jnum "$(ratio jobs.c1.agent9_sync_off jobs.c1.direct)")"
  fi
  for k in $JOBS_CONC; do
    printf ',\n    "jobs.c%s.agent9/direct": %s' "$k" "$(jnum "$(ratio "jobs.c$k.agent9" "jobs.c$k.direct")")"
  done
  printf '\n  },\n'
  printf '  "reserve_slices_per_s": [%s],\n' "$(awk '{ split($4, b, "="); printf "%s%s", (NR > 1 ? "," : ""), b[2] }' "$TMP/slices.txt")"
  printf '  "burst": {"concurrent": %s, "limit_jobs": %s, "accepted": %s, "refused_402": %s, "other": %s, "verdict": "%s"}\n}\n' \
    "$BURST_N" "$BURST_JOBS" "$BURST_200" "$BURST_402" "$BURST_OTHER" "$BURST_VERDICT"
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
