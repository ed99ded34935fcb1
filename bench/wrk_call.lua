-- wrk script for bench/identity.sh: every request is a POST of the same body (the call's
-- request, read from the file given after --) to the call file in the URL, e.g.
-- /v1/fs/agents/a/identity/sign; the token comes from wrk -H. Each 200 is one call answered.
-- Prints one machine-readable summary line (latencies in microseconds; status_errors counts
-- answers >= 400).
local req

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/octet-stream"
  req = wrk.format("POST", nil, nil, body)
end

function request()
  return req
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
