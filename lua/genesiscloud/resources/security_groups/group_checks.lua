--- Checks of a security-group spec and its rules, run before anything is
-- sent. Built from the generic checkers of `genesiscloud.validate`; also
-- published as `genesiscloud.validate_security_group`.
-- @module genesiscloud.resources.security_groups.group_checks
local errors = require "genesiscloud.errors"
local generic = require "genesiscloud.validate"

local validate = {}
local fail, describe, path = generic.fail, generic.describe, generic.path

validate.PROTOCOLS = { "tcp", "udp", "icmp", "all" }
validate.DIRECTIONS = { "ingress", "egress" }
validate.RULE_KEYS = { "protocol", "direction", "port_range_min", "port_range_max" }
validate.RESERVED_NAMES = { "default", "standard" }
local PORT = { min = 1, max = 65535, optional = true }
local PORTLESS = { icmp = true, all = true }

--- One firewall rule: protocol, direction, ports (both or neither,
-- `min <= max`, none on icmp/all), no unknown keys.
-- @tparam table rule
-- @tparam[opt] string field the rule's path (`"rules[3]"`); nil for a lone rule
-- @return `true`, or `nil, err`
function validate.rule(rule, field)
  local label = field or "rule"
  if type(rule) ~= "table" then
    local hint = type(rule) == "string" and " (turn text into a rule with rules.parse)" or ""
    return fail(label, rule, string.format("%s must be a rule table, got %s%s", label, describe(rule), hint))
  end
  local ok, err = generic.known_keys(rule, field, validate.RULE_KEYS)
  if not ok then return nil, err end
  ok, err = generic.enum(rule.protocol, path(field, "protocol"), validate.PROTOCOLS)
  if not ok then return nil, err end
  ok, err = generic.enum(rule.direction, path(field, "direction"), validate.DIRECTIONS)
  if not ok then return nil, err end
  for _, key in ipairs{ "port_range_min", "port_range_max" } do
    ok, err = generic.integer(rule[key], path(field, key), PORT)
    if not ok then return nil, err end
  end

  local min, max = rule.port_range_min, rule.port_range_max
  local intro = field and (field .. ": ") or ""
  if PORTLESS[rule.protocol] and (min ~= nil or max ~= nil) then
    local key = min ~= nil and "port_range_min" or "port_range_max"
    return fail(path(field, key), rule[key], string.format(
      "%sprotocol %q takes no ports, but %s is %s; leave both ports out",
      intro, rule.protocol, key, describe(rule[key])))
  end
  if (min == nil) ~= (max == nil) then
    local have, missing = "port_range_min", "port_range_max"
    if min == nil then have, missing = missing, have end
    return fail(path(field, missing), nil, string.format(
      "%s%s is missing while %s is %s: give both ports (the same number for one port) or neither (all ports)",
      intro, missing, have, describe(rule[have])))
  end
  if min ~= nil and min > max then
    return fail(path(field, "port_range_min"), min, string.format(
      "%sport_range_min (%s) must not be greater than port_range_max (%s)",
      intro, describe(min), describe(max)))
  end
  return true
end

--- A security-group spec (also `genesiscloud.validate_security_group`).
-- @tparam table spec
-- @tparam[opt] table opts `partial = true`: for updates with PATCH
-- semantics, name and rules may be left out but are checked when present
-- @return `true`, or `nil, err`
function validate.security_group(spec, opts)
  if opts ~= nil then
    if type(opts) ~= "table" then
      error("bad argument #2 to 'validate_security_group' (table expected, got " .. type(opts) .. ")", 2)
    end
    for k in pairs(opts) do
      if k ~= "partial" then
        return nil, errors.new{ kind = "usage", message = "validate_security_group: unknown option '"
          .. tostring(k) .. "' (the one option is 'partial')" }
      end
    end
  end
  local partial = opts and opts.partial
  if type(spec) ~= "table" then
    return fail("spec", spec, "a security group spec must be a table, got " .. describe(spec))
  end
  -- Validated as it will be sent.
  local err
  spec, err = generic.plain(spec)
  if not spec then return nil, err end
  local ok
  ok, err = generic.string(spec.name, "name",
    { optional = partial, non_empty = true, reserved = validate.RESERVED_NAMES })
  if not ok then return nil, err end
  ok, err = generic.string(spec.description, "description", { optional = true })
  if not ok then return nil, err end
  ok, err = generic.array(spec.rules, "rules", { optional = partial, non_empty = true })
  if not ok then return nil, err end
  for i, rule in ipairs(spec.rules or {}) do
    ok, err = validate.rule(rule, string.format("rules[%d]", i))
    if not ok then return nil, err end
  end
  return true
end


return validate
