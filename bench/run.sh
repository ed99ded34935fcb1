#!/usr/bin/env bash
# agent9 benchmark: FUSE file ops (read, stat, `ls -l` of a 1000-entry directory, inbox
# enqueue by create+write+close), HTTP (GETs and POST send, against cpp-httplib and nginx),
# durable enqueue, the tick engine (ticks.sh), scale (scale.sh), the identity and nostr
# modules (identity.sh), compute jobs (compute.sh), container sessions (containers.sh) and FUSE
# and HTTP again with daemon, clients and baselines pinned to one core (pinned.sh, then its
# perf profiles), each against a baseline measured in the same run; targets are reported as met
# / not met, never asserted. Prints a Markdown report and writes bench/results/latest.md and
# bench/results/latest.json. See bench/README.md. Shell shared with pinned.sh: bench/lib.sh.
#
# Environment knobs (defaults in brackets):
#   BUILD_DIR   [<repo>/build-bench]  where agent9 and the bench helpers are built
#   AGENT9_BIN  [$BUILD_DIR/controlplane/agent9]; set it to skip building agent9
#   RUNS [3]  FUSE_SECS [2]  WRK_SECS [5]  SQLITE_SECS [3]  KEEP_TMP [0]
#   GOALS [1000]  entries of the goals/ directory that `ls -l` lists
#   CREATE_MAX_OPS [100000]  cap on the files one inbox-create run makes (bounds tmpfs use)
#   NGINX [nginx on PATH, else /usr/sbin/nginx]  the nginx baseline; skipped when missing
#   SKIP_TICKS [0]  1 skips section 4 (bench/ticks.sh; its own knobs pass through)
#   SKIP_SCALE [0]  1 skips section 5 (bench/scale.sh); SCALE [100000] agents it creates
#   SKIP_IDENTITY [0]  1 skips section 6 (bench/identity.sh; its own knobs pass through)
#   SKIP_COMPUTE [0]  1 skips section 7 (bench/compute.sh; its own knobs pass through)
#   SKIP_CONTAINERS [0]  1 skips section 8 (bench/containers.sh; its own knobs pass through;
#                   skipped with a note when not root or bwrap is missing)
#   SKIP_PINNED [0]  1 skips section 9 (bench/pinned.sh; PROF_SECS, PROF_LOADS, PERF_FREQ pass
#                   through)  PIN_CPU [0] the core it pins to  PROFILE [1] 0 skips its profiles
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
LOG_TAG=bench  # lib.sh's log prefix
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"  # and with it BUILD_DIR, TOOLS, RUNS, FUSE_SECS, WRK_SECS, GOALS, KEEP_TMP
SQLITE_SECS=${SQLITE_SECS:-3}
SKIP_TICKS=${SKIP_TICKS:-0}
SKIP_SCALE=${SKIP_SCALE:-0}
SKIP_IDENTITY=${SKIP_IDENTITY:-0}
SKIP_COMPUTE=${SKIP_COMPUTE:-0}
SKIP_CONTAINERS=${SKIP_CONTAINERS:-0}
CONTAINERS_NOTE=""
if [[ $SKIP_CONTAINERS != 1 ]] && { [[ $(id -u) != 0 ]] || ! command -v bwrap >/dev/null; }; then
  SKIP_CONTAINERS=1
  CONTAINERS_NOTE="section 8 (containers) skipped: it needs root and bwrap"
fi
SCALE=${SCALE:-100000}
CREATE_MAX_OPS=${CREATE_MAX_OPS:-100000}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
SKIP_PINNED=${SKIP_PINNED:-0}
PIN_CPU=${PIN_CPU:-0}
PROFILE=${PROFILE:-1}
OUT_DIR=$HERE/results

# Wall time of each section, for the report: section_done NAME records the seconds since the
# previous call.
declare -A SECT_SECS=()
SECT_ORDER=()
SECT_T0=$SECONDS
section_done() {
  SECT_SECS[$1]=$((SECONDS - SECT_T0))
  SECT_ORDER+=("$1")
  SECT_T0=$SECONDS
}

need_tools wrk curl gcc g++ pkg-config fusermount3 timeout
[[ $SKIP_PINNED == 1 ]] || need_tools taskset
[[ -e /dev/fuse ]] || die "no /dev/fuse"

# ---- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/agent9-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/agent9-bench.XXXXXX)
FB_PID="" HELLO_PID="" NGINX_PID=""
NGINX_WORKERS=() # nginx's workers, in case its master had to be killed

stop_nginx_workers() {  # workers outlive a master that was SIGKILLed: end them by pid
  local w
  for w in "${NGINX_WORKERS[@]}"; do
    if [[ $(cat "/proc/$w/comm" 2>/dev/null) == nginx ]]; then kill -KILL "$w" 2>/dev/null || true; fi
  done
  NGINX_WORKERS=()
}
cleanup_more() { stop_nginx_workers; }  # called by bench_cleanup (lib.sh)
bench_traps

# ---- build -------------------------------------------------------------------------------
bench_revision
if [[ -z ${AGENT9_BIN:-} ]]; then
  targets=(agent9)
  [[ $SKIP_TICKS == 1 ]] || targets+=(agent9_tick_bench)
  [[ $SKIP_IDENTITY == 1 ]] || targets+=(agent9_identity_bench)
  [[ $SKIP_COMPUTE == 1 ]] || targets+=(fake-llm agent9_compute_load)
  [[ $SKIP_CONTAINERS == 1 ]] || targets+=(agent9_containers_load)
  cmake_build "${targets[@]}"
  AGENT9_BIN=$BUILD_DIR/controlplane/agent9
  [[ $SKIP_TICKS == 1 ]] || export TICK_BENCH_BIN=${TICK_BENCH_BIN:-$BUILD_DIR/bench/agent9_tick_bench}
  [[ $SKIP_IDENTITY == 1 ]] ||
    export IDENTITY_BENCH_BIN=${IDENTITY_BENCH_BIN:-$BUILD_DIR/bench/agent9_identity_bench}
  if [[ $SKIP_COMPUTE != 1 ]]; then
    export FAKE_LLM_BIN=${FAKE_LLM_BIN:-$BUILD_DIR/tests/fakes/fake-llm}
    export COMPUTE_LOAD_BIN=${COMPUTE_LOAD_BIN:-$BUILD_DIR/bench/agent9_compute_load}
  fi
  [[ $SKIP_CONTAINERS == 1 ]] ||
    export CONTAINERS_LOAD_BIN=${CONTAINERS_LOAD_BIN:-$BUILD_DIR/bench/agent9_containers_load}
fi
[[ -x $AGENT9_BIN ]] || die "no agent9 binary at $AGENT9_BIN"

build_fs_http_tools
build_tool sqlite_insert sqlite_insert.c gcc -lsqlite3

section_done build

# ---- results store -----------------------------------------------------------------------
results_init
check_load

# The POST body wrk_send.lua sends.
lua_body() { sed -n 's/^wrk.body = "\(.*\)"$/\1/p' "$HERE/wrk_send.lua" | tr -d '\n'; }

# ---- daemon ------------------------------------------------------------------------------
MNT=$TMP/mnt
start_agent9 "$TMP/data" "$MNT"
setup_read_agent "$MNT"

# One message as wrk_send.lua sends it: the FUSE inbox writes the same bytes. One send to a
# probe agent gives agent9's answer (the HTTP baselines answer POSTs with the same bytes) and
# the size of the envelope it stores (section 3's raw SQLite rows).
lua_body >"$TMP/msg.bytes"
MSG_BYTES=$(wc -c <"$TMP/msg.bytes")
create_agent '{"id":"probe"}'
code=$(curl -sS -o "$TMP/send.answer" -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/msg.bytes" \
  -H 'Content-Type: text/plain' "$BASE/v1/agents/probe/send") || die "send to probe"
[[ $code == 202 ]] || { cat "$TMP/send.answer" >&2; die "send to probe: HTTP $code"; }
ENV_BYTES=$(curl -sfS -H "$AUTH" "$BASE/v1/fs/agents/probe/inbox/1.json" | wc -c)
((ENV_BYTES > 0)) || die "cannot read a queued envelope"

# tmpfs gets copies of the goal files.
mkdir -p "$SHM/agents/$READ_AGENT/goals"
timeout 120 cp "$GOALS_DIR"/* "$SHM/agents/$READ_AGENT/goals/" || die "copying the goals to tmpfs"
cmp -s <(sort "$TMP/goals.listing") \
  <(find "$SHM/agents/$READ_AGENT/goals" -mindepth 1 -printf '%f %s\n' | sort) ||
  die "the tmpfs goals differ from agent9's"
section_done setup

# ---- 1. FUSE -----------------------------------------------------------------------------
# Four operations, each on agent9's mount, on fuse_baseline (the same paths, names and sizes)
# and on tmpfs: read and stat of status, `ls -l` of goals/, inbox enqueue by create+write+close.
FB_MNT=$TMP/fusebase
mkdir -p "$SHM/agents/$READ_AGENT"
cp "$TMP/status.bytes" "$SHM/agents/$READ_AGENT/status"
start_fusebase "$FB_MNT" "$TMP/fusebase.out" --inbox agents/sink/inbox

declare -A FS_PATH=([agent9]=$STATUS_FILE [fusebase]=$FB_MNT/agents/$READ_AGENT/status
  [tmpfs]=$SHM/agents/$READ_AGENT/status)
declare -A LS_PATH=([agent9]=$GOALS_DIR [fusebase]=$FB_MNT/agents/$READ_AGENT/goals
  [tmpfs]=$SHM/agents/$READ_AGENT/goals)
FS_CASES=("read 1" "read 2" "stat 1" "stat 2" "ls 1" "ls 2" "create 1" "create 64")
CREATE_FAILS=0
log "FUSE: ${#FS_CASES[@]} cases x 3 targets x $RUNS runs x ${FUSE_SECS}s"
for ((r = 1; r <= RUNS; r++)); do
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    for target in agent9 fusebase tmpfs; do  # interleaved, so drift hits all targets alike
      key=fs.$mode.t$thr.$target
      case $mode in
        read | stat) line=$(fsloop "$mode" "${FS_PATH[$target]}" "$thr") ;;
        ls)
          line=$(fsloop ls "${LS_PATH[$target]}" "$thr")
          [[ $(fsfield items "$line") == "$GOALS" ]] ||
            die "ls ${LS_PATH[$target]}: $(fsfield items "$line") entries, not $GOALS"
          ;;
        create)
          case $target in
            agent9)
              sink=fsink-t$thr-r$r  # a fresh agent: every run starts at depth 0
              create_sink "$sink"
              dir=$MNT/agents/$sink/inbox
              ;;
            fusebase) dir=$FB_MNT/agents/sink/inbox ;;
            tmpfs)
              dir=$SHM/agents/sink/inbox
              rm -rf "$dir"
              mkdir -p "$dir"
              ;;
          esac
          line=$(fsloop create "$dir" "$thr" "$TMP/msg.bytes" "$CREATE_MAX_OPS")
          if [[ $target == agent9 ]]; then
            # each close is one acknowledged message: the inbox must hold exactly that many
            depth=$(queue_depth "$sink")
            record "$key.depth" "$r" "${depth:-0}"
            if [[ ${depth:-0} != "$(fsfield ops "$line")" ]]; then
              log "WARNING $key run $r: $(fsfield ops "$line") creates closed without error, inbox depth ${depth:-?}"
              CREATE_FAILS=$((CREATE_FAILS + 1))
            fi
          elif [[ $target == tmpfs ]]; then
            rm -rf "$dir"
          fi
          ;;
      esac
      record "$key" "$r" "$(fsfield ops_per_s "$line")"
    done
  done
  log "FUSE run $r/$RUNS: read t1 agent9=$(awk -F'\t' -v r="$r" '$1=="fs.read.t1.agent9" && $2==r {print $3}' "$RES") ops/s"
done
stop_base "$FB_PID"
fusermount3 -uz "$FB_MNT" 2>/dev/null || true
section_done fuse

# ---- 2. HTTP -----------------------------------------------------------------------------
# agent9: GET status (file API), GET agent (control plane), POST send. Baselines: httplib_hello
# (cpp-httplib tuned like agent9) and nginx serving the same bytes; POSTs get agent9's send
# answer (202).
start_hello "$TMP/hello.out" "$TMP/send.answer"

# nginx: its own config in $TMP (no system config, logs or pid file touched), a static file
# with the status bytes at the same path, POSTs answered by `return 202` with the send answer.
NGINX_URL=""
NGINX_VERSION=""
NGINX_SKIP=""
start_nginx() {
  local dir=$TMP/nginx port conf answer try t
  if [[ ! -x $NGINX ]]; then
    NGINX_SKIP="nginx not installed ($NGINX not found; apt-get install nginx-light)"
    return
  fi
  NGINX_VERSION=$("$NGINX" -v 2>&1 | sed -n 's/.*nginx\///p')
  mkdir -p "$dir/www/v1/fs/agents/$READ_AGENT" "$dir/tmp"
  cp "$TMP/status.bytes" "$dir/www/v1/fs/agents/$READ_AGENT/status"
  # the answer goes in a single-quoted nginx string: neutralize quotes, backslashes and $
  answer=$(tr "'\\\\\$\n" '____' <"$TMP/send.answer")
  for ((try = 0; try < 5; try++)); do
    port=$((20000 + RANDOM % 40000))
    if command -v ss >/dev/null && [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then continue; fi
    conf=$dir/nginx.conf
    {
      echo "daemon off;"
      echo "master_process on;"
      echo "worker_processes 2;"
      if [[ $EUID == 0 ]]; then echo "user root;"; fi  # workers must read $TMP (mode 0700)
      echo "pid $dir/nginx.pid;"
      echo "error_log $dir/error.log warn;"
      echo "events { worker_connections 4096; }"
      echo "http {"
      echo "  access_log off;"
      for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $dir/tmp/$t;"; done
      echo "  keepalive_requests 100000;"
      echo "  keepalive_timeout 65s;"
      echo "  sendfile on;"
      echo "  tcp_nodelay on;"
      echo "  open_file_cache max=64 inactive=60s;"
      echo "  open_file_cache_valid 60s;"
      echo "  server {"
      echo "    listen 127.0.0.1:$port;"
      echo "    root $dir/www;"
      echo "    default_type application/json;"
      echo "    add_header Cache-Control no-store;"
      echo "    location / { }"
      echo "    location /v1/agents/ { return 202 '$answer'; }"
      echo "  }"
      echo "}"
    } >"$conf"
    if ! "$NGINX" -t -q -p "$dir" -c "$conf" -e "$dir/error.log" >"$dir/test.out" 2>&1; then
      NGINX_SKIP="nginx rejects the generated config: $(tr '\n' ' ' <"$dir/test.out")"
      return
    fi
    "$NGINX" -p "$dir" -c "$conf" -e "$dir/error.log" >"$dir/nginx.out" 2>&1 &
    NGINX_PID=$!
    BASE_PIDS+=("$NGINX_PID")
    for ((i = 0; i < 100; i++)); do
      if curl -sf "http://127.0.0.1:$port/v1/fs/agents/$READ_AGENT/status" 2>/dev/null |
        cmp -s - "$TMP/status.bytes"; then
        NGINX_URL=http://127.0.0.1:$port
        mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_PID")
        log "nginx $NGINX_VERSION at $NGINX_URL (workers ${NGINX_WORKERS[*]})"
        return
      fi
      kill -0 "$NGINX_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_base "$NGINX_PID"  # most likely the port was taken meanwhile: try another
  done
  NGINX_SKIP="nginx did not start (see $dir/error.log)"
}
start_nginx
[[ -z $NGINX_SKIP ]] || log "WARNING: $NGINX_SKIP: the nginx column is skipped"

for u in "$BASE/v1/fs/agents/$READ_AGENT/status" "$BASE/v1/agents/$READ_AGENT"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" "$u")
  [[ $code == 200 ]] || die "GET $u: HTTP $code"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/msg.bytes" "$HELLO/v1/agents/x/send")
[[ $code == 202 ]] || die "POST to httplib_hello: HTTP $code"
if [[ -n $NGINX_URL ]]; then
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/msg.bytes" "$NGINX_URL/v1/agents/x/send")
  [[ $code == 202 ]] || die "POST to nginx: HTTP $code"
fi
HTTP_TARGETS=7
[[ -n $NGINX_URL ]] || HTTP_TARGETS=5
log "HTTP: $HTTP_TARGETS targets x 2 connection counts x $RUNS runs x ${WRK_SECS}s"
for ((r = 1; r <= RUNS; r++)); do
  for conns in 2 64; do
    status_path=/v1/fs/agents/$READ_AGENT/status
    wrk_run "http.fs_status.c$conns" "$r" "$conns" wrk_report.lua "$BASE$status_path" -H "$AUTH"
    wrk_run "http.agent.c$conns" "$r" "$conns" wrk_report.lua "$BASE/v1/agents/$READ_AGENT" -H "$AUTH"
    sink=hsend-c$conns-r$r
    create_sink "$sink"
    wrk_run "http.send.c$conns" "$r" "$conns" wrk_send.lua "$BASE/v1/agents/$sink/send" -H "$AUTH"
    wrk_run "http.hello.c$conns" "$r" "$conns" wrk_report.lua "$HELLO$status_path" -H "$AUTH"
    wrk_run "http.hello_post.c$conns" "$r" "$conns" wrk_send.lua "$HELLO/v1/agents/$sink/send" -H "$AUTH"
    if [[ -n $NGINX_URL ]]; then
      wrk_run "http.nginx.c$conns" "$r" "$conns" wrk_report.lua "$NGINX_URL$status_path" -H "$AUTH"
      wrk_run "http.nginx_post.c$conns" "$r" "$conns" wrk_send.lua "$NGINX_URL/v1/agents/$sink/send" -H "$AUTH"
    fi
  done
  log "HTTP run $r/$RUNS done"
done
stop_base "$HELLO_PID"
if [[ -n $NGINX_URL ]]; then
  stop_base "$NGINX_PID"
  stop_nginx_workers
fi
section_done http

# ---- 3. durable enqueue ------------------------------------------------------------------
# Each run sends to a fresh agent, so every run starts from an empty inbox (see README:
# enqueue cost depends on the queue depth). The raw SQLite baseline runs in the same loop,
# so a change in the disk's fsync latency hits both.
# The baseline's row carries an envelope of the size the daemon stored for one message.
log "enqueue: (1 client, 64 clients: ${WRK_SECS}s each; raw SQLite ${SQLITE_SECS}s, $ENV_BYTES-byte rows) x $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  for conns in 1 64; do
    id="sink-c$conns-r$r"
    create_sink "$id"
    wrk_run "enqueue.c$conns" "$r" "$conns" wrk_send.lua "$BASE/v1/agents/$id/send" -H "$AUTH"
    depth=$(queue_depth "$id")
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
create_sink deep
for ((s = 1; s <= DEEP_SLICES; s++)); do
  DUR=1 wrk_run "deep.s$s" 1 64 wrk_send.lua "$BASE/v1/agents/deep/send" -H "$AUTH"
  depth=$(queue_depth deep)
  record "deep.s$s.depth" 1 "${depth:-0}"
done
DUR=2 wrk_run "deep.status" 1 2 wrk_report.lua "$BASE/v1/agents/deep" -H "$AUTH"
section_done enqueue

# ---- 4. tick engine ----------------------------------------------------------------------
# bench/ticks.sh runs in-process (no daemon, no HTTP): stop the daemon first so it does not
# compete for the CPUs and the disk. It writes bench/results/ticks.md and ticks.json; the
# report below embeds them.
if [[ $SKIP_TICKS != 1 ]]; then
  stop_daemon "$MNT"
  log "tick engine: bench/ticks.sh ($RUNS runs)"
  RUNS=$RUNS BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP TICKS_HEADING="###" \
    TICKS_BODY_OUT=$TMP/ticks_body.md bash "$HERE/ticks.sh" >"$TMP/ticks.out" ||
    die "bench/ticks.sh (its output: $TMP/ticks.out)"
  section_done ticks
fi

# ---- 5. scale ----------------------------------------------------------------------------
# bench/scale.sh starts its own daemons (SCALE agents, and one agent as the baseline) with the
# same Release binary. It writes bench/results/scale.md and scale.json; the report embeds them.
if [[ $SKIP_SCALE != 1 ]]; then
  stop_daemon "$MNT"
  log "scale: bench/scale.sh (SCALE=$SCALE)"
  SCALE=$SCALE AGENT9_BIN=$AGENT9_BIN BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP \
    bash "$HERE/scale.sh" >"$TMP/scale.out" 2>"$TMP/scale.err" ||
    die "bench/scale.sh (its output: $TMP/scale.out, $TMP/scale.err)"
  section_done scale
fi

# ---- 6. identity and nostr ---------------------------------------------------------------
# bench/identity.sh starts its own daemon (with --mount), two loopback relays and its node
# clients. It writes bench/results/identity.md and identity.json; the report embeds them.
if [[ $SKIP_IDENTITY != 1 ]]; then
  stop_daemon "$MNT"
  log "identity and nostr: bench/identity.sh ($RUNS runs)"
  RUNS=$RUNS AGENT9_BIN=$AGENT9_BIN BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP \
    IDENTITY_HEADING="###" IDENTITY_BODY_OUT=$TMP/identity_body.md \
    bash "$HERE/identity.sh" >"$TMP/identity.out" 2>"$TMP/identity.err" ||
    die "bench/identity.sh (its output: $TMP/identity.out, $TMP/identity.err)"
  section_done identity
fi

# ---- 7. compute --------------------------------------------------------------------------
# bench/compute.sh starts its own daemon (no mount) and a loopback fake LLM server. It writes
# bench/results/compute.md and compute.json; the report embeds them.
if [[ $SKIP_COMPUTE != 1 ]]; then
  stop_daemon "$MNT"
  log "compute: bench/compute.sh ($RUNS runs)"
  RUNS=$RUNS AGENT9_BIN=$AGENT9_BIN BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP \
    COMPUTE_HEADING="###" COMPUTE_BODY_OUT=$TMP/compute_body.md \
    bash "$HERE/compute.sh" >"$TMP/compute.out" 2>"$TMP/compute.err" ||
    die "bench/compute.sh (its output: $TMP/compute.out, $TMP/compute.err)"
  section_done compute
fi

# ---- 8. containers -----------------------------------------------------------------------
# bench/containers.sh starts its own daemon (no mount) and spawns bare bwrap sandboxes as its
# baseline. It writes bench/results/containers.md and containers.json; the report embeds them.
if [[ $SKIP_CONTAINERS != 1 ]]; then
  stop_daemon "$MNT"
  log "containers: bench/containers.sh ($RUNS runs)"
  RUNS=$RUNS AGENT9_BIN=$AGENT9_BIN BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP \
    CONTAINERS_HEADING="###" CONTAINERS_BODY_OUT=$TMP/containers_body.md \
    bash "$HERE/containers.sh" >"$TMP/containers.out" 2>"$TMP/containers.err" ||
    die "bench/containers.sh (its output: $TMP/containers.out, $TMP/containers.err)"
  section_done containers
fi

# ---- 9. pinned, one core -----------------------------------------------------------------
# bench/pinned.sh starts its own daemon, fuse_baseline (single-threaded and multi-threaded)
# and httplib_hello, all pinned to CPU PIN_CPU with their clients; with PROFILE=1 it then
# profiles the pinned loads (perf). It writes bench/results/pinned.md and pinned.json (and
# profile-*.txt); the report embeds them and its targets join the list below.
if [[ $SKIP_PINNED != 1 ]]; then
  stop_daemon "$MNT"
  log "pinned: bench/pinned.sh (CPU $PIN_CPU, $RUNS runs$( [[ $PROFILE == 1 ]] && echo ', then the profiles'))"
  RUNS=$RUNS FUSE_SECS=$FUSE_SECS WRK_SECS=$WRK_SECS GOALS=$GOALS PIN_CPU=$PIN_CPU PROFILE=$PROFILE \
    AGENT9_BIN=$AGENT9_BIN BUILD_DIR=$BUILD_DIR OUT_DIR=$OUT_DIR KEEP_TMP=$KEEP_TMP \
    PINNED_HEADING="###" PINNED_BODY_OUT=$TMP/pinned_body.md PINNED_TARGETS_OUT=$TMP/pinned_targets.tsv \
    bash "$HERE/pinned.sh" >"$TMP/pinned.out" 2>"$TMP/pinned.err" ||
    die "bench/pinned.sh (its output: $TMP/pinned.out, $TMP/pinned.err)"
  section_done pinned
fi

# ---- report ------------------------------------------------------------------------------
machine_info
FSTYPE=$(df -PT "$TMP" | awk 'NR == 2 { print $2 }')
FUSEV=$(pkg-config --modversion fuse3)
HTTPLIBV=$(pkg-config --modversion cpp-httplib 2>/dev/null || echo '?')
SQLITEV=$(sqlite3 --version 2>/dev/null | awk '{ print $1 }' || echo '?')
SEND_BYTES=$(wc -c <"$TMP/send.answer")

fs_label() {  # fs_label MODE
  case $1 in
    read) echo "open+read+close" ;;
    stat) echo "stat" ;;
    ls) echo "ls -l goals/ (listings/s)" ;;
    create) echo "inbox create+write+close" ;;
  esac
}
# The baseline series of an HTTP row: http_base ENDPOINT CONNS hello|nginx
http_base() {
  local post=""
  [[ $1 == send ]] && post=_post
  echo "http.$3$post.c$2"
}
http_label() {  # http_label ENDPOINT
  case $1 in
    fs_status) echo "GET /v1/fs/agents/$READ_AGENT/status" ;;
    agent) echo "GET /v1/agents/$READ_AGENT" ;;
    send) echo "POST /v1/agents/<id>/send" ;;
  esac
}

# Targets (reported, never asserted); sections 1-3 are unpinned, section 9's come from pinned.sh.
targets_init
for c in "read 1" "read 2" "stat 1" "stat 2" "ls 1" "ls 2"; do
  read -r mode thr <<<"$c"
  target "FUSE $(fs_label "$mode"), $thr thread(s): agent9 / libfuse baseline" \
    "$(ratio "fs.$mode.t$thr.agent9" "fs.$mode.t$thr.fusebase")" ">=" 0.70 unpinned
done
for conns in 2 64; do
  target "HTTP $(http_label fs_status), $conns conns: agent9 / httplib hello req/s" \
    "$(ratio "http.fs_status.c$conns" "http.hello.c$conns")" ">=" 0.60 unpinned
done
target "HTTP $(http_label fs_status), 64 conns: p99 ms" "$(med http.fs_status.c64 5)" "<" 10 unpinned
target "Durable enqueue (POST send), 64 clients: agent9 / raw SQLite autocommit msgs/s" \
  "$(ratio enqueue.c64 sqlite.autocommit)" ">=" 3 unpinned
if [[ $SKIP_PINNED != 1 ]]; then cat "$TMP/pinned_targets.tsv" >>"$TARGETS"; fi

TOTAL_SECS=0
for n in "${SECT_ORDER[@]}"; do TOTAL_SECS=$((TOTAL_SECS + SECT_SECS[$n])); done
sect_line() {
  local n out=""
  for n in "${SECT_ORDER[@]}"; do out+="$n ${SECT_SECS[$n]} s, "; done
  printf '%stotal %s s' "$out" "$TOTAL_SECS"
}

mkdir -p "$OUT_DIR"
MD=$OUT_DIR/latest.md
{
  echo "# agent9 benchmark"
  echo
  echo "$WHEN · agent9 $REV ($DIRTY uncommitted files outside bench/) · Release build"
  echo
  echo "Machine: $NPROC CPUs, $CPU, $MEM RAM, $KERNEL; data dir on $FSTYPE; libfuse $FUSEV, cpp-httplib $HTTPLIBV, nginx ${NGINX_VERSION:-none}, SQLite $SQLITEV. Load average (1 min) at start $LOAD_START, at end $LOAD_END (the bench itself adds up to ~2)."
  echo
  echo "Every figure: median of $RUNS runs (min–max). Ratios are of medians. Wall time per section: $(sect_line)."
  echo
  echo "## Targets (sections 1–3$([[ $SKIP_PINNED == 1 ]] || echo ' and 9'); reported, never asserted)"
  echo
  md_targets "$TARGETS"
  echo
  echo "## 1. FUSE, ops/s, ${FUSE_SECS} s per run, unpinned"
  echo
  echo "- open+read+close, stat: \`agents/$READ_AGENT/status\` ($STATUS_BYTES bytes)."
  echo "- ls -l: \`agents/$READ_AGENT/goals/\`, $GOALS goals of $GOAL_BYTES bytes; one op is one listing: opendir, readdir to the end, lstat of every entry by its full path, closedir (\`ls -l\` without its xattr probes)."
  echo "- inbox: open(O_CREAT|O_EXCL|O_WRONLY) of a new name in a fresh agent's \`inbox/\` + one write of the $MSG_BYTES-byte message + close. agent9: each close returns once the message is committed (durable, synchronous=FULL); libfuse baseline: accepts and drops the bytes; tmpfs: a real file. Up to $CREATE_MAX_OPS files per run."
  echo
  echo "| operation | threads | agent9 | libfuse baseline | tmpfs | agent9 / libfuse | agent9 / tmpfs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    echo "| $(fs_label "$mode") | $thr | $(cell "$k.agent9") | $(cell "$k.fusebase") | $(cell "$k.tmpfs") | $(ratio "$k.agent9" "$k.fusebase") | $(ratio "$k.agent9" "$k.tmpfs") |"
  done
  echo
  if ((CREATE_FAILS == 0)); then
    echo "agent9 inbox: in every run the inbox held exactly one message per create closed without error."
  else
    echo "**agent9 inbox: in $CREATE_FAILS run(s) the inbox depth differed from the creates closed without error** (see the log)."
  fi
  echo "agent9 inbox creates / raw SQLite autocommit INSERTs (section 3): 64 threads $(ratio fs.create.t64.agent9 sqlite.autocommit), 1 thread $(ratio fs.create.t1.agent9 sqlite.autocommit). The 0.70× target is for the other rows: the baselines do not commit anything."
  echo
  echo "## 2. HTTP, wrk -t2 keep-alive, ${WRK_SECS} s per run, unpinned"
  echo
  echo "| request | conns | agent9 req/s | p50 / p99 ms | httplib hello req/s | p50 / p99 ms | nginx req/s | p50 / p99 ms | agent9 / hello | agent9 / nginx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for conns in 2 64; do
    for ep in fs_status agent send; do
      k=http.$ep.c$conns
      hb=$(http_base "$ep" "$conns" hello)
      nb=$(http_base "$ep" "$conns" nginx)
      if [[ -n $NGINX_URL ]]; then
        ncells="$(cell "$nb") | $(lat_cell "$nb")"
        nratio=$(ratio "$k" "$nb")
      else
        ncells="skipped | skipped"
        nratio="n/a"
      fi
      echo "| $(http_label "$ep") | $conns | $(cell "$k") | $(lat_cell "$k") | $(cell "$hb") | $(lat_cell "$hb") | $ncells | $(ratio "$k" "$hb") | $nratio |"
    done
  done
  echo
  echo "GET rows: both baselines answer with the $STATUS_BYTES status bytes. POST rows: wrk_send.lua's $MSG_BYTES-byte body, each agent9 run into a fresh agent; every agent9 202 is a durable commit, the baselines read the body and answer 202 with agent9's $SEND_BYTES-byte send answer, storing nothing. httplib hello: cpp-httplib tuned like agent9 (64 threads, TCP_NODELAY, keep-alive 100000)."
  if [[ -n $NGINX_URL ]]; then
    echo "nginx $NGINX_VERSION: its own config, 2 workers, access_log off, keepalive_requests 100000, sendfile, open_file_cache; GET serves a static file, POST is \`return 202\`."
  else
    echo "**nginx column skipped: $NGINX_SKIP.**"
  fi
  echo
  echo "## 3. Durable enqueue: POST /v1/agents/<id>/send ($MSG_BYTES-byte body, $ENV_BYTES-byte envelope), ${WRK_SECS} s per run, unpinned"
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
  if [[ $SKIP_SCALE != 1 ]]; then
    echo
    echo "## 5. Scale: $(fmt_int "$SCALE") hibernated agents (bench/scale.sh; also in scale.md)"
    echo
    # scale.md without its title, one heading level down
    sed '1d; s/^## /### /' "$OUT_DIR/scale.md"
  fi
  if [[ $SKIP_IDENTITY != 1 ]]; then
    echo
    echo "## 6. Identity and Nostr (bench/identity.sh; also in identity.md)"
    echo
    cat "$TMP/identity_body.md"
  fi
  if [[ $SKIP_COMPUTE != 1 ]]; then
    echo
    echo "## 7. Compute jobs (bench/compute.sh; also in compute.md)"
    echo
    cat "$TMP/compute_body.md"
  fi
  if [[ $SKIP_CONTAINERS != 1 ]]; then
    echo
    echo "## 8. Containers (bench/containers.sh; also in containers.md)"
    echo
    cat "$TMP/containers_body.md"
  elif [[ -n $CONTAINERS_NOTE ]]; then
    echo
    echo "$CONTAINERS_NOTE."
  fi
  if [[ $SKIP_PINNED != 1 ]]; then
    echo
    echo "## 9. Pinned, one core: daemon, clients and baselines on CPU $PIN_CPU (bench/pinned.sh; also in pinned.md)"
    echo
    cat "$TMP/pinned_body.md"
  fi
} >"$MD"

# JSON: every series with its runs and summary, plus the ratios and the targets.
JSON=$OUT_DIR/latest.json
{
  printf '{\n  "when": "%s",\n  "revision": "%s",\n  "dirty_files": %s,\n' "$WHEN" "$REV" "$DIRTY"
  printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "memory": "%s", "fs": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
    "$NPROC" "$CPU" "$KERNEL" "$MEM" "$FSTYPE" "$LOAD_START" "$LOAD_END"
  printf '  "settings": {"runs": %s, "fuse_secs": %s, "wrk_secs": %s, "sqlite_secs": %s, "status_bytes": %s, "envelope_bytes": %s, "message_bytes": %s, "send_answer_bytes": %s, "goals": %s, "goal_bytes": %s, "create_max_ops": %s, "nginx": %s, "nginx_skipped": %s},\n' \
    "$RUNS" "$FUSE_SECS" "$WRK_SECS" "$SQLITE_SECS" "$STATUS_BYTES" "$ENV_BYTES" "$MSG_BYTES" "$SEND_BYTES" \
    "$GOALS" "$GOAL_BYTES" "$CREATE_MAX_OPS" "$(jstr "$NGINX_VERSION")" "$(jstr "$NGINX_SKIP")"
  printf '  "section_secs": {'
  sep=""
  for n in "${SECT_ORDER[@]}"; do printf '%s"%s": %s' "$sep" "$n" "${SECT_SECS[$n]}"; sep=", "; done
  printf '%s"total": %s},\n' "$sep" "$TOTAL_SECS"
  printf '  "units": {"fs.read.*, fs.stat.*": "ops/s", "fs.ls.*": "listings/s (opendir + readdir + lstat of every entry + closedir)", "fs.create.*": "files created+written+closed /s (agent9: acknowledged durable messages/s)", "fs.create.*.agent9.depth": "messages in the inbox after the run", "http.*": "requests/s (2xx)", "http.*_post.*": "POST requests/s answered 202", "enqueue.c*": "acknowledged messages/s", "deep.sN": "acknowledged messages/s in 1 s slice N", "*.depth": "messages", "deep.status": "requests/s", "sqlite.autocommit": "inserts/s"},\n'
  printf '  "series": {\n'
  json_series unpinned
  printf '  },\n  "ratios": {\n'
  sep=""
  for c in "${FS_CASES[@]}"; do
    read -r mode thr <<<"$c"
    k=fs.$mode.t$thr
    printf '%s    "%s.agent9/fusebase": %s,\n    "%s.agent9/tmpfs": %s' "$sep" "$k" "$(jnum "$(ratio "$k.agent9" "$k.fusebase")")" "$k" "$(jnum "$(ratio "$k.agent9" "$k.tmpfs")")"
    sep=$',\n'
  done
  printf ',\n    "fs.create.t64.agent9/sqlite.autocommit": %s,\n    "fs.create.t1.agent9/sqlite.autocommit": %s' \
    "$(jnum "$(ratio fs.create.t64.agent9 sqlite.autocommit)")" "$(jnum "$(ratio fs.create.t1.agent9 sqlite.autocommit)")"
  for conns in 2 64; do
    for ep in fs_status agent send; do
      hb=$(http_base "$ep" "$conns" hello)
      nb=$(http_base "$ep" "$conns" nginx)
      # <row>/hello and <row>/nginx; for send the baselines' POST series
      printf ',\n    "http.%s.c%s/hello": %s' "$ep" "$conns" "$(jnum "$(ratio "http.$ep.c$conns" "$hb")")"
      printf ',\n    "http.%s.c%s/nginx": %s' "$ep" "$conns" "$(jnum "$(ratio "http.$ep.c$conns" "$nb")")"
    done
  done
  printf ',\n    "enqueue.c64/sqlite.autocommit": %s,\n    "enqueue.c1/sqlite.autocommit": %s\n  },\n' \
    "$(jnum "$(ratio enqueue.c64 sqlite.autocommit)")" "$(jnum "$(ratio enqueue.c1 sqlite.autocommit)")"
  printf '  "targets": ['
  json_targets "$TARGETS"
  printf '\n  ]'
  if [[ $SKIP_TICKS != 1 ]]; then
    printf ',\n  "ticks": '
    cat "$OUT_DIR/ticks.json"
  fi
  if [[ $SKIP_SCALE != 1 ]]; then
    printf ',\n  "scale": '
    cat "$OUT_DIR/scale.json"
  fi
  if [[ $SKIP_IDENTITY != 1 ]]; then
    printf ',\n  "identity": '
    cat "$OUT_DIR/identity.json"
  fi
  if [[ $SKIP_COMPUTE != 1 ]]; then
    printf ',\n  "compute": '
    cat "$OUT_DIR/compute.json"
  fi
  if [[ $SKIP_CONTAINERS != 1 ]]; then
    printf ',\n  "containers": '
    cat "$OUT_DIR/containers.json"
  fi
  if [[ $SKIP_PINNED != 1 ]]; then
    printf ',\n  "pinned": '
    cat "$OUT_DIR/pinned.json"
  fi
  printf '\n}\n'
} >"$JSON"

cat "$MD"
log "wrote $MD and $JSON"
