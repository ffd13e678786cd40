--- Checks run before anything is sent, so a mistake is reported with the
-- field path and value a person wrote instead of an HTTP 400 from the API.
--
-- Every check returns `true` or `nil, err` (kind "validation", `field`,
-- `value`). The small checkers at the top are generic so that validators of
-- other resources stay a few lines long.
-- @module genesiscloud.validate
-- @usage
-- local validate = require "genesiscloud.validate"
-- local function volume(spec)
--   local ok, err = validate.string(spec.name, "name", { non_empty = true })
--   if not ok then return nil, err end
--   return validate.integer(spec.size, "size", { min = 1, max = 10000 })
-- end

local errors = require "genesiscloud.errors"

local validate = {}

-- Words for a value in a message: strings quoted, other types named.
local function describe(value)
  local t = type(value)
  if t == "string" then
    return string.format("%q", value)
  elseif t == "number" then
    if value ~= value then return "NaN" end
    if value % 1 == 0 and value > -2^53 and value < 2^53 then
      return string.format("%d", value)
    end
    return tostring(value)
  elseif t == "nil" then
    return "nothing"
  elseif t == "table" then
    return "a table"
  end
  return "a " .. t .. " value"
end
validate.describe = describe

-- "rules[3]" + "port_range_max" -> "rules[3].port_range_max"; no prefix -> key.
local function path(prefix, key)
  if prefix == nil or prefix == "" then return key end
  return prefix .. "." .. key
end
validate.path = path

--- The failure every checker returns.
-- @tparam string field where the value is, e.g. `"rules[2].protocol"`
-- @param value the bad value
-- @tparam string message the whole message
-- @return nil
-- @treturn genesiscloud.error kind `"validation"` with `field` and `value`
function validate.fail(field, value, message)
  return nil, errors.new{ kind = "validation", field = field, value = value, message = message }
end
local fail = validate.fail

--- Whole number check that works without integer subtypes (5.1, 5.2) and
-- accepts a whole float such as 22.0 on 5.3+.
-- @param x anything
-- @treturn boolean
function validate.is_integer(x)
  if type(x) ~= "number" then return false end
  if math.type and math.type(x) == "integer" then return true end
  return x == x and x % 1 == 0 and x > -2^53 and x < 2^53
end

local function is_blank(s)
  return s:match("^%s*$") ~= nil
end

--- A string.
-- @param value
-- @tparam string field
-- @tparam[opt] table opts `optional` (nil is fine), `non_empty` (not empty or
-- only spaces), `reserved` (a list of refused values)
-- @return `true`, or `nil, err`
function validate.string(value, field, opts)
  opts = opts or {}
  if value == nil and opts.optional then return true end
  if type(value) ~= "string" then
    return fail(field, value, string.format("%s must be a string, got %s", field, describe(value)))
  end
  if opts.non_empty and is_blank(value) then
    return fail(field, value, string.format("%s must not be empty, got %s", field, describe(value)))
  end
  for _, reserved in ipairs(opts.reserved or {}) do
    if value == reserved then
      return fail(field, value, string.format(
        "%s %s is reserved by the API; choose another", field, describe(value)))
    end
  end
  return true
end

--- A whole number (`22.0` is fine, `22.5` is not).
-- @param value
-- @tparam string field
-- @tparam[opt] table opts `optional`, `min`, `max`
-- @return `true`, or `nil, err`
function validate.integer(value, field, opts)
  opts = opts or {}
  if value == nil and opts.optional then return true end
  local min, max = opts.min, opts.max
  local ok = validate.is_integer(value)
    and (min == nil or value >= min) and (max == nil or value <= max)
  if ok then return true end
  local range
  if min and max then
    range = string.format(" from %d to %d", min, max)
  elseif min then
    range = string.format(" of at least %d", min)
  elseif max then
    range = string.format(" of at most %d", max)
  else
    range = ""
  end
  return fail(field, value, string.format("%s must be a whole number%s, got %s", field, range, describe(value)))
end

--- One of a list of values.
-- @param value
-- @tparam string field
-- @tparam table allowed the accepted values (listed in the message in that order)
-- @tparam[opt] table opts `optional`
-- @return `true`, or `nil, err`
function validate.enum(value, field, allowed, opts)
  opts = opts or {}
  if value == nil and opts.optional then return true end
  for _, a in ipairs(allowed) do
    if value == a then return true end
  end
  return fail(field, value, string.format("%s must be one of %s; got %s",
    field, table.concat(allowed, ", "), describe(value)))
end

local function sorted_keys(t, filter)
  local keys = {}
  for k in pairs(t) do
    if filter(k) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- A proper sequence 1..n: no holes, no string keys.
-- @param value
-- @tparam string field
-- @tparam[opt] table opts `optional`, `non_empty`
-- @return `true`, or `nil, err`
function validate.array(value, field, opts)
  opts = opts or {}
  if value == nil and opts.optional then return true end
  if type(value) ~= "table" then
    return fail(field, value, string.format("%s must be a list, got %s", field, describe(value)))
  end
  local odd = sorted_keys(value, function(k)
    return not (validate.is_integer(k) and k >= 1)
  end)
  if #odd > 0 then
    return fail(field, value, string.format(
      "%s must be a list (array), but it has the key %s", field, describe(odd[1])))
  end
  local count, n = 0, #value
  for _ in pairs(value) do count = count + 1 end
  if count ~= n then
    local hole = 1
    while value[hole] ~= nil do hole = hole + 1 end
    return fail(field, value, string.format(
      "%s must be a list without holes, but %s[%d] is missing", field, field, hole))
  end
  if opts.non_empty and n == 0 then
    return fail(field, value, string.format("%s must have at least one item, got an empty list", field))
  end
  return true
end

--- Rejects keys not in `allowed`, naming all of them.
-- @tparam table value
-- @tparam string field
-- @tparam table allowed the accepted keys
-- @return `true`, or `nil, err`
function validate.known_keys(value, field, allowed)
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  local unknown = sorted_keys(value, function(k) return not set[k] end)
  if #unknown == 0 then return true end
  local names = {}
  for i, k in ipairs(unknown) do names[i] = describe(k) end
  local first = unknown[1]
  local where = field and (field .. " has") or "has"
  return fail(path(field, tostring(first)), value[first], string.format(
    "%s unknown key%s %s (allowed: %s)", where, #unknown > 1 and "s" or "",
    table.concat(names, ", "), table.concat(allowed, ", ")))
end

-- Plain data ----------------------------------------------------------------

-- Metamethods that change what Lua code reads from a table (5.2+ pairs
-- and ipairs, # on 5.2+, t[k] everywhere).
local READ_HOOKS = { "__index", "__pairs", "__ipairs", "__len" }
local getmetatable_ = debug and debug.getmetatable or getmetatable

-- "rules" + 2 -> "rules[2]"; "rules[2]" + "protocol" -> "rules[2].protocol"
local function item_path(prefix, k)
  if type(k) == "number" then return (prefix or "") .. "[" .. tostring(k) .. "]" end
  return path(prefix, tostring(k))
end

local function plain(value, field, depth)
  if type(value) ~= "table" then return value end
  if depth > validate.MAX_DEPTH then
    return fail(field or "spec", nil, string.format(
      "%s is nested more than %d levels deep (does it contain itself?)", field or "the spec", validate.MAX_DEPTH))
  end
  local mt = getmetatable_(value)
  if mt ~= nil then
    for _, hook in ipairs(READ_HOOKS) do
      if type(mt) ~= "table" or rawget(mt, hook) ~= nil then
        return fail(field or "spec", value, string.format(
          "%s is a table with a metatable (%s): only a table's own fields are sent, so pass a plain table",
          field or "the spec", type(mt) == "table" and hook or "not a table"))
      end
    end
  end
  local copy = {}
  for k, v in next, value do
    local sub, err = plain(v, item_path(field, k), depth + 1)
    if sub == nil then return nil, err end
    copy[k] = sub
  end
  -- a metatable that changes no read stays (rules print themselves, json
  -- marks empty objects with one)
  if mt ~= nil then setmetatable(copy, mt) end
  return copy
end

--- Nesting accepted in a spec (the JSON encoder's limit).
validate.MAX_DEPTH = 64

--- A plain copy of a spec: what is validated and what is sent. Every
-- table is copied with its own fields only (`next`, as the JSON encoder
-- sees it on every Lua version); a table whose metatable changes what is
-- read from it (`__index`, `__pairs`, `__ipairs`, `__len`) is refused, so
-- that a spec can never pass validation with fields it then does not send.
-- @param value a spec (anything but a table is returned as is)
-- @tparam[opt] string field the value's path in messages
-- @return the copy, or `nil, err` (kind `"validation"`)
function validate.plain(value, field)
  return plain(value, field, 1)
end

--- The query of a list call: `page` >= 1, `per_page` 1..100; unknown keys
-- pass through to the API.
-- @tparam table q
-- @return `true`, or `nil, err`
function validate.list_query(q)
  if q == nil then return true end
  if type(q) ~= "table" then
    return fail("query", q, "list options must be a table, got " .. describe(q))
  end
  local ok, err = validate.integer(q.page, "page", { optional = true, min = 1 })
  if not ok then return nil, err end
  return validate.integer(q.per_page, "per_page", { optional = true, min = 1, max = 100 })
end

return validate
