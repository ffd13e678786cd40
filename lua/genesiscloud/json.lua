--- JSON for the API, on a private lua-cjson instance (the host program's
-- cjson settings stay untouched).
--
-- Encoding is done here rather than by cjson because lua-cjson 2.1.0
-- writes an empty Lua table as `{}`, and an empty list must go out as `[]`.
-- Decoding is the C core's `core.decode`, one pass straight to the tables
-- we want: `null` never reaches the user (the field is absent) and whole
-- numbers come back as integers.
-- @module genesiscloud.json
local cjson = require("cjson.safe").new()
local core = require "genesiscloud.core"

local json = {}

--- Deepest nesting accepted in either direction.
json.MAX_DEPTH = core.json_max_depth
cjson.decode_max_depth(json.MAX_DEPTH)

--- The `null` value, for callers who need to send an explicit null.
json.null = cjson.null

--- Metatable that marks a table as a JSON object even when it is empty.
json.object_mt = { __name = "genesiscloud.json.object" }

local concat, sort, type, pairs, tostring = table.concat, table.sort, type, pairs, tostring
local encode_scalar = cjson.encode

--- True when table `t` is encoded as a JSON list: its keys are exactly
-- 1..n. An empty table is a list unless it carries json.object_mt.
local function is_list(t)
  if getmetatable(t) == json.object_mt then return false end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

json.is_list = is_list

local encode_value

local function encode_table(t, out, depth)
  if depth > json.MAX_DEPTH then
    return nil, "value nested deeper than " .. json.MAX_DEPTH .. " levels"
  end
  if is_list(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      local ok, err = encode_value(t[i], out, depth + 1)
      if not ok then return nil, err end
    end
    out[#out + 1] = "]"
    return true
  end
  local keys = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then
      return nil, "object key " .. tostring(k) .. " is not a string"
    end
    -- An explicit null is the same as an absent field: leave it out.
    if v ~= cjson.null then keys[#keys + 1] = k end
  end
  sort(keys) -- stable output: the same table always encodes the same
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_scalar(k)
    out[#out + 1] = ":"
    local ok, err = encode_value(t[k], out, depth + 1)
    if not ok then return nil, err end
  end
  out[#out + 1] = "}"
  return true
end

function encode_value(v, out, depth)
  local tv = type(v)
  if tv == "table" then
    return encode_table(v, out, depth)
  elseif tv == "number" and math.type and math.type(v) == "integer" then
    out[#out + 1] = string.format("%d", v)
    return true
  elseif tv == "string" or tv == "number" or tv == "boolean" or v == cjson.null then
    local s, err = encode_scalar(v)
    if not s then return nil, err end
    out[#out + 1] = s
    return true
  end
  return nil, "cannot encode a " .. tv .. " as JSON"
end

--- Encodes a Lua value; returns the JSON text or `nil, message`.
function json.encode(value)
  local out = {}
  local ok, err = encode_value(value, out, 1)
  if not ok then return nil, err end
  return concat(out)
end

local decode = core.decode
local MAX_DEPTH = json.MAX_DEPTH

--- Decodes JSON text into plain Lua; returns the value or `nil, message`.
-- `null` leaves a field absent (a hole in a list) and whole numbers are
-- integers; JSON `null` alone decodes to nil with no message.
function json.decode(text)
  return decode(text, MAX_DEPTH)
end

return json
