-- GETs of the URL's path, except every args[3]-th request, which GETs args[1] .. n ..
-- args[2] with n unique to the run, thread and request (a response-cache miss). Counts
-- responses served from the cache (header X-Yutang-Cache: hit). args[4..]: "Name: value".
dofile("report.lua")

hits = 0
local hit, prefix, suffix, every, nonce, sent

function init(args)
  prefix, suffix, every = args[1], args[2], tonumber(args[3])
  local headers = {}
  for k = 4, #args do
    local name, value = args[k]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  hit = wrk.format("GET", nil, headers)
  wrk.headers = headers
  nonce, sent = os.time() * 1000 + id, 0
end

function request()
  sent = sent + 1
  if sent % every == 0 then
    return wrk.format("GET", prefix .. nonce .. "-" .. sent .. suffix)
  end
  return hit
end

function response(status, headers, body)
  if headers["x-yutang-cache"] == "hit" then
    hits = hits + 1
  end
end

function done(summary, latency, requests)
  report(summary, latency, { "hits" })
end
