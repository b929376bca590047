-- One checkout after another on each connection (run with one thread per connection):
-- placeOrder of a cart of random SKUs, then payOrder of that order, with idempotency keys
-- unique per request (prefix, start time, thread, count). args: place template, pay
-- template, line items file (one JSON item per line), tokens file (one member token per
-- line), place path, pay path, tenant, key prefix, lines per cart. Templates hold %LINES%,
-- %KEY% and %ID%.
dofile("report.lua")

placed, paid, failed, sample = 0, 0, 0, ""
local place, pay, items, place_path, pay_path, nonce, per_cart
local headers, pending, sent = nil, nil, 0

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function lines_of(path)
  local out = {}
  for line in read(path):gmatch("[^\n]+") do
    table.insert(out, line)
  end
  return out
end

function init(args)
  place, pay, items = read(args[1]), read(args[2]), lines_of(args[3])
  local tokens = lines_of(args[4])
  place_path, pay_path, per_cart = args[5], args[6], tonumber(args[9])
  nonce = args[8] .. "-" .. os.time()
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(id - 1) % #tokens + 1],
    ["X-Tenant"] = args[7],
  }
  math.randomseed(id * 7919 + os.time())
end

local function cart()
  local order, picked = {}, {}
  for k = 1, #items do
    order[k] = k
  end
  for k = 1, per_cart do
    local j = math.random(k, #items)
    order[k], order[j] = order[j], order[k]
    picked[k] = items[order[k]]
  end
  return table.concat(picked, ",")
end

function request()
  sent = sent + 1
  local key = nonce .. "-" .. id .. "-" .. sent
  if pending then
    local body = pay:gsub("%%KEY%%", key):gsub("%%ID%%", pending)
    return wrk.format("POST", pay_path, headers, body)
  end
  local body = place:gsub("%%KEY%%", key):gsub("%%LINES%%", cart())
  return wrk.format("POST", place_path, headers, body)
end

local function fail(body)
  failed = failed + 1
  if sample == "" then
    sample = body:sub(1, 300)
  end
end

function response(status, response_headers, body)
  if pending then
    pending = nil
    -- statuses are enums (PAID) since the frontend API round; older servers said paid
    local now = status == 200 and body:match('"status":"(%a+)"')
    if now and now:lower() == "paid" then
      paid = paid + 1
    else
      fail(body)
    end
    return
  end
  local order, state = nil, nil
  if status == 200 then
    order, state = body:match('"order":{"id":"([^"]+)","status":"([%a_]+)"')
  end
  if order and state:lower() == "pending_payment" then
    placed = placed + 1
    pending = order
  else
    fail(body)
  end
end

function done(summary, latency, requests)
  report(summary, latency, { "placed", "paid", "failed" })
  for _, t in ipairs(threads) do
    local text = t:get("sample")
    if text and text ~= "" then
      io.write("FAILED " .. text:gsub("\n", " ") .. "\n")
      break
    end
  end
end
