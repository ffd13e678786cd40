-- N calls of get_security_group(id) on one client; prints the process's
-- VmRSS and the Lua heap at checkpoints, to show there is no growth.
--   lua5.4 rss.lua ENDPOINT TOKEN ID N
local genesiscloud = require "genesiscloud"
local endpoint, token, id, n = arg[1], arg[2], arg[3], tonumber(arg[4])
local client = assert(genesiscloud.new{ token = token, endpoint = endpoint })

local function vmrss()
  local f = assert(io.open("/proc/self/status"))
  local kb = f:read("a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb)
end

local marks = { [1000] = true, [10000] = true, [n // 2] = true, [n] = true }
for i = 1, n do
  assert(client:get_security_group(id))
  if marks[i] then
    print(("rss n=%d kb=%d heap_kb=%.0f"):format(i, vmrss(), collectgarbage("count")))
  end
end
local stats = client:transfer_stats()
print(("stats requests=%d new_connections=%d"):format(stats.requests, stats.new_connections))
client:close()
