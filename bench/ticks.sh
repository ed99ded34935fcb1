#!/usr/bin/env bash
# agent9 tick benchmark: echo and exec ticks/s and wake latency, each next to a baseline
# measured in the same run (bench/tick_bench.cc does the measuring). Runs it RUNS times,
# prints a Markdown report and writes bench/results/ticks.md and bench/results/ticks.json.
# See bench/README.md.
#
# Environment knobs (defaults in brackets):
#   RUNS [3]  BUILD_DIR [<repo>/build-bench]
#   TICK_BENCH_BIN [$BUILD_DIR/bench/agent9_tick_bench]; set it to skip the build
#   TICK_ARGS [""]  extra flags for agent9_tick_bench (e.g. "--sync normal --echo-n 20000")
#   TICK_TIMEOUT [300]  seconds one run may take before it is killed
#   OUT_DIR [bench/results]  TICKS_HEADING [##]  TICKS_BODY_OUT [unset: the report
#   without its title goes there too, for bench/run.sh]  KEEP_TMP [0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
RUNS=${RUNS:-3}
TICK_ARGS=${TICK_ARGS:-}
TICK_TIMEOUT=${TICK_TIMEOUT:-300}
OUT_DIR=${OUT_DIR:-$HERE/results}
H=${TICKS_HEADING:-##}
KEEP_TMP=${KEEP_TMP:-0}

log() { printf '[ticks %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

TMP=$(mktemp -d /tmp/agent9-ticks.XXXXXX)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "outputs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null | wc -l)
if [[ -z ${TICK_BENCH_BIN:-} ]]; then
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    die "need cmake and ninja (or set TICK_BENCH_BIN)"
  fi
  log "building agent9_tick_bench (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
    { tail -20 "$TMP/cmake.log"; die "cmake"; }
  ninja -C "$BUILD_DIR" agent9_tick_bench >"$TMP/ninja.log" 2>&1 ||
    { tail -30 "$TMP/ninja.log"; die "ninja"; }
  TICK_BENCH_BIN=$BUILD_DIR/bench/agent9_tick_bench
fi
[[ -x $TICK_BENCH_BIN ]] || die "no agent9_tick_bench at $TICK_BENCH_BIN"

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work will skew the figures"
fi

# ---- runs --------------------------------------------------------------------------------
# $TMP/results.tsv: key <TAB> run <TAB> value (every numeric line of each run's JSON)
RES=$TMP/results.tsv
: >"$RES"
for ((r = 1; r <= RUNS; r++)); do
  log "run $r/$RUNS: $(basename "$TICK_BENCH_BIN") $TICK_ARGS"
  rc=0
  # shellcheck disable=SC2086  # TICK_ARGS is a list of flags
  timeout "$TICK_TIMEOUT" "$TICK_BENCH_BIN" --dir "$TMP" $TICK_ARGS >"$TMP/run$r.json" \
    2>"$TMP/run$r.err" || rc=$?
  if ((rc != 0)); then
    cat "$TMP/run$r.err" >&2
    ((rc == 124)) && die "run $r of agent9_tick_bench took over TICK_TIMEOUT=${TICK_TIMEOUT}s"
    die "run $r of agent9_tick_bench failed with status $rc (its stderr is above)"
  fi
  sed 's/^/    /' "$TMP/run$r.err" >&2
  sed -n 's/^  "\([^"]*\)": \(-\{0,1\}[0-9][0-9.]*\),\{0,1\}$/\1\t'"$r"'\t\2/p' "$TMP/run$r.json" >>"$RES"
done
SYNC=$(sed -n 's/^  "sync": "\([a-z]*\)".*/\1/p' "$TMP/run1.json")

# summary KEY -> "median min max"
summary() {
  awk -F'\t' -v k="$1" '$1 == k { print $3 }' "$RES" | sort -g |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan nan nan"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %s %s\n", m, v[1], v[NR] }'
}
med() { summary "$1" | cut -d' ' -f1; }
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
jnum() { if [[ $1 == nan ]]; then echo null; else echo "$1"; fi; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.0f", v }'; }
fmt1() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.1f", v }'; }
cell() {  # "median (min–max)"
  local m lo hi
  read -r m lo hi <<<"$(summary "$1")"
  [[ $m == nan ]] && { echo "n/a"; return; }
  printf '%s (%s–%s)' "$(fmt "$m")" "$(fmt "$lo")" "$(fmt "$hi")"
}
# verdict VALUE OP LIMIT -> "met" / "not met" (a report, never an assertion)
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
  if (v == "nan") { print "n/a"; exit }
  ok = (op == ">=") ? (v >= l) : (v < l); print ok ? "met" : "not met" }'; }

AGENTS=$(fmt "$(med echo_many.agents)")
PER=$(awk -v m="$(med echo_many.messages)" -v a="$(med echo_many.agents)" 'BEGIN { if (a > 0) printf "%.0f", m / a; else print "?" }')
WORKERS=$(fmt "$(med workers)")
ECHO_T=10000
R_SANDBOX=$(ratio exec_sandbox.ticks_per_s bwrap.per_s)

# ---- report ------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FSTYPE=$(df -PT "$TMP" | awk 'NR == 2 { print $2 }')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BODY=$TMP/body.md
row() {  # row FIGURE KEY BASELINE_NAME BASELINE_KEY TARGET
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(cell "$2")" "$3" "$(cell "$4")" "$(ratio "$2" "$4")" "$5"
}
{
  echo "Every figure: median of $RUNS runs (min–max); ratios are of medians. One process per run: a real SQLite store (WAL, \`synchronous=${SYNC^^}\`) in a temp dir on $FSTYPE, a real Engine with $WORKERS tick workers (as \`agent9 serve\`); each baseline runs half right before its figure and half right after it (its JSON has both halves)."
  echo
  echo "$H Throughput"
  echo
  echo "| figure | agent9 median (min–max) | baseline | baseline median (min–max) | agent9 / baseline | target |"
  echo "|---|---:|---|---:|---:|---|"
  row "echo ticks/s, 1 agent draining $(fmt "$(med echo1.messages)") msgs" echo1.ticks_per_s \
    "durable commits/s, 1 writer (serial \`Database::Write\`)" commit1.per_s \
    "10k ticks/s: $(verdict "$(med echo1.ticks_per_s)" ">=" $ECHO_T)"
  row "echo ticks/s, $AGENTS agents × $PER msgs" echo_many.ticks_per_s \
    "durable commits/s, $WORKERS writers" commit_w.per_s \
    "10k ticks/s: $(verdict "$(med echo_many.ticks_per_s)" ">=" $ECHO_T)"
  row "exec ticks/s, unsandboxed (\`/bin/echo {}\`)" exec.ticks_per_s \
    "fork+exec+wait \`/bin/true\` spawns/s" fork_exec.per_s "—"
  row "exec ticks/s, sandboxed (bwrap + \`/bin/echo {}\`)" exec_sandbox.ticks_per_s \
    "bwrap \`/bin/true\` spawns/s, the exec agent's bwrap argv" bwrap.per_s \
    "≥ 0.75 × bwrap: $(verdict "$R_SANDBOX" ">=" 0.75)"
  echo
  echo "$H Wake latency: \`AgentService::Enqueue\` of one message to an idle engine → the agent's \`Tick()\` entered, µs"
  echo
  echo "| figure | agent9 median (min–max) | baseline | baseline median (min–max) | agent9 / baseline | target |"
  echo "|---|---:|---|---:|---:|---|"
  for s in wake wake_normal; do
    [[ $(med "$s.samples") == nan ]] && continue
    mode=$([[ $s == wake ]] && echo "$SYNC" || echo normal)
    tgt="p99 < 2 ms: $(verdict "$(med "$s.from_call.p99_us")" "<" 2000)"
    [[ $s == wake_normal ]] && tgt="—"
    row "p50 from before Enqueue ($mode)" "$s.from_call.p50_us" "Enqueue alone (durable ack) p50" "$s.enqueue.p50_us" "—"
    row "p99 from before Enqueue ($mode)" "$s.from_call.p99_us" "Enqueue alone p99" "$s.enqueue.p99_us" "$tgt"
    row "p50 from Enqueue's return ($mode)" "$s.from_ack.p50_us" "condition-variable handoff p50" cv_handoff.p50_us "—"
    row "p99 from Enqueue's return ($mode)" "$s.from_ack.p99_us" "condition-variable handoff p99" cv_handoff.p99_us "—"
  done
  echo
  echo "Max over the samples of each run (median of runs): $SYNC $(fmt "$(med wake.from_call.max_us)") µs from before Enqueue, $(fmt "$(med wake.from_ack.max_us)") µs from its return; $(fmt "$(med wake.samples)") samples per run."
  echo
  echo "$H Where a tick's time goes (µs, medians of the runs' per-tick p50s)"
  echo
  echo "The trajectory record is written inside the REMEMBER transaction, so its phases stop before the COMMIT: wall per tick minus the recorded time is the commit (fsync), the writer-thread handoffs and the scheduling."
  echo
  echo "| run | wall per tick | ticks per commit | recorded (p50) | load | perceive | think | act | remember (to commit) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for s in echo1 echo_many exec exec_sandbox; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$(fmt "$(med "$s.wall_us_per_tick")")" \
      "$(fmt1 "$(med "$s.writes_per_commit")")" \
      "$(fmt "$(med "$s.record_us_p50")")" "$(fmt "$(med "$s.phase_us_p50.load")")" \
      "$(fmt "$(med "$s.phase_us_p50.perceive")")" "$(fmt "$(med "$s.phase_us_p50.think")")" \
      "$(fmt "$(med "$s.phase_us_p50.act")")" "$(fmt "$(med "$s.phase_us_p50.remember")")"
  done
  echo
  echo "With $WORKERS workers, wall per tick of the $AGENTS-agent run is wall time / ticks (ticks overlap), not one tick's latency. Ticks per commit: the store's writes over its commits during the drain (the group commit at work)."
} >"$BODY"

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/ticks.md
{
  echo "# agent9 tick benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build"
  echo
  echo "Machine: $(nproc) CPUs, $CPU, $(uname -sr). Load average (1 min) at start $LOAD_START, at end $LOAD_END."
  echo
  cat "$BODY"
} >"$MD"
if [[ -n ${TICKS_BODY_OUT:-} ]]; then cp "$BODY" "$TICKS_BODY_OUT"; fi

JSON=$OUT_DIR/ticks.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$(nproc)" "$CPU" "$(uname -sr)" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "sync": "%s", "workers": %s, "tick_args": "%s"},\n' "$RUNS" "$SYNC" "$WORKERS" "$TICK_ARGS"
  printf '  "units": {"*.ticks_per_s": "ticks/s", "*.per_s": "durable commits/s or spawns/s", "*_us": "microseconds"},\n'
  printf '  "series": {\n'
  first=1
  # shellcheck disable=SC2013  # keys have no spaces
  for k in $(cut -f1 "$RES" | awk '!seen[$0]++'); do
    read -r m lo hi <<<"$(summary "$k")"
    runs=$(awk -F'\t' -v k="$k" '$1 == k { printf "%s%s", (n++ ? "," : ""), $3 }' "$RES")
    ((first)) || printf ',\n'
    first=0
    printf '    "%s": {"runs": [%s], "median": %s, "min": %s, "max": %s}' "$k" "$runs" "$m" "$lo" "$hi"
  done
  printf '\n  },\n  "ratios": {\n'
  printf '    "echo1/commit1": %s,\n' "$(jnum "$(ratio echo1.ticks_per_s commit1.per_s)")"
  printf '    "echo_many/commit_w": %s,\n' "$(jnum "$(ratio echo_many.ticks_per_s commit_w.per_s)")"
  printf '    "exec/fork_exec": %s,\n' "$(jnum "$(ratio exec.ticks_per_s fork_exec.per_s)")"
  printf '    "exec_sandbox/bwrap": %s,\n' "$(jnum "$R_SANDBOX")"
  printf '    "wake.from_call.p99/enqueue.p99": %s,\n' "$(jnum "$(ratio wake.from_call.p99_us wake.enqueue.p99_us)")"
  printf '    "wake.from_ack.p50/cv_handoff.p50": %s\n  },\n' "$(jnum "$(ratio wake.from_ack.p50_us cv_handoff.p50_us)")"
  printf '  "targets": {"echo_ticks_per_s": %s, "echo1_met": %s, "echo_many_met": %s, "wake_p99_us": 2000, "wake_p99_met": %s, "exec_sandbox_over_bwrap": 0.75, "exec_sandbox_met": %s}\n}\n' \
    $ECHO_T "$([[ $(verdict "$(med echo1.ticks_per_s)" ">=" $ECHO_T) == met ]] && echo true || echo false)" \
    "$([[ $(verdict "$(med echo_many.ticks_per_s)" ">=" $ECHO_T) == met ]] && echo true || echo false)" \
    "$([[ $(verdict "$(med wake.from_call.p99_us)" "<" 2000) == met ]] && echo true || echo false)" \
    "$([[ $(verdict "$R_SANDBOX" ">=" 0.75) == met ]] && echo true || echo false)"
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
