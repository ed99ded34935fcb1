#!/usr/bin/env bash
# FUSE and HTTP are two views of one tree: the same bytes, the same error class.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
A=$(a9_mountpoint alice)
mkdir -p "$A9_ROOT/data"
a9_start --mount "$M"
h_code POST /v1/agents "$A9_TOKEN" '{"id":"alice"}' >/dev/null
ALICE_TOKEN=$(last_body | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
h_code POST /v1/agents "$A9_TOKEN" '{"id":"bob"}' >/dev/null
echo "one" > "$M/agents/alice/inbox/x"
echo '{"description":"parity","priority":3}' > "$M/agents/alice/goals/g.json"
echo '{"role":"user"}' > "$M/agents/alice/memory/conversations/c.jsonl"

same_bytes() {  # same_bytes PATH
  cat "$M$1" > "$A9_ROOT/fuse.out"
  curl -sS --fail -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs$1" > "$A9_ROOT/http.out"
  cmp -s "$A9_ROOT/fuse.out" "$A9_ROOT/http.out" || fail "bytes differ for $1"
}
for p in /agents/alice/config /agents/alice/state /agents/alice/inbox/1.json \
         /agents/alice/goals/g.json /agents/alice/memory/conversations/c.jsonl \
         /agents/alice/mounts /metrics; do
  same_bytes "$p"
done
# status holds no clock-dependent field that changes between two reads in one second,
# except uptime in /status; compare the agent status.
same_bytes /agents/alice/status

# Listings: the same names in the same order.
ls -U "$M/agents/alice" > "$A9_ROOT/fuse.ls"
h_get /v1/fs/agents/alice | grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/' > "$A9_ROOT/http.ls"
cmp -s "$A9_ROOT/fuse.ls" "$A9_ROOT/http.ls" || fail "listings differ: $(paste "$A9_ROOT/fuse.ls" "$A9_ROOT/http.ls")"

# Errors: ENOENT ~ 404, EINVAL ~ 400, EISDIR ~ 400, EOPNOTSUPP ~ 501.
err_pair() {  # err_pair ERRNO HTTP shell-snippet METHOD PATH [DATA]
  local want_errno=$1 want_http=$2 snippet=$3
  if bash -c "$snippet" 2>"$A9_ROOT/err"; then fail "FUSE: '$snippet' succeeded"; fi
  expect_eq "$want_errno" "$(errno_class "$(cat "$A9_ROOT/err")")" "FUSE $snippet"
  expect_eq "$want_http" "$(h_code "$4" "$5" "$A9_TOKEN" "${6:-}")" "HTTP $4 $5"
}
err_pair ENOENT 404 "cat $M/agents/alice/nope" GET /v1/fs/agents/alice/nope
err_pair ENOENT 404 "cat $M/agents/carol/status" GET /v1/fs/agents/carol/status
err_pair EINVAL 400 "echo '{\"priority\":1}' > $M/agents/alice/goals/g.json" PUT /v1/fs/agents/alice/goals/g.json '{"priority":1}'
err_pair EINVAL 400 "echo explode > $M/agents/alice/ctl" POST /v1/fs/agents/alice/ctl explode
err_pair EINVAL 400 "echo alarm soon > $M/agents/alice/ctl" POST /v1/fs/agents/alice/ctl 'alarm soon'
err_pair EINVAL 400 "echo tick > $M/agents/alice/ctl" POST /v1/fs/agents/alice/ctl tick
err_pair EISDIR 400 "echo x > $M/agents/alice/goals" PUT /v1/fs/agents/alice/goals x
err_pair EEXIST 409 "mkdir $M/agents/bob" POST /v1/agents '{"id":"bob"}'

# The agent-local view (FUSE, agent principal) and the agent token (HTTP) agree on EACCES/403.
a9_stop
a9_start --mount "$M" --mount-agent "alice=$A"
if { echo '{"kind":"echo"}' > "$A/config"; } 2>"$A9_ROOT/err"; then fail "agent wrote its config"; fi
expect_eq EACCES "$(errno_class "$(cat "$A9_ROOT/err")")" "agent config write errno"
expect_eq 403 "$(h_code PUT /v1/fs/agents/alice/config "$ALICE_TOKEN" '{"kind":"echo"}')" "agent config write http"
cat "$A/config" > "$A9_ROOT/fuse.out"
curl -sS --fail -H "Authorization: Bearer $ALICE_TOKEN" "$A9_URL/v1/fs/agents/alice/config" > "$A9_ROOT/http.out"
cmp -s "$A9_ROOT/fuse.out" "$A9_ROOT/http.out" || fail "agent view bytes differ"
pass
