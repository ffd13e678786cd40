--- Checks a create or update body against the definition: its own
-- validator when it has one (`validate.create`, `validate.update`), else the
-- generic checks its `fields` describe (type, required, max length, enum, no
-- unknown key, create-only fields left out of updates).
-- @module genesiscloud.service.fields
local validate = require "genesiscloud.validate"

local fields = {}

local TYPES = { string = "string", array = "table", integer = "number", boolean = "boolean" }

-- One field's value. -> true | nil, err
local function check_field(name, field, value, partial)
  if value == nil then
    if field.required and not partial then
      return validate.fail(name, nil, name .. " is required")
    end
    return true
  end
  if field.type == "string" then
    local ok, err = validate.string(value, name, { non_empty = field.required })
    if ok and field.enum then ok, err = validate.enum(value, name, field.enum) end
    if not ok then return nil, err end
    if field.max and #value > field.max then
      return validate.fail(name, value, ("%s must be at most %d bytes long, got %d"):format(name, field.max, #value))
    end
    return true
  elseif field.type == "integer" then
    return validate.integer(value, name, { min = field.min, max = field.max })
  elseif field.type == "array" then
    return validate.array(value, name)
  elseif TYPES[field.type] and type(value) ~= TYPES[field.type] then
    return validate.fail(name, value, ("%s must be a %s, got %s"):format(name, field.type, validate.describe(value)))
  end
  return true
end

--- Checks `body` for operation `operation` ("create" or "update").
-- @tparam table def the definition
-- @tparam table body a plain copy of the spec
-- @tparam[opt] boolean partial an update that may leave required fields out (PATCH)
-- @return `true`, or `nil, err` (kind "validation")
function fields.check(def, body, operation, partial)
  local custom = def.validate and def.validate[operation]
  if custom then
    if operation == "update" then return custom(body, { partial = partial and true or false }) end
    return custom(body)
  end
  if not def.fields then return true end
  local allowed = {}
  for name, field in pairs(def.fields) do
    if operation == "create" or not field.create_only then allowed[#allowed + 1] = name end
  end
  table.sort(allowed)
  local ok, err = validate.known_keys(body, nil, allowed)
  if not ok then return nil, err end
  for _, name in ipairs(allowed) do
    ok, err = check_field(name, def.fields[name], body[name], partial)
    if not ok then return nil, err end
  end
  return true
end

return fields
