-- GET the path of the URL; args are "Name: value" headers.
dofile("report.lua")

local prepared

function init(args)
  local headers = {}
  for k = 1, #args do
    local name, value = args[k]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  prepared = wrk.format("GET", nil, headers)
end

function request()
  return prepared
end

function done(summary, latency, requests)
  report(summary, latency)
end
