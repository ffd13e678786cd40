--- `genesiscloud emulator [FLAG...]`: runs bin/genesiscloud-emulator in
-- this very process (its flags passed on unchanged), the Lua way of
-- exec: same pid, so a SIGTERM sent to `genesiscloud` stops the server.
-- @module genesiscloud.cli.commands.emulator_passthrough
local fail = require "genesiscloud.cli.fail"

local cli_emulator = {}

local PREFACE = [[
usage: genesiscloud emulator [FLAG...]

Runs the local emulator of the Genesis Cloud security-groups API in this
process; it prints the endpoint URL and "pid=N", then serves until SIGINT or
SIGTERM (exit 0). The flags are those of genesiscloud-emulator:

]]

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

--- The emulator script: next to our own script (a checkout or an
-- install), else next to the lua/ tree genesiscloud.emulator comes from,
-- else on PATH.
function cli_emulator.find_script(bin_dir)
  if bin_dir and exists(bin_dir .. "/genesiscloud-emulator") then
    return bin_dir .. "/genesiscloud-emulator"
  end
  local path = package.searchpath("genesiscloud.emulator", package.path)
  local root = path and (path:match("^(.-)/?lua/genesiscloud/emulator%.lua$")
    or path:match("^(.-)/?lua/genesiscloud/emulator/init%.lua$"))
  if root then
    local candidate = (root ~= "" and root or ".") .. "/bin/genesiscloud-emulator"
    if exists(candidate) then return candidate end
  end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if exists(dir .. "/genesiscloud-emulator") then return dir .. "/genesiscloud-emulator" end
  end
  return nil
end

function cli_emulator.run(ctx)
  local flags = ctx.args.flags or {}
  local script = cli_emulator.find_script(ctx.bin_dir)
  if not script then
    fail.raise("emulator: cannot find the genesiscloud-emulator script", fail.INTERNAL)
  end
  for _, flag in ipairs(flags) do
    if flag == "--help" or flag == "-h" then
      io.stdout:write(PREFACE)
      break
    end
  end
  local chunk, err = loadfile(script)
  if not chunk then fail.raise("emulator: " .. tostring(err), fail.INTERNAL) end
  -- The script reads its flags from `arg`, and arg[0] to find its modules.
  local argv = { [0] = script }
  for i, flag in ipairs(flags) do argv[i] = flag end
  _G.arg = argv
  chunk(table.unpack(flags))
  return fail.OK -- the script exits by itself; this is for a script that returns
end

return cli_emulator
