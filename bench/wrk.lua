-- wrk script of the benchmark: the requests come from a file the benchmark writes (one request
-- a line: METHOD, a tab, the path, and for a body a tab and the JSON), sent in turn on each
-- connection; every status is counted, so that errors are judged against the status the workload
-- expects (400 is the right answer to an invalid create), and done() prints one JSON line.

local requests = {}
local index = 0
counts = {}

-- BENCH_PACE_MS paces the load: after an answer each connection waits that long on average
-- before it sends its next request, so N connections offer about N * 1000 / pace requests a
-- second, below what the server could take. The wait is drawn from pace/2 to 3*pace/2: with one
-- fixed wait the connections, started together, would stay in step and arrive in bursts of N.
-- wrk decides from the main script (not from init) whether delay() exists, and times a request
-- from its first byte written: the wait is not in the latency.
local pace = math.floor(tonumber(os.getenv("BENCH_PACE_MS") or "0"))
if pace > 0 then
  function delay()
    local half = math.floor(pace / 2)
    return math.random(pace - half, pace + half)
  end
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    local headers = { ["X-Auth-Token"] = "bench" }
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  file:close()
  -- Threads start at different points of the list, so that rotating ids are spread out.
  index = math.random(#requests) - 1
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests_)
  local statuses = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "bytes": %d, "p50_us": %d, "p99_us": %d,'
      .. ' "mean_us": %.1f, "max_us": %d, "connect": %d, "read": %d, "write": %d,'
      .. ' "timeout": %d, "statuses": {%s}}\n',
    summary.duration, summary.requests, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write,
    e.timeout, table.concat(parts, ", ")))
end
