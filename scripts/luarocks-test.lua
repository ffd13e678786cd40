-- `luarocks test` (the rockspec's test.type = "command"): the whole busted
-- suite, in the Lua that LuaRocks targets (this script runs in it), with the
-- C core built for that Lua, through scripts/test-all.
--
-- Not test.type = "busted": LuaRocks 3.8 then insists on a busted *rock*
-- (it installs one from a rocks server and runs <tree>/bin/busted), and
-- Debian's busted, which this project uses, is a Debian package.
--
--   luarocks test [busted arguments]     e.g. luarocks test spec/rules_spec.lua
local version = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Passed to busted through BUSTED_ARGS, split at spaces.
local args = { ... }
local command = "make --no-print-directory deps tools build && "
if #args > 0 then command = command .. "BUSTED_ARGS=" .. quote(table.concat(args, " ")) .. " " end
command = command .. "scripts/test-all " .. version

local result = os.execute(command)
os.exit((result == true or result == 0) and 0 or 1)
