#!/usr/bin/env bash
# More agents than one page (1000): `ls` of agents/ over FUSE, the whole listing of
# GET /v1/fs/agents/ (streamed page by page), its pages, the /v1/agents walk and the runtime
# agent count all agree, entry by entry, in order; and the count survives a restart.
source "$(dirname "$0")/lib/common.sh"
need_fuse
M=$(a9_mountpoint mnt)
a9_start --mount "$M" --sync off

N=2300
seq -f 'm%05g' 1 "$N" > "$A9_ROOT/want"
(cd "$M/agents" && xargs -P 8 -n 100 mkdir < "$A9_ROOT/want") || fail "mkdir of $N agents"

# FUSE: every agent once, in id order.
ls -f "$M/agents" | grep -v '^\.\.\?$' > "$A9_ROOT/ls_f"
cmp -s "$A9_ROOT/want" "$A9_ROOT/ls_f" || fail "ls -f agents/ differs: $(diff "$A9_ROOT/want" "$A9_ROOT/ls_f" | head -5)"
expect_eq "$N" "$(ls "$M/agents" | wc -l)" "ls agents/ | wc -l"

names() { grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/'; }

# HTTP: the whole listing (more than a page: chunked) ...
curl -sS -D "$A9_ROOT/headers" -H "Authorization: Bearer $A9_TOKEN" "$A9_URL/v1/fs/agents/" \
  > "$A9_ROOT/whole.json"
expect_contains "$(tr -d '\r' < "$A9_ROOT/headers")" "Transfer-Encoding: chunked" "headers"
expect_eq "]" "$(tail -c 2 "$A9_ROOT/whole.json" | head -c 1)" "end of the listing"
names < "$A9_ROOT/whole.json" > "$A9_ROOT/whole"
cmp -s "$A9_ROOT/want" "$A9_ROOT/whole" || fail "GET /v1/fs/agents/ differs from the agents"

# ... is byte for byte the concatenation of its pages.
after=""; pages=0; : > "$A9_ROOT/paged"
while :; do
  curl -sS -D "$A9_ROOT/ph" -H "Authorization: Bearer $A9_TOKEN" \
    "$A9_URL/v1/fs/agents/?limit=1000${after:+&after=$after}" | names >> "$A9_ROOT/paged"
  pages=$((pages + 1))
  after=$(tr -d '\r' < "$A9_ROOT/ph" | sed -n 's/^X-Agent9-Next: //p')
  [ -n "$after" ] || break
  [ "$pages" -lt 10 ] || fail "paging does not end"
done
expect_eq 3 "$pages" "pages of 1000"
cmp -s "$A9_ROOT/want" "$A9_ROOT/paged" || fail "the pages differ from the agents"

# The control plane's list, walked by `next`.
after=""; : > "$A9_ROOT/api"
for _ in $(seq 1 10); do
  page=$(h_get "/v1/agents?limit=1000${after:+&after=$after}")
  grep -o '"id":"[^"]*"' <<<"$page" | sed 's/"id":"\(.*\)"/\1/' >> "$A9_ROOT/api"
  after=$(sed -n 's/.*"next":"\([^"]*\)".*/\1/p' <<<"$page")
  [ -n "$after" ] || break
done
cmp -s "$A9_ROOT/want" "$A9_ROOT/api" || fail "GET /v1/agents pages differ from the agents"

# The agent count (kept by the store, not counted per request) follows creates and deletes
# and survives a restart.
count() { h_get /v1/runtime | sed -n 's/.*"agents": *\([0-9]*\).*/\1/p'; }
expect_eq "$N" "$(count)" "agents in /v1/runtime"
rmdir "$M/agents/m00007"
expect_eq 204 "$(h_code DELETE /v1/agents/m00008)" "DELETE"
expect_eq $((N - 2)) "$(count)" "agents after two deletes"
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"zz-last"}')" "create"
expect_eq $((N - 1)) "$(count)" "agents after a create"
a9_stop
fusermount3 -uz "$M" 2>/dev/null || true
a9_start --mount "$M" --sync off
expect_eq $((N - 1)) "$(count)" "agents after a restart"
expect_eq $((N - 1)) "$(ls "$M/agents" | wc -l)" "ls agents/ after a restart"
pass
