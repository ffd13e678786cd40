-- This module: N calls of get_security_group(id) or list_security_groups{}
-- on one client (one kept-alive connection). Run from the checkout with
-- lua/ and build/ on the paths (bench/run.lua does).
--   lua5.4 module.lua ENDPOINT TOKEN one|page ID N [full|core|decode]
-- The last argument picks a layer, for the breakdown of where time goes:
--   full    the public call (default)
--   core    a C core handle's perform only: transport, no decoding
--   decode  that perform + the module's JSON decode (core.decode),
--           without the rest of the Lua layer
local genesiscloud = require "genesiscloud"
local core = require "genesiscloud.core"

local endpoint, token, kind, id, n = arg[1], arg[2], arg[3], arg[4], tonumber(arg[5])
local layer = arg[6] or "full"
local client = assert(genesiscloud.new{ token = token, endpoint = endpoint })
-- The layers below the public call use a C core handle of their own, made
-- with the options `new` resolves (a client keeps its handle private).
local function core_handle()
  local options = require "genesiscloud.options"
  return assert(core.new(assert(options.resolve({ token = token, endpoint = endpoint }, os.getenv))))
end

local call
local target = kind == "one" and "/security-groups/" .. core.escape(id)
  or "/security-groups?page=1&per_page=100"
if layer == "core" then
  local handle = core_handle()
  call = function()
    local status, body = handle:perform("GET", target)
    assert(status == 200, body)
    return { id = id, security_groups = { n = 100 } }
  end
elseif layer == "decode" then
  local json = require "genesiscloud.json"
  local handle = core_handle()
  call = function()
    local status, body = handle:perform("GET", target)
    assert(status == 200, body)
    local v = assert(json.decode(body))
    return v.security_group or v
  end
elseif kind == "one" then
  call = function() return client:get_security_group(id) end
else
  local query = { page = 1, per_page = 100 }
  call = function() return client:list_security_groups(query) end
end

local t0, c0 = core.now(), os.clock() -- os.clock: this process's CPU time
local last
for _ = 1, n do
  local value, err = call()
  if not value then io.stderr:write(tostring(err), "\n"); os.exit(1) end
  last = value
end
local elapsed, cpu = core.now() - t0, os.clock() - c0
assert(last.id == id or last.security_groups)
print(("elapsed=%.6f cpu=%.6f"):format(elapsed, cpu))
client:close()
