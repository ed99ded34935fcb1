#!/usr/bin/env bash
# What an exec program gets (DESIGN 5.1): AGENT9_AGENT_ID, AGENT9_URL with an agent-scoped
# AGENT9_TOKEN, and the agent-local view bound at /agent (AGENT9_ROOT) inside the sandbox,
# while the daemon's global mount stays out of the sandbox's sight. The scenario lives under
# /var/tmp so its mounts are not hidden by the sandbox's private /tmp anyway.
export TMPDIR=/var/tmp
source "$(dirname "$0")/lib/common.sh"
need_fuse
command -v curl >/dev/null || skip "no curl"

GLOBAL=$(a9_mountpoint global)
VIEW=$(a9_mountpoint probe-view)
PROG="$A9_ROOT/probe.sh"
cat >"$PROG" <<PROBE
#!/bin/sh
input=\$(cat)
case "\$input" in *'"type":"message"'*) ;; *) echo '{}'; exit 0 ;; esac
root_ok=no; grep -q '"id": "probe"' "\$AGENT9_ROOT/status" && root_ok=yes
goal=no; echo '{"description":"written from the sandbox"}' > "\$AGENT9_ROOT/goals/sb.json" && goal=yes
config=denied; echo '{"kind":"none"}' > "\$AGENT9_ROOT/config" 2>/dev/null && config=written
self=\$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer \$AGENT9_TOKEN" "\$AGENT9_URL/v1/fs/agents/\$AGENT9_AGENT_ID/status")
other=\$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer \$AGENT9_TOKEN" "\$AGENT9_URL/v1/fs/agents/other/status")
global=\$(ls -A "$GLOBAL" 2>/dev/null | wc -l)
printf '{"reply":{"id":"%s","root":"%s","root_ok":"%s","goal":"%s","config":"%s","self":"%s","other":"%s","global_entries":%d}}\n' \
  "\$AGENT9_AGENT_ID" "\$AGENT9_ROOT" "\$root_ok" "\$goal" "\$config" "\$self" "\$other" "\$global"
PROBE
chmod +x "$PROG"

# --mount-agent needs the agent to exist: create it, then restart with the mounts.
a9_start
h_code POST /v1/agents "$A9_TOKEN" \
  "{\"id\":\"probe\",\"kind\":\"exec\",\"config\":{\"kind\":\"exec\",\"program\":\"$PROG\",\"network\":true}}" >/dev/null
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"other"}')" "create other"
a9_stop
a9_start --mount "$GLOBAL" --mount-agent "probe=$VIEW"
[ -n "$(ls -A "$GLOBAL/agents")" ] || fail "the global mount is empty on the host"

expect_eq 202 "$(h_code POST /v1/agents/probe/send "$A9_TOKEN" 'probe')" "send"
for _ in $(seq 1 200); do
  [ "$(h_code GET /v1/fs/agents/probe/outbox/1.json)" = 200 ] && break; sleep 0.05
done
reply=$(h_get /v1/fs/agents/probe/outbox/1.json)
expect_contains "$reply" '"id":"probe"' "AGENT9_AGENT_ID"
expect_contains "$reply" '"root":"/agent"' "AGENT9_ROOT is /agent in the sandbox"
expect_contains "$reply" '"root_ok":"yes"' "the program read its status through /agent"
expect_contains "$reply" '"goal":"yes"' "the program wrote a goal through /agent"
expect_contains "$reply" '"config":"denied"' "the agent view refuses config writes"
expect_contains "$reply" '"self":"200"' "AGENT9_TOKEN reads its own files over AGENT9_URL"
expect_contains "$reply" '"other":"403"' "AGENT9_TOKEN cannot reach another agent"
expect_contains "$reply" '"global_entries":0' "the global mount is hidden in the sandbox"
expect_contains "$(h_get /v1/fs/agents/probe/goals/sb.json)" 'written from the sandbox' "goal landed"
expect_contains "$(h_get /v1/fs/agents/probe/config)" '"kind": "exec"' "config unchanged"
# The program token is never stored or logged.
tok_hits=$( (grep -rl 'a9p_' "$A9_DATA" "$A9_ERR" 2>/dev/null || true) | wc -l)
expect_eq 0 "$tok_hits" "program tokens in the data dir or the log"
pass
