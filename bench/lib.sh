# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Shell shared by bench/run.sh and bench/pinned.sh (sourced, never run). The caller sets HERE
# (bench/), ROOT and LOG_TAG (the log prefix) before sourcing it, then TMP (its temp dir), and
# calls bench_traps. Servers and clients started through these
# functions run under the command prefix RUN_ON (empty: anywhere; pinned.sh sets it to
# `taskset -c <cpu>`): a server's threads inherit the mask, so all of them stay on that core.

# The knobs both scripts have, with the same defaults.
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
TOOLS=$BUILD_DIR/bench-tools
RUNS=${RUNS:-3}
FUSE_SECS=${FUSE_SECS:-2}
WRK_SECS=${WRK_SECS:-5}
GOALS=${GOALS:-1000}
KEEP_TMP=${KEEP_TMP:-0}

RUN_ON=()
DAEMON_PID=""
BASE_PIDS=()  # baseline servers (fuse_baseline, httplib_hello, nginx's master)
MOUNTS=()
SHM=""        # a tmpfs dir to remove on exit (run.sh)
READ_AGENT=bench

log() { printf '[%s %s] %s\n' "${LOG_TAG:-bench}" "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

need_tools() {  # need_tools TOOL...: dies naming the first one missing
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || die "missing tool: $tool"; done
}

# ---- cleanup -----------------------------------------------------------------------------
stop_pid() {  # stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stop_base() {  # stop_base PID: stops a baseline server and forgets it
  local p keep=()
  stop_pid "$1"
  for p in "${BASE_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  BASE_PIDS=("${keep[@]}")
}

unmount() {  # unmount DIR: lazily, if mounted
  if grep -qs " $1 " /proc/mounts; then fusermount3 -uz "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; fi
}

stop_daemon() {  # stop_daemon MNT: stops agent9 (if running) and unmounts its mount
  if [[ -n $DAEMON_PID ]]; then
    stop_pid "$DAEMON_PID"
    DAEMON_PID=""
  fi
  unmount "$1"
}

# On exit (normal, error or Ctrl-C): the baselines, cleanup_more (when the caller defines it),
# the daemon, the mounts, SHM; TMP is kept when KEEP_TMP=1 or the script failed.
bench_cleanup() {
  local rc=$? p m
  trap - EXIT INT TERM
  for p in "${BASE_PIDS[@]}"; do stop_pid "$p"; done
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi
  if [[ -n $DAEMON_PID ]]; then stop_pid "$DAEMON_PID"; fi
  for m in "${MOUNTS[@]}"; do unmount "$m"; done
  if [[ -n $SHM ]]; then rm -rf "$SHM"; fi
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
bench_traps() {
  set -E  # functions and subshells inherit the ERR trap: a command that ends the script says so
  trap 'log "FAILED: line $LINENO: $BASH_COMMAND (exit $?)"' ERR
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# ---- build -------------------------------------------------------------------------------
# REV, DIRTY: the revision being built (taken before the build: others may commit meanwhile).
bench_revision() {
  REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null | wc -l)
}

# cmake_build TARGET...: Release in BUILD_DIR, with -g: GCC emits the same code with or
# without it, so the binary measured is the binary bench/pinned.sh PROFILE=1 profiles (perf
# needs the symbols; it unwinds with DWARF, see bench/README.md).
cmake_build() {
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    die "need cmake and ninja (or set AGENT9_BIN)"
  fi
  log "building $* (Release, -g) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-g \
    >"$TMP/cmake.log" 2>&1 || { tail -20 "$TMP/cmake.log"; die "cmake"; }
  ninja -C "$BUILD_DIR" "$@" >"$TMP/ninja.log" 2>&1 || { tail -30 "$TMP/ninja.log"; die "ninja"; }
}

build_tool() {  # build_tool NAME SOURCE COMPILER FLAGS...: rebuilds when the source is newer
  local name=$1 file=$2 cc=$3
  shift 3
  mkdir -p "$TOOLS"
  if [[ ! -x $TOOLS/$name || $HERE/$file -nt $TOOLS/$name ]]; then
    log "compiling bench/$file"
    "$cc" -O2 -Wall -Wextra -o "$TOOLS/$name" "$HERE/$file" "$@" || die "compile $file"
  fi
}
build_fs_http_tools() {  # fsloop, fuse_baseline, httplib_hello
  build_tool fsloop fsloop.c gcc -pthread
  # shellcheck disable=SC2046  # pkg-config output is meant to split into words
  build_tool fuse_baseline fuse_baseline.c gcc $(pkg-config --cflags --libs fuse3)
  # shellcheck disable=SC2046
  build_tool httplib_hello httplib_hello.cc g++ -std=c++17 -pthread $(pkg-config --cflags --libs cpp-httplib)
}

# LOAD_START; warns when the machine is busy.
check_load() {
  LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work will skew the figures"
  fi
}

# ---- results store -----------------------------------------------------------------------
# $RES: key <TAB> run <TAB> value <TAB> p50_ms <TAB> p99_ms
results_init() {
  RES=$TMP/results.tsv
  : >"$RES"
}
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" >>"$RES"; }

# summary KEY COLUMN -> "median min max" of that column (3 = value, 4 = p50, 5 = p99)
summary() {
  awk -F'\t' -v k="$1" -v c="$2" '$1 == k && $c != "-" { print $c }' "$RES" | sort -g |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan nan nan"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %s %s\n", m, v[1], v[NR] }'
}
med() { summary "$1" "${2:-3}" | cut -d' ' -f1; }
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { if (b + 0 == 0) print "nan"; else if (a / b < 0.1) printf "%.4f", a / b; else printf "%.2f", a / b }'; }
jnum() { if [[ $1 == nan ]]; then echo null; else echo "$1"; fi; }
fmt_int() {  # rounds, keeping one decimal below 100 (listings/s are small numbers)
  awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else if (v < 100 && v != int(v)) printf "%.1f", v; else printf "%.0f", v }'
}
fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else if (v < 1) printf "%.3f", v; else printf "%.2f", v }'; }
cell() {  # "median (min–max)" of values
  read -r m lo hi <<<"$(summary "$1" 3)"
  [[ $m == nan ]] && { echo "n/a"; return; }
  printf '%s (%s–%s)' "$(fmt_int "$m")" "$(fmt_int "$lo")" "$(fmt_int "$hi")"
}
lat_cell() {  # "p50 / p99" medians in ms
  printf '%s / %s' "$(fmt_ms "$(med "$1" 4)")" "$(fmt_ms "$(med "$1" 5)")"
}
jstr() {  # a JSON string (or null for an empty value)
  if [[ -z $1 ]]; then echo null; else printf '"%s"' "$(sed 's/\\/\\\\/g; s/"/\\"/g' <<<"$1")"; fi
}

# json_series [PLACEMENT]: every series of $RES with its runs and summary (one JSON object's
# members); PLACEMENT, when given, is a field of each.
json_series() {
  local first=1 k m lo hi runs p50 p99
  # shellcheck disable=SC2013  # keys have no spaces
  for k in $(cut -f1 "$RES" | awk '!seen[$0]++'); do
    read -r m lo hi <<<"$(summary "$k" 3)"
    runs=$(awk -F'\t' -v k="$k" '$1 == k { printf "%s%s", (n++ ? "," : ""), $3 }' "$RES")
    ((first)) || printf ',\n'
    first=0
    printf '    "%s": {"runs": [%s], "median": %s, "min": %s, "max": %s' "$k" "$runs" "$m" "$lo" "$hi"
    p50=$(med "$k" 4)
    p99=$(med "$k" 5)
    [[ $p50 != nan ]] && printf ', "p50_ms": %s, "p99_ms": %s' "$p50" "$p99"
    [[ -n ${1:-} ]] && printf ', "placement": "%s"' "$1"
    printf '}'
  done
  printf '\n'
}

# Targets (reported, never asserted): $TARGETS = name, value, op, threshold, verdict, placement.
targets_init() {
  TARGETS=$TMP/targets.tsv
  : >"$TARGETS"
}
target() {  # target NAME VALUE OP THRESHOLD PLACEMENT
  local verdict
  verdict=$(awk -v v="$2" -v op="$3" -v t="$4" 'BEGIN {
    if (v == "nan" || v == "") { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 < t + 0)
    print ok ? "met" : "not met" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$verdict" "$5" >>"$TARGETS"
}
md_targets() {  # md_targets FILE: the Markdown list
  local name value op thr verdict place shown
  while IFS=$'\t' read -r name value op thr verdict place; do
    shown=$([[ $value == nan ]] && echo "n/a" || echo "$value")
    if [[ $verdict == met ]]; then
      echo "- **met** ($place): $name = $shown (target $op $thr)"
    else
      echo "- **$verdict** ($place): $name = $shown (target $op $thr)"
    fi
  done <"$1"
}
json_targets() {  # json_targets FILE: the members of a JSON array
  local name value op thr verdict place met sep=""
  while IFS=$'\t' read -r name value op thr verdict place; do
    met=null
    [[ $verdict == met ]] && met=true
    [[ $verdict == "not met" ]] && met=false
    printf '%s\n    {"name": %s, "value": %s, "op": "%s", "threshold": %s, "met": %s, "placement": %s}' \
      "$sep" "$(jstr "$name")" "$(jnum "$value")" "$op" "$thr" "$met" "$(jstr "$place")"
    sep=","
  done <"$1"
}

# ---- daemon ------------------------------------------------------------------------------
# wait_listening OUT PID ERR NAME: the URL a server prints as "listening http://..." on OUT
# (ERR is shown if it exits first).
wait_listening() {
  local url="" i
  for ((i = 0; i < 200; i++)); do
    url=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$1" | head -1)
    [[ -n $url ]] && break
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "$4 exited"; }
    sleep 0.05
  done
  [[ -n $url ]] || die "$4 did not print its address"
  echo "$url"
}

# start_agent9 DATA MNT: `agent9 serve` (under RUN_ON) with its logs in DATA/../daemon.{out,err};
# sets DAEMON_PID, BASE (its URL), AUTH (the admin token's header).
start_agent9() {
  local data=$1 mnt=$2 out err
  out=$(dirname "$data")/daemon.out
  err=$(dirname "$data")/daemon.err
  mkdir -p "$data" "$mnt"
  MOUNTS+=("$mnt")
  log "starting agent9 serve${RUN_ON[*]:+ under ${RUN_ON[*]}}"
  : >"$out"  # exists before the background child opens it (the poll below reads it)
  "${RUN_ON[@]}" "$AGENT9_BIN" serve --data "$data" --listen 127.0.0.1:0 --mount "$mnt" >"$out" 2>"$err" &
  DAEMON_PID=$!
  BASE=$(wait_listening "$out" "$DAEMON_PID" "$err" agent9)
  AUTH="Authorization: Bearer $(cat "$data/admin.token")"
  log "agent9 at $BASE, mounted on $mnt"
}

create_agent() {  # create_agent JSON
  local code
  code=$(curl -sS -m 60 -o "$TMP/create.out" -w '%{http_code}' -H "$AUTH" -d "$1" "$BASE/v1/agents")
  [[ $code == 201 ]] || { cat "$TMP/create.out" >&2; die "create agent $1: HTTP $code"; }
}
create_sink() {  # create_sink ID: an agent whose inbox takes every message of a run
  create_agent "{\"id\":\"$1\",\"config\":{\"inbox\":{\"max_depth\":1000000}}}"
}
queue_depth() {  # queue_depth ID
  curl -sfS -m 60 -H "$AUTH" "$BASE/v1/agents/$1" | sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p'
}

# setup_read_agent MNT: creates READ_AGENT with GOALS goals on the daemon mounted on MNT.
# Writes $TMP/status.bytes (its status, the baselines' content, so sizes match) and
# $TMP/goals.listing (the listing as agent9 serves it: "name size" in readdir order); sets
# STATUS_FILE, STATUS_BYTES, GOALS_DIR, GOAL_BYTES.
setup_read_agent() {
  local mnt=$1 g name bad
  create_agent "{\"id\":\"$READ_AGENT\"}"
  STATUS_FILE=$mnt/agents/$READ_AGENT/status
  cat "$STATUS_FILE" >"$TMP/status.bytes" || die "cannot read $STATUS_FILE through the mount"
  curl -sfS -H "$AUTH" "$BASE/v1/fs/agents/$READ_AGENT/status" | cmp -s - "$TMP/status.bytes" ||
    log "note: HTTP and FUSE status bytes differ (timestamps?)"
  STATUS_BYTES=$(wc -c <"$TMP/status.bytes")
  # GOALS goals, for `ls -l goals/`: one curl, one PUT each (--next). Names and bodies have a
  # fixed width, so every goal has the same size.
  log "creating $GOALS goals in agents/$READ_AGENT/goals"
  GOALS_DIR=$mnt/agents/$READ_AGENT/goals
  : >"$TMP/goals.curl"
  for ((g = 0; g < GOALS; g++)); do
    printf -v name 'g%05d' "$g"
    {
      printf 'url = "%s/v1/fs/agents/%s/goals/%s.json"\n' "$BASE" "$READ_AGENT" "$name"
      printf 'request = "PUT"\nheader = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$AUTH"
      printf 'data-binary = "{\\"description\\":\\"bench goal %s\\",\\"priority\\":1,\\"status\\":\\"active\\"}"\n' "$name"
      if ((g + 1 < GOALS)); then printf 'next\n'; fi
    } >>"$TMP/goals.curl"
  done
  timeout 300 curl -sS -K "$TMP/goals.curl" >"$TMP/goals.codes" || die "creating goals (curl)"
  bad=$(grep -cv '^204$' "$TMP/goals.codes" || true)
  ((bad == 0)) || die "creating goals: $bad answers other than 204 (see $TMP/goals.codes)"
  timeout 120 find "$GOALS_DIR" -mindepth 1 -maxdepth 1 -printf '%f %s\n' >"$TMP/goals.listing" ||
    die "listing $GOALS_DIR"
  (($(wc -l <"$TMP/goals.listing") == GOALS)) || die "$GOALS_DIR lists $(wc -l <"$TMP/goals.listing") entries, not $GOALS"
  GOAL_BYTES=$(awk 'NR == 1 { print $2 }' "$TMP/goals.listing")
}

# ---- baselines ---------------------------------------------------------------------------
# start_fusebase MNT LOG ARGS...: fuse_baseline (under RUN_ON) on MNT serving the read agent's
# status and goals (ARGS: more fuse_baseline options, e.g. --single or --inbox PATH); waits
# until it serves the status bytes and lists the goals as agent9 does. Sets FB_PID.
start_fusebase() {
  local mnt=$1 logf=$2 i
  shift 2
  mkdir -p "$mnt"
  MOUNTS+=("$mnt")
  "${RUN_ON[@]}" "$TOOLS/fuse_baseline" "$mnt" --file "agents/$READ_AGENT/status" "$TMP/status.bytes" \
    --dir "agents/$READ_AGENT/goals" "$TMP/goals.listing" "$@" >"$logf" 2>&1 &
  FB_PID=$!
  BASE_PIDS+=("$FB_PID")
  for ((i = 0; i < 100; i++)); do
    # through a pipe: cmp -s on a file trusts st_size, which is 0 for generated files
    # shellcheck disable=SC2002
    cat "$mnt/agents/$READ_AGENT/status" 2>/dev/null | cmp -s - "$TMP/status.bytes" && break
    kill -0 "$FB_PID" 2>/dev/null || { cat "$logf" >&2; die "fuse_baseline exited"; }
    sleep 0.05
  done
  # shellcheck disable=SC2002
  cat "$mnt/agents/$READ_AGENT/status" | cmp -s - "$TMP/status.bytes" || die "fuse baseline does not serve the file"
  cmp -s "$TMP/goals.listing" <(timeout 60 find "$mnt/agents/$READ_AGENT/goals" -mindepth 1 -printf '%f %s\n') ||
    die "fuse baseline does not list the goals as agent9 does"
}

# start_hello LOG [POST_FILE]: httplib_hello (under RUN_ON) answering GETs with the status
# bytes. Sets HELLO_PID and HELLO (its URL).
start_hello() {
  : >"$1"
  "${RUN_ON[@]}" "$TOOLS/httplib_hello" "$TMP/status.bytes" "${2:-}" >"$1" 2>&1 &
  HELLO_PID=$!
  BASE_PIDS+=("$HELLO_PID")
  HELLO=$(wait_listening "$1" "$HELLO_PID" "$1" httplib_hello)
}

# ---- loads -------------------------------------------------------------------------------
# fsloop MODE PATH THREADS [MSG_FILE MAX_OPS] -> "ops_per_s N ops N bytes N items N"
# (FUSE_SECS seconds, under RUN_ON)
fsloop() {
  local out
  out=$("${RUN_ON[@]}" timeout $((${FUSE_SECS%.*} + 60)) "$TOOLS/fsloop" "$1" "$2" "$3" "$FUSE_SECS" "${@:4}" 2>&1) ||
    die "fsloop $*: $out"
  echo "$out"
}
fsfield() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p" <<<" $2"; }  # fsfield NAME LINE

# wrk_run KEY RUN CONNS SCRIPT URL [extra wrk args]: records req/s of 2xx answers, p50, p99.
# wrk's threads are WRK_THREADS, else min(2, CONNS); the duration is DUR, else WRK_SECS.
wrk_run() {
  local key=$1 run=$2 conns=$3 script=$4 url=$5 out
  shift 5
  out=$TMP/wrk.$key.$run.txt
  local threads=${WRK_THREADS:-$((conns < 2 ? conns : 2))}  # wrk needs connections >= threads
  local secs=${DUR:-$WRK_SECS}  # DUR=N wrk_run ... overrides the duration
  "${RUN_ON[@]}" timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
    -s "$HERE/$script" "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $key"; }
  local line
  line=$(grep '^RESULT ' "$out") || { cat "$out" >&2; die "wrk $key: no result"; }
  local requests duration_us status_errors socket_errors p50_us p99_us
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line"; }
  requests=$(field requests) duration_us=$(field duration_us) status_errors=$(field status_errors)
  socket_errors=$(field socket_errors) p50_us=$(field p50_us) p99_us=$(field p99_us)
  if ((status_errors > 0 || socket_errors > 0)); then
    log "WARNING $key run $run: $status_errors error answers, $socket_errors socket errors"
    sed -n '/Non-2xx/p;/Socket errors/p' "$out" >&2
  fi
  record "$key" "$run" \
    "$(awk -v n="$requests" -v e="$status_errors" -v d="$duration_us" 'BEGIN { printf "%.1f", (n - e) / (d / 1e6) }')" \
    "$(awk -v v="$p50_us" 'BEGIN { printf "%.3f", v / 1000 }')" \
    "$(awk -v v="$p99_us" 'BEGIN { printf "%.3f", v / 1000 }')"
}

# ---- report ------------------------------------------------------------------------------
# CPU, KERNEL, NPROC, MEM, LOAD_END, WHEN for the report header.
machine_info() {
  CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  KERNEL=$(uname -sr)
  NPROC=$(nproc)
  MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
  WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
}
