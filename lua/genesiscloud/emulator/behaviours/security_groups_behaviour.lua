-- How the emulator serves security groups beyond what their definition
-- (genesiscloud.resources.security_groups: path, envelope, operations,
-- statuses) fixes: the statuses while a create or update is in progress,
-- the checks of names and rules, the record, and its JSON (cached per
-- group, because listing groups is what the benchmark measures).

local json = require "genesiscloud.emulator.wire_json"
local checks = require "genesiscloud.emulator.request_checks"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"

local present = checks.present

local DEFAULT_REGION = "ARC-IS-HAF-1"
local PROTOCOLS = { tcp = true, udp = true, icmp = true, all = true }
local DIRECTIONS = { ingress = true, egress = true }
local RESERVED_NAMES = { default = true, standard = true }
local KNOWN = { name = true, description = true, rules = true }

local M = {
  plural = "security_groups", title = "Security group",
  -- then the definition's ready status; a delete reads its deleting status, then is gone
  in_progress = { create = "creating", update = "updating" },
}

-- A port is an integer 1..65535; cjson gives whole numbers as floats.
local function port(value, field)
  if not present(value) then return nil end
  local n = type(value) == "number" and math.tointeger(value)
  if not n or n < 1 or n > 65535 then
    return false, field .. " must be an integer between 1 and 65535 or null"
  end
  return n
end

-- Protocol and direction of a rule, or nil and a message.
local function check_kind(rule, where)
  local protocol, direction = rule.protocol, rule.direction
  if not present(protocol) then return nil, where .. ".protocol is required" end
  if not PROTOCOLS[protocol] then
    return nil, where .. ".protocol must be one of tcp, udp, icmp, all"
  end
  if not present(direction) then return nil, where .. ".direction is required" end
  if not DIRECTIONS[direction] then
    return nil, where .. ".direction must be one of ingress, egress"
  end
  return true
end

function M.check_rule(rule, where)
  if not json.is_object(rule) then return nil, where .. " must be an object" end
  local ok, err = check_kind(rule, where)
  if not ok then return nil, err end
  local protocol = rule.protocol
  local min, max
  min, err = port(rule.port_range_min, where .. ".port_range_min")
  if min == false then return nil, err end
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

function M.check_rules(rules)
  if not json.is_list(rules) then return nil, "rules must be an array" end
  if #rules == 0 then return nil, "rules must have at least one item" end
  local clean = json.array()
  for i, rule in ipairs(rules) do
    local r, err = M.check_rule(rule, "rules[" .. i .. "]")
    if not r then return nil, err end
    clean[i] = r
  end
  return clean
end

local function check_name(name)
  if type(name) ~= "string" or name == "" then
    return nil, "name must be a non-empty string"
  end
  if RESERVED_NAMES[name] then
    return nil, "name '" .. name .. "' is reserved"
  end
  return name
end

-- body: a JSON object of UTF-8 strings (collection.lua checked that).
-- mode: "create" (POST), "replace" (PUT: name and rules required) or
-- "patch" (PATCH: every field optional). Returns the fields to set: name,
-- description, rules and `extra` (unknown fields, passed through).
function M.check(body, mode)
  local out = {}
  local required = mode ~= "patch"
  local err
  if present(body.name) then
    out.name, err = check_name(body.name)
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
    out.rules, err = M.check_rules(body.rules)
    if not out.rules then return nil, err end
  elseif required then
    return nil, "rules is required"
  end
  -- a region the emulator does not know is a 400, never stored
  if present(body.region) and not field_checks.region(body.region, "region") then
    return nil, select(2, field_checks.region(body.region, "region"))
  end
  out.extra = checks.extra_fields(body, KNOWN)
  return out
end

function M.new_record(fields, now)
  local region = fields.extra.region
  fields.extra.region = nil
  if region == nil or region == json.null then region = DEFAULT_REGION end
  return {
    name = fields.name,
    description = fields.description or "",
    rules = fields.rules,
    region = region,
    extra = fields.extra,
    created_at = now,
    updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  record.description = fields.description or record.description
  record.rules = fields.rules or record.rules
  if fields.extra.region ~= nil and fields.extra.region ~= json.null then
    record.region = fields.extra.region
  end
  fields.extra.region = nil
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

-- A group an instance uses cannot be deleted (409).
function M.refuse_delete(record, app)
  for _, instance in ipairs(app.store:list("instance")) do
    for _, id in ipairs(instance.security_group_ids) do
      if id == record.id then return "conflict", "Security group is in use by instance " .. instance.id end
    end
  end
  return nil
end

local function represent_rule(rule)
  local out = {}
  for k, v in pairs(rule) do out[k] = v end
  -- absent ports are sent as null, exactly like the documentation's examples
  out.port_range_min = rule.port_range_min or json.null
  out.port_range_max = rule.port_range_max or json.null
  return out
end

-- The group as the API shows it: passed-through fields first, so the
-- server-owned ones always win.
function M.represent(record)
  local out = {}
  for k, v in pairs(record.extra) do out[k] = v end
  local rules = json.array()
  for i, rule in ipairs(record.rules) do rules[i] = represent_rule(rule) end
  out.id = record.id
  out.name = record.name
  out.description = record.description
  out.status = record.status
  out.rules = rules
  out.region = record.region
  out.is_internal = false
  out.created_at = iso8601(record.created_at)
  out.updated_at = iso8601(record.updated_at)
  return out
end

-- The group's JSON, cached on the record as three parts: the text before
-- the status, the status, the text after it. A status change re-encodes
-- only the status; any other write drops the cache (record._json = nil,
-- which collection.lua does on every update).
-- A group that cannot be encoded is returned as a table, uncached, so the
-- usual encoding error answers the request.
local STATUS_MARK = json.raw{ "\0" } -- encoded strings never hold a raw NUL
local STATUS_JSON = {}
for _, status in ipairs{ "creating", "created", "updating", "deleting" } do
  STATUS_JSON[status] = json.encode(status)
end
function M.encoded(record)
  local parts = record._json
  if not parts then
    local shape = M.represent(record)
    shape.status = STATUS_MARK
    local text, depth = json.encode_with_depth(shape)
    if not text then return M.represent(record) end
    local at = text:find("\0", 1, true)
    parts = json.raw({ text:sub(1, at - 1), "", text:sub(at + 1) }, depth)
    record._json = parts
  end
  if parts.status ~= record.status then
    parts.status, parts[2] = record.status, STATUS_JSON[record.status] or json.encode(record.status)
  end
  return parts
end

return M
