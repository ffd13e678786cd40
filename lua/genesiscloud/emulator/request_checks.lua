-- The emulator's checks shared by every resource: well-formed UTF-8, a
-- body that is a JSON object, passed-through fields, page parameters. A
-- resource's own field checks are in its behaviour (behaviours/*.lua).
-- Each check returns the cleaned value, or nil and a message that names the
-- field (the message goes into the 400 error body).

local json = require "genesiscloud.emulator.wire_json"

local validate = {}

local null = json.null

-- Fields the server owns: ignored when a client sends them.
local READ_ONLY = { id = true, status = true, created_at = true, updated_at = true, is_internal = true }

validate.READ_ONLY = READ_ONLY

-- The length of the well-formed UTF-8 sequence at byte i of s (RFC 3629:
-- no overlong forms, no surrogates, nothing past U+10FFFF), or nil.
local function utf8_at(s, i)
  local c = s:byte(i)
  if c < 0x80 then return 1 end
  local n, lo, hi
  if c >= 0xC2 and c <= 0xDF then
    n, lo, hi = 2, 0x80, 0xBF
  elseif c == 0xE0 then
    n, lo, hi = 3, 0xA0, 0xBF
  elseif c == 0xED then
    n, lo, hi = 3, 0x80, 0x9F
  elseif c >= 0xE1 and c <= 0xEF then
    n, lo, hi = 3, 0x80, 0xBF
  elseif c == 0xF0 then
    n, lo, hi = 4, 0x90, 0xBF
  elseif c >= 0xF1 and c <= 0xF3 then
    n, lo, hi = 4, 0x80, 0xBF
  elseif c == 0xF4 then
    n, lo, hi = 4, 0x80, 0x8F
  else
    return nil
  end
  local b = s:byte(i + 1)
  if not b or b < lo or b > hi then return nil end
  for k = i + 2, i + n - 1 do
    b = s:byte(k)
    if not b or b < 0x80 or b > 0xBF then return nil end
  end
  return n
end

-- Is s well-formed UTF-8?
function validate.utf8(s)
  local i, n = 1, #s
  while true do
    -- skip runs of ASCII at once
    i = s:find("[\128-\255]", i)
    if not i then return true end
    local len = utf8_at(s, i)
    if not len then return false end
    i = i + len
    if i > n then return true end
  end
end

-- s with every byte that is not part of well-formed UTF-8 replaced by
-- U+FFFD, for echoing what a client sent (the request log) as JSON.
function validate.utf8_repair(s)
  if validate.utf8(s) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len = utf8_at(s, i)
    if len then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
  end
  return table.concat(out)
end

-- The first string in v (keys too) that is not well-formed UTF-8: where it
-- is ("name", "rules[2].protocol"), or nil when all are.
local function bad_utf8(v, where)
  if type(v) == "string" then
    if not validate.utf8(v) then return where end
  elseif type(v) == "table" and v ~= null then
    local list = json.is_list(v)
    for k, x in pairs(v) do
      if type(k) == "string" and not validate.utf8(k) then
        return (where and where .. " has a field whose name" or "a field name")
      end
      local at
      if list then
        at = (where or "") .. "[" .. tostring(k) .. "]"
      else
        at = where and (where .. "." .. tostring(k)) or tostring(k)
      end
      local found = bad_utf8(x, at)
      if found then return found end
    end
  end
  return nil
end

-- JSON null counts as absent for every optional field.
function validate.present(v)
  return v ~= nil and v ~= null
end

-- A request body before its resource's own checks: a JSON object whose
-- strings (keys too) are UTF-8. Returns nil or the message of a 400.
function validate.object_body(body)
  if not json.is_object(body) then
    return "request body must be a JSON object"
  end
  -- JSON text is UTF-8 (RFC 8259); cjson lets other bytes through, and
  -- they must never be stored or echoed
  local bad = bad_utf8(body)
  if bad then return bad .. " is not valid UTF-8" end
  return nil
end

-- The fields of `body` that are neither in `known` nor server-owned
-- (READ_ONLY): stored and echoed back as they came.
function validate.extra_fields(body, known)
  local out = {}
  for k, v in pairs(body) do
    if not known[k] and not READ_ONLY[k] then out[k] = v end
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
