#!/usr/bin/env bash
# agent9 benchmark: FUSE file ops, HTTP reads, durable enqueue and the tick engine (ticks.sh),
# each against a baseline measured in the same run. Prints a Markdown report and writes bench/results/latest.md and
# bench/results/latest.json. See bench/README.md.
#
# Environment knobs (defaults in brackets):
#   BUILD_DIR   [<repo>/build-bench]  where agent9 and the bench helpers are built
#   AGENT9_BIN  [$BUILD_DIR/controlplane/agent9]; set it to skip building agent9
#   RUNS [3]  FUSE_SECS [2]  WRK_SECS [5]  SQLITE_SECS [3]  KEEP_TMP [0]
#   SKIP_TICKS [0]  1 skips section 4 (bench/ticks.sh; its own knobs pass through)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
RUNS=${RUNS:-3}
FUSE_SECS=${FUSE_SECS:-2}
WRK_SECS=${WRK_SECS:-5}
SQLITE_SECS=${SQLITE_SECS:-3}
KEEP_TMP=${KEEP_TMP:-0}
SKIP_TICKS=${SKIP_TICKS:-0}
OUT_DIR=$HERE/results
TOOLS=$BUILD_DIR/bench-tools
READ_AGENT=bench

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in wrk curl gcc g++ pkg-config fusermount3 timeout; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
[[ -e /dev/fuse ]] || die "no /dev/fuse"

# ---- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/agent9-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/agent9-bench.XXXXXX)
DAEMON_PID=""
BASE_PIDS=()
MOUNTS=()

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

cleanup() {
  local rc=$? p m
  trap - EXIT INT TERM
  for p in "${BASE_PIDS[@]}"; do stop_pid "$p"; done
  [[ -n $DAEMON_PID ]] && stop_pid "$DAEMON_PID"
  for m in "${MOUNTS[@]}"; do
    if grep -qs " $m " /proc/mounts; then fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; fi
  done
  rm -rf "$SHM"
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -------------------------------------------------------------------------------
# The revision being built (taken before the build: others may commit meanwhile).
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null | wc -l)
if [[ -z ${AGENT9_BIN:-} ]]; then
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    die "need cmake and ninja (or set AGENT9_BIN)"
  fi
  log "building agent9 (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$TMP/cmake.log" 2>&1 ||
    { tail -20 "$TMP/cmake.log"; die "cmake"; }
  targets=(agent9)
  [[ $SKIP_TICKS == 1 ]] || targets+=(agent9_tick_bench)
  ninja -C "$BUILD_DIR" "${targets[@]}" >"$TMP/ninja.log" 2>&1 || { tail -30 "$TMP/ninja.log"; die "ninja"; }
  AGENT9_BIN=$BUILD_DIR/controlplane/agent9
  [[ $SKIP_TICKS == 1 ]] || export TICK_BENCH_BIN=${TICK_BENCH_BIN:-$BUILD_DIR/bench/agent9_tick_bench}
fi
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"

mkdir -p "$TOOLS"
build_tool() {  # build_tool NAME SOURCE COMPILER FLAGS...: rebuilds when the source is newer
  local name=$1 file=$2 cc=$3
  shift 3
  if [[ ! -x $TOOLS/$name || $HERE/$file -nt $TOOLS/$name ]]; then
    log "compiling bench/$file"
    "$cc" -O2 -Wall -Wextra -o "$TOOLS/$name" "$HERE/$file" "$@" || die "compile $file"
  fi
}
build_tool fsloop fsloop.c gcc -pthread
# shellcheck disable=SC2046  # pkg-config output is meant to split into words
build_tool fuse_baseline fuse_baseline.c gcc $(pkg-config --cflags --libs fuse3)
build_tool sqlite_insert sqlite_insert.c gcc -lsqlite3
# shellcheck disable=SC2046
build_tool httplib_hello httplib_hello.cc g++ -std=c++17 -pthread $(pkg-config --cflags --libs cpp-httplib)

# ---- results store -----------------------------------------------------------------------
# $TMP/results.tsv: key <TAB> run <TAB> value <TAB> p50_ms <TAB> p99_ms
RES=$TMP/results.tsv
: >"$RES"
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
fmt_int() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.0f", v }'; }
fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else if (v < 1) printf "%.3f", v; else printf "%.2f", v }'; }
cell() {  # "median (min–max)" of values
  read -r m lo hi <<<"$(summary "$1" 3)"
  [[ $m == nan ]] && { echo "n/a"; return; }
  printf '%s (%s–%s)' "$(fmt_int "$m")" "$(fmt_int "$lo")" "$(fmt_int "$hi")"
}
lat_cell() {  # "p50 / p99" medians in ms
  printf '%s / %s' "$(fmt_ms "$(med "$1" 4)")" "$(fmt_ms "$(med "$1" 5)")"
}

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work will skew the figures"
fi

# The POST body wrk_send.lua sends.
lua_body() { sed -n 's/^wrk.body = "\(.*\)"$/\1/p' "$HERE/wrk_send.lua" | tr -d '\n'; }

# ---- daemon ------------------------------------------------------------------------------
MNT=$TMP/mnt
mkdir -p "$TMP/data" "$MNT"
MOUNTS+=("$MNT")
log "starting agent9 serve"
: >"$TMP/daemon.out"  # exists before the background child opens it (the poll below reads it)
"$AGENT9_BIN" serve --data "$TMP/data" --listen 127.0.0.1:0 --mount "$MNT" \
  >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DAEMON_PID=$!
BASE=""
for ((i = 0; i < 200; i++)); do
  BASE=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/daemon.out" | head -1)
  [[ -n $BASE ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/daemon.err" >&2; die "agent9 exited"; }
  sleep 0.05
done
[[ -n $BASE ]] || die "agent9 did not print its address"
TOKEN=$(cat "$TMP/data/admin.token")
AUTH="Authorization: Bearer $TOKEN"
log "agent9 at $BASE, mounted on $MNT"

create_agent() {  # create_agent JSON
  local code
  code=$(curl -sS -o "$TMP/create.out" -w '%{http_code}' -H "$AUTH" -d "$1" "$BASE/v1/agents")
  [[ $code == 201 ]] || { cat "$TMP/create.out" >&2; die "create agent $1: HTTP $code"; }
}
create_agent "{\"id\":\"$READ_AGENT\"}"

STATUS_FILE=$MNT/agents/$READ_AGENT/status
# The status content of the read agent, used as the baselines' content so sizes match.
cat "$STATUS_FILE" >"$TMP/status.bytes" || die "cannot read $STATUS_FILE through the mount"
curl -sfS -H "$AUTH" "$BASE/v1/fs/agents/$READ_AGENT/status" | cmp -s - "$TMP/status.bytes" ||
  log "note: HTTP and FUSE status bytes differ (timestamps?)"
STATUS_BYTES=$(wc -c <"$TMP/status.bytes")

# ---- 1. FUSE -----------------------------------------------------------------------------
FB_MNT=$TMP/fusebase
mkdir -p "$FB_MNT" "$SHM/agents/$READ_AGENT"
MOUNTS+=("$FB_MNT")
cp "$TMP/status.bytes" "$SHM/agents/$READ_AGENT/status"
"$TOOLS/fuse_baseline" "$FB_MNT" "$TMP/status.bytes" agents "$READ_AGENT" status \
  >"$TMP/fusebase.out" 2>&1 &
BASE_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  # through a pipe: cmp -s on a file trusts st_size, which is 0 for generated files
  # shellcheck disable=SC2002
  cat "$FB_MNT/agents/$READ_AGENT/status" 2>/dev/null | cmp -s - "$TMP/status.bytes" && break
  sleep 0.05
done
# shellcheck disable=SC2002
cat "$FB_MNT/agents/$READ_AGENT/status" | cmp -s - "$TMP/status.bytes" || die "fuse baseline does not serve the file"

fsloop() {  # fsloop MODE PATH THREADS -> ops/s
  local out
  out=$(timeout $((FUSE_SECS + 30)) "$TOOLS/fsloop" "$1" "$2" "$3" "$FUSE_SECS") ||
    die "fsloop $*: $out"
  awk '{ print $2 }' <<<"$out"
}

declare -A FS_PATH=([agent9]=$STATUS_FILE [fusebase]=$FB_MNT/agents/$READ_AGENT/status
  [tmpfs]=$SHM/agents/$READ_AGENT/status)
FS_CASES=("read 1" "read 2" "stat 1" "stat 2")
log "FUSE: ${#FS_CASES[@]} cases x 3 targets x $RUNS runs x ${FUSE_SECS}s"
for ((r = 1; r <= RUNS; r++)); do
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    for target in agent9 fusebase tmpfs; do  # interleaved, so drift hits all targets alike
      v=$(fsloop "$mode" "${FS_PATH[$target]}" "$thr")
      record "fs.$mode.t$thr.$target" "$r" "$v"
    done
  done
  log "FUSE run $r/$RUNS: read t1 agent9=$(awk -F'\t' -v r="$r" '$1=="fs.read.t1.agent9" && $2==r {print $3}' "$RES") ops/s"
done
stop_pid "${BASE_PIDS[0]}"
fusermount3 -uz "$FB_MNT" 2>/dev/null || true

# ---- 2. HTTP -----------------------------------------------------------------------------
: >"$TMP/hello.out"
"$TOOLS/httplib_hello" "$TMP/status.bytes" >"$TMP/hello.out" 2>&1 &
BASE_PIDS+=($!)
HELLO=""
for ((i = 0; i < 100; i++)); do
  HELLO=$(sed -n 's/^listening \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/hello.out" | head -1)
  [[ -n $HELLO ]] && break
  sleep 0.05
done
[[ -n $HELLO ]] || die "httplib_hello did not start"

# wrk_run KEY RUN CONNS SCRIPT URL [extra wrk args]: records req/s of 2xx answers, p50, p99.
# wrk's threads are min(2, CONNS); the duration is WRK_SECS unless DUR is set.
wrk_run() {
  local key=$1 run=$2 conns=$3 script=$4 url=$5 out
  shift 5
  out=$TMP/wrk.$key.$run.txt
  local threads=$((conns < 2 ? conns : 2))  # wrk needs connections >= threads
  local secs=${DUR:-$WRK_SECS}  # DUR=N wrk_run ... overrides the duration
  timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
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

for u in "$BASE/v1/fs/agents/$READ_AGENT/status" "$BASE/v1/agents/$READ_AGENT"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" "$u")
  [[ $code == 200 ]] || die "GET $u: HTTP $code"
done
log "HTTP: 3 targets x 2 connection counts x $RUNS runs x ${WRK_SECS}s"
for ((r = 1; r <= RUNS; r++)); do
  for conns in 2 64; do
    wrk_run "http.fs_status.c$conns" "$r" "$conns" wrk_report.lua \
      "$BASE/v1/fs/agents/$READ_AGENT/status" -H "$AUTH"
    wrk_run "http.agent.c$conns" "$r" "$conns" wrk_report.lua "$BASE/v1/agents/$READ_AGENT" -H "$AUTH"
    wrk_run "http.hello.c$conns" "$r" "$conns" wrk_report.lua "$HELLO/v1/fs/agents/$READ_AGENT/status" \
      -H "$AUTH"
  done
  log "HTTP run $r/$RUNS done"
done
stop_pid "${BASE_PIDS[1]}"

# ---- 3. durable enqueue ------------------------------------------------------------------
# Each run sends to a fresh agent, so every run starts from an empty inbox (see README:
# enqueue cost depends on the queue depth). The raw SQLite baseline runs in the same loop,
# so a change in the disk's fsync latency hits both.
# The baseline's row carries an envelope of the size the daemon stored for one message.
create_agent '{"id":"probe"}'
curl -sfS -o /dev/null -H "$AUTH" --data-binary @- "$BASE/v1/agents/probe/send" < <(lua_body) ||
  die "send to probe"
ENV_BYTES=$(curl -sfS -H "$AUTH" "$BASE/v1/fs/agents/probe/inbox/1.json" | wc -c)
((ENV_BYTES > 0)) || die "cannot read a queued envelope"
log "enqueue: (1 client, 64 clients: ${WRK_SECS}s each; raw SQLite ${SQLITE_SECS}s, $ENV_BYTES-byte rows) x $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  for conns in 1 64; do
    id="sink-c$conns-r$r"
    create_agent "{\"id\":\"$id\",\"config\":{\"inbox\":{\"max_depth\":1000000}}}"
    wrk_run "enqueue.c$conns" "$r" "$conns" wrk_send.lua "$BASE/v1/agents/$id/send" -H "$AUTH"
    depth=$(curl -sfS -H "$AUTH" "$BASE/v1/agents/$id" | sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p')
    record "enqueue.c$conns.depth" "$r" "${depth:-0}"
  done
  rm -f "$TMP/raw.db" "$TMP/raw.db-wal" "$TMP/raw.db-shm"
  out=$(timeout $((SQLITE_SECS + 60)) "$TOOLS/sqlite_insert" "$TMP/raw.db" "$ENV_BYTES" "$SQLITE_SECS") ||
    die "sqlite_insert: $out"
  record "sqlite.autocommit" "$r" "$(awk '{ print $2 }' <<<"$out")"
  log "enqueue run $r/$RUNS done"
done

# Depth sensitivity (one run): 64 clients keep sending to one agent in 1 s slices; each
# slice's rate against the queue depth it ended at, then a status read of the deep agent.
DEEP_SLICES=${DEEP_SLICES:-6}
log "enqueue vs depth: $DEEP_SLICES x 1s slices into one agent"
create_agent '{"id":"deep","config":{"inbox":{"max_depth":1000000}}}'
for ((s = 1; s <= DEEP_SLICES; s++)); do
  DUR=1 wrk_run "deep.s$s" 1 64 wrk_send.lua "$BASE/v1/agents/deep/send" -H "$AUTH"
  depth=$(curl -sfS -H "$AUTH" "$BASE/v1/agents/deep" | sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p')
  record "deep.s$s.depth" 1 "${depth:-0}"
done
DUR=2 wrk_run "deep.status" 1 2 wrk_report.lua "$BASE/v1/agents/deep" -H "$AUTH"

# ---- 4. tick engine ----------------------------------------------------------------------
# bench/ticks.sh runs in-process (no daemon, no HTTP): stop the daemon first so it does not
# compete for the CPUs and the disk. It writes bench/results/ticks.md and ticks.json; the
# report below embeds them.
if [[ $SKIP_TICKS != 1 ]]; then
  stop_pid "$DAEMON_PID"
  DAEMON_PID=""
  fusermount3 -uz "$MNT" 2>/dev/null || true
  log "tick engine: bench/ticks.sh ($RUNS runs)"
  RUNS=$RUNS BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP TICKS_HEADING="###" \
    TICKS_BODY_OUT=$TMP/ticks_body.md bash "$HERE/ticks.sh" >"$TMP/ticks.out" ||
    die "bench/ticks.sh (its output: $TMP/ticks.out)"
fi

# ---- report ------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
KERNEL=$(uname -sr)
NPROC=$(nproc)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
FSTYPE=$(df -PT "$TMP" | awk 'NR == 2 { print $2 }')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
WHEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FUSEV=$(pkg-config --modversion fuse3)
HTTPLIBV=$(pkg-config --modversion cpp-httplib 2>/dev/null || echo '?')
SQLITEV=$(sqlite3 --version 2>/dev/null | awk '{ print $1 }' || echo '?')

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/latest.md
{
  echo "# agent9 benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $MEM RAM, $KERNEL; data dir on $FSTYPE; libfuse $FUSEV, cpp-httplib $HTTPLIBV, SQLite $SQLITEV. Load average (1 min) at start $LOAD_START, at end $LOAD_END (the bench itself adds up to ~2)."
  echo
  echo "Every figure: median of $RUNS runs (min–max). Ratios are of medians."
  echo
  echo "## 1. FUSE: \`agents/$READ_AGENT/status\` ($STATUS_BYTES bytes), ops/s, ${FUSE_SECS} s per run"
  echo
  echo "| operation | threads | agent9 | libfuse baseline | tmpfs | agent9 / libfuse | agent9 / tmpfs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    label=$([[ $mode == read ]] && echo "open+read+close" || echo "stat")
    echo "| $label | $thr | $(cell "$k.agent9") | $(cell "$k.fusebase") | $(cell "$k.tmpfs") | $(ratio "$k.agent9" "$k.fusebase") | $(ratio "$k.agent9" "$k.tmpfs") |"
  done
  echo
  echo "## 2. HTTP GET, wrk -t2 keep-alive, ${WRK_SECS} s per run"
  echo
  echo "| request | conns | agent9 req/s | p50 / p99 ms | httplib hello req/s | p50 / p99 ms | agent9 / hello |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for conns in 2 64; do
    for ep in fs_status agent; do
      k=http.$ep.c$conns
      what=$([[ $ep == fs_status ]] && echo "GET /v1/fs/agents/$READ_AGENT/status" || echo "GET /v1/agents/$READ_AGENT")
      echo "| $what | $conns | $(cell "$k") | $(lat_cell "$k") | $(cell "http.hello.c$conns") | $(lat_cell "http.hello.c$conns") | $(ratio "$k" "http.hello.c$conns") |"
    done
  done
  echo
  echo "## 3. Durable enqueue: POST /v1/agents/<id>/send (64-byte body, $ENV_BYTES-byte envelope), ${WRK_SECS} s per run"
  echo
  echo "| what | clients | acknowledged msgs/s | p50 / p99 ms | inbox depth at end |"
  echo "|---|---:|---:|---:|---:|"
  for conns in 1 64; do
    echo "| agent9 send (202) | $conns | $(cell "enqueue.c$conns") | $(lat_cell "enqueue.c$conns") | $(fmt_int "$(med "enqueue.c$conns.depth")") |"
  done
  echo "| raw SQLite autocommit INSERT, WAL, synchronous=FULL | 1 | $(cell sqlite.autocommit) | | |"
  echo
  echo "agent9 64 clients / raw autocommit: **$(ratio enqueue.c64 sqlite.autocommit)**; agent9 1 client / raw autocommit: $(ratio enqueue.c1 sqlite.autocommit)."
  echo
  echo "Each agent9 run sends to a fresh agent: its rate is an average over the inbox growing from 0 to the depth shown (whether the rate depends on the depth: next table)."
  echo
  echo "### Enqueue against queue depth (one run, 64 clients, 1 s slices into one agent)"
  echo
  echo "| slice | depth at end | msgs/s | p50 / p99 ms |"
  echo "|---:|---:|---:|---:|"
  for ((s = 1; s <= DEEP_SLICES; s++)); do
    echo "| $s | $(fmt_int "$(med "deep.s$s.depth")") | $(fmt_int "$(med "deep.s$s")") | $(lat_cell "deep.s$s") |"
  done
  echo
  echo "GET /v1/agents/deep at depth $(fmt_int "$(med "deep.s$DEEP_SLICES.depth")") (2 conns, 2 s): $(fmt_int "$(med deep.status)") req/s, p50 / p99 $(lat_cell deep.status) ms (empty inbox: $(fmt_int "$(med http.agent.c2)") req/s)."
  if [[ $SKIP_TICKS != 1 ]]; then
    echo
    echo "## 4. Tick engine (bench/ticks.sh; also in ticks.md)"
    echo
    cat "$TMP/ticks_body.md"
  fi
} >"$MD"

# JSON: every series with its runs and summary, plus the ratios.
JSON=$OUT_DIR/latest.json
json_series() {
  local first=1 k
  # shellcheck disable=SC2013  # keys have no spaces
  for k in $(cut -f1 "$RES" | awk '!seen[$0]++'); do
    read -r m lo hi <<<"$(summary "$k" 3)"
    local runs p50 p99
    runs=$(awk -F'\t' -v k="$k" '$1 == k { printf "%s%s", (n++ ? "," : ""), $3 }' "$RES")
    ((first)) || printf ',\n'
    first=0
    printf '    "%s": {"runs": [%s], "median": %s, "min": %s, "max": %s' "$k" "$runs" "$m" "$lo" "$hi"
    p50=$(med "$k" 4)
    p99=$(med "$k" 5)
    [[ $p50 != nan ]] && printf ', "p50_ms": %s, "p99_ms": %s' "$p50" "$p99"
    printf '}'
  done
  printf '\n'
}
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "memory": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$KERNEL" "$MEM" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "fuse_secs": %s, "wrk_secs": %s, "sqlite_secs": %s, "status_bytes": %s, "envelope_bytes": %s},\n' \
    "$RUNS" "$FUSE_SECS" "$WRK_SECS" "$SQLITE_SECS" "$STATUS_BYTES" "$ENV_BYTES"
  printf '  "units": {"fs.*": "ops/s", "http.*": "requests/s", "enqueue.c*": "acknowledged messages/s", "deep.sN": "acknowledged messages/s in 1 s slice N", "*.depth": "messages", "deep.status": "requests/s", "sqlite.autocommit": "inserts/s"},\n'
  printf '  "series": {\n'
  json_series
  printf '  },\n  "ratios": {\n'
  sep=""
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    printf '%s    "%s.agent9/fusebase": %s,\n    "%s.agent9/tmpfs": %s' "$sep" "$k" "$(jnum "$(ratio "$k.agent9" "$k.fusebase")")" "$k" "$(jnum "$(ratio "$k.agent9" "$k.tmpfs")")"
    sep=$',\n'
  done
  for conns in 2 64; do
    for ep in fs_status agent; do
      printf ',\n    "http.%s.c%s/hello": %s' "$ep" "$conns" "$(jnum "$(ratio "http.$ep.c$conns" "http.hello.c$conns")")"
    done
  done
  printf ',\n    "enqueue.c64/sqlite.autocommit": %s,\n    "enqueue.c1/sqlite.autocommit": %s\n  }' \
    "$(jnum "$(ratio enqueue.c64 sqlite.autocommit)")" "$(jnum "$(ratio enqueue.c1 sqlite.autocommit)")"
  if [[ $SKIP_TICKS != 1 ]]; then
    printf ',\n  "ticks": '
    cat "$OUT_DIR/ticks.json"
  else
    printf '\n'
  fi
  printf '}\n'
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
