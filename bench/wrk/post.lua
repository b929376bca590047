-- POST the JSON body of file args[1]; further args are "Name: value" headers. Several
-- X-Tenant headers make consecutive requests rotate over those tenants.
dofile("report.lua")

local prepared, count, next_index = {}, 0, 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  local headers, tenants = { ["Content-Type"] = "application/json" }, {}
  for k = 2, #args do
    local name, value = args[k]:match("^([^:]+):%s*(.*)$")
    if name == "X-Tenant" then
      table.insert(tenants, value)
    else
      headers[name] = value
    end
  end
  if #tenants == 0 then
    table.insert(prepared, wrk.format("POST", nil, headers, body))
  end
  for _, slug in ipairs(tenants) do
    headers["X-Tenant"] = slug
    table.insert(prepared, wrk.format("POST", nil, headers, body))
  end
  count = #prepared
end

function request()
  next_index = next_index % count + 1
  return prepared[next_index]
end

function done(summary, latency, requests)
  report(summary, latency)
end
