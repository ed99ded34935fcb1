#!/usr/bin/env bash
# agent9 pinned benchmark: FUSE and HTTP with the daemon (every thread), each client and each
# baseline server on one core (PIN_CPU), where one operation is a plain context switch from
# client to server and back instead of a wake-up on the other CPU: the regime where what the
# daemon itself spends per operation shows. Rows: FUSE stat and open+read+close of
# agents/bench/status (1 and 2 threads), `ls -l goals/` (1 thread), against fuse_baseline
# --single (the minimal single-threaded libfuse server) and, for context, the multi-threaded
# fuse_baseline; HTTP GET /v1/fs/agents/bench/status at 2 and 64 connections (wrk -t1) against
# httplib_hello. Everything interleaved run by run. With PROFILE=1 it then profiles the pinned
# loads (perf stat for CPU per op, perf record for where it goes) into
# bench/results/profile-<load>.txt. Writes bench/results/pinned.md and pinned.json. Targets
# are reported as met / not met, never asserted. bench/run.sh runs it as section 9.
# See bench/README.md, "Pinned, one core".
#
# Environment knobs (defaults in brackets):
#   RUNS [3]  FUSE_SECS [2]  WRK_SECS [5] (whole seconds)  GOALS [1000]  PIN_CPU [0]
#   BUILD_DIR [<repo>/build-bench]  AGENT9_BIN: set it to skip building agent9
#   PROFILE [0]  1: the rows, then the profiles; only: the profiles alone (bench/profile.sh)
#   PROF_SECS [5] (whole seconds) per profiled run  PROF_LOADS ["stat read get_c2 get_c64"]
#   PERF_FREQ [2000] samples/s of perf record  PERF [perf]
#   OUT_DIR [bench/results]  PINNED_HEADING [##]  PINNED_BODY_OUT, PINNED_TARGETS_OUT [unset:
#   the report without its title and the targets (TSV), for bench/run.sh]  KEEP_TMP [0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
LOG_TAG=pinned  # lib.sh's log prefix
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"  # and with it BUILD_DIR, TOOLS, RUNS, FUSE_SECS, WRK_SECS, GOALS, KEEP_TMP
PIN_CPU=${PIN_CPU:-0}
PROFILE=${PROFILE:-0}
PROF_SECS=${PROF_SECS:-5}
PROF_LOADS=${PROF_LOADS:-"stat read get_c2 get_c64"}
PERF_FREQ=${PERF_FREQ:-2000}
PERF=${PERF:-perf}
OUT_DIR=${OUT_DIR:-$HERE/results}
H=${PINNED_HEADING:-##}
[[ $WRK_SECS =~ ^[1-9][0-9]*$ && $PROF_SECS =~ ^[1-9][0-9]*$ ]] || die "WRK_SECS and PROF_SECS are whole seconds (wrk -d)"
[[ $PROFILE == 0 || $PROFILE == 1 || $PROFILE == only ]] || die "PROFILE is 0, 1 or only"
PLACE="pinned, CPU $PIN_CPU"
T_START=$SECONDS

need_tools wrk curl gcc g++ pkg-config fusermount3 timeout taskset
[[ -e /dev/fuse ]] || die "no /dev/fuse"
taskset -c "$PIN_CPU" true 2>/dev/null || die "cannot pin to CPU $PIN_CPU (taskset -c $PIN_CPU)"

TMP=$(mktemp -d /tmp/agent9-pinned.XXXXXX)
bench_traps

# ---- build -------------------------------------------------------------------------------
bench_revision
if [[ -z ${AGENT9_BIN:-} ]]; then
  cmake_build agent9
  AGENT9_BIN=$BUILD_DIR/controlplane/agent9
fi
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"
build_fs_http_tools
T_BUILD=$((SECONDS - T_START))

# Profiling needs perf and the permission to use it (root, or perf_event_paranoid <= 1 for
# kernel samples); without them the profiles are skipped with a note, not the run.
PROF_SKIP=""
if [[ $PROFILE != 0 ]]; then
  if ! command -v "$PERF" >/dev/null; then
    PROF_SKIP="perf not installed (apt-get install linux-perf; make bench does)"
  elif ! "$PERF" stat -e task-clock -o /dev/null true 2>"$TMP/perf-probe.err"; then
    PROF_SKIP="perf stat does not run here: $(head -1 "$TMP/perf-probe.err")"
  fi
  [[ -z $PROF_SKIP ]] || log "WARNING: profiles skipped: $PROF_SKIP"
fi
# perf itself runs on another CPU than the pinned loads, when there is one.
PERF_CPU=$(awk -v p="$PIN_CPU" '$1 ~ /^cpu[0-9]+$/ { c = substr($1, 4); if (c != p) { print c; exit } }' /proc/stat)
PERF_ON=()
[[ -n $PERF_CPU ]] && PERF_ON=(taskset -c "$PERF_CPU")

check_load
results_init
targets_init

# ---- servers, all on PIN_CPU -------------------------------------------------------------
RUN_ON=(taskset -c "$PIN_CPU")
MNT=$TMP/mnt
start_agent9 "$TMP/data" "$MNT"
setup_read_agent "$MNT"
FB1_MNT=$TMP/fusebase1
start_fusebase "$FB1_MNT" "$TMP/fusebase1.out" --single
FB1_PID=$FB_PID
FBMT_MNT=$TMP/fusebase_mt
start_fusebase "$FBMT_MNT" "$TMP/fusebase_mt.out"
FBMT_PID=$FB_PID
start_hello "$TMP/hello.out"

# Every thread of every server must be on PIN_CPU (agent9 sets no affinity of its own; this
# checks it): checked now and again after the runs, when the FUSE loops have all their threads.
check_pinned() {
  local pid t cpus
  for pid in "$DAEMON_PID" "$FB1_PID" "$FBMT_PID" "$HELLO_PID"; do
    for t in /proc/"$pid"/task/*; do
      cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status" 2>/dev/null) || continue
      [[ -z $cpus || $cpus == "$PIN_CPU" ]] || die "thread ${t##*/} of pid $pid may run on CPUs $cpus, not only $PIN_CPU"
    done
  done
}
check_pinned
T_SETUP=$((SECONDS - T_START - T_BUILD))

fs_label() {  # fs_label MODE
  case $1 in
    read) echo "open+read+close" ;;
    stat) echo "stat" ;;
    ls) echo "ls -l goals/ (listings/s)" ;;
  esac
}
FS_CASES=("stat 1" "stat 2" "read 1" "read 2" "ls 1")
STATUS_URL_PATH=/v1/fs/agents/$READ_AGENT/status
WRK_THREADS=1

# ---- rows --------------------------------------------------------------------------------
T_ROWS=0
if [[ $PROFILE != only ]]; then
  T0=$SECONDS
  declare -A FS_ROOT=([agent9]=$MNT [fusebase_single]=$FB1_MNT [fusebase_mt]=$FBMT_MNT)
  log "FUSE: ${#FS_CASES[@]} cases x 3 targets x $RUNS runs x ${FUSE_SECS}s; HTTP: 2 targets x 2 connection counts x $RUNS runs x ${WRK_SECS}s; all on CPU $PIN_CPU"
  for ((r = 1; r <= RUNS; r++)); do
    for c in "${FS_CASES[@]}"; do
      read -r mode thr <<<"$c"
      for t in agent9 fusebase_single fusebase_mt; do  # interleaved, so drift hits all alike
        if [[ $mode == ls ]]; then
          line=$(fsloop ls "${FS_ROOT[$t]}/agents/$READ_AGENT/goals" "$thr")
          [[ $(fsfield items "$line") == "$GOALS" ]] || die "ls on $t: $(fsfield items "$line") entries, not $GOALS"
        else
          line=$(fsloop "$mode" "${FS_ROOT[$t]}/agents/$READ_AGENT/status" "$thr")
        fi
        record "fs.$mode.t$thr.$t" "$r" "$(fsfield ops_per_s "$line")"
      done
    done
    for conns in 2 64; do
      wrk_run "http.fs_status.c$conns" "$r" "$conns" wrk_report.lua "$BASE$STATUS_URL_PATH" -H "$AUTH"
      wrk_run "http.hello.c$conns" "$r" "$conns" wrk_report.lua "$HELLO$STATUS_URL_PATH" -H "$AUTH"
    done
    log "run $r/$RUNS: stat t1 agent9 $(awk -F'\t' -v r="$r" '$1=="fs.stat.t1.agent9" && $2==r {print $3}' "$RES")/s, libfuse single $(awk -F'\t' -v r="$r" '$1=="fs.stat.t1.fusebase_single" && $2==r {print $3}' "$RES")/s; GET c2 agent9 $(awk -F'\t' -v r="$r" '$1=="http.fs_status.c2" && $2==r {print $3}' "$RES")/s, hello $(awk -F'\t' -v r="$r" '$1=="http.hello.c2" && $2==r {print $3}' "$RES")/s"
  done
  check_pinned
  T_ROWS=$((SECONDS - T0))

  for c in "stat 1" "stat 2" "read 1" "read 2"; do
    read -r mode thr <<<"$c"
    target "FUSE $(fs_label "$mode"), $thr thread(s): agent9 / single-threaded libfuse baseline" \
      "$(ratio "fs.$mode.t$thr.agent9" "fs.$mode.t$thr.fusebase_single")" ">=" 0.70 "$PLACE"
  done
  for conns in 2 64; do
    target "HTTP GET $STATUS_URL_PATH, $conns conns (wrk -t1): agent9 / httplib hello req/s" \
      "$(ratio "http.fs_status.c$conns" "http.hello.c$conns")" ">=" 0.60 "$PLACE"
  done
  target "HTTP GET $STATUS_URL_PATH, 64 conns (wrk -t1): p99 ms" "$(med http.fs_status.c64 5)" "<" 10 "$PLACE"
fi

# ---- profiles ----------------------------------------------------------------------------
# Each load runs three times for PROF_SECS, alone on PIN_CPU (perf on PERF_CPU): agent9 and
# then its baseline (fuse_baseline --single, httplib_hello) with `perf stat -e task-clock` on
# every thread of the server and on the client, which give CPU µs per op; then agent9 again
# under `perf record --call-graph dwarf` (Debian's libfuse, SQLite, libstdc++ and libc have no
# frame pointers, so frame-pointer stacks would stop at the first library frame).
declare -A PROF_DESC=(
  [stat]="FUSE stat() of agents/$READ_AGENT/status, 1 thread (fsloop stat)"
  [read]="FUSE open+read+close of agents/$READ_AGENT/status, 1 thread (fsloop read)"
  [get_c2]="HTTP GET $STATUS_URL_PATH, wrk -t1 -c2 keep-alive"
  [get_c64]="HTTP GET $STATUS_URL_PATH, wrk -t1 -c64 keep-alive"
)
PERF_PID=""
perf_start() {  # perf_start OUT_LOG perf-args...: perf on PERF_CPU in the background
  local logf=$1
  shift
  "${PERF_ON[@]}" "$PERF" "$@" >"$logf" 2>&1 &
  PERF_PID=$!
  BASE_PIDS+=("$PERF_PID")  # stopped on exit if the script fails meanwhile
  sleep 0.5                 # attached to every thread before the load starts
  kill -0 "$PERF_PID" 2>/dev/null || { cat "$logf" >&2; die "perf $1 did not start"; }
}
perf_stop() {  # SIGINT: perf writes its data and counts and exits
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  stop_base "$PERF_PID"
}
perf_top() {  # perf_top N PERF_DATA perf-report-args...: the first N rows of a perf report
  local n=$1 data=$2
  shift 2
  { "$PERF" report -i "$data" --stdio -g none "$@" 2>/dev/null || true; } | awk -v n="$n" '!/^#/ && NF && c++ < n'
}

# prof_load LOAD TARGET: one PROF_SECS run of LOAD against agent9 or base, its client under
# `perf stat` (its counts in $TMP/client.stat); sets P_OPS (answered ops) and P_RATE (ops/s).
prof_load() {
  local load=$1 target=$2 out line path url
  case $load in
    stat | read)
      path=$MNT/agents/$READ_AGENT/status
      [[ $target == base ]] && path=$FB1_MNT/agents/$READ_AGENT/status
      out=$("${RUN_ON[@]}" timeout $((PROF_SECS + 60)) "$PERF" stat -x, -e task-clock,context-switches -o "$TMP/client.stat" -- \
        "$TOOLS/fsloop" "$load" "$path" 1 "$PROF_SECS" 2>&1) || die "profile $load $target: $out"
      line=$(grep '^ops_per_s ' <<<"$out") || die "profile $load $target: $out"
      P_OPS=$(fsfield ops "$line")
      P_RATE=$(fsfield ops_per_s "$line")
      ;;
    get_c*)
      url=$BASE$STATUS_URL_PATH
      [[ $target == base ]] && url=$HELLO$STATUS_URL_PATH
      "${RUN_ON[@]}" timeout $((PROF_SECS + 30)) "$PERF" stat -x, -e task-clock,context-switches -o "$TMP/client.stat" -- \
        wrk -t1 -c"${load#get_c}" -d"${PROF_SECS}s" --timeout 10s -s "$HERE/wrk_report.lua" -H "$AUTH" "$url" \
        >"$TMP/prof.wrk" 2>&1 || { cat "$TMP/prof.wrk" >&2; die "profile $load $target: wrk"; }
      line=$(grep '^RESULT ' "$TMP/prof.wrk") || die "profile $load $target: no RESULT from wrk"
      P_OPS=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } print f["requests"] - f["status_errors"] }' <<<"$line")
      P_RATE=$(awk -v n="$P_OPS" -v d="$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")" 'BEGIN { printf "%.1f", n / (d / 1e6) }')
      ;;
    *) die "unknown profile load $load (stat, read, get_c<conns>)" ;;
  esac
}

# Self time by component: each sample's symbol and shared object mapped to a part of the stack
# (awk over `perf report --no-children -F overhead,dso,sym`). With no hardware PMU (a VM) perf
# samples cpu-clock, and a sample due while interrupts are off lands where they come back on:
# the context switch shows as finish_task_switch, a wake-up as _raw_spin_unlock_irqrestore.
components() {  # components PERF_DATA -> "percent<TAB>component"
  { "$PERF" report -i "$1" --no-children -F overhead,dso,sym --stdio -g none -t $'\t' --percent-limit 0 2>/dev/null || true; } |
    awk -F'\t' '
      /^#/ || NF < 3 { next }
      {
        pct = $1; sub(/%.*/, "", pct); pct += 0
        dso = $2; gsub(/^ +| +$/, "", dso)
        sym = $3; sub(/^\[[.kug]\] /, "", sym); gsub(/ +$/, "", sym)
        if (dso ~ /kernel/) {
          if (sym ~ /fcntl|posix_lock|^locks_|flock/) c = "SQLite file locks (fcntl: libc and kernel)"
          else if (sym ~ /fuse/) c = "kernel: FUSE (/dev/fuse requests and replies)"
          else if (sym ~ /tcp|^ip_|^__ip|skb|sock|^net_|netif|napi|loopback|inet|^__dev_|^dev_|nf_|^sk_|^__sk|^raw_|neigh|xmit|softirq|bbr|eth_|dst_|_bh_/) c = "kernel: TCP over loopback, sockets"
          else if (sym ~ /epoll|^ep_|poll|select_estimate|timespec/) c = "kernel: poll / epoll"
          else if (sym ~ /futex/) c = "kernel: futex (mutexes, condition variables)"
          else if (sym ~ /finish_task_switch|sched|switch|ttwu|wake|enqueue_|dequeue_|pick_next|update_curr|update_load|update_rq|psi_|cpuacct|resched|idle|prepare_task|set_next|put_prev|hrtick|select_task|irqrestore|spin_lock|spin_unlock|prepare_to_wait|finish_wait/) c = "kernel: context switches, wake-ups"
          else if (sym ~ /entry_SYSCALL|syscall|^__x64_sys|^__sys_|^ksys_|exit_to_user|rseq|fpregs|fpu|irqentry|ret_from|thunk|retpoline|^__x86_return|fdget|^fput|get_user|put_user|read_tsc|ktime/) c = "kernel: syscall entry / exit, fd lookup"
          else if (sym ~ /path|lookup|dentry|^d_|^__d_|inode|getname|putname|filename|lockref|vfs_|^do_sys_open|filp|alloc_file|file|mnt|open|^iput|^dput|may_|permission|generic_|stat|rw_verify|security_/) c = "kernel: VFS (read, write, open, stat)"
          else if (sym ~ /kmem|kmalloc|kfree|slab|slub|alloc|page|folio|memcg|objcg|memset|memcpy|copy_|clear_user|rep_movs|strncpy_from_user|gup|iov_iter|iovec|virt_addr|check_object|vmalloc/) c = "kernel: memory, copies to and from user"
          else c = "kernel: other"
        } else if (sym ~ /regex/) c = "std::regex (route matching)"
        else if (dso ~ /libfuse/) c = "libfuse"
        else if (dso ~ /httplib/) c = "cpp-httplib (parsing, routing, responses)"
        else if (dso ~ /vdso/) c = "kernel: syscall entry / exit, fd lookup"
        else if (dso ~ /libsqlite/) c = "SQLite (libsqlite3)"
        else if (dso ~ /^libc[.-]|^libm[.-]|ld-linux/) {
          if (sym ~ /fcntl/) c = "SQLite file locks (fcntl: libc and kernel)"
          else if (sym ~ /malloc|free|^_int_|tcache|calloc|realloc|arena|sysmalloc|unlink_chunk|memalign/) c = "allocation (malloc, free, new, delete)"
          else if (sym ~ /pthread_mutex|pthread_cond|pthread_rwlock|lll_|futex|__pthread_|sem_/) c = "locks (pthread)"
          else if (sym ~ /mem|str|wcs/) c = "libc: memcpy, strings"
          else c = "libc: syscall wrappers, other"
        } else if (dso ~ /libstdc/) {
          if (sym ~ /operator new|operator delete/) c = "allocation (malloc, free, new, delete)"
          else c = "libstdc++ (strings, streams, ...)"
        } else if (dso ~ /agent9|fuse_baseline|httplib_hello/) {
          if (sym ~ /httplib/) c = "cpp-httplib (parsing, routing, responses)"
          else if (sym ~ /nlohmann|[Jj]son/) c = "JSON (nlohmann: building, dumping)"
          else if (sym ~ /operator new|operator delete/) c = "allocation (malloc, free, new, delete)"
          else if (sym ~ /Database|Stmt|Conn|Sqlite|Txn|Read|Write/) c = "agent9: SQLite wrappers (Database, Stmt)"
          else if (sym ~ /identity::|[Bb]ech32|Hex[A-Z]|PolyMod|ConvertBits/) c = "agent9: hex and bech32 encoding (identity in status)"
          else if (dso ~ /agent9/) c = "agent9: other code (files, lookup, access, ...)"
          else c = "the baseline server itself"
        } else if (dso ~ /libsodium|libsecp|libcrypto|libssl|libcurl/) c = "crypto libraries (libsodium, ...)"
        else c = "other: " dso
        sum[c] += pct
      }
      END { for (c in sum) printf "%.2f\t%s\n", sum[c], c }'
}

# components_table A_FILE A_US B_FILE B_US: agent9's and the baseline's components side by
# side, in µs/op (share of samples x server CPU µs/op), largest agent9 first.
components_table() {
  awk -F'\t' -v aus="$2" -v bus="$4" '
    FNR == NR { a[$2] = $1; seen[$2] = 1; next }
    { b[$2] = $1; seen[$2] = 1 }
    END {
      for (c in seen) printf "%s\t%s\t%s\n", c, a[c] + 0, b[c] + 0
    }' "$1" "$3" | sort -t$'\t' -k2,2gr |
    awk -F'\t' -v aus="$2" -v bus="$4" '
      $2 >= 0.1 || $3 >= 0.1 {
        printf "  %-52s %6.1f%% %7.2f   %6.1f%% %7.2f   %+7.2f\n", $1, $2, $2 * aus / 100, $3, $3 * bus / 100, $2 * aus / 100 - $3 * bus / 100
      }'
}

# prof_counted LOAD TARGET PID: a 1 s warm-up (every thread the load needs exists), then one
# run with `perf stat` on every thread of the server PID; sets C_RATE (ops/s), C_WALL (wall
# µs/op), C_SERVER and C_CLIENT (CPU µs/op), C_SCS and C_CCS (context switches per op).
prof_counted() {
  local load=$1 target=$2 pid=$3
  PROF_SECS=1 prof_load "$load" "$target"
  perf_start "$TMP/perf.$load.$target.stat.log" stat -x, -e task-clock,context-switches -p "$pid" -o "$TMP/server.stat"
  prof_load "$load" "$target"
  perf_stop
  read -r C_RATE C_WALL C_SERVER C_CLIENT C_SCS C_CCS <<<"$(awk -F, -v r="$P_RATE" -v n="$P_OPS" '
    FNR == 1 { f++ }
    $3 == "task-clock" { ms[f] = $1 }
    $3 == "context-switches" { cs[f] = $1 }
    END { printf "%s %.2f %.2f %.2f %.2f %.2f\n", r, 1e6 / r, ms[1] * 1000 / n, ms[2] * 1000 / n, cs[1] / n, cs[2] / n }' \
    "$TMP/server.stat" "$TMP/client.stat")"
}

# prof_recorded LOAD TARGET PID DATA: one run with `perf record` on every thread of PID.
prof_recorded() {
  perf_start "$TMP/perf.$1.$2.record.log" record -F "$PERF_FREQ" --call-graph dwarf -p "$3" -o "$4"
  prof_load "$1" "$2"
  perf_stop
}

# profile_load LOAD: agent9 and its baseline counted, then recorded; writes
# bench/results/profile-LOAD.txt. Keeps the per-op figures in PF_<field>[LOAD] for the tables.
declare -A PF_RATE PF_WALL PF_DAEMON PF_CLIENT PF_SCS PF_CCS PF_BRATE PF_BWALL PF_BSERVER PF_BCLIENT \
  PF_BSCS PF_BCCS PF_RECRATE PF_TOP PF_LOAD
profile_load() {
  local load=$1 base_pid base_name la0 la1 rec=$TMP/perf.$1.agent9.data brec=$TMP/perf.$1.base.data f
  case $load in
    stat | read) base_pid=$FB1_PID base_name="fuse_baseline --single" ;;
    *) base_pid=$HELLO_PID base_name=httplib_hello ;;
  esac
  la0=$(cut -d' ' -f1 /proc/loadavg)
  log "profile $load: agent9 and $base_name under perf stat, then under perf record, ${PROF_SECS}s each"
  prof_counted "$load" agent9 "$DAEMON_PID"
  PF_RATE[$load]=$C_RATE PF_WALL[$load]=$C_WALL PF_DAEMON[$load]=$C_SERVER PF_CLIENT[$load]=$C_CLIENT
  PF_SCS[$load]=$C_SCS PF_CCS[$load]=$C_CCS
  prof_counted "$load" base "$base_pid"
  PF_BRATE[$load]=$C_RATE PF_BWALL[$load]=$C_WALL PF_BSERVER[$load]=$C_SERVER PF_BCLIENT[$load]=$C_CLIENT
  PF_BSCS[$load]=$C_SCS PF_BCCS[$load]=$C_CCS
  prof_recorded "$load" agent9 "$DAEMON_PID" "$rec"
  PF_RECRATE[$load]=$P_RATE
  prof_recorded "$load" base "$base_pid" "$brec"
  la1=$(cut -d' ' -f1 /proc/loadavg)
  PF_LOAD[$load]="$la0–$la1"
  components "$rec" | sort -t$'\t' -k1,1gr >"$TMP/components.$load.agent9"
  components "$brec" | sort -t$'\t' -k1,1gr >"$TMP/components.$load.base"
  [[ -s $TMP/components.$load.agent9 && -s $TMP/components.$load.base ]] ||
    die "profile $load: perf report found no samples (see $TMP/perf.$load.*.record.log)"
  PF_TOP[$load]=$(awk -F'\t' -v us="${PF_DAEMON[$load]}" 'NR <= 4 { printf "%s%s %.1f", (NR > 1 ? "; " : ""), $2, $1 * us / 100 }' "$TMP/components.$load.agent9")

  f=$OUT_DIR/profile-$load.txt
  mkdir -p "$OUT_DIR"
  {
    echo "agent9 profile: ${PROF_DESC[$load]}"
    echo "Placement: $PLACE (the daemon's threads, the baseline's and the client; perf ran on CPU ${PERF_CPU:-any})."
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · agent9 $REV · Release build with -g ($AGENT9_BIN) · $(nproc) CPUs, $(uname -sr)"
    echo "Load average (1 min) during this load's runs: $la0 at the start, $la1 at the end."
    echo "Baseline: $base_name, pinned the same way, same bytes."
    echo
    echo "Per operation (${PROF_SECS} s runs; perf stat -e task-clock,context-switches on every thread; CPU = user + kernel):"
    printf '  %-46s %10s %10s\n' "" agent9 baseline
    printf '  %-46s %10s %10s\n' "ops/s" "${PF_RATE[$load]}" "${PF_BRATE[$load]}"
    printf '  %-46s %10s %10s\n' "wall µs/op (1e6 / ops/s: the whole core)" "${PF_WALL[$load]}" "${PF_BWALL[$load]}"
    printf '  %-46s %10s %10s\n' "server CPU µs/op (all its threads)" "${PF_DAEMON[$load]}" "${PF_BSERVER[$load]}"
    printf '  %-46s %10s %10s\n' "client CPU µs/op (fsloop / wrk)" "${PF_CLIENT[$load]}" "${PF_BCLIENT[$load]}"
    printf '  %-46s %10s %10s\n' "server context switches per op" "${PF_SCS[$load]}" "${PF_BSCS[$load]}"
    printf '  %-46s %10s %10s\n' "client context switches per op" "${PF_CCS[$load]}" "${PF_BCCS[$load]}"
    echo "  agent9's server CPU beyond the baseline's: $(awk -v a="${PF_DAEMON[$load]}" -v b="${PF_BSERVER[$load]}" 'BEGIN { printf "%.2f", a - b }') µs/op; under perf record (${PERF_FREQ} Hz, DWARF stacks) agent9 ran at ${PF_RECRATE[$load]} ops/s"
    echo
    echo "Server CPU by component (self time of the perf record samples of the server's threads;"
    echo "µs/op = share x server CPU µs/op above; finish_task_switch counts as a context switch):"
    printf '  %-52s %7s %7s   %7s %7s   %7s\n' "component" "agent9" "µs/op" "base" "µs/op" "diff"
    components_table "$TMP/components.$load.agent9" "${PF_DAEMON[$load]}" "$TMP/components.$load.base" "${PF_BSERVER[$load]}"
    echo
    echo "agent9: perf report --no-children --sort dso (self time by shared object):"
    perf_top 12 "$rec" --no-children --sort dso --percent-limit 0.5
    echo
    echo "agent9: perf report --no-children --sort symbol, top 25 (self time):"
    perf_top 25 "$rec" --no-children -F overhead,sym | cut -c1-200
    echo
    echo "agent9: perf report --children --sort dso,symbol, top 40 (inclusive: a function and what it calls; lines cut at 200 characters):"
    perf_top 40 "$rec" --children --no-inline -F overhead_children,overhead,dso,sym | cut -c1-200
    echo
    echo "baseline ($base_name): perf report --no-children --sort symbol, top 15 (self time):"
    perf_top 15 "$brec" --no-children -F overhead,sym | cut -c1-200
  } >"$f"
  log "profile $load: agent9 ${PF_RATE[$load]} ops/s, server CPU ${PF_DAEMON[$load]} µs/op; baseline ${PF_BRATE[$load]} ops/s, ${PF_BSERVER[$load]} µs/op; wrote $f"
}

profile_table() {  # the per-op table of the profiled loads (Markdown)
  local l
  echo "| load | placement | agent9 ops/s | wall µs/op | agent9 CPU µs/op | client CPU µs/op | baseline ops/s | wall µs/op | baseline CPU µs/op | client CPU µs/op | load avg | agent9's top components (self, µs/op) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
  for l in "${PROF_DONE[@]}"; do
    echo "| ${PROF_DESC[$l]} | $PLACE | $(fmt_int "${PF_RATE[$l]}") | ${PF_WALL[$l]} | ${PF_DAEMON[$l]} | ${PF_CLIENT[$l]} | $(fmt_int "${PF_BRATE[$l]}") | ${PF_BWALL[$l]} | ${PF_BSERVER[$l]} | ${PF_BCLIENT[$l]} | ${PF_LOAD[$l]} | ${PF_TOP[$l]} |"
  done
  echo
  echo "Baselines: \`fuse_baseline --single\` for the FUSE loads, \`httplib_hello\` for HTTP. *wall µs/op* is 1e6 / ops/s: with everything on one core, the core's whole time per operation (client, kernel, server, and whatever else ran on CPU $PIN_CPU); CPU µs/op is \`perf stat -e task-clock\` of every thread of the server, or of the client, divided by the operations. Components: self time of \`perf record\` samples of agent9's threads, grouped by shared object and symbol (see the profile-<load>.txt files)."
}

profile_json() {  # the per-op figures as a JSON object
  local l sep=""
  printf '{'
  for l in "${PROF_DONE[@]}"; do
    printf '%s\n    "%s": {"placement": "%s", "ops_per_s": %s, "wall_us_per_op": %s, "server_cpu_us_per_op": %s, "client_cpu_us_per_op": %s, "server_switches_per_op": %s, "client_switches_per_op": %s, "base_ops_per_s": %s, "base_wall_us_per_op": %s, "base_server_cpu_us_per_op": %s, "base_client_cpu_us_per_op": %s, "base_server_switches_per_op": %s, "base_client_switches_per_op": %s, "recorded_ops_per_s": %s, "loadavg": "%s", "file": "profile-%s.txt"}' \
      "$sep" "$l" "$PLACE" "${PF_RATE[$l]}" "${PF_WALL[$l]}" "${PF_DAEMON[$l]}" "${PF_CLIENT[$l]}" "${PF_SCS[$l]}" "${PF_CCS[$l]}" \
      "${PF_BRATE[$l]}" "${PF_BWALL[$l]}" "${PF_BSERVER[$l]}" "${PF_BCLIENT[$l]}" "${PF_BSCS[$l]}" "${PF_BCCS[$l]}" \
      "${PF_RECRATE[$l]}" "${PF_LOAD[$l]}" "$l"
    sep=","
  done
  printf '\n  }'
}

T_PROF=0
PROF_DONE=()
if [[ $PROFILE != 0 && -z $PROF_SKIP ]]; then
  T0=$SECONDS
  log "profiles: $PROF_LOADS, ${PROF_SECS}s runs (agent9 and its baseline counted with perf stat, agent9 recorded with perf record -F $PERF_FREQ --call-graph dwarf)"
  for load in $PROF_LOADS; do
    profile_load "$load"
    PROF_DONE+=("$load")
  done
  T_PROF=$((SECONDS - T0))
fi

# ---- report ------------------------------------------------------------------------------
machine_info
FSTYPE=$(df -PT "$TMP" | awk 'NR == 2 { print $2 }')
FUSEV=$(pkg-config --modversion fuse3)
HTTPLIBV=$(pkg-config --modversion cpp-httplib 2>/dev/null || echo '?')
T_TOTAL=$((SECONDS - T_START))
mkdir -p "$OUT_DIR"
header() {  # header TITLE
  echo "# $1"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build (-g) · \`RUNS=$RUNS FUSE_SECS=$FUSE_SECS WRK_SECS=$WRK_SECS PROFILE=$PROFILE bash bench/pinned.sh\`"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $MEM RAM, $KERNEL; data dir on $FSTYPE; libfuse $FUSEV, cpp-httplib $HTTPLIBV. Load average (1 min) at start $LOAD_START, at end $LOAD_END (the benchmark itself adds up to ~1: everything it runs shares CPU $PIN_CPU)."
  echo
}

if [[ $PROFILE == only ]]; then
  if ((${#PROF_DONE[@]})); then
    profile_table
  else
    echo "Profiles skipped: $PROF_SKIP."
  fi
  log "wrote the profiles (${PROF_DONE[*]:-none}) in $OUT_DIR"
  exit 0
fi

BODY=$TMP/body.md
{
  echo "Placement: **$PLACE** for every figure here. One daemon of its own (\`agent9 serve --mount\`, started under \`taskset -c $PIN_CPU\`: all its threads inherit the mask), \`fuse_baseline --single\`, \`fuse_baseline\` (multi-threaded) and \`httplib_hello\`, each started the same way, and every client (\`taskset -c $PIN_CPU fsloop|wrk\`); every server thread's affinity is checked before and after the runs. Every figure: median of $RUNS runs (min–max); ratios are of medians; agent9 and its baselines are interleaved run by run. Wall time: build ${T_BUILD} s, setup ${T_SETUP} s, rows ${T_ROWS} s, profiles ${T_PROF} s, total ${T_TOTAL} s."
  echo
  echo "$H FUSE, ops/s, ${FUSE_SECS} s per run, $PLACE"
  echo
  echo "- open+read+close, stat: \`agents/$READ_AGENT/status\` ($STATUS_BYTES bytes); ls -l: \`agents/$READ_AGENT/goals/\`, $GOALS goals of $GOAL_BYTES bytes (opendir, readdir, lstat of every entry, closedir)."
  echo "- The ratio is against \`fuse_baseline --single\`: the minimal single-threaded libfuse server (\`fuse_session_loop\`; direct_io, attr and entry timeouts 0, otherwise configured like agent9's mount). The multi-threaded \`fuse_baseline\` (\`fuse_session_loop_mt\`, 16 / 8 idle threads, as agent9) is shown for context."
  echo
  echo "| operation | threads | placement | agent9 | libfuse single-threaded | libfuse multi-threaded | agent9 / single | agent9 / multi |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|"
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    echo "| $(fs_label "$mode") | $thr | $PLACE | $(cell "$k.agent9") | $(cell "$k.fusebase_single") | $(cell "$k.fusebase_mt") | $(ratio "$k.agent9" "$k.fusebase_single") | $(ratio "$k.agent9" "$k.fusebase_mt") |"
  done
  echo
  echo "$H HTTP, wrk -t1 keep-alive, ${WRK_SECS} s per run, $PLACE"
  echo
  echo "| request | conns | placement | agent9 req/s | p50 / p99 ms | httplib hello req/s | p50 / p99 ms | agent9 / hello |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|"
  for conns in 2 64; do
    k=http.fs_status.c$conns
    echo "| GET $STATUS_URL_PATH | $conns | $PLACE | $(cell "$k") | $(lat_cell "$k") | $(cell "http.hello.c$conns") | $(lat_cell "http.hello.c$conns") | $(ratio "$k" "http.hello.c$conns") |"
  done
  echo
  echo "httplib hello: cpp-httplib tuned like agent9 (64 threads, TCP_NODELAY, keep-alive 100000) answering every GET with the $STATUS_BYTES status bytes."
  if [[ $PROFILE != 0 ]]; then
    echo
    echo "$H Per-operation cost, $PLACE (PROFILE=1; details in profile-<load>.txt)"
    echo
    if ((${#PROF_DONE[@]})); then profile_table; else echo "Profiles skipped: $PROF_SKIP."; fi
  fi
} >"$BODY"

MD=$OUT_DIR/pinned.md
{
  header "agent9 pinned benchmark: daemon, clients and baselines on CPU $PIN_CPU"
  echo "## Targets (reported, never asserted)"
  echo
  md_targets "$TARGETS"
  echo
  cat "$BODY"
} >"$MD"
if [[ -n ${PINNED_BODY_OUT:-} ]]; then cp "$BODY" "$PINNED_BODY_OUT"; fi
if [[ -n ${PINNED_TARGETS_OUT:-} ]]; then cp "$TARGETS" "$PINNED_TARGETS_OUT"; fi

JSON=$OUT_DIR/pinned.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n  "placement": "%s",\n' "$WHEN" "$REV" "$DIRTY" "$PLACE"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "memory": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$KERNEL" "$MEM" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "fuse_secs": %s, "wrk_secs": %s, "wrk_threads": 1, "pin_cpu": %s, "goals": %s, "goal_bytes": %s, "status_bytes": %s, "profile": "%s", "profile_skipped": %s},\n' \
    "$RUNS" "$FUSE_SECS" "$WRK_SECS" "$PIN_CPU" "$GOALS" "$GOAL_BYTES" "$STATUS_BYTES" "$PROFILE" "$(jstr "$PROF_SKIP")"
  printf '  "section_secs": {"build": %s, "setup": %s, "rows": %s, "profiles": %s, "total": %s},\n' \
    "$T_BUILD" "$T_SETUP" "$T_ROWS" "$T_PROF" "$T_TOTAL"
  printf '  "units": {"fs.read.*, fs.stat.*": "ops/s", "fs.ls.*": "listings/s", "http.*": "requests/s (2xx)", "fs.*.fusebase_single": "fuse_baseline --single (fuse_session_loop)", "fs.*.fusebase_mt": "fuse_baseline (fuse_session_loop_mt)"},\n'
  printf '  "series": {\n'
  json_series "$PLACE"
  printf '  },\n  "ratios": {\n'
  sep=""
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    printf '%s    "%s.agent9/fusebase_single": %s,\n    "%s.agent9/fusebase_mt": %s' "$sep" \
      "$k" "$(jnum "$(ratio "$k.agent9" "$k.fusebase_single")")" "$k" "$(jnum "$(ratio "$k.agent9" "$k.fusebase_mt")")"
    sep=$',\n'
  done
  for conns in 2 64; do
    printf ',\n    "http.fs_status.c%s/hello": %s' "$conns" "$(jnum "$(ratio "http.fs_status.c$conns" "http.hello.c$conns")")"
  done
  printf '\n  },\n  "targets": ['
  json_targets "$TARGETS"
  printf '\n  ]'
  if ((${#PROF_DONE[@]})); then
    printf ',\n  "profile": '
    profile_json
  fi
  printf '\n}\n'
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
