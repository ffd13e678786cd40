-- The body checks the compute behaviours share (volumes, floating IPs,
-- filesystems, snapshots, instances): a list of rules, checked in order,
-- so the first problem is always the same one.
--
--   { "name", "string", required = true }     rule: field, type, options
--   types   string (non-empty), text (any string), integer, boolean,
--           region (one the emulator knows), list (of ids), object
--   options required (on create), replace (required by PUT), create_only
--           (refused by an update), min (integers), enum (strings)
--
-- JSON null counts as absent. Unknown fields are kept in `extra` and
-- echoed back, like the other kinds'.

local json = require "genesiscloud.emulator.wire_json"
local checks = require "genesiscloud.emulator.request_checks"
local availability = require "genesiscloud.emulator.behaviours.availability_behaviour"

local present = checks.present

local field_checks = {}

local KNOWN_REGION = {}
for _, region in ipairs(availability.REGIONS) do KNOWN_REGION[region] = true end

-- The region the 2023-07 contract assumes when none is given.
field_checks.DEFAULT_REGION = "ARC-IS-HAF-1"

--- `value` when it is a region the emulator knows, else nil and the
-- message of a 400 (as the API answers: never silently stored).
function field_checks.region(value, name)
  if type(value) ~= "string" or not KNOWN_REGION[value] then
    return nil, name .. " must be one of " .. table.concat(availability.REGIONS, ", ")
  end
  return value
end

local function in_enum(value, enum)
  for _, v in ipairs(enum) do
    if v == value then return true end
  end
  return false
end

local function check_list(value, name)
  if not json.is_list(value) then return nil, name .. " must be an array of ids" end
  local out = json.array()
  for i, id in ipairs(value) do
    if type(id) ~= "string" or id == "" then return nil, ("%s[%d] must be an id (a string)"):format(name, i) end
    out[i] = id
  end
  return out
end

local TYPES = {
  string = function(v, name)
    if type(v) ~= "string" or v == "" then return nil, name .. " must be a non-empty string" end
    return v
  end,
  text = function(v, name)
    if type(v) ~= "string" then return nil, name .. " must be a string" end
    return v
  end,
  integer = function(v, name, rule)
    local n = type(v) == "number" and math.tointeger(v)
    if not n or n < (rule.min or math.mininteger) then
      return nil, name .. " must be an integer" .. (rule.min and (" >= " .. rule.min) or "")
    end
    return n
  end,
  boolean = function(v, name)
    if type(v) ~= "boolean" then return nil, name .. " must be true or false" end
    return v
  end,
  region = field_checks.region,
  list = check_list,
  object = function(v, name)
    if not json.is_object(v) then return nil, name .. " must be an object" end
    return v
  end,
}

local function check_value(value, rule)
  local name = rule[1]
  local v, err = TYPES[rule[2]](value, name, rule)
  if v == nil then return nil, err end
  if rule.enum and not in_enum(v, rule.enum) then
    return nil, name .. " must be one of " .. table.concat(rule.enum, ", ")
  end
  return v
end

--- The fields of `body` under `rules` for `mode` ("create", "replace"
-- (PUT), "patch"), plus `extra` (fields no rule names); or nil and the
-- message of a 400. `server` names fields the server owns (ignored).
function field_checks.check(body, mode, rules, server)
  local out, known = {}, {}
  for k in pairs(server or {}) do known[k] = true end
  for _, rule in ipairs(rules) do
    local name, value = rule[1], body[rule[1]]
    known[name] = true
    if present(value) then
      if mode ~= "create" and rule.create_only then
        return nil, name .. " cannot be changed once created"
      end
      local v, err = check_value(value, rule)
      if v == nil then return nil, err end
      out[name] = v
    elseif (mode == "create" and rule.required) or (mode == "replace" and rule.replace) then
      return nil, name .. " is required"
    end
  end
  out.extra = checks.extra_fields(body, known)
  return out
end

--- A size change that only grows: nil, or the message of a 400.
function field_checks.grow_only(title, record, size)
  if size and size < record.size then
    return ("size can only grow: the %s has %d GiB, %d GiB would shrink it"):format(title, record.size, size)
  end
  return nil
end

--- The extra fields of `record` and then `fields` (the server's own
-- fields are set after, so they always win).
function field_checks.shown(record)
  local out = {}
  for k, v in pairs(record.extra or {}) do out[k] = v end
  return out
end

return field_checks
