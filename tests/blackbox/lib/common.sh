# Shared helpers for black-box scenarios: each scenario starts its own daemon on a free port
# with a private data dir and (optionally) a private FUSE mountpoint, and cleans up on exit.
# Exit 77 = skipped (no /dev/fuse). Source this file; AGENT9_BIN must name the binary.
set -euo pipefail

: "${AGENT9_BIN:?AGENT9_BIN must point at the agent9 binary}"
A9_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/agent9-bb-XXXXXX")
A9_PIDS=()

_a9_cleanup() {
  local pid m
  for pid in "${A9_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${A9_PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Every FUSE mount under this scenario's root, read from /proc/mounts: a list kept by
  # a9_mountpoint would be empty here, as `M=$(a9_mountpoint mnt)` runs it in a subshell,
  # and a daemon killed with -9 leaves its mount behind (ENOTCONN) for us to detach.
  while read -r m; do
    fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v r="$A9_ROOT/" 'index($2, r) == 1 && $3 ~ /^fuse/ { print $2 }' /proc/mounts)
  rm -rf "$A9_ROOT" 2>/dev/null || true
}
trap _a9_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "PASS: $(basename "$0")"; exit 0; }

need_fuse() {
  [ -e /dev/fuse ] || skip "no /dev/fuse"
  command -v fusermount3 >/dev/null || skip "no fusermount3"
}

expect_eq() {  # expect_eq WANT GOT [what]
  [ "$1" == "$2" ] || fail "${3:-value}: want [$1], got [$2]"
}
expect_contains() {  # expect_contains HAYSTACK NEEDLE [what]
  case "$1" in *"$2"*) ;; *) fail "${3:-output} does not contain [$2]: [$1]" ;; esac
}
# expect_fail CMD...: the command must fail (non-zero exit).
expect_fail() { if "$@" 2>/dev/null; then fail "expected failure: $*"; fi; }

# a9_start [serve args...]: starts a daemon with data dir $A9_DATA (fresh unless already set)
# and waits until it listens. Sets A9_PID, A9_URL, AGENT9_SERVER, AGENT9_DATA, A9_TOKEN.
a9_start() {
  A9_DATA=${A9_DATA:-$A9_ROOT/data}
  mkdir -p "$A9_DATA"
  local out="$A9_ROOT/daemon.$RANDOM.out"
  : > "$out"
  "$AGENT9_BIN" serve --data "$A9_DATA" --listen 127.0.0.1:0 "$@" >"$out" 2>"$out.err" &
  A9_PID=$!
  A9_PIDS+=("$A9_PID")
  local i
  for i in $(seq 1 200); do
    if grep -q '^listening http://' "$out"; then break; fi
    if ! kill -0 "$A9_PID" 2>/dev/null; then
      cat "$out.err" >&2; fail "daemon exited during start"
    fi
    sleep 0.05
  done
  grep -q '^listening http://' "$out" || { cat "$out.err" >&2; fail "daemon did not listen in 10 s"; }
  A9_URL=$(sed -n 's/^listening \(http:\/\/.*\)$/\1/p' "$out" | head -1)
  export AGENT9_SERVER="$A9_URL" AGENT9_DATA="$A9_DATA"
  A9_TOKEN=$(cat "$A9_DATA/admin.token")
  A9_ERR="$out.err"
}

# a9_mountpoint NAME: a fresh directory to mount on (cleanup detaches whatever is mounted
# under $A9_ROOT).
a9_mountpoint() {
  local m="$A9_ROOT/$1"
  mkdir -p "$m"
  echo "$m"
}

# a9_stop: SIGTERM and wait (the daemon unmounts and closes the database).
a9_stop() {
  kill -TERM "$A9_PID"
  for _ in $(seq 1 100); do kill -0 "$A9_PID" 2>/dev/null || return 0; sleep 0.1; done
  fail "daemon did not stop within 10 s of SIGTERM"
}

# a9_kill9: kill -9 and wait for the process to be gone.
a9_kill9() {
  kill -KILL "$A9_PID"
  wait "$A9_PID" 2>/dev/null || true
}

# curl wrappers. h_get PATH [TOKEN]: body on stdout; h_code METHOD PATH [TOKEN] [DATA]: status.
h_get() {
  curl -sS --fail-with-body -H "Authorization: Bearer ${2:-$A9_TOKEN}" "$A9_URL$1"
}
h_code() {
  local method=$1 path=$2 token=${3-$A9_TOKEN} data=${4-}
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  if [ -n "$data" ]; then
    curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -X "$method" "${auth[@]}" \
      --data-binary "$data" "$A9_URL$path"
  else
    curl -sS -o "$A9_ROOT/last_body" -w '%{http_code}' -X "$method" "${auth[@]}" "$A9_URL$path"
  fi
}
last_body() { cat "$A9_ROOT/last_body"; }
# wait_for PATH NEEDLE: polls GET PATH (10 s) until its body contains NEEDLE.
wait_for() {  # wait_for PATH NEEDLE
  for _ in $(seq 1 200); do
    case "$(h_get "$1" 2>/dev/null)" in *"$2"*) return 0 ;; esac
    sleep 0.05
  done
  fail "$1 never contained [$2]: $(h_get "$1" 2>&1)"
}

# errno_of CMD...: runs a shell snippet and prints the errno name in its stderr (ENOENT,
# EACCES, EINVAL, ...) as reported by the shell/coreutils message.
errno_class() {
  case "$1" in
    *"No such file or directory"*) echo ENOENT ;;
    *"Permission denied"*) echo EACCES ;;
    *"Invalid argument"*) echo EINVAL ;;
    *"File exists"*) echo EEXIST ;;
    *"Operation not supported"*) echo EOPNOTSUPP ;;
    *"Is a directory"*) echo EISDIR ;;
    *"Not a directory"*) echo ENOTDIR ;;
    *"Resource temporarily unavailable"*) echo EAGAIN ;;
    *) echo "OTHER($1)" ;;
  esac
}
