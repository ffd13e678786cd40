--- Entry point of the `genesiscloud` command: parse, run one command, turn
-- every failure into one line on stderr and an exit code. Never a stack
-- trace: an unexpected error prints one line and exits 70 (set
-- GENESISCLOUD_DEBUG=1 to see the traceback too). Output that cannot be
-- written (a full disk, a closed stdout) is an error too: exit 1.
-- @module genesiscloud.cli.main
local fail = require "genesiscloud.cli.fail"

local main = {}

-- Until the library has a registry of resources, the tool knows the one
-- resource it always had.
local BUILTIN_REGISTRY = {
  { name = "security_group", plural = "security_groups", cli = "security-groups", cli_short = "sg" },
}

--- The resources that get commands: the library's registry
-- (`genesiscloud.resources`), loaded without the C core.
function main.registry()
  if package.searchpath("genesiscloud.resources", package.path) then
    return require "genesiscloud.resources"
  end
  return BUILTIN_REGISTRY
end

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

--- A writer over `file` that remembers the first failed write, so that
-- output lost to a full disk or a closed pipe is noticed at the end. The
-- token never goes out, even inside data (a name that holds it).
function main.checked_output(file)
  local out = { failure = nil }
  function out.write(self, ...)
    if not self.failure then
      local parts = { ... }
      for i = 1, select("#", ...) do parts[i] = fail.hide_secrets(tostring(parts[i])) end
      local ok, err = file:write(table.concat(parts))
      if not ok then self.failure = err or "write failed" end
    end
    return self
  end
  function out.flush(self)
    if not self.failure then
      local ok, err = file:flush()
      if not ok then self.failure = err or "flush failed" end
    end
    return self.failure == nil, self.failure
  end
  return out
end

-- A closed standard output (`>&-`): seek answers EBADF (9), where a pipe
-- or a terminal answers ESPIPE and a file a position.
local function closed(file)
  local ok, _, code = file:seek("cur")
  return not ok and code == 9
end

-- Under --detailed-exitcode, 2 means "changes": every error is 1 (as in
-- terraform), except an internal error (70) and a wait that ran out (3).
local function detailed(argv)
  for _, a in ipairs(argv) do
    if a == "--" then return false end
    if a == "--detailed-exitcode" then return true end
  end
  return false
end

--- Runs the command line `argv` (a list of strings). `opts.bin_dir` is the
-- directory of the script (to find genesiscloud-emulator); `opts.out`,
-- `opts.err` replace io.stdout and io.stderr; `opts.registry` the
-- resources (main.registry()) and `opts.client(args, err)` the way a
-- client is made (config.client), for tests. -> exit code
function main.run(argv, opts)
  opts = opts or {}
  local err_out = opts.err or io.stderr
  local stdout = opts.out or io.stdout
  local out = main.checked_output(stdout)
  local debug_trace = os.getenv("GENESISCLOUD_DEBUG")
  local detailed_codes = detailed(argv)
  local function report(code, line)
    err_out:write(fail.redact(line), "\n")
    if detailed_codes and code ~= fail.INTERNAL and code ~= fail.WAIT and code ~= fail.OK then
      return fail.API
    end
    return code
  end
  local emulator = false
  local ok, result = xpcall(function()
    local parser = require "genesiscloud.cli.parser"
    local config = require "genesiscloud.cli.config"
    local args, route = parser.parse(argv, opts.registry or main.registry())
    emulator = args.command == "emulator"
    if not emulator and closed(stdout) then
      fail.raise("standard output is closed: nothing could be printed, nothing was done")
    end
    local ctx = { args = args, out = out, err = err_out, bin_dir = opts.bin_dir,
      definition = route.definition, detail = route.detail,
      command = args.command .. (args.subcommand and " " .. args.subcommand or "") }
    function ctx.client() return (opts.client or config.client)(args, err_out) end
    if not emulator then ctx.format = config.output_format(args) end
    return require(route.module)[route.fn](ctx)
  end, function(e)
    if fail.is(e) or (type(e) == "table" and getmetatable(e)) then return e end
    if debug_trace and debug_trace ~= "" and debug_trace ~= "0" then
      return { internal = e, traceback = debug.traceback("", 2) }
    end
    return e
  end)
  local code
  if ok then
    code = result or fail.OK
  elseif fail.is(result) and result.output then
    out:write(result.output)
    code = result.code
  else
    local line
    if type(result) == "table" and result.internal ~= nil and not getmetatable(result) then
      code, line = main.classify(result.internal, result.traceback)
    else
      code, line = main.classify(result)
    end
    return report(code, line)
  end
  local written, why = out:flush()
  if not written then
    return report(fail.API, "genesiscloud: cannot write to standard output: " .. tostring(why))
  end
  return code
end

return main
