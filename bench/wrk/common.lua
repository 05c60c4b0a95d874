-- Shared by the wrk scripts of bench/api.sh: per-thread status counts and the summary
-- line printed by done():
--   wrk-summary requests=N duration_s=S rps=R p50_us= p95_us= p99_us= max_us= mean_us=
--     expected=N unexpected_2xx=N non2xx=N statuses=CODE:N,... socket_errors=N
--     (connect/read/write/timeout as well) min_counter=N
-- `expected` is the status a scenario expects (a global the script sets in init()):
-- other 2xx answers are unexpected_2xx, anything else non2xx. min_counter is the fewest
-- requests any thread generated (query.lua holders uses it to pick users that hold).
local M = {}

-- "a,b,c" -> { "a", "b", "c" }
function M.split(list)
  local out = {}
  for item in list:gmatch("[^,]+") do out[#out + 1] = item end
  return out
end

function M.init_counts()
  statuses = {}
end

function M.response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- The threads wrk set up, in order; each learns its id (0, 1, ...) through a global set
-- on it, since setup() runs in an environment of its own before the thread starts.
-- A script assigns `setup = common.setup`.
M.threads = {}
function M.setup(thread)
  M.threads[#M.threads + 1] = thread
  thread:set("id", #M.threads - 1)
end

function M.done(summary, latency)
  local threads = M.threads
  local totals, min_counter = {}, nil
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses") or {}) do totals[status] = (totals[status] or 0) + count end
    local c = t:get("counter") or 0
    if min_counter == nil or c < min_counter then min_counter = c end
  end
  local expected = threads[1] and threads[1]:get("expected") or 200
  local ok, other_2xx, non2xx, parts, codes = 0, 0, 0, {}, {}
  for status in pairs(totals) do codes[#codes + 1] = status end
  table.sort(codes)
  for _, status in ipairs(codes) do
    local count = totals[status]
    parts[#parts + 1] = status .. ":" .. count
    if status == expected then
      ok = ok + count
    elseif status >= 200 and status < 300 then
      other_2xx = other_2xx + count
    else
      non2xx = non2xx + count
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "wrk-summary requests=%d duration_s=%.3f rps=%.1f p50_us=%d p95_us=%d p99_us=%d max_us=%d mean_us=%.0f "
      .. "expected=%d unexpected_2xx=%d non2xx=%d statuses=%s socket_errors=%d connect=%d read=%d write=%d "
      .. "timeout=%d min_counter=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, ok, other_2xx, non2xx,
    (#parts > 0 and table.concat(parts, ",") or "-"), e.connect + e.read + e.write + e.timeout, e.connect, e.read,
    e.write, e.timeout, min_counter or 0))
end

return M
