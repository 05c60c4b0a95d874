-- wrk script for bench/api.sh: the interactive queries, spread over the coupons.
--   wrk ... -s bench/wrk/query.lua URL -- coupon COUPONS
--       GET /api/coupons/{couponId}, cycling over COUPONS (a comma-separated list)
--   wrk ... -s bench/wrk/query.lua URL -- holders COUPONS TAG THREADS COUNT
--       GET /api/coupons/{couponId}/holders/{userId} for users that bench/wrk/issue.lua
--       issued with TAG, COUPONS and THREADS threads: request k of thread t (k random in
--       2 .. COUNT, t random in 0 .. THREADS-1), i.e. user TAG-t-k of coupon
--       COUPONS[(k * THREADS + t) % #COUPONS]. Not k = 1: wrk calls the first thread's
--       request() once before it starts (to check the script) and never sends that one.
-- 200 is expected for both (a 404 would be a holder the processor does not know).
-- done() prints the wrk-summary line of bench/wrk/common.lua.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup

local mode, coupons, tag, issue_threads, issued
local n = 0
counter = 0

function init(args)
  mode = args[1] or "coupon"
  coupons = common.split(args[2] or "c-0")
  tag = args[3]
  issue_threads = tonumber(args[4] or "1")
  issued = math.max(2, tonumber(args[5] or "2"))
  expected = 200
  common.init_counts()
  math.randomseed(1000 + 7919 * id)
  for _ = 1, 10 do math.random() end  -- close seeds start alike
end

function request()
  n = n + 1
  counter = n
  if mode == "holders" then
    local t = math.random(0, issue_threads - 1)
    local k = math.random(2, issued)
    local coupon = coupons[(k * issue_threads + t) % #coupons + 1]
    return wrk.format("GET", "/api/coupons/" .. coupon .. "/holders/" .. tag .. "-" .. t .. "-" .. k)
  end
  return wrk.format("GET", "/api/coupons/" .. coupons[(n * 7 + id) % #coupons + 1])
end

response = common.response

function done(summary, latency, requests)
  common.done(summary, latency)
end
