--- Security-group rules: builders, compact text ("ingress tcp 8080-8085"),
-- and set operations (normalize, equal, diff). Also `genesiscloud.rules`.
--
-- A rule is a plain table with at most the four API keys (`direction`,
-- `protocol`, `port_range_min`, `port_range_max`). Builder results carry a
-- metatable holding only `__tostring`, so they print nicely and are still
-- accepted unchanged by every operation and by the JSON encoder.
-- @module genesiscloud.rules
-- @usage
-- local rules = require "genesiscloud.rules"
-- local list = { rules.ssh(), rules.ingress.tcp(8080, 8085), rules.egress.all(),
--   assert(rules.parse("ingress udp 51820")) }
-- print(list[2]) --> ingress tcp 8080-8085

local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.resources.security_groups.group_checks"

local rules = {}

local ALL_PORTS_MIN, ALL_PORTS_MAX = 1, 65535
local PORTLESS = { icmp = true, all = true }

-- Integers print as integers even when the API gave 22.0.
local function port_text(p)
  if type(p) == "number" and p % 1 == 0 and p > -2^53 and p < 2^53 then
    return string.format("%d", p)
  end
  return tostring(p)
end

--- The text form of a rule, such as `"ingress tcp 8080-8085"`. Best effort
-- for any table, valid or not, so API results always print.
-- @tparam table rule
-- @treturn string
-- @raise when `rule` is not a table
-- @usage for _, r in ipairs(sg.rules) do print(rules.format(r)) end
function rules.format(rule)
  if type(rule) ~= "table" then
    error("bad argument #1 to 'rules.format' (table expected, got " .. type(rule) .. ")", 2)
  end
  local text = tostring(rule.direction or "?") .. " " .. tostring(rule.protocol or "?")
  local min, max = rule.port_range_min, rule.port_range_max
  if min ~= nil and max ~= nil and min == max then
    text = text .. " " .. port_text(min)
  elseif min ~= nil or max ~= nil then
    text = text .. " " .. (min ~= nil and port_text(min) or "") .. "-" .. (max ~= nil and port_text(max) or "")
  end
  return text
end

local rule_mt = { __tostring = rules.format }

local function new_rule(direction, protocol, min, max)
  return setmetatable({
    direction = direction, protocol = protocol,
    port_range_min = min, port_range_max = max,
  }, rule_mt)
end

-- Builders raise on bad ports, like any Lua function given a bad argument:
-- they are written in code, and a nil in a list of rules would hide the cause.
local function builder(direction, protocol)
  local name = "rules." .. direction .. "." .. protocol
  if PORTLESS[protocol] then
    return function(...)
      if select("#", ...) > 0 then
        error(name .. ": protocol " .. protocol .. " takes no ports", 2)
      end
      return new_rule(direction, protocol)
    end
  end
  return function(min, max)
    if max == nil then max = min end
    local rule = new_rule(direction, protocol, min, max)
    local ok, err = validate.rule(rule)
    if not ok then error(name .. ": " .. err.message, 2) end
    return rule
  end
end

for _, direction in ipairs(validate.DIRECTIONS) do
  rules[direction] = {}
  for _, protocol in ipairs(validate.PROTOCOLS) do
    rules[direction][protocol] = builder(direction, protocol)
  end
end

--- Builds an ingress rule for one protocol. Every protocol (`tcp`, `udp`,
-- `icmp`, `all`) exists under both `rules.ingress` and `rules.egress`;
-- `icmp` and `all` take no ports.
-- @function ingress.tcp
-- @tparam[opt] integer min first port (1..65535); none: all ports
-- @tparam[opt=min] integer max last port
-- @treturn table the rule
-- @raise on a bad port (a mistake in the code): `rules.ingress.tcp(70000)`
-- @usage rules.ingress.tcp(22); rules.ingress.tcp(8080, 8085); rules.ingress.udp(); rules.ingress.icmp()

--- Builds an egress rule; the same builders as `ingress.tcp`.
-- @function egress.all
-- @treturn table the rule
-- @usage rules.egress.all(); rules.egress.tcp(443)

--- `ingress tcp 22`.
-- @treturn table the rule
function rules.ssh() return rules.ingress.tcp(22) end
--- `ingress tcp 80`.
-- @treturn table the rule
function rules.http() return rules.ingress.tcp(80) end
--- `ingress tcp 443`.
-- @treturn table the rule
function rules.https() return rules.ingress.tcp(443) end
--- `ingress icmp`.
-- @treturn table the rule
function rules.ping() return rules.ingress.icmp() end

-- Text ----------------------------------------------------------------------

local function parse_error(text, message)
  return nil, errors.new{
    kind = "validation", field = "rule", value = text,
    message = string.format("cannot read rule %q: %s", text, message),
  }
end

local function read_port(token)
  if not token:match("^%d+$") then
    return nil, string.format("%q is not a port number", token)
  end
  local n = tonumber(token)
  if n < ALL_PORTS_MIN or n > ALL_PORTS_MAX then
    return nil, string.format("port %s is out of range %d..%d", token, ALL_PORTS_MIN, ALL_PORTS_MAX)
  end
  return n
end

--- Reads a rule from text: `"ingress tcp 8080-8085"`, `"ingress udp 53"`,
-- `"ingress tcp"` (all ports), `"ingress icmp"`, `"egress all"`. Case
-- does not matter.
-- @tparam string text
-- @treturn table the rule
-- @return[2] nil
-- @treturn[2] genesiscloud.error kind `"validation"`, saying what cannot be read
-- @raise when `text` is not a string
-- @usage local r, err = rules.parse("ingress tcp 70000") -- nil, "... port 70000 is out of range 1..65535"
function rules.parse(text)
  if type(text) ~= "string" then
    error("bad argument #1 to 'rules.parse' (string expected, got " .. type(text) .. ")", 2)
  end
  local words = {}
  for w in text:gmatch("%S+") do words[#words + 1] = w end
  if #words == 0 then
    return parse_error(text, "it is empty; expected e.g. \"ingress tcp 22\"")
  end
  local direction, protocol, ports = words[1]:lower(), words[2] and words[2]:lower(), words[3]
  if direction ~= "ingress" and direction ~= "egress" then
    return parse_error(text, string.format("direction %q is not ingress or egress", words[1]))
  end
  if protocol == nil then
    return parse_error(text, "the protocol is missing (tcp, udp, icmp or all)")
  end
  if not rules[direction][protocol] then
    return parse_error(text, string.format("protocol %q is not tcp, udp, icmp or all", words[2]))
  end
  if #words > 3 then
    return parse_error(text, string.format("unexpected %q after the ports", words[4]))
  end
  if ports == nil then return new_rule(direction, protocol) end
  if PORTLESS[protocol] then
    return parse_error(text, string.format("protocol %s takes no ports, got %q", protocol, ports))
  end
  local first, last = ports:match("^([^-]*)-([^-]*)$")
  first = first or ports
  local min, err = read_port(first)
  if not min then return parse_error(text, err) end
  local max = min
  if last then
    max, err = read_port(last)
    if not max then return parse_error(text, err) end
    if min > max then
      return parse_error(text, string.format("port range %s is backwards (first port above the last)", ports))
    end
  end
  return new_rule(direction, protocol, min, max)
end

-- Sets ----------------------------------------------------------------------

local function as_integer(x)
  if type(x) == "number" and math.tointeger then return math.tointeger(x) or x end
  return x
end

-- One canonical form per set of ports: "all ports" is ports absent, whether
-- written as nothing or as 1-65535; icmp and all carry no ports.
local function canonical(rule)
  local protocol, direction = rule.protocol, rule.direction
  local min, max = as_integer(rule.port_range_min), as_integer(rule.port_range_max)
  if PORTLESS[protocol] or (min == ALL_PORTS_MIN and max == ALL_PORTS_MAX) then
    min, max = nil, nil
  end
  return new_rule(direction, protocol, min, max)
end

local function key_part(x)
  if x == nil then return "" end
  if type(x) == "number" then return string.format("%011.1f", x) end
  return tostring(x)
end

-- Sort and identity key; numbers are padded so they sort by value.
local function rule_key(rule)
  return table.concat({
    key_part(rule.direction), key_part(rule.protocol),
    key_part(rule.port_range_min), key_part(rule.port_range_max),
  }, "\0")
end

-- `fname`, `n`, `level`: the public function, the argument and the level
-- of its caller, for the message when `list` is not a list of rules.
local function normalize(list, fname, n, level)
  if type(list) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(n, fname, type(list)), level)
  end
  local by_key, keys = {}, {}
  -- The list's own items (as the JSON encoder sends them), whatever its
  -- metatable says.
  local i = 1
  while true do
    local rule = rawget(list, i)
    if rule == nil then break end
    if type(rule) ~= "table" then
      error(("bad argument #%d to '%s' (rules expected, got %s at %d)"):format(n, fname, type(rule), i), level)
    end
    i = i + 1
    local c = canonical(rule)
    local key = rule_key(c)
    if not by_key[key] then
      by_key[key] = c
      keys[#keys + 1] = key
    end
  end
  table.sort(keys)
  local out = {}
  for j, key in ipairs(keys) do out[j] = by_key[key] end
  return out
end

--- A sorted copy of a list of rules (direction, protocol, ports), with
-- duplicates removed. `22` and `22.0` are the same port, and "all ports"
-- written as no ports or as 1-65535 is the same rule. Extra keys a server
-- may add to rules are ignored.
-- @tparam table list rules
-- @treturn table new rule tables
-- @raise when `list` is not a list of tables
function rules.normalize(list)
  return (normalize(list, "rules.normalize", 1, 3))
end

local function key_set(list, fname, n, level)
  local set = {}
  for _, rule in ipairs(normalize(list, fname, n, level + 1)) do set[rule_key(rule)] = rule end
  return set
end

-- Rules of `a` missing from `b`, in canonical order.
local function missing(a_set, b_set)
  local out = {}
  for key, rule in pairs(a_set) do
    if not b_set[key] then out[#out + 1] = rule end
  end
  table.sort(out, function(x, y) return rule_key(x) < rule_key(y) end)
  return out
end

-- The work of `rules.diff` and `rules.equal`; `fname` and `level` name the
-- public function in argument errors.
local function diff(current, desired, fname, level)
  local cur = key_set(current or {}, fname, 1, level + 1)
  local want = key_set(desired or {}, fname, 2, level + 1)
  return { add = missing(want, cur), remove = missing(cur, want) }
end

--- What changes `current` into `desired`, comparing them as sets (see
-- `normalize`).
-- @tparam table current rules
-- @tparam table desired rules
-- @treturn table `{ add = { rules in desired only }, remove = { rules in current only } }`
-- @usage local d = rules.diff(sg.rules, wanted); for _, r in ipairs(d.add) do print("+ " .. tostring(r)) end
function rules.diff(current, desired)
  local d = diff(current, desired, "rules.diff", 3) -- not a tail call: the level counts this frame
  return d
end

--- Whether two lists hold the same rules, as sets (see `normalize`).
-- @tparam table a rules
-- @tparam table b rules
-- @treturn boolean
function rules.equal(a, b)
  local d = diff(a, b, "rules.equal", 3)
  return #d.add == 0 and #d.remove == 0
end

return rules
