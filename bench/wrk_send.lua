-- wrk script for the durable-enqueue benchmark: every request is
-- POST /v1/agents/<id>/send with a 64-byte text body (each one becomes one queued message;
-- no id, so nothing is deduplicated). The token comes from wrk -H.
wrk.method = "POST"
wrk.body = "benchmark message 0123456789abcdef0123456789abcdef0123456789abcd"
wrk.headers["Content-Type"] = "text/plain"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
