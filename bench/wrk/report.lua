-- Shared by the scripts: number the threads and print a run's figures as one JSON line
-- ("RESULT {...}") for bench/common.py, with counters summed over the threads.
threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function report(summary, latency, counters)
  local e = summary.errors
  local out = string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status)
  for _, name in ipairs(counters or {}) do
    local total = 0
    for _, t in ipairs(threads) do
      total = total + (t:get(name) or 0)
    end
    out = out .. string.format(',"%s":%d', name, total)
  end
  io.write(out .. "}\n")
end
