-- Fault injection for the emulator: the settings (checked and normalised
-- here for app.new, /_emulator/config, emulator.start and the command
-- line), a seeded generator, and the choice of a fault for one request. The
-- wire side (closing connections, cutting bodies, stalling) is in server.lua;
-- the effect on the store and the log is in app.lua. See docs/emulator.md.

local faults = {}

local hostile = require "genesiscloud.emulator.hostile"

-- Every kind, in the order the generator picks from.
faults.KINDS = { "status", "close_before_body", "close_after_body", "truncate", "invalid_json", "stall", "oversize" }
local KNOWN_KIND = {}
for _, k in ipairs(faults.KINDS) do KNOWN_KIND[k] = true end
-- Kinds that are only used when asked for by name (not in the default list).
faults.EXTRA_KINDS = { "hostile" }
for _, k in ipairs(faults.EXTRA_KINDS) do KNOWN_KIND[k] = true end
local ALL_KINDS = table.concat(faults.KINDS, ", ") .. ", " .. table.concat(faults.EXTRA_KINDS, ", ")

local METHODS = { DELETE = true, GET = true, PATCH = true, POST = true, PUT = true }

faults.DEFAULT_OVERSIZE = 20 * 1024 * 1024
faults.DEFAULT_STALL = 30

local function number(value, min, max)
  if type(value) ~= "number" or value ~= value or value < min or value > max then
    return nil
  end
  return value
end

local function integer(value)
  if type(value) ~= "number" then return nil end
  return math.tointeger(value)
end

local function list_of(value)
  if type(value) ~= "table" then return nil end
  local n = #value
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  if count ~= n then return nil end
  return n
end

local function status_code(v)
  local i = integer(v)
  if i and i >= 400 and i <= 599 then return i end
  return nil
end

-- Each check returns the normalised value, or nil and a message.
local CHECKS = {}

function CHECKS.latency(v)
  local n = number(v, 0, 3600)
  if not n then return nil, "latency must be a number of seconds 0..3600" end
  return n
end

function CHECKS.stall_seconds(v)
  local n = number(v, 0, 3600)
  if not n then return nil, "stall_seconds must be a number of seconds 0..3600" end
  return n
end

function CHECKS.fault_rate(v)
  local n = number(v, 0, 1)
  if not n then return nil, "fault_rate must be a number from 0 to 1" end
  return n
end

function CHECKS.faults(v)
  if type(v) == "string" then v = { v } end
  local n = list_of(v)
  if not n or n == 0 then
    return nil, "faults must be a non-empty list of: " .. ALL_KINDS
  end
  local out = {}
  for i = 1, n do
    if not KNOWN_KIND[v[i]] then
      return nil, "unknown fault '" .. tostring(v[i]) .. "' (known: " .. ALL_KINDS .. ")"
    end
    out[i] = v[i]
  end
  return out
end

function CHECKS.fault_status(v)
  local single = status_code(v)
  if single then return single end
  local n = list_of(v)
  if n and n > 0 then
    local out = {}
    for i = 1, n do
      out[i] = status_code(v[i])
      if not out[i] then break end
    end
    if #out == n then return out end
  end
  return nil, "fault_status must be an HTTP status 400..599 or a non-empty list of them"
end

-- false (none), whole seconds >= 0, "date" (1 second ahead) or "date+N".
function CHECKS.retry_after(v)
  if v == false or v == nil then return false end
  local i = integer(v)
  if i and i >= 0 then return i end
  if v == "date" then return v end
  if type(v) == "string" then
    local ahead = v:match("^date%+(%d+)$")
    if ahead and #ahead <= 9 then return v end
  end
  return nil, "retry_after must be false, whole seconds >= 0, \"date\" or \"date+N\""
end

function CHECKS.oversize_bytes(v)
  local i = integer(v)
  if not i or i < 0 or i > 1024 * 1024 * 1024 then
    return nil, "oversize_bytes must be an integer 0..1073741824"
  end
  return i
end

function CHECKS.fault_seed(v)
  local i = integer(v)
  if not i then return nil, "fault_seed must be an integer" end
  return i
end

function CHECKS.fault_methods(v)
  if v == "all" then return v end
  if type(v) == "string" then v = { v } end
  local n = list_of(v)
  if not n or n == 0 then
    return nil, "fault_methods must be \"all\" or a non-empty list of DELETE, GET, PATCH, POST, PUT"
  end
  local out = {}
  for i = 1, n do
    if not METHODS[v[i]] then
      return nil, "unknown method '" .. tostring(v[i]) .. "' in fault_methods"
    end
    out[i] = v[i]
  end
  return out
end

-- The shapes a "hostile" fault picks from (hostile.lua).
CHECKS.hostile_shapes = hostile.check_shapes

faults.CHECKS = CHECKS

-- Defaults (fault_seed has none: it comes from `seed` or the time).
faults.DEFAULTS = {
  latency = 0,
  fault_rate = 0,
  faults = faults.KINDS,
  fault_status = 503,
  retry_after = false,
  stall_seconds = faults.DEFAULT_STALL,
  oversize_bytes = faults.DEFAULT_OVERSIZE,
  fault_methods = "all",
  hostile_shapes = hostile.SHAPES,
}

-- Checks one setting; returns the normalised value or nil, message. A JSON
-- null (from /_emulator/config) means false for retry_after.
function faults.check(key, value, null)
  if null ~= nil and value == null and key == "retry_after" then value = false end
  local check = CHECKS[key]
  if not check then return nil, "unknown setting '" .. tostring(key) .. "'" end
  return check(value)
end

-- A private splitmix64 stream of floats in [0, 1), so a seed gives the same
-- faults for the same sequence of requests, whatever else uses math.random.
function faults.rng(seed)
  local x = (math.tointeger(seed) or 0) ~ 0x5DEECE66D
  return function()
    x = x + 0x9E3779B97F4A7C15
    local z = x
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 11) * (1.0 / 9007199254740992.0)
  end
end

-- A seed for when none is given: from the time and an address.
function faults.random_seed()
  return os.time() ~ math.floor(os.clock() * 1e6) ~ tonumber(tostring({}):match("0x(%x+)") or "0", 16)
end

local function eligible(config, method)
  local m = config.fault_methods
  if m == "all" then return METHODS[method] ~= nil end
  for _, x in ipairs(m) do
    if x == method then return true end
  end
  return false
end

local function pick(list, draw)
  return list[math.min(#list, math.floor(draw() * #list) + 1)]
end

-- The fault for one API request, or nil. Draws from `draw` only when a
-- fault is possible (rate > 0 and an eligible method): one draw for "is it
-- faulted", one for the kind, one for the status when there is a list.
-- Returns { kind = ..., status = ... (status faults) }.
function faults.choose(config, draw, method)
  local rate = config.fault_rate
  if rate <= 0 or not eligible(config, method) then return nil end
  if draw() >= rate then return nil end
  local fault = { kind = pick(config.faults, draw) }
  if fault.kind == "status" then
    local s = config.fault_status
    fault.status = type(s) == "table" and pick(s, draw) or s
  end
  return fault
end

-- RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
function faults.http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(t))
end

-- The Retry-After value for a setting at time `now` (seconds), or nil.
function faults.retry_after(setting, now)
  if setting == false or setting == nil then return nil end
  if math.type(setting) == "integer" then return tostring(setting) end
  local ahead = tonumber(setting:match("^date%+(%d+)$") or "1")
  return faults.http_date(math.ceil(now) + ahead)
end

return faults
