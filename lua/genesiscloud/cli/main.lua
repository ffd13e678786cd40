--- Entry point of the `genesiscloud` command: parse, run one command, turn
-- every failure into one line on stderr and an exit code. Never a stack
-- trace: an unexpected error prints one line and exits 70 (set
-- GENESISCLOUD_DEBUG=1 to see the traceback too).
-- @module genesiscloud.cli.main
local fail = require "genesiscloud.cli.fail"

local main = {}

-- command path -> module name, function name
local COMMANDS = {
  ["sg list"] = { "genesiscloud.cli.sg", "list" },
  ["sg get"] = { "genesiscloud.cli.sg", "get" },
  ["sg create"] = { "genesiscloud.cli.sg", "create" },
  ["sg update"] = { "genesiscloud.cli.sg", "update" },
  ["sg delete"] = { "genesiscloud.cli.sg", "delete" },
  ["sg apply"] = { "genesiscloud.cli.apply", "run" },
  ["emulator"] = { "genesiscloud.cli.emulator", "run" },
}

local function first_line(s)
  return (tostring(s):match("^[^\n]*"))
end

--- The exit code and the line to print for anything raised.
function main.classify(err, traceback)
  if fail.is(err) then return err.code, tostring(err) end
  -- Only a loaded library can have raised one of its errors.
  local genesiscloud = package.loaded.genesiscloud
  if type(genesiscloud) == "table" and genesiscloud.is_error(err) then
    return fail.code_of(err), tostring(err)
  end
  local line = "genesiscloud: internal error: " .. first_line(err)
  if traceback then line = line .. "\n" .. traceback:gsub("^\n", "") end
  return fail.INTERNAL, line
end

--- Runs the command line `argv` (a list of strings). `opts.bin_dir` is the
-- directory of the script (to find genesiscloud-emulator); `opts.out`,
-- `opts.err` replace io.stdout and io.stderr. -> exit code
function main.run(argv, opts)
  opts = opts or {}
  local err_out = opts.err or io.stderr
  local debug_trace = os.getenv("GENESISCLOUD_DEBUG")
  local ok, result = xpcall(function()
    local parser = require "genesiscloud.cli.parser"
    local config = require "genesiscloud.cli.config"
    local args = parser.parse(argv)
    local path = args.command == "sg" and ("sg " .. args.sg_command) or args.command
    local entry = assert(COMMANDS[path], "no handler for " .. tostring(path))
    local ctx = { args = args, out = opts.out or io.stdout, err = err_out, bin_dir = opts.bin_dir }
    if path ~= "emulator" then ctx.format = config.output_format(args) end
    return require(entry[1])[entry[2]](ctx)
  end, function(e)
    if fail.is(e) or (type(e) == "table" and getmetatable(e)) then return e end
    if debug_trace and debug_trace ~= "" and debug_trace ~= "0" then
      return { internal = e, traceback = debug.traceback("", 2) }
    end
    return e
  end)
  if ok then return result or fail.OK end
  local code, line
  if type(result) == "table" and result.internal ~= nil and not getmetatable(result) then
    code, line = main.classify(result.internal, result.traceback)
  else
    code, line = main.classify(result)
  end
  err_out:write(line, "\n")
  return code
end

return main
