-- LuaSocket's socket.http + lua-cjson, as a user would write it. Note that
-- socket.http sends "Connection: close": every request opens a new
-- connection (it has no keep-alive).
--   lua5.4 luasocket.lua URL TOKEN N
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local cjson = require "cjson"

local url, token, n = arg[1], arg[2], tonumber(arg[3])
local headers = { ["x-auth-token"] = token, accept = "application/json" }

local t0, c0 = socket.gettime(), os.clock() -- os.clock: this process's CPU time
local last
for _ = 1, n do
  local chunks = {}
  local ok, status = http.request{ url = url, headers = headers, sink = ltn12.sink.table(chunks) }
  assert(ok and status == 200, status)
  last = cjson.decode(table.concat(chunks))
end
local elapsed, cpu = socket.gettime() - t0, os.clock() - c0
assert(last.security_group or last.security_groups)
print(("elapsed=%.6f cpu=%.6f"):format(elapsed, cpu))
