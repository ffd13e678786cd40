-- JSON for the emulator: a private cjson.safe instance for decoding and for
-- string escaping, and a small encoder of our own on top of it, because
-- Debian's cjson 2.1.0 encodes an empty Lua table as {} (we need [] for
-- empty lists), prints integers above 1e14 in exponent form and orders keys
-- at random (sorted keys make responses and logs easy to compare).

local cjson = require("cjson.safe").new()

local json = {}

-- The server runs on lua5.4, but the specs also use this encoder in the test
-- process, which may be Lua 5.1-5.3 or LuaJIT: before 5.3 there is no
-- integer subtype, and a whole number (below 2^53) counts as an integer.
local math_type = math.type or function(x)
  if type(x) ~= "number" then return nil end
  return (x == math.floor(x) and math.abs(x) < 2^53) and "integer" or "float"
end
local tointeger = math.tointeger or function(x)
  if math_type(x) == "integer" then return x end
end
local move = table.move or function(a1, f, e, t, a2)
  for i = f, e do a2[t + i - f] = a1[i] end
  return a2
end

json.null = cjson.null

-- Tables made with json.array() always encode as a JSON array, even empty.
local array_mt = { __name = "genesiscloud.emulator.wire_json.array" }

function json.array(t)
  return setmetatable(t or {}, array_mt)
end

function json.is_array(t)
  return getmetatable(t) == array_mt
end

-- json.raw({ "text", ... }, depth): JSON already encoded, written as the
-- concatenation of its strings (so a cached group costs no encoding).
-- `depth` is how deep its tables nest (see json.encode_with_depth),
-- so the nesting limit applies as if it were encoded in place.
local raw_mt = { __name = "genesiscloud.emulator.wire_json.raw" }

function json.raw(parts, depth)
  parts.depth = depth
  return setmetatable(parts, raw_mt)
end

local MAX_DEPTH = 100
local deepest = 0 -- the deepest table of the current encode

-- A decoded table is a JSON array when its keys are exactly 1..n (n >= 1).
local function looks_like_array(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math_type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

-- Shortest form that reads back to the same number.
local function encode_number(x)
  if math_type(x) == "integer" then return string.format("%d", x) end
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  local i = tointeger(x)
  if i and math.abs(x) < 2^53 then return string.format("%d", i) end
  for precision = 14, 17 do
    local s = string.format("%." .. precision .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

-- cjson escapes "/" as "\/": valid, but hard to read in logs and paths.
-- Every "/" it writes is escaped, so each "\/" is one escape.
local function encode_string(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

local encode_value

local function encode_table(t, depth, out)
  local mt = getmetatable(t)
  if mt == raw_mt then
    if t.depth then
      if depth + t.depth > MAX_DEPTH then error("nesting too deep", 0) end
      if depth + t.depth > deepest then deepest = depth + t.depth end
    end
    move(t, 1, #t, #out + 1, out)
    return
  end
  if depth > MAX_DEPTH then error("nesting too deep", 0) end
  if depth > deepest then deepest = depth end
  if mt == array_mt or looks_like_array(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], depth + 1, out)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" and type(k) ~= "number" then
      error("cannot encode a key of type " .. type(k), 0)
    end
    keys[#keys + 1] = tostring(k)
  end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    encode_value(v, depth + 1, out)
  end
  out[#out + 1] = "}"
end

function encode_value(v, depth, out)
  local tv = type(v)
  if tv == "table" then
    encode_table(v, depth, out)
  elseif tv == "string" then
    out[#out + 1] = encode_string(v)
  elseif tv == "number" then
    out[#out + 1] = encode_number(v)
  elseif tv == "boolean" then
    out[#out + 1] = tostring(v)
  elseif v == nil or v == cjson.null then
    out[#out + 1] = "null"
  else
    error("cannot encode a value of type " .. tv, 0)
  end
end

-- Returns the JSON text and the depth of its deepest table (0 when that
-- is the top one, or there is none), or nil and a message.
function json.encode_with_depth(v)
  local out = {}
  deepest = 0
  local ok, err = pcall(encode_value, v, 0, out)
  if not ok then return nil, err end
  return table.concat(out), deepest
end

-- Returns the JSON text, or nil and a message.
function json.encode(v)
  local text, err = json.encode_with_depth(v)
  if not text then return nil, err end
  return text
end

-- Returns the decoded value (JSON null as json.null), or nil and a message.
function json.decode(s)
  if type(s) ~= "string" then return nil, "no JSON text" end
  return cjson.decode(s)
end

-- A decoded JSON object: a table whose keys are all strings (or empty).
function json.is_object(v)
  if type(v) ~= "table" or getmetatable(v) == array_mt then return false end
  for k in pairs(v) do
    if type(k) ~= "string" then return false end
  end
  return true
end

-- A decoded JSON array: keys 1..n, or empty ([] and {} decode alike).
function json.is_list(v)
  return type(v) == "table" and (next(v) == nil or looks_like_array(v))
end

return json
