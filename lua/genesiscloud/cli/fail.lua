--- Errors of the command-line tool that are not the library's: a usage
-- error (exit 2) or any other failure with its own exit code. They are
-- raised, and main turns them into one line on stderr and the exit code.
-- @module genesiscloud.cli.fail
local fail = {}

--- Exit codes (see docs/cli.md).
fail.OK, fail.API, fail.USAGE, fail.INTERNAL = 0, 1, 2, 70

local CliError = { __name = "genesiscloud.cli.error" }
CliError.__index = CliError
function CliError.__tostring(e) return "genesiscloud: " .. e.message end

--- True when `value` was raised by this module.
function fail.is(value)
  return getmetatable(value) == CliError
end

--- Raises an error that ends the program with `code` and `message`.
function fail.raise(message, code)
  error(setmetatable({ message = message, code = code or fail.API }, CliError), 0)
end

--- Raises a usage error (exit 2): a bad flag, a bad file, a missing token.
function fail.usage(message)
  fail.raise(message, fail.USAGE)
end

--- The exit code for an error object of the library: what the user gave
-- was wrong (validation, usage) -> 2, anything from talking to the API -> 1.
function fail.code_of(err)
  if err.kind == "validation" or err.kind == "usage" then return fail.USAGE end
  return fail.API
end

--- `check(value, err)` returns `value`, or raises the library's `err`
-- (main prints it and picks the exit code).
function fail.check(value, err, ...)
  if value == nil then error(err, 0) end
  return value, err, ...
end

return fail
