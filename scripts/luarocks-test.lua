-- `luarocks test [busted arguments]` (the rockspec's test.type = "command"):
-- runs busted on the checkout's specs in the Lua that LuaRocks targets (this
-- script runs in it), with the C core already built. It builds, installs and
-- downloads nothing: build the core first with `luarocks make` (which leaves
-- it in ./genesiscloud/, ignored by git) or `make build` (build/, for 5.4;
-- `make test-all` builds build-<version>/ for the others).
--
-- Not test.type = "busted": LuaRocks 3.8 then insists on a busted *rock*
-- (it installs one from a rocks server and runs <tree>/bin/busted), and
-- Debian's busted is an apt package (lua-busted). Here busted is a module
-- found on package.path, whichever way it was installed.
--
-- The specs' own servers use lua-http, which Debian 12 installs for Lua
-- 5.1-5.3 only: when it is not found, Debian's 5.1 tree is added to
-- LUA_PATH (the processes the specs start inherit it, as under `make test`).
-- The contract spec is pending (skipped) unless `make tools` installed the
-- OpenAPI mock.
--
--   luarocks test                          the whole suite
--   luarocks test spec/rules_spec.lua      some spec files
local version = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
local DEBIAN_LUA_PATH = "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

local args = { ... }

-- Second stage: the environment is set, run busted here.
if args[1] == "--run-busted" then
  table.remove(args, 1)
  _G.arg = args
  args[0] = "busted"
  require("busted.runner")({ standalone = false })
  return
end

-- Where is a C core built for this Lua? build-<v>/ from `make test-all`,
-- build/ from `make build` (5.4), ./genesiscloud/ from `luarocks make`,
-- else wherever package.cpath finds one (an installed rock).
local search = (version == "5.4" and "build/?.so;" or "") .. "build-" .. version .. "/?.so;./?.so;"
  .. package.cpath
local core = package.searchpath and package.searchpath("genesiscloud.core", search)
if not core then
  for template in search:gmatch("[^;]+") do
    local candidate = template:gsub("%?", "genesiscloud/core")
    if exists(candidate) then core = candidate break end
  end
end
if not core then
  io.stderr:write("luarocks test: no C core (genesiscloud/core.so) built for Lua ", version,
    ": run `luarocks make` (or `make build`) first\n")
  os.exit(1)
end
local cpath_dir = core:gsub("/?genesiscloud/core%.so$", "")
if cpath_dir == "" then cpath_dir = "." end

local lua_path = ";;"
if not pcall(require, "http.request") then lua_path = DEBIAN_LUA_PATH .. ";;" end
local _, has_busted = pcall(require, "busted.runner")
if type(has_busted) ~= "function" then
  io.stderr:write("luarocks test: busted is not installed for Lua ", version,
    " (Debian: apt-get install lua-busted)\n")
  os.exit(1)
end

-- The interpreter LuaRocks ran this script with.
local lua = arg[-1] or "lua" .. version
local quoted = {}
for i = 1, #args do quoted[i] = quote(args[i]) end
local command = ("env -u LUA_PATH_5_2 -u LUA_PATH_5_3 -u LUA_PATH_5_4 -u LUA_CPATH_5_2"
  .. " -u LUA_CPATH_5_3 -u LUA_CPATH_5_4 LUA_PATH=%s %s %s --run-busted --cpath=%s %s")
  :format(quote(lua_path), quote(lua), quote(arg[0]), quote(cpath_dir .. "/?.so"), table.concat(quoted, " "))
print("luarocks test: core " .. core)
local result = os.execute(command)
os.exit((result == true or result == 0) and 0 or 1)
