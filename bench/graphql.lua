-- wrk script of the benchmarks: POSTs GraphQL requests, one body or a rotation of bodies.
--
--   WRK_BODY_FILE=/path/bodies.jsonl [WRK_TOKEN=eyJ...] [WRK_THREADS=n] wrk -s bench/graphql.lua URL
--
-- WRK_BODY_FILE: one JSON request body per line (required). With one line, every request
--                sends it. With several (bench/peer.sh's Bvar), each thread sends them in
--                turn, round-robin, thread k starting at line 1 + (k - 1) * n / WRK_THREADS:
--                the same sequence whatever server is measured.
-- WRK_TOKEN:     bearer token (optional; PostGraphile gets none).
-- Every response is checked: a status other than 200, or a body with an "errors" entry, is
-- counted. `done` prints a RESULT line that the scripts parse.

local body_file = os.getenv("WRK_BODY_FILE")
if not body_file or body_file == "" then
  error("WRK_BODY_FILE is not set")
end
local bodies = {}
for line in io.lines(body_file) do
  if line ~= "" then
    table.insert(bodies, line)
  end
end
assert(#bodies > 0, "no request body in " .. body_file)

wrk.method = "POST"
wrk.body = bodies[1]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/graphql-response+json, application/json"
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Per-thread state (each wrk thread has its own Lua state).
responses = 0
bad_status = 0
gql_errors = 0
offset = 0

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads - 1)
end

if #bodies > 1 then
  local requests = {}
  local next_index = nil
  function init(args)
    -- wrk.format builds each request once; `request` then only picks one.
    for i, b in ipairs(bodies) do
      requests[i] = wrk.format(nil, nil, nil, b)
    end
    local nthreads = tonumber(os.getenv("WRK_THREADS") or "1") or 1
    next_index = math.floor(offset * #bodies / math.max(nthreads, 1)) % #bodies
  end
  function request()
    next_index = next_index % #requests + 1
    return requests[next_index]
  end
end

function response(status, headers, resp_body)
  responses = responses + 1
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif resp_body and string.find(resp_body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local checked, bad, errs = 0, 0, 0
  for _, t in ipairs(threads) do
    checked = checked + (t:get("responses") or 0)
    bad = bad + (t:get("bad_status") or 0)
    errs = errs + (t:get("gql_errors") or 0)
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  local ms = function(us) return us / 1000 end
  io.write(string.format(
    "latency  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (mean %.2f, stdev %.2f)\n",
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency.max), ms(latency.mean), ms(latency.stdev)))
  io.write(string.format(
    "checked %d responses: %d not 200, %d with GraphQL errors; socket errors: connect %d, read %d, write %d, timeout %d\n",
    checked, bad, errs, e.connect, e.read, e.write, e.timeout))
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non200=%d gql_errors=%d socket_errors=%d\n",
    summary.requests, summary.requests / secs,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max),
    bad, errs, e.connect + e.read + e.write + e.timeout))
end
