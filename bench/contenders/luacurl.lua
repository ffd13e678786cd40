-- Debian's lua-curl (the luacurl binding, Lua 5.1/5.2) + lua-cjson, as a
-- user would write it: one easy handle reused (so one kept-alive
-- connection), the body gathered by a write function, decoded with cjson.
--   lua5.1 luacurl.lua URL TOKEN N
local curl = require "curl"
local cjson = require "cjson"
local socket = require "socket"   -- only for the clock

local url, token, n = arg[1], arg[2], tonumber(arg[3])
local c = curl.easy_init()
c:setopt(curl.OPT_URL, url)
c:setopt(curl.OPT_HTTPHEADER, { "X-Auth-Token: " .. token, "Accept: application/json" })
c:setopt(curl.OPT_NOSIGNAL, 1)
c:setopt(curl.OPT_TIMEOUT, 30)

local chunks
c:setopt(curl.OPT_WRITEFUNCTION, function(s) chunks[#chunks + 1] = s; return #s end)

local t0, c0 = socket.gettime(), os.clock() -- os.clock: this process's CPU time
local last
for _ = 1, n do
  chunks = {}
  assert(c:perform())
  last = cjson.decode(table.concat(chunks))
end
local elapsed, cpu = socket.gettime() - t0, os.clock() - c0
assert(last.security_group or last.security_groups)
print(("elapsed=%.6f cpu=%.6f"):format(elapsed, cpu))
