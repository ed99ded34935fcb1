#!/usr/bin/env bash
# agent9 soak (`make soak`): a load generator sends messages at a fixed rate over HTTP and the
# FUSE mount to a few hundred echo and exec agents while this script kill -9s and restarts the
# daemon several times. When the load ends it waits (time-boxed) for every queue to drain,
# then reconciles every acknowledged message against the trajectory, the inbox and the dead
# letters of its agent and prints `lost N, duplicated M` (the bar is 0 and 0) and the
# throughput it held. Writes $OUT_DIR/soak.md and soak.json. See docs/OPERATIONS.md (Soak).
#
# Environment knobs (defaults in brackets):
#   SOAK_SECS [300]     seconds of load
#   RATE [200]          messages/s over all agents (a fixed-rate schedule, not closed-loop)
#   ECHO_AGENTS [200]   echo agents
#   EXEC_AGENTS [100]   exec agents running a copy of examples/echo.sh
#   SANDBOX_EVERY [2]   every K-th exec agent runs under bubblewrap, the others with
#                       "sandbox": false (0 = none sandboxed; all unsandboxed without bwrap)
#   EXEC_SHARE [0.1]    fraction of messages sent to exec agents (each costs a process spawn)
#   FUSE_SHARE [0.2]    fraction of messages written into the mount's agents/<id>/inbox/
#   KILLS [5]           kill -9 + restart cycles, at seeded random times in the run
#   SEED [random]       seeds the kill times and the choice of agents (printed)
#   DRAIN_SECS [300]    time box for the queues to drain after the load
#   GRACE_SECS [60]     how long past the end a failed send is still retried (same id)
#   HTTP_THREADS [16] FUSE_THREADS [4]   load generator workers
#   SYNC [full]         the daemon's --sync
#   AGENT9_BIN          the daemon; unset: build RelWithDebInfo in BUILD_DIR [build-soak]
#   OUT_DIR [bench/results]  where soak.md and soak.json go
#   KEEP_TMP [0]        1: keep the data dir, daemon logs and load files (kept on failure too,
#                       not when interrupted)
# Exit status: 0 pass; 1 agent9 lost, duplicated or mis-recorded messages (or crashed);
# 2 the harness failed (says why); 77 skipped (no /dev/fuse, fusermount3 or python3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SOAK_SECS=${SOAK_SECS:-300}
RATE=${RATE:-200}
ECHO_AGENTS=${ECHO_AGENTS:-200}
EXEC_AGENTS=${EXEC_AGENTS:-100}
SANDBOX_EVERY=${SANDBOX_EVERY:-2}
EXEC_SHARE=${EXEC_SHARE:-0.1}
FUSE_SHARE=${FUSE_SHARE:-0.2}
KILLS=${KILLS:-5}
SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
DRAIN_SECS=${DRAIN_SECS:-300}
GRACE_SECS=${GRACE_SECS:-60}
HTTP_THREADS=${HTTP_THREADS:-16}
FUSE_THREADS=${FUSE_THREADS:-4}
SYNC=${SYNC:-full}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-soak}
OUT_DIR=${OUT_DIR:-$HERE/results}
KEEP_TMP=${KEEP_TMP:-0}

log() { printf '[soak %s] %s\n' "$(date +%T)" "$*" >&2; }
harness_fail() { log "HARNESS FAILED: $*"; echo "soak: FAIL: harness: $*"; exit 2; }
skip() { log "SKIP: $*"; exit 77; }

[[ -e /dev/fuse ]] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
PY=$(command -v python3) || skip "no python3"
LOADPY=$HERE/soak_load.py

if [[ -z ${AGENT9_BIN:-} ]]; then
  if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
    harness_fail "need cmake and ninja (or set AGENT9_BIN)"
  fi
  log "building agent9 (RelWithDebInfo) in $BUILD_DIR"
  blog=$(mktemp "${TMPDIR:-/tmp}/agent9-soak-build.XXXXXX")
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$blog" 2>&1 ||
    { tail -20 "$blog" >&2; rm -f "$blog"; harness_fail "cmake"; }
  ninja -C "$BUILD_DIR" agent9 >"$blog" 2>&1 || { tail -30 "$blog" >&2; rm -f "$blog"; harness_fail "ninja"; }
  rm -f "$blog"
  AGENT9_BIN=$BUILD_DIR/controlplane/agent9
fi
[[ -x $AGENT9_BIN ]] || harness_fail "no agent9 binary at $AGENT9_BIN"
AGENT9_BIN=$(cd "$(dirname "$AGENT9_BIN")" && pwd)/$(basename "$AGENT9_BIN")
if ! command -v bwrap >/dev/null && [[ $SANDBOX_EVERY != 0 ]]; then
  log "no bubblewrap: every exec agent runs with \"sandbox\": false"
  SANDBOX_EVERY=0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/agent9-soak.XXXXXX")
DATA=$TMP/data
MNT=$TMP/mnt
mkdir -p "$MNT"
# Every (re)start runs this private copy: a rebuild in the tree during the run changes nothing.
BIN=$TMP/agent9
cp "$AGENT9_BIN" "$BIN"
DPID=
LPID=
RC=2
STARTS=0
CRASHES=0

mounted() { grep -qs " $MNT fuse" /proc/mounts; }
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [[ -n $LPID ]] && kill -TERM "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
  if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
    kill -TERM "$DPID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
  fi
  mounted && { fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; }
  # Kept for a look after a failure (exit 1 or 2), not after an interruption.
  if [[ $KEEP_TMP == 1 || $rc == 1 || $rc == 2 ]]; then
    log "kept $TMP (data, daemon logs, load files)"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { echo "${EPOCHREALTIME/,/.}"; }
# CPU ticks of the running daemon and its reaped children (the exec programs).
CLK_TCK=$(getconf CLK_TCK)
CPU_ACC=0
CPU_BASE=0
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$DPID/stat" 2>/dev/null || echo 0; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# start_daemon: agent9 serve on the same data dir and mount, a fresh port; publishes the URL
# in $TMP/url (the load generator re-reads it on every reconnect). Retries a failed start.
start_daemon() {
  local try out
  for try in 1 2 3 4 5; do
    STARTS=$((STARTS + 1))
    out=$TMP/daemon.$STARTS.out
    "$BIN" serve --data "$DATA" --listen 127.0.0.1:0 --mount "$MNT" --sync "$SYNC" \
      >"$out" 2>"$TMP/daemon.$STARTS.err" &
    DPID=$!
    for _ in $(seq 1 600); do
      grep -q '^listening http://' "$out" && break
      kill -0 "$DPID" 2>/dev/null || break
      sleep 0.05
    done
    if grep -q '^listening http://' "$out"; then
      sed -n 's/^listening \(http:\/\/.*\)$/\1/p' "$out" | head -1 >"$TMP/url.new"
      mv "$TMP/url.new" "$TMP/url"
      return 0
    fi
    log "daemon start $STARTS failed (try $try): $(tail -3 "$TMP/daemon.$STARTS.err" | tr '\n' ' ')"
    kill -KILL "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
    DPID=
    if mounted; then fusermount3 -uz "$MNT" 2>/dev/null || true; fi
    sleep 1
  done
  return 1
}

kill9_restart() {
  local t
  t=$(now)
  CPU_ACC=$((CPU_ACC + $(cpu_ticks) - CPU_BASE))
  CPU_BASE=0
  kill -KILL "$DPID"
  wait "$DPID" 2>/dev/null || true
  fusermount3 -uz "$MNT" 2>/dev/null || true
  start_daemon || return 1
  local ms
  ms=$(ms_since "$t")
  echo "$t $ms" >>"$TMP/kills.tsv"
  log "kill -9 #$1 at t=$(awk -v a="$t" -v b="$T0" 'BEGIN { printf "%.1f", a - b }')s: listening again after $ms ms (pid $DPID)"
}

# A daemon that died without being killed is an agent9 crash: note it, restart, go on.
check_alive() {
  if ! kill -0 "$DPID" 2>/dev/null; then
    wait "$DPID" 2>/dev/null && st=0 || st=$?
    CRASHES=$((CRASHES + 1))
    log "the daemon exited by itself (status $st): $(tail -5 "$TMP/daemon.$STARTS.err" | tr '\n' ' ')"
    cp "$TMP/daemon.$STARTS.err" "$TMP/crash.$CRASHES.err"
    CPU_BASE=0
    fusermount3 -uz "$MNT" 2>/dev/null || true
    start_daemon || harness_fail "could not restart the daemon after it crashed"
  fi
}

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
log "SOAK_SECS=$SOAK_SECS RATE=$RATE ECHO_AGENTS=$ECHO_AGENTS EXEC_AGENTS=$EXEC_AGENTS SANDBOX_EVERY=$SANDBOX_EVERY EXEC_SHARE=$EXEC_SHARE FUSE_SHARE=$FUSE_SHARE KILLS=$KILLS SEED=$SEED"
log "daemon $AGENT9_BIN, data $DATA, mount $MNT"
start_daemon || harness_fail "the daemon did not start (see $TMP/daemon.*.err)"
cp "$DATA/admin.token" "$TMP/token"
# The exec agents' program: a private copy of examples/echo.sh (the sandbox binds it read-only
# at its path), so edits to examples/ during a run change nothing.
cp "$ROOT/examples/echo.sh" "$TMP/agent.sh"
chmod 0755 "$TMP/agent.sh"

"$PY" "$LOADPY" setup --dir "$TMP" --echo "$ECHO_AGENTS" --exec "$EXEC_AGENTS" \
  --program "$TMP/agent.sh" --sandbox-every "$SANDBOX_EVERY" || harness_fail "creating the agents"

# Kill times: KILLS seeded random points, one in each of KILLS equal slices of [10%, 85%] of
# the run (so restarts never overlap and the last one is over before the load ends).
mapfile -t KILL_AT < <(awk -v s="$SOAK_SECS" -v k="$KILLS" -v seed="$SEED" 'BEGIN {
  srand(seed); w0 = 0.10 * s; seg = (0.85 * s - w0) / (k > 0 ? k : 1)
  for (i = 0; i < k; i++) printf "%.2f\n", w0 + seg * (i + 0.15 + 0.7 * rand()) }')

"$PY" "$LOADPY" load --dir "$TMP" --mnt "$MNT" --secs "$SOAK_SECS" --rate "$RATE" \
  --fuse-share "$FUSE_SHARE" --exec-share "$EXEC_SHARE" --http-threads "$HTTP_THREADS" \
  --fuse-threads "$FUSE_THREADS" --grace "$GRACE_SECS" --seed "$SEED" &
LPID=$!
for _ in $(seq 1 200); do [[ -s $TMP/load.started ]] && break; sleep 0.05; done
[[ -s $TMP/load.started ]] || harness_fail "the load generator did not start"
T0=$(cat "$TMP/load.started")
CPU_BASE=$(cpu_ticks)
: >"$TMP/kills.tsv"
k=0
for at in "${KILL_AT[@]}"; do
  k=$((k + 1))
  while awk -v t0="$T0" -v at="$at" -v n="$(now)" 'BEGIN { exit !(n < t0 + at) }'; do
    kill -0 "$LPID" 2>/dev/null || harness_fail "the load generator exited early"
    check_alive
    sleep 0.2
  done
  kill9_restart "$k" || harness_fail "the daemon did not come back after kill -9 #$k"
done
while kill -0 "$LPID" 2>/dev/null; do check_alive; sleep 0.5; done
CPU_ACC=$((CPU_ACC + $(cpu_ticks) - CPU_BASE))
DAEMON_CPU=$(awk -v t="$CPU_ACC" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }')
LRC=0
wait "$LPID" || LRC=$?
LPID=
HARNESS=()
((LRC == 0)) || HARNESS+=(--harness-error "the load generator failed (status $LRC)")
check_alive

# drain.json tells reconcile whether the queues drained (not draining is a harness failure).
"$PY" "$LOADPY" drain --dir "$TMP" --timeout "$DRAIN_SECS" || true
check_alive
((CRASHES == 0)) || HARNESS+=(--harness-error "agent9 exited by itself $CRASHES times (logs: $TMP/crash.*.err)")

LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
REV=unknown
if [[ -f $ROOT/.git/HEAD ]]; then  # read, not git: other people work in this tree
  head_ref=$(cat "$ROOT/.git/HEAD")
  case $head_ref in
    ref:*) ref=${head_ref#ref: }
      REV=$(cat "$ROOT/.git/$ref" 2>/dev/null || awk -v r="$ref" '$2 == r { print $1 }' "$ROOT/.git/packed-refs" 2>/dev/null || true) ;;
    *) REV=$head_ref ;;
  esac
  REV=${REV:0:9}
  [[ -n $REV ]] || REV=unknown
fi
# Daemon log lines at warn or error level, over every start (reported, not judged).
LOG_WARN=$(cat "$TMP"/daemon.*.err | grep -cE '^agent9 (warn|error):' || true)
RRC=0
"$PY" "$LOADPY" reconcile --dir "$TMP" --out-dir "$OUT_DIR" "${HARNESS[@]}" \
  --meta "when=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "revision=$REV" \
  --meta "build=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$(dirname "$AGENT9_BIN")")/CMakeCache.txt" 2>/dev/null || echo '?')" \
  --meta "bin=${AGENT9_BIN#"$ROOT"/}" --meta "nproc=$(nproc)" \
  --meta "cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
  --meta "kernel=$(uname -sr)" --meta "load_start=$LOAD_START" --meta "load_end=$LOAD_END" \
  --meta "soak_secs=$SOAK_SECS" --meta "rate=$RATE" --meta "echo_agents=$ECHO_AGENTS" \
  --meta "exec_agents=$EXEC_AGENTS" --meta "sandbox_every=$SANDBOX_EVERY" \
  --meta "exec_share=$EXEC_SHARE" --meta "fuse_share=$FUSE_SHARE" --meta "kills=$KILLS" \
  --meta "seed=$SEED" --meta "sync=$SYNC" --meta "daemon_cpu_s=$DAEMON_CPU" \
  --meta "daemon_log_warnings=$LOG_WARN" || RRC=$?

# A clean stop: SIGTERM, time-boxed; the mount must be gone afterwards.
kill -TERM "$DPID"
stopped=0
for _ in $(seq 1 300); do kill -0 "$DPID" 2>/dev/null || { stopped=1; break; }; sleep 0.1; done
if ((stopped)); then
  wait "$DPID" 2>/dev/null || true
  DPID=
else
  log "the daemon did not stop within 30 s of SIGTERM"
  ((RRC != 0)) || RRC=2
fi
if mounted; then
  log "the mount $MNT is still there after the daemon stopped"
  ((RRC != 0)) || RRC=2
fi
[[ -f $OUT_DIR/soak.md ]] && log "wrote $OUT_DIR/soak.md and soak.json"
RC=$RRC
exit "$RC"
