-- wrk script for bench/identity.sh: every request is POST .../nostr/publish (the URL) with a
-- kind-1 event template whose content is new in every request (so every event has a new id:
-- a relay answers a repeated id as a duplicate, which costs it nothing). The token comes from
-- wrk -H. Arguments (after --): a tag unique to the run. A 200 whose answer has a relay with
-- "ok":false (refused, timeout, not connected) is counted in refused, not in ok.
-- Prints "RESULT ok=<n> refused=<n> requests=... p50_us=... p99_us=..." (latencies in us).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tag, n = "", 0
ok, refused = 0, 0

function init(args)
  tag = (args[1] or "run") .. "-" .. tid
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  return wrk.format("POST", nil, nil,
    '{"kind":1,"content":"bench ' .. tag .. ' ' .. n .. '","tags":[]}')
end

function response(status, headers, body)
  if status == 200 and body ~= nil and string.find(body, '"ok":%s*true') and
     not string.find(body, '"ok":%s*false') then
    ok = ok + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_refused = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + (t:get("ok") or 0)
    total_refused = total_refused + (t:get("refused") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d refused=%d requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    total_ok, total_refused, summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
