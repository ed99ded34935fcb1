-- wrk script for bench/scale.sh: GETs of random agents, uniform over all of them.
-- Arguments (after --): WHAT N PREFIX
--   WHAT    fs_status: GET /v1/fs/agents/<id>/status    agent: GET /v1/agents/<id>
--   N       ids <prefix>00000000 .. N-1
-- The token comes from wrk -H. Prints one machine-readable line like wrk_report.lua (latency
-- values in microseconds; status_errors counts answers >= 400).

local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local what, n, prefix

function init(args)
  what = args[1] or "fs_status"
  n = tonumber(args[2] or "1")
  prefix = args[3] or "s"
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  local id = string.format("%s%08d", prefix, math.random(0, n - 1))
  if what == "agent" then
    return wrk.format("GET", "/v1/agents/" .. id)
  end
  return wrk.format("GET", "/v1/fs/agents/" .. id .. "/status")
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
