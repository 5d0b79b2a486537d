-- wrk script for bench/referrals.sh: each request creates a new referral (its own client
-- reference and idempotency key), to a group drawn from WRK_GROUPS (comma-separated ids).

local token = os.getenv("WRK_TOKEN")
local groups = {}
for id in string.gmatch(os.getenv("WRK_GROUPS") or "", "[^,]+") do
  table.insert(groups, id)
end
if #groups == 0 then
  error("WRK_GROUPS is empty")
end

local query = "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id code } }"
local counter = 0

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = thread_id or 0
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  counter = counter + 1
  local key = string.format("bench-%d-%d-%d", thread_id, counter, math.random(1, 1e9))
  local group = groups[math.random(1, #groups)]
  local body = string.format(
    '{"query":"%s","variables":{"i":{"groupId":"%s","clientRef":"CLIENT-%s","channel":"PROFESSIONAL_REFERRAL","consentRecorded":true,"idempotencyKey":"%s"}}}',
    query, group, key, key)
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

responses = 0
failed = 0
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failed = failed + 1
    if failed <= 3 then
      io.write("failed response: " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("responses") or 0)
    bad = bad + (t:get("failed") or 0)
  end
  io.write(string.format("RESULT referrals/s %.1f  p50 %.2f ms  p99 %.2f ms  responses %d  failed %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, ok, bad))
end
