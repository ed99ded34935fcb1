-- wrk script for bench/scale.sh: creates agents through the real API, or (second pass)
-- hibernates them. Each wrk thread owns a contiguous block of ids, so ids are unique across
-- threads and connections. A thread that has had an answer for every id of its block writes
-- DONE_DIR/<tid> ("<ok> <failed>") and stops; scale.sh waits for every thread's file, then
-- ends wrk with SIGINT (wrk itself would run until -d).
--
-- Arguments (after --): MODE TOTAL PREFIX THREADS DONE_DIR
--   MODE      create: POST /v1/agents {"id":"<prefix><n>"}       (201)
--             hibernate: POST /v1/agents/<prefix><n>/hibernate  (200)
--   TOTAL     ids <prefix>00000000 .. TOTAL-1 (8 digits, so id order = numeric order),
--             split evenly over the threads
--   THREADS   wrk's -t (setup() cannot know how many threads there will be)
-- Prints "RESULT ok=<n> failed=<n> ..." (ok = 2xx answers to create/hibernate requests).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local mode, prefix, done_dir
local first, last, nextn = 0, -1, 0
local answered, block = 0, 0
local warmed = false
ok, failed = 0, 0

function init(args)
  mode = args[1] or "create"
  local total = tonumber(args[2] or "0")
  prefix = args[3] or "s"
  local nthreads = tonumber(args[4] or "1")
  done_dir = args[5]
  local per = math.floor(total / nthreads)
  first = tid * per
  last = (tid == nthreads - 1) and (total - 1) or (first + per - 1)
  nextn = first
  block = last - first + 1
  -- wrk.format(method, path, headers) would replace wrk.headers (and -H's token) wholesale.
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  -- wrk calls request() once on thread 0's state to check the script, without sending the
  -- result: the first call of every thread returns a no-op, so no id is lost to that check.
  if not warmed then
    warmed = true
    return wrk.format("GET", "/v1/healthz")
  end
  if nextn > last then
    -- Block sent; other connections still wait for answers. Nothing is created by this.
    return wrk.format("GET", "/v1/healthz")
  end
  local id = string.format("%s%08d", prefix, nextn)
  nextn = nextn + 1
  if mode == "hibernate" then
    return wrk.format("POST", "/v1/agents/" .. id .. "/hibernate", nil, "")
  end
  return wrk.format("POST", "/v1/agents", nil, '{"id":"' .. id .. '"}')
end

function response(status, headers, body)
  if answered >= block then return end  -- healthz answers after the block
  if body ~= nil and string.sub(body, 1, 11) == '{"ok":true}' then return end
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    failed = failed + 1
  end
  if answered == block then
    if done_dir then
      local f = io.open(done_dir .. "/" .. tid, "w")
      if f then
        f:write(ok, " ", failed, "\n")
        f:close()
      end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_ok, total_failed = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + (t:get("ok") or 0)
    total_failed = total_failed + (t:get("failed") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d failed=%d requests=%d duration_us=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    total_ok, total_failed, summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
