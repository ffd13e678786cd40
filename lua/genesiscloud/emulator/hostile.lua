-- The "hostile" fault: the request is handled as usual, then its answer
-- is replaced by one a broken or malicious server could send, in one of
-- the shapes below (picked with the seeded fault generator, so a seed
-- repeats the run). What a client must survive: see docs/emulator.md,
-- "Hostile answers".

local json = require "genesiscloud.emulator.wire_json"

local hostile = {}

-- Every shape, in the order they are picked from.
hostile.SHAPES = { "missing_ids", "wrong_types", "nulls", "wrong_totals", "repeated_page",
  "oversize_headers", "wrong_envelope", "not_json" }
local KNOWN = {}
for _, s in ipairs(hostile.SHAPES) do KNOWN[s] = true end

-- The settings check (faults.lua): a shape or a non-empty list of them.
function hostile.check_shapes(v)
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" or #v == 0 then
    return nil, "hostile_shapes must be a non-empty list of: " .. table.concat(hostile.SHAPES, ", ")
  end
  local out = {}
  for i, s in ipairs(v) do
    if not KNOWN[s] then
      return nil, "unknown hostile shape '" .. tostring(s) .. "' (known: " .. table.concat(hostile.SHAPES, ", ") .. ")"
    end
    out[i] = s
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then return nil, "hostile_shapes must be a list" end
  end
  return out
end

local function pick(list, draw)
  return list[math.min(#list, math.floor(draw() * #list) + 1)]
end

local function encode(v)
  return (assert(json.encode(v)))
end

-- Bodies that are not JSON, or not the JSON asked for.
local NOT_JSON = {
  "<html><body><h1>502 Bad Gateway</h1></body></html>", "", "{", '{"security_groups": [', "null",
  "[]", "42", '"text"', "\0\1\2", "{}{}", '{"a":1}garbage', string.rep("[", 200) .. string.rep("]", 200),
}

-- Values of the wrong type for any field.
local WRONG = { 5, -1, 1.5, "x", "", true, false, { 1, 2 }, { a = 1 } }

local function wrong_value(draw)
  local v = pick(WRONG, draw)
  if type(v) == "table" then
    local copy = {}
    for k, x in pairs(v) do copy[k] = x end
    return copy
  end
  return v
end

local function items_of(t, plural)
  local items = type(t) == "table" and t[plural]
  if type(items) == "table" then return items end
  return nil
end

-- The object of a single-object answer: under its envelope, or the whole
-- body when objects are bare (SSH keys); nil for anything else.
local function object_of(ctx, t)
  if ctx.singular then return t[ctx.singular] end
  if ctx.bare then return t end
  return nil
end

-- The body with its object replaced by v (for a bare object: v itself).
local function with_object(ctx, t, v)
  if ctx.singular then
    t[ctx.singular] = v
    return t
  end
  return v
end

-- Each shape: fn(ctx) -> status, text, headers. ctx: status, text (the
-- real answer), decoded (its table or nil), headers, list (true for a
-- list page), plural/singular keys (singular nil: objects are bare, and
-- bare is true for a successful single-object answer), memory (per
-- server), draw.
local SHAPE = {}

function SHAPE.missing_ids(ctx)
  local t = ctx.decoded
  local items = ctx.list and items_of(t, ctx.plural)
  if items then
    local all = ctx.draw() < 0.5
    for i, item in ipairs(items) do
      if type(item) == "table" and (all or i % 2 == 1) then item.id = nil end
    end
  elseif type(t) == "table" and type(object_of(ctx, t)) == "table" then
    object_of(ctx, t).id = nil
  else
    return SHAPE.not_json(ctx)
  end
  return ctx.status, encode(t), ctx.headers
end

function SHAPE.wrong_types(ctx)
  local t, draw = ctx.decoded, ctx.draw
  if type(t) ~= "table" then return SHAPE.not_json(ctx) end
  local items = ctx.list and items_of(t, ctx.plural)
  if items then
    local how = draw()
    if how < 0.3 then
      for i = 1, math.max(1, #items) do items[i] = pick({ 1, 2.5, "sg", true }, draw) end
    elseif how < 0.5 then
      t[ctx.plural] = wrong_value(draw)
      if type(t[ctx.plural]) == "table" and t[ctx.plural][1] then t[ctx.plural] = "x" end
    elseif how < 0.7 then
      t.total_count, t.page, t.per_page = wrong_value(draw), wrong_value(draw), wrong_value(draw)
    else
      for _, item in ipairs(items) do
        if type(item) == "table" then
          item[pick({ "id", "name", "rules", "status", "description" }, draw)] = wrong_value(draw)
        end
      end
    end
  elseif type(object_of(ctx, t)) == "table" then
    local obj = object_of(ctx, t)
    if draw() < 0.3 then
      t = with_object(ctx, t, pick({ 5, "sg", true }, draw))
    else
      obj[pick({ "id", "name", "rules", "status", "description", "created_at" }, draw)] = wrong_value(draw)
      if type(obj.rules) == "table" and obj.rules[1] and draw() < 0.5 then
        obj.rules[1] = wrong_value(draw)
      end
    end
  else
    -- an error answer: code and message of the wrong types
    t.code, t.message = wrong_value(draw), wrong_value(draw)
  end
  return ctx.status, encode(t), ctx.headers
end

function SHAPE.nulls(ctx)
  local t, draw = ctx.decoded, ctx.draw
  if type(t) ~= "table" then return SHAPE.not_json(ctx) end
  local items = ctx.list and items_of(t, ctx.plural)
  if items then
    local how = draw()
    if how < 0.4 then
      table.insert(items, math.floor(draw() * (#items + 1)) + 1, json.null)
    elseif how < 0.6 then
      t[ctx.plural] = json.null
    elseif how < 0.8 then
      t[ctx.plural] = json.array{ json.null }
    else
      t.total_count = json.null
      for _, item in ipairs(items) do
        if type(item) == "table" then item.id, item.name = json.null, json.null end
      end
    end
  elseif object_of(ctx, t) ~= nil then
    if draw() < 0.5 then
      t = with_object(ctx, t, json.null)
    elseif type(object_of(ctx, t)) == "table" then
      local obj = object_of(ctx, t)
      obj.id, obj.rules, obj.status = json.null, json.null, json.null
    end
  else
    t.code, t.message = json.null, json.null
  end
  return ctx.status, encode(t), ctx.headers
end

function SHAPE.wrong_totals(ctx)
  local t, draw = ctx.decoded, ctx.draw
  if not (ctx.list and items_of(t, ctx.plural)) then return SHAPE.wrong_types(ctx) end
  t.total_count = pick({ 1000000000, -1, 0, 1, 2 ^ 53, 1e300, "3" }, draw)
  if draw() < 0.5 then t.per_page = pick({ 0, -5, 1, 1000000 }, draw) end
  if draw() < 0.3 then t.page = pick({ 0, -1, 999 }, draw) end
  return ctx.status, encode(t), ctx.headers
end

-- The previous answer of the same kind again (a server that ignores
-- `page`, or caches by the wrong key).
function SHAPE.repeated_page(ctx)
  local key = ctx.list and "list" or "item"
  local earlier = ctx.memory[key]
  if not earlier then return ctx.status, ctx.text, ctx.headers end
  return earlier.status, earlier.text, earlier.headers
end

-- A large header: one line past libcurl's 100 KB limit for one header,
-- many lines past its 300 KB for all, or a big one that fits.
function SHAPE.oversize_headers(ctx)
  local h = {}
  for k, v in pairs(ctx.headers) do h[k] = v end
  local how = ctx.draw()
  if how < 0.4 then
    h["x-hostile"] = string.rep("x", 120 * 1024)
  elseif how < 0.7 then
    for i = 1, 40 do h["x-hostile-" .. i] = string.rep("y", 8 * 1024) end
  else
    h["x-hostile"] = string.rep("z", 16 * 1024)
  end
  return ctx.status, ctx.text, h
end

function SHAPE.wrong_envelope(ctx)
  local t, draw = ctx.decoded, ctx.draw
  if type(t) ~= "table" then return SHAPE.not_json(ctx) end
  local inner
  if ctx.list then inner = t[ctx.plural] else inner = object_of(ctx, t) end
  if inner == nil then inner = t end
  local how = draw()
  local out
  if how < 0.25 then
    -- the list under an object's key, an object under the list's
    out = { [ctx.list and (ctx.singular or "data") or ctx.plural] = inner }
  elseif how < 0.5 then
    out = { data = t }
  elseif how < 0.75 then
    out = type(inner) == "table" and inner or t -- the bare object or list
  else
    out = json.array{ t }
  end
  return ctx.status, encode(out), ctx.headers
end

function SHAPE.not_json(ctx)
  local h = {}
  for k, v in pairs(ctx.headers) do h[k] = v end
  h["content-type"] = ctx.draw() < 0.5 and "application/json" or "text/html"
  local status = ctx.status
  if status == 204 then status = 200 end
  return status, pick(NOT_JSON, ctx.draw), h
end

-- The hostile answer for one handled request. `st`: the emulator app (its
-- seeded draw, settings and a memory of earlier answers); `route`: what
-- app:hostile_route says of the request's route (list, list_key,
-- envelope). -> status, text, headers, shape
function hostile.apply(st, route, status, text, headers)
  local draw = st.fault_draw
  local shape = pick(st.config.hostile_shapes, draw)
  local memory = st.hostile_memory
  if not memory then
    memory = {}
    st.hostile_memory = memory
  end
  local list = route.list
  local decoded = text and json.decode(text) or nil
  local ctx = {
    status = status, text = text, headers = headers or {}, decoded = decoded, draw = draw,
    list = list, plural = route.list_key, singular = route.envelope, memory = memory,
    bare = not route.envelope and not list and status >= 200 and status < 300 and json.is_object(decoded),
  }
  local s, t, h = SHAPE[shape](ctx)
  -- a 204 carries no body: one that gained a body becomes a 200
  if s == 204 and t ~= nil and t ~= "" then s = 200 end
  if s ~= 204 and t == nil then t = "" end
  if status >= 200 and status < 300 then
    memory[list and "list" or "item"] = { status = s, text = t, headers = h }
  end
  return s, t, h, shape
end

return hostile
