-- Request checks for the emulator, as the API documentation states them.
-- Each check returns the cleaned value, or nil and a message that names the
-- field (the message goes into the 400 error body).

local json = require "genesiscloud.emulator.json"

local validate = {}

local null = json.null

local PROTOCOLS = { tcp = true, udp = true, icmp = true, all = true }
local DIRECTIONS = { ingress = true, egress = true }
local RESERVED_NAMES = { default = true, standard = true }

-- Fields the server owns: ignored when a client sends them.
local READ_ONLY = { id = true, status = true, created_at = true, updated_at = true, is_internal = true }
local KNOWN = { name = true, description = true, rules = true }

validate.READ_ONLY = READ_ONLY

-- JSON null counts as absent for every optional field.
local function present(v)
  return v ~= nil and v ~= null
end

-- A port is an integer 1..65535; cjson gives whole numbers as floats.
local function port(value, field)
  if not present(value) then return nil end
  local n = type(value) == "number" and math.tointeger(value)
  if not n or n < 1 or n > 65535 then
    return false, field .. " must be an integer between 1 and 65535 or null"
  end
  return n
end

function validate.rule(rule, where)
  if not json.is_object(rule) then
    return nil, where .. " must be an object"
  end
  local protocol, direction = rule.protocol, rule.direction
  if not present(protocol) then return nil, where .. ".protocol is required" end
  if not PROTOCOLS[protocol] then
    return nil, where .. ".protocol must be one of tcp, udp, icmp, all"
  end
  if not present(direction) then return nil, where .. ".direction is required" end
  if not DIRECTIONS[direction] then
    return nil, where .. ".direction must be one of ingress, egress"
  end
  local min, err = port(rule.port_range_min, where .. ".port_range_min")
  if min == false then return nil, err end
  local max
  max, err = port(rule.port_range_max, where .. ".port_range_max")
  if max == false then return nil, err end
  if (protocol == "icmp" or protocol == "all") and (min or max) then
    return nil, where .. ": protocol " .. protocol .. " takes no ports (port_range_min and port_range_max must be null)"
  end
  if (min == nil) ~= (max == nil) then
    return nil, where .. ": port_range_min and port_range_max must both be set or both be null"
  end
  if min and min > max then
    return nil, where .. ".port_range_min must not be greater than port_range_max"
  end
  -- unknown rule keys pass through, like unknown top-level fields
  local clean = {}
  for k, v in pairs(rule) do clean[k] = v end
  clean.port_range_min, clean.port_range_max = min, max
  return clean
end

function validate.rules(rules)
  if not json.is_list(rules) then return nil, "rules must be an array" end
  if #rules == 0 then return nil, "rules must have at least one item" end
  local clean = json.array()
  for i, rule in ipairs(rules) do
    local r, err = validate.rule(rule, "rules[" .. i .. "]")
    if not r then return nil, err end
    clean[i] = r
  end
  return clean
end

function validate.name(name)
  if type(name) ~= "string" or name == "" then
    return nil, "name must be a non-empty string"
  end
  if RESERVED_NAMES[name] then
    return nil, "name '" .. name .. "' is reserved"
  end
  return name
end

-- mode: "create" (POST), "replace" (PUT: name and rules required) or
-- "patch" (PATCH: every field optional). Returns a table of the fields to
-- set: name, description, rules and `extra` (unknown fields, passed through).
function validate.security_group(body, mode)
  if not json.is_object(body) then
    return nil, "request body must be a JSON object"
  end
  local out = { extra = {} }
  local required = mode ~= "patch"
  local err

  if present(body.name) then
    out.name, err = validate.name(body.name)
    if not out.name then return nil, err end
  elseif required then
    return nil, "name is required"
  end

  if present(body.description) then
    if type(body.description) ~= "string" then
      return nil, "description must be a string"
    end
    out.description = body.description
  end

  if present(body.rules) then
    out.rules, err = validate.rules(body.rules)
    if not out.rules then return nil, err end
  elseif required then
    return nil, "rules is required"
  end

  for k, v in pairs(body) do
    if not KNOWN[k] and not READ_ONLY[k] then out.extra[k] = v end
  end
  return out
end

-- One positive integer query value, written in decimal digits.
local function int_param(query, name, default, max)
  local raw = query[name]
  if raw == nil then return default end
  local n = raw:match("^%d+$") and math.tointeger(tonumber(raw))
  if not n or n < 1 or (max and n > max) then
    if max then
      return nil, name .. " must be an integer between 1 and " .. max
    end
    return nil, name .. " must be an integer greater than or equal to 1"
  end
  return n
end

-- page (default 1, >= 1) and per_page (default 50, 1..100).
function validate.page_params(query)
  local page, err = int_param(query, "page", 1)
  if not page then return nil, err end
  local per_page
  per_page, err = int_param(query, "per_page", 50, 100)
  if not per_page then return nil, err end
  return page, per_page
end

return validate
