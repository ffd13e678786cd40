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
  assert(type(fields) == "table" and fields.kind and fields.message,
    "errors.new needs kind and message")
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

return errors
