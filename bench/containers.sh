#!/usr/bin/env bash
# agent9 containers benchmark: what a container session costs over spawning the same bubblewrap
# sandbox by hand, in the same run. Baseline: bare `bwrap <the local provider's flags>` spawned
# back to back as the provider spawns it (fork, setsid, setresuid to a fresh uid >= 2000000000,
# PR_SET_PDEATHSIG, exec): spawns/s and spawn -> exit p50/p99 of `/bin/true` (1 and 8 at once),
# and spawn -> first stdout byte p50/p99 of `sh -c 'echo x'`. Through the daemon over HTTP:
# sessions/s of `{"kind":"ephemeral","command":"true"}` (POST containers/new, then the session's
# output?watch=1 to its end line) with 1 and 8 clients, and POST new -> first stdout byte of
# output?watch=1 for `echo x`. Prints a Markdown report and writes bench/results/containers.md
# and containers.json. See bench/README.md, section "Containers". Needs root and bwrap.
#
# Environment knobs (defaults in brackets):
#   RUNS [3]  BARE_N [200] spawns per bare series  TTFB_N [100] samples per first-byte series
#   SESS_SECS [5] seconds per sessions/s run  SESS_CONC ["1 8"]
#   BUILD_DIR [<repo>/build-bench]  AGENT9_BIN, CONTAINERS_LOAD_BIN: set them to skip building
#   OUT_DIR [bench/results]  CONTAINERS_HEADING [##]  CONTAINERS_BODY_OUT [unset: the report
#   without its title goes there too, for bench/run.sh]  KEEP_TMP [0]  BWRAP [/usr/bin/bwrap]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
RUNS=${RUNS:-3}
BARE_N=${BARE_N:-200}
TTFB_N=${TTFB_N:-100}
SESS_SECS=${SESS_SECS:-5}
SESS_CONC=${SESS_CONC:-"1 8"}
OUT_DIR=${OUT_DIR:-$HERE/results}
H=${CONTAINERS_HEADING:-##}
KEEP_TMP=${KEEP_TMP:-0}
BWRAP=${BWRAP:-/usr/bin/bwrap}
UID_BASE=2000000000
T_START=$SECONDS

log() { printf '[containers %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in curl jq timeout; do command -v "$tool" >/dev/null || die "missing tool: $tool"; done
[[ -x $BWRAP ]] || die "no bubblewrap at $BWRAP"
[[ $(id -u) == 0 ]] || die "needs root (sandboxes run as uids >= $UID_BASE)"

# ---- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/agent9-containers.XXXXXX)
chmod 755 "$TMP"
DAEMON_PID=""
stop_pid() {  # stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $DAEMON_PID ]] && stop_pid "$DAEMON_PID"
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
[[ -n ${CONTAINERS_LOAD_BIN:-} ]] || targets+=(agent9_containers_load)
if ((${#targets[@]})); then
  command -v cmake >/dev/null && command -v ninja >/dev/null ||
    die "need cmake and ninja (or set AGENT9_BIN and CONTAINERS_LOAD_BIN)"
  log "building ${targets[*]} (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
    { tail -20 "$TMP/cmake.log"; die "cmake"; }
  ninja -C "$BUILD_DIR" "${targets[@]}" >"$TMP/ninja.log" 2>&1 || { tail -30 "$TMP/ninja.log"; die "ninja"; }
fi
AGENT9_BIN=${AGENT9_BIN:-$BUILD_DIR/controlplane/agent9}
CONTAINERS_LOAD_BIN=${CONTAINERS_LOAD_BIN:-$BUILD_DIR/bench/agent9_containers_load}
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"
[[ -x $CONTAINERS_LOAD_BIN ]] || die "no agent9_containers_load at $CONTAINERS_LOAD_BIN"
T_BUILD=$((SECONDS - T0))

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# ---- results store (as bench/compute.sh) -------------------------------------------------
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
    if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}
jnum() { if [[ $1 == nan || $1 == n/a || -z $1 ]]; then echo null; else echo "$1"; fi; }
fmt() {
  awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else if (v >= 1) printf "%.2f", v; else printf "%.3f", v }'
}
cell() {  # cell KEY [COLUMN]: "median (min–max)"
  local m lo hi
  read -r m lo hi <<<"$(summary "$1" "${2:-3}")"
  [[ $m == nan ]] && { echo "n/a"; return; }
  if [[ $lo == "$hi" ]]; then fmt "$m"; else printf '%s (%s–%s)' "$(fmt "$m")" "$(fmt "$lo")" "$(fmt "$hi")"; fi
}
kv() { sed -n 's/.*[ ]'"$1"'=\([-0-9.]*\).*/\1/p' <<<" $2"; }
verdict() {  # verdict VALUE OP THRESHOLD
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "n/a" || v == "nan" || v == "") { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 < t + 0); print ok ? "met" : "not met" }'
}

# ---- the bare baseline's argv: containers/local_provider.cc BuildBwrapArgv -------------------
# The same flags, in the same order, for an ephemeral session without network on the host
# root: the system directories bound read-only (symlinks as symlinks), a private /proc, /dev
# and a /tmp tmpfs, the session's workdir bound at /work (the provider names it by a path under
# /sys of its private mount namespace; a plain path bind is the same mount), then
# `--remount-ro /`.
WORK=$TMP/work
mkdir -p "$WORK"
chmod 777 "$WORK"
BW=("$BWRAP" --die-with-parent --new-session --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --unshare-net)
for n in bin etc lib lib32 lib64 libx32 sbin usr; do
  [[ -e /$n || -L /$n ]] || continue
  if [[ -L /$n ]]; then BW+=(--symlink "$(readlink "/$n")" "/$n"); else BW+=(--ro-bind "/$n" "/$n"); fi
done
BW+=(--proc /proc --dev /dev --size 268435456 --tmpfs /tmp --bind "$WORK" /work --chdir /work --remount-ro / --)
printf '%s\0' "${BW[@]}" /bin/true >"$TMP/true.argv"
printf '%s\0' "${BW[@]}" /bin/sh -c 'echo x' >"$TMP/echo.argv"
BW_LINE="${BW[*]}"

# ---- daemon ------------------------------------------------------------------------------
DATA=$TMP/data
mkdir -p "$DATA"
# A pool uid range of its own: the local provider kills every process of a pool uid when a
# session ends and sweeps its whole range at start, so two daemons with the default range
# (2000000000, 256) on one machine kill each other's sandboxes.
DAEMON_UID_BASE=$((UID_BASE + 20000000 + (RANDOM * 32768 + RANDOM) % 400000 * 256))
printf '[containers]\nuid_base = %s\nuid_count = 256\n' "$DAEMON_UID_BASE" >"$DATA/agent9.toml"
: >"$TMP/agent9.out"
"$AGENT9_BIN" serve --data "$DATA" --listen 127.0.0.1:0 >"$TMP/agent9.out" 2>"$TMP/agent9.err" &
DAEMON_PID=$!
URL=""
for ((i = 0; i < 2000; i++)); do
  URL=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/agent9.out" | head -1)
  [[ -n $URL ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { tail -5 "$TMP/agent9.err" >&2; die "agent9 exited"; }
  sleep 0.01
done
[[ -n $URL ]] || die "agent9 did not print its address"
T=$(cat "$DATA/admin.token")
api() {  # api METHOD PATH [BODY]: the HTTP status; the body is in $TMP/api.out
  curl -sS -o "$TMP/api.out" -w '%{http_code}' --max-time 30 -X "$1" -H "Authorization: Bearer $T" \
    ${3:+--data-binary "$3"} "$URL$2"
}
[[ $(api GET /v1/fs/agents) == 200 ]] || die "daemon not answering"
create() {  # create ID: an agent of kind none (a session's end wakes nothing)
  [[ $(api POST /v1/agents "{\"id\":\"$1\"}") == 201 ]] || die "create $1: $(cat "$TMP/api.out")"
  [[ $(api PUT "/v1/fs/agents/$1/containers/policy" '{"max_concurrent":16,"max_queued":64}') =~ ^20[0-9]$ ]] ||
    die "containers/policy of $1: $(cat "$TMP/api.out")"
}
create probe
[[ $(api GET /v1/fs/agents/probe/containers/providers/local/health) == 200 ]] || die "local health: $(cat "$TMP/api.out")"
HEALTH=$(cat "$TMP/api.out")
[[ $HEALTH == ok* ]] || die "local provider: $HEALTH"
[[ $(api POST /v1/fs/agents/probe/containers/new '{"kind":"ephemeral","command":"echo x"}') == 200 ]] ||
  die "probe session: $(cat "$TMP/api.out")"
PROBE=$(jq -r .session_id "$TMP/api.out")
curl -sS --max-time 30 -H "Authorization: Bearer $T" "$URL/v1/fs/agents/probe/containers/sessions/$PROBE/output?watch=1" >"$TMP/probe.sse" ||
  die "probe watch"
grep -q '"end"' "$TMP/probe.sse" || die "probe: no end line in $(cat "$TMP/probe.sse")"
log "agent9 at $URL, local provider: $HEALTH"

load() { timeout 600 "$CONTAINERS_LOAD_BIN" "$@"; }
bare() {  # bare KEY RUN ARGS...
  local key=$1 r=$2 out line
  shift 2
  out=$(load bare "$@") || die "$key: $out"
  line=$(grep '^RESULT ' <<<"$out") || die "$key: no RESULT: $out"
  [[ $(kv errors "$line") == 0 ]] || die "$key: failed spawns: $line"
  record "$key" "$r" "$(kv per_s "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")"
}

# ---- runs (interleaved: each run measures every series once) ------------------------------
T0=$SECONDS
for ((r = 1; r <= RUNS; r++)); do
  bare bare.true.c1 "$r" --argv-file "$TMP/true.argv" --n "$BARE_N" --uid $((UID_BASE + 100000))
  for k in $SESS_CONC; do
    [[ $k == 1 ]] && continue
    bare "bare.true.c$k" "$r" --argv-file "$TMP/true.argv" --n "$BARE_N" --conc "$k" --uid $((UID_BASE + 200000))
  done
  bare bare.echo_fb "$r" --argv-file "$TMP/echo.argv" --n "$BARE_N" --first-byte --uid $((UID_BASE + 300000))
  create "t$r"
  out=$(load ttfb --url "$URL" --token "$T" --agent "t$r" --n "$TTFB_N" \
    --body '{"kind":"ephemeral","command":"echo x"}') || die "ttfb: $out"
  line=$(grep '^RESULT ' <<<"$out") || die "ttfb: no RESULT: $out"
  record ttfb.agent9 "$r" "$(kv p50_ms "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")"
  record ttfb.agent9.errors "$r" "$(kv errors "$line")"
  record ttfb.agent9.post "$r" "$(kv post_p50_ms "$line")" "$(kv post_p50_ms "$line")" "$(kv post_p99_ms "$line")"
  record ttfb.agent9.end "$r" "$(kv end_p50_ms "$line")" "$(kv end_p50_ms "$line")" "$(kv end_p99_ms "$line")"
  for k in $SESS_CONC; do
    create "s${r}c$k"
    out=$(load sessions --url "$URL" --token "$T" --agent "s${r}c$k" --conc "$k" --secs "$SESS_SECS" \
      --body '{"kind":"ephemeral","command":"true"}') || die "sessions c$k: $out"
    line=$(grep '^RESULT ' <<<"$out") || die "sessions: no RESULT: $out"
    record "sessions.c$k" "$r" "$(kv per_s "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")"
    record "sessions.c$k.errors" "$r" "$(kv errors "$line")"
    record "sessions.c$k.queue_full" "$r" "$(kv queue_full "$line")"
  done
  log "run $r/$RUNS: bare true $(awk -F'\t' -v r="$r" '$1=="bare.true.c1" && $2==r {print $3}' "$RES")/s, sessions c1 $(awk -F'\t' -v r="$r" '$1=="sessions.c1" && $2==r {print $3}' "$RES")/s; first byte p50 bare $(awk -F'\t' -v r="$r" '$1=="bare.echo_fb" && $2==r {print $4}' "$RES") ms, agent9 $(awk -F'\t' -v r="$r" '$1=="ttfb.agent9" && $2==r {print $4}' "$RES") ms"
done
T_RUNS=$((SECONDS - T0))

# Nothing of the sessions is left: no process with a sandbox uid, an empty run dir.
sleep 0.5
# (zombies left out: other daemons' sandboxes reparented to a PID 1 that does not reap them)
STRAY=$(ps -e -o uid=,stat= | awk -v m=$UID_BASE '$1 >= m && $2 !~ /^Z/' | wc -l)
RUNLEFT=$( [[ -d $DATA/containers/run ]] && find "$DATA/containers/run" -mindepth 1 -maxdepth 1 | wc -l || echo 0)
curl -sS --max-time 10 -H "Authorization: Bearer $T" "$URL/metrics" | grep -i '^agent9_containers' >"$TMP/metrics.txt" || true

# ---- report ------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FSTYPE=$(df -PT "$DATA" | awk 'NR == 2 { print $2 }')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NPROC=$(nproc)
T_TOTAL=$((SECONDS - T_START))
R_C1=$(ratio sessions.c1 bare.true.c1)
TTFB_P50=$(med ttfb.agent9 4)
declare -A RK=()
for k in $SESS_CONC; do RK[$k]=$(ratio "sessions.c$k" "bare.true.c$k"); done
BODY=$TMP/body.md
{
  echo "Every figure: median of $RUNS runs (min–max); ratios are of medians. One daemon (\`agent9 serve\`, Release, no mount, data dir on $FSTYPE), local provider health \`$HEALTH\`; agents of kind none (a session's end wakes nothing), containers policy max_concurrent 16, prices 0. Runs interleave the series. Client: \`agent9_containers_load\` (bench/containers_load.cc). Wall time: build ${T_BUILD} s, runs ${T_RUNS} s, total ${T_TOTAL} s."
  echo
  echo "$H Goals"
  echo
  echo "| goal | value | verdict |"
  echo "|---|---:|---|"
  for k in $SESS_CONC; do
    echo "| sessions/s with $k client(s) / bare bwrap spawns/s with $k at once ≥ 0.75 | ${RK[$k]} | $(verdict "${RK[$k]}" ">=" 0.75) |"
  done
  echo "| POST new → first stdout byte p50 < 20 ms | $(fmt "$TTFB_P50") ms | $(verdict "$TTFB_P50" "<" 20) |"
  echo
  echo "$H Spawn rate: bare bwrap vs sessions through the daemon"
  echo
  echo "Bare: \`bwrap <flags> /bin/true\` spawned $BARE_N times per run, back to back (with K at once: K threads), each as the provider does it (fork, setsid, setgroups + setresgid + setresuid to a fresh uid ≥ $UID_BASE, PR_SET_PDEATHSIG, execve); latency = fork → waitpid. agent9: each client loops \`POST /v1/fs/agents/<a>/containers/new\` \`{\"kind\":\"ephemeral\",\"command\":\"true\"}\` (the provider runs \`sh -c true\`), then \`GET …/sessions/<sid>/output?watch=1\` (SSE) on the same keep-alive connection until the stream ends after its \`end\` line; a session counts when it ended \`exited\` with exit code 0. Latency = POST → end of the stream. ${SESS_SECS} s per run."
  echo
  echo "| clients | agent9 sessions/s | p50 / p99 ms | bare spawns/s | p50 / p99 ms | agent9 / bare | agent9 errors | 429 answers |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  for k in $SESS_CONC; do
    echo "| $k | $(cell "sessions.c$k") | $(fmt "$(med "sessions.c$k" 4)") / $(fmt "$(med "sessions.c$k" 5)") | $(cell "bare.true.c$k") | $(fmt "$(med "bare.true.c$k" 4)") / $(fmt "$(med "bare.true.c$k" 5)") | **${RK[$k]}** | $(cell "sessions.c$k.errors") | $(cell "sessions.c$k.queue_full") |"
  done
  echo
  echo "$H Start → first output byte (one at a time), ms"
  echo
  echo "agent9: from just before \`POST containers/new\` \`{\"kind\":\"ephemeral\",\"command\":\"echo x\"}\` to the first byte of the first SSE \`data:\` line of \`sessions/<sid>/output?watch=1\` that carries the stdout line (the GET is sent right after the POST's answer, on the same connection; a reader that opens the output late still gets every line from the start, so this measures the session's start and its first output, not a race); each stream is read to its end before the next sample; $TTFB_N samples a run after 10 warm-up ones. Bare: fork → the first byte of \`bwrap <flags> /bin/sh -c 'echo x'\` on its stdout pipe, $BARE_N spawns a run."
  echo
  echo "| | p50 | p99 |"
  echo "|---|---:|---:|"
  echo "| agent9 | $(cell ttfb.agent9 4) | $(cell ttfb.agent9 5) |"
  echo "| bare bwrap | $(cell bare.echo_fb 4) | $(cell bare.echo_fb 5) |"
  echo "| agent9 / bare | $(ratio ttfb.agent9 bare.echo_fb 4) | $(ratio ttfb.agent9 bare.echo_fb 5) |"
  echo "| agent9: POST new → its answer (the session is stored and handed to the provider) | $(cell ttfb.agent9.post 4) | $(cell ttfb.agent9.post 5) |"
  echo "| agent9: POST new → the end of the output stream (after its end line) | $(cell ttfb.agent9.end 4) | $(cell ttfb.agent9.end 5) |"
  echo "| agent9 − bare, ms | $(awk -v a="$(med ttfb.agent9 4)" -v b="$(med bare.echo_fb 4)" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a - b }') | $(awk -v a="$(med ttfb.agent9 5)" -v b="$(med bare.echo_fb 5)" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a - b }') |"
  echo
  echo "Bare bwrap spawn → exit of \`/bin/true\`, one at a time: p50 $(fmt "$(med bare.true.c1 4)") ms, p99 $(fmt "$(med bare.true.c1 5)") ms (the namespaces' teardown is most of the gap to the first byte). Watch errors in the first-byte series: $(cell ttfb.agent9.errors)."
  echo
  echo "After the runs: $STRAY live processes with a sandbox uid (≥ $UID_BASE) on the machine, $RUNLEFT entries in the daemon's containers/run. Daemon counters: \`$(tr '\n' ' ' <"$TMP/metrics.txt" | sed 's/ *$//')\`."
  echo
  echo "The bare baseline's argv (mirrors \`BuildBwrapArgv\` in containers/local_provider.cc; \`--bind DIR /work\` stands for the provider's bind of the session dir, which it reaches under /sys of a private mount namespace): \`$BW_LINE /bin/true\`."
} >"$BODY"

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/containers.md
{
  echo "# agent9 containers benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build · \`RUNS=$RUNS BARE_N=$BARE_N TTFB_N=$TTFB_N SESS_SECS=$SESS_SECS bash bench/containers.sh\`"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $(uname -sr), $(bwrap --version 2>/dev/null). Load average (1 min) at start $LOAD_START, at end $LOAD_END (other work shares this machine)."
  if awk -v a="$LOAD_START" -v b="$LOAD_END" -v n="$NPROC" 'BEGIN { exit !(a > n / 2 || b > n / 2) }'; then
    echo
    echo "**Noisy run**: the load average was above half the CPUs; the interleaved ratios suffer less than the absolute figures."
  fi
  echo
  cat "$BODY"
} >"$MD"
if [[ -n ${CONTAINERS_BODY_OUT:-} ]]; then cp "$BODY" "$CONTAINERS_BODY_OUT"; fi

JSON=$OUT_DIR/containers.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$(uname -sr)" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "bare_n": %s, "ttfb_n": %s, "sess_secs": %s, "sess_conc": [%s], "health": "%s"},\n' \
    "$RUNS" "$BARE_N" "$TTFB_N" "$SESS_SECS" "$(tr ' ' ',' <<<"$SESS_CONC")" "$HEALTH"
  printf '  "units": {"bare.true.*": "spawns/s (latency fork -> exit)", "bare.echo_fb": "ms (value = p50; fork -> first stdout byte)", "sessions.*": "sessions/s (latency POST -> end line)", "ttfb.agent9": "ms (value = p50; POST -> first stdout data line)"},\n'
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
  for k in $SESS_CONC; do printf '%s    "sessions.c%s/bare.true.c%s": %s' "$sep" "$k" "$k" "$(jnum "${RK[$k]}")"; sep=$',\n'; done
  printf ',\n    "ttfb.p50.agent9/bare": %s,\n    "ttfb.p99.agent9/bare": %s\n  },\n' \
    "$(jnum "$(ratio ttfb.agent9 bare.echo_fb 4)")" "$(jnum "$(ratio ttfb.agent9 bare.echo_fb 5)")"
  printf '  "goals": {"rate_ratio_c1_ge_0.75": "%s", "ttfb_p50_lt_20ms": "%s"},\n' "$(verdict "$R_C1" ">=" 0.75)" "$(verdict "$TTFB_P50" "<" 20)"
  printf '  "after": {"sandbox_uid_processes": %s, "run_dir_entries": %s}\n}\n' "$STRAY" "$RUNLEFT"
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
