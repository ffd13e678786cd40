--- Errors of the command-line tool that are not the library's: a usage
-- error (exit 2) or any other failure with its own exit code. They are
-- raised, and main turns them into one line on stderr and the exit code.
-- Every line the tool prints about an error goes through `fail.redact`.
-- @module genesiscloud.cli.fail
local fail = {}

--- Exit codes (see docs/cli.md). WAIT: every write was accepted, but a
-- --wait ran out before the group got there (the ids are printed).
-- CHANGED: with --detailed-exitcode, `sg apply` made (or, with --dry-run,
-- planned) changes.
fail.OK, fail.API, fail.USAGE, fail.WAIT, fail.INTERNAL = 0, 1, 2, 3, 70
fail.CHANGED = 2

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

--- Ends the program with exit 0 after printing `text` on standard output
-- (--help, --version): main writes it, so a failed write is still seen.
function fail.finish(text)
  error(setmetatable({ message = "", code = fail.OK, output = text }, CliError), 0)
end

--- The exit code for an error object of the library: what the user gave
-- was wrong (validation, usage) -> 2, anything from talking to the API -> 1.
function fail.code_of(err)
  if err.kind == "validation" or err.kind == "usage" then return fail.USAGE end
  return fail.API
end

--- True for the error of a wait whose own time ran out (not a request's).
function fail.wait_ran_out(err)
  return type(err) == "table" and err.kind == "timeout" and err.method == nil and err.id ~= nil
end

-- Which exit code wins when several ids end differently: a usage error,
-- then an API error, then a wait that ran out.
local RANK = { [fail.OK] = 0, [fail.WAIT] = 1, [fail.API] = 2, [fail.USAGE] = 3 }

--- The stronger of two exit codes (see RANK).
function fail.worse(a, b)
  return (RANK[b] or 4) > (RANK[a] or 4) and b or a
end

--- The exit code of any failure: a wait that ran out is WAIT, a CLI
-- error its own code, a library error as `code_of` says.
function fail.exit_code(err)
  if fail.wait_ran_out(err) then return fail.WAIT end
  if fail.is(err) then return err.code end
  return fail.code_of(err)
end

--- `check(value, err)` returns `value`, or raises the library's `err`
-- (main prints it and picks the exit code).
function fail.check(value, err, ...)
  if value == nil then error(err, 0) end
  return value, err, ...
end

-- Secrets known to this run (the token once it is read); never printed.
local secrets = {}

--- Remembers a secret that `redact` must hide from every line.
function fail.secret(value)
  if type(value) == "string" and #value >= 4 then secrets[#secrets + 1] = value end
end

--- `text` without any known secret (the token) in it.
function fail.hide_secrets(text)
  for _, secret in ipairs(secrets) do
    local from = 1
    while true do
      local i, j = text:find(secret, from, true)
      if not i then break end
      text = text:sub(1, i - 1) .. "***" .. text:sub(j + 1)
      from = i + 3
    end
  end
  return text
end

--- `text` without any known secret nor the user info of a URL
-- (`http://user:pw@host` -> `http://***@host`): for every error line.
function fail.redact(text)
  text = fail.hide_secrets(tostring(text))
  return (text:gsub("(%a[%w+.-]*://)[^/?#%s]*@", "%1***@"))
end

return fail
