--- The error object every failing call returns as its second value.
-- Fields a program can branch on (`kind`, `status`, `code`, ...) and a
-- `__tostring` that gives one line a person can read.
-- @module genesiscloud.errors
local errors = {}

local Error = {}
Error.__index = Error
Error.__name = "genesiscloud.error"

--- The error as one line a person can read, such as
-- `genesiscloud: GET /security-groups/x: 404 (02003) Security group not found`.
-- @tparam table err an error object
-- @treturn string the line
function Error.__tostring(err)
  local where = ""
  if err.method and err.path then
    where = err.method .. " " .. err.path .. ": "
  end
  local what
  if err.kind == "api" then
    what = tostring(err.status)
    if err.code ~= nil and err.code ~= "" then
      what = what .. " (" .. tostring(err.code) .. ")"
    end
    what = what .. " " .. tostring(err.message)
  else
    what = tostring(err.kind) .. ": " .. tostring(err.message)
  end
  return "genesiscloud: " .. where .. what
end

--- Makes an error object from a table of fields (the table is reused).
-- `kind` and `message` are required.
-- @tparam table fields `kind` and `message`, and any of `status`, `code`,
-- `method`, `path`, `curl_code`, `attempts`, `retryable`, `field`, `value`, ...
-- @treturn genesiscloud.error the same table, now an error object
-- @raise when `fields` is not a table or lacks `kind` or `message`
function errors.new(fields)
  if type(fields) ~= "table" or fields.kind == nil or fields.message == nil then
    error("bad argument #1 to 'errors.new' (a table with kind and message expected)", 2)
  end
  return setmetatable(fields, Error)
end

--- True when `value` is an error object made by this module.
-- @param value anything
-- @treturn boolean
function errors.is(value)
  return getmetatable(value) == Error
end

--- Shorthand for the common `nil, errors.new{...}` return.
-- @tparam table fields as for `new`
-- @return nil
-- @treturn genesiscloud.error the error object
function errors.fail(fields)
  return nil, errors.new(fields)
end

-- PUC Lua 5.1's stand-alone interpreter cannot print a table raised as an
-- error ("(error object is not a string)") and its assert refuses one, so
-- there the one line is raised instead of the object. LuaJIT prints the
-- object with its __tostring, like 5.2 and later.
errors.raises_strings = _VERSION == "Lua 5.1" and rawget(_G, "jit") == nil

--- Raises an error object: the object itself, or on PUC Lua 5.1 its one
-- line (see `raises_strings`). Never returns.
-- @tparam genesiscloud.error err
function errors.raise(err)
  if errors.raises_strings then error(tostring(err), 0) end
  error(err, 0)
end

--- Like `assert` for this module's `nil, err` returns (also
-- `genesiscloud.check`): returns all its arguments when `v` is neither nil
-- nor false, else raises `err` (see `raise`). A string, or nothing, in
-- place of `err` is made into an error object of kind `"usage"` first.
-- @usage local sg = genesiscloud.check(client:get_security_group(id))
function errors.check(v, err, ...)
  if v then return v, err, ... end
  if not errors.is(err) then
    err = errors.new{ kind = "usage",
      message = err == nil and "check failed (no error given)" or tostring(err) }
  end
  return errors.raise(err)
end

return errors
