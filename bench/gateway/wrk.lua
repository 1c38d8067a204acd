-- wrk script for bench/gateway/run.sh. Everything comes from the environment so that no secret is on wrk's
-- command line:
--   BENCH_METHOD         GET (default) or POST
--   BENCH_BODY_BYTES     POST body size in bytes (0 = no body)
--   BENCH_AUTHORIZATION  value of the Authorization header (gateway runs)
--   BENCH_IDENTITY       value of the X-Heady-Identity header (direct runs: what the gateway would add)
-- The request is built once (no request() function), so the script adds no per-request Lua cost.
-- done() prints one machine-readable line that run.sh parses:
--   BENCH_RESULT rps=.. p50_ms=.. p99_ms=.. requests=.. non2xx=.. socket_errors=.. bytes_read=..

local function env(name)
  local v = os.getenv(name)
  if v ~= nil and v ~= "" then
    return v
  end
  return nil
end

wrk.method = env("BENCH_METHOD") or "GET"
wrk.headers["User-Agent"] = "headyclouds-bench/1 (wrk)"
wrk.headers["Accept"] = "application/json"

local bytes = tonumber(env("BENCH_BODY_BYTES") or "0")
if bytes > 0 then
  wrk.body = string.rep("b", bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

if env("BENCH_AUTHORIZATION") then
  wrk.headers["Authorization"] = env("BENCH_AUTHORIZATION")
end
if env("BENCH_IDENTITY") then
  wrk.headers["X-Heady-Identity"] = env("BENCH_IDENTITY")
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d bytes_read=%d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.requests,
    e.status,
    e.connect + e.read + e.write + e.timeout,
    summary.bytes))
end
