-- Many members hitting one mutation: each request is the body template of args[1] with
-- %KEY% replaced by an idempotency key unique per request (prefix, start time, thread,
-- count), sent as the next member of the tokens file args[2] in turn (threads start at
-- different members). args: body template, tokens file, tenant, key prefix, limit,
-- success pattern, refusal patterns ("|"-separated, plain text). A response holding the
-- success pattern counts as "ok", one holding a refusal pattern as "refused", anything
-- else as "failed". With a limit > 0 each thread stops after that many answered
-- requests (meanwhile its other connections send health checks, which are not counted)
-- and creates the file args[8], on which bench/common.py interrupts wrk (a stopped thread
-- does not end wrk's run). An optional file args[9] holds values (one a line) that
-- replace %TEAM% in turn, as the tokens do: with coprime counts of tokens and values,
-- a (member, value) pair repeats only after their product of requests. An optional file
-- args[10] carries the turn on from one run to the next (created if missing), so that
-- successive runs do not start over with the same pairs.
dofile("report.lua")

ok, refused, failed, sample = 0, 0, 0, ""
local template, tokens, tenant, nonce, quota, success, refusals, done_file, teams
local sent, answered = 0, 0
turn, state_file = 0, nil
local health

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  template = read(args[1])
  tokens = {}
  for line in read(args[2]):gmatch("[^\n]+") do
    table.insert(tokens, line)
  end
  tenant, nonce = args[3], args[4] .. "-" .. os.time()
  quota = tonumber(args[5])
  success = args[6]
  refusals = {}
  for text in args[7]:gmatch("[^|]+") do
    table.insert(refusals, text)
  end
  done_file = args[8]
  teams = {}
  if args[9] then
    for line in read(args[9]):gmatch("[^\n]+") do
      table.insert(teams, line)
    end
  end
  turn = (id - 1) * 7919
  if args[10] then
    local file = io.open(args[10], "rb")
    if file then
      turn = turn + (tonumber(file:read("*a")) or 0)
      file:close()
    end
    state_file = args[10]
  end
  health = wrk.format("GET", "/health")
end

function request()
  -- wrk calls request() of thread 1 once before the run, to check what it returns: that
  -- call's request is never sent, so thread 1 makes one more.
  if quota > 0 and sent >= quota + (id == 1 and 1 or 0) then
    return health
  end
  sent = sent + 1
  turn = turn + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(turn - 1) % #tokens + 1],
    ["X-Tenant"] = tenant,
  }
  local body = template:gsub("%%KEY%%", nonce .. "-" .. id .. "-" .. sent)
  if #teams > 0 then
    body = body:gsub("%%TEAM%%", teams[(turn - 1) % #teams + 1])
  end
  return wrk.format("POST", nil, headers, body)
end

local function classify(status, body)
  if status == 200 and body:find(success, 1, true) then
    ok = ok + 1
    return
  end
  if status == 200 then
    for _, text in ipairs(refusals) do
      if body:find(text, 1, true) then
        refused = refused + 1
        return
      end
    end
  end
  failed = failed + 1
  if sample == "" then
    sample = body:sub(1, 300)
  end
end

function response(status, headers, body)
  if #body < 40 and body:find('"status":"ok"', 1, true) then
    return
  end
  answered = answered + 1
  classify(status, body)
  if quota > 0 and answered == quota then
    local file = assert(io.open(done_file, "w"))
    file:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  report(summary, latency, { "ok", "refused", "failed" })
  local state = threads[1] and threads[1]:get("state_file")
  if state then
    local most = 0
    for _, t in ipairs(threads) do
      most = math.max(most, t:get("turn"))
    end
    local file = assert(io.open(state, "w"))
    file:write(tostring(most))
    file:close()
  end
  for _, t in ipairs(threads) do
    local text = t:get("sample")
    if text and text ~= "" then
      io.write("FAILED " .. text:gsub("\n", " ") .. "\n")
      break
    end
  end
end
