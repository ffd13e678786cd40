-- One implementation of every emulated resource, driven by its definition
-- (resources/*.lua): the routes it has (a method a path lacks answers 405),
-- list pages, create, get, update by PUT or PATCH, delete, the envelope of
-- single objects (a key, or the bare object), status transitions, and
-- read-only catalogs. Handlers get (app, request) and return
-- `status, body_table_or_nil, extra_headers`; app.lua does auth, logging
-- and encoding around them.

local json = require "genesiscloud.emulator.wire_json"
local checks = require "genesiscloud.emulator.request_checks"
local reply = require "genesiscloud.emulator.reply"
local transitions = require "genesiscloud.emulator.transitions"

local collection = {}

local function not_found(def)
  return reply.error("not_found", def.title .. " not found")
end

-- A single object's answer, under the definition's envelope or bare.
local function answer(def, value, status)
  if def.envelope then return status or 200, { [def.envelope] = value } end
  return status or 200, value
end

local function show(def, record)
  if def.encoded then return def.encoded(record) end
  return def.represent(record)
end

local function one(def, record, status)
  return answer(def, show(def, record), status)
end
collection.one = one

local function decode_body(def, req, mode)
  local body, err = json.decode(req.body)
  if body == nil then
    return nil, "request body must be a JSON object (" .. tostring(err) .. ")"
  end
  local problem = checks.object_body(body)
  if problem then return nil, problem end
  return def.check(body, mode)
end

-- Is the record's delete pending (it reads "deleting")?
local function deleting(record)
  return record._transition ~= nil and record._transition.to == nil
end
collection.deleting = deleting

-- Starts `step` of the record's status transitions, if its kind has them.
local function begin(app, def, record, step)
  local t = def.transitions and def.transitions[step]
  if not t then return false end
  app.store:transition(def.name, record.id, t.status, transitions.progression(app.config, def, step), t.to)
  return true
end

-- Where a page's items start (1-based) and how many there are (0 past
-- the end).
local function page_window(total, page, per_page)
  -- compare before multiplying: a huge page number must not overflow
  if page - 1 <= total // per_page then
    local first = (page - 1) * per_page + 1
    return first, math.min(per_page, total - first + 1)
  end
  return 1, 0
end

local function page_answer(def, items, total, page, per_page)
  return 200, { [def.list_key] = items, total_count = total, page = page, per_page = per_page }
end

local function list_stored(app, req, def)
  local page, per_page = checks.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local total = app.store:count(def.name)
  local items = json.array()
  local first, n = page_window(total, page, per_page)
  if n > 0 then
    for i, record in ipairs(app.store:slice(def.name, first, n)) do items[i] = show(def, record) end
  end
  return page_answer(def, items, total, page, per_page)
end

local function list_catalog(_, req, def)
  local page, per_page = checks.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local selected, err = def.select(req.query)
  if not selected then return reply.error("bad_request", err) end
  local total = #selected
  local items = json.array()
  local first, n = page_window(total, page, per_page)
  for i = 1, n do items[i] = selected[first + i - 1] end
  return page_answer(def, items, total, page, per_page)
end

local function create(app, req, def)
  local fields, err = decode_body(def, req, "create")
  if not fields then return reply.error("bad_request", err) end
  local record = app.store:insert(def.name, def.new_record(fields, app.store:now()))
  begin(app, def, record, "create")
  return one(def, record, 201)
end

local function get(app, req, def)
  local record = app.store:read(def.name, req.params.id)
  if not record then return not_found(def) end
  return one(def, record)
end

local function get_catalog(_, req, def)
  local value, err = def.lookup(req.params[def.key], req.query)
  if not value then return reply.error("bad_request", err) end
  return answer(def, value)
end

local function update(app, req, def, mode)
  local record = app.store:get(def.name, req.params.id)
  if not record then return not_found(def) end
  local fields, err = decode_body(def, req, mode)
  if not fields then return reply.error("bad_request", err) end
  if deleting(record) then
    return reply.error("conflict", def.title .. " is being deleted")
  end
  def.update_record(record, fields, app.store:now())
  record._json = nil
  begin(app, def, record, "update")
  return one(def, record)
end

-- Does `put_405` (true, or a list of plurals) refuse PUT for this kind?
local function put_refused(setting, def)
  if setting == true then return true end
  if type(setting) ~= "table" then return false end
  for _, plural in ipairs(setting) do
    if plural == def.plural then return true end
  end
  return false
end

local function put(app, req, def, allow_without_put)
  if put_refused(app.config.put_405, def) then
    -- like the live API since September 2023: update is PATCH only
    return reply.error("method_not_allowed", "Method not allowed: use PATCH", { allow = allow_without_put })
  end
  return update(app, req, def, "replace")
end

local function delete(app, req, def)
  local record = app.store:get(def.name, req.params.id)
  if not record then return not_found(def) end
  -- deleting twice while the first delete is pending changes nothing
  if not deleting(record) and not begin(app, def, record, "delete") then
    app.store:remove(def.name, record.id)
  end
  return 204
end

-- The handlers of the item path, by method.
local function item_methods(def, bind)
  local ops, methods = def.operations, {}
  if ops.get then methods.GET = bind(def.lookup and get_catalog or get) end
  for _, method in ipairs(ops.update or {}) do
    if method == "PATCH" then methods.PATCH = bind(update, "patch") end
  end
  if ops.delete then methods.DELETE = bind(delete) end
  local allow = {}
  for method in pairs(methods) do allow[#allow + 1] = method end
  table.sort(allow)
  for _, method in ipairs(ops.update or {}) do
    if method == "PUT" then methods.PUT = bind(put, table.concat(allow, ", ")) end
  end
  return methods
end

-- The API routes of one definition (see router.lua); each route knows its
-- resource and whether it is the list path (the hostile fault uses both).
function collection.routes(def)
  local function bind(handler, extra)
    return function(app, req) return handler(app, req, def, extra) end
  end
  local routes, top = {}, {}
  if def.operations.list then top.GET = bind(def.select and list_catalog or list_stored) end
  if def.operations.create then top.POST = bind(create) end
  if next(top) then
    routes[#routes + 1] = { pattern = def.path, methods = top, resource = def, list = top.GET ~= nil }
  end
  local methods = item_methods(def, bind)
  if next(methods) then
    routes[#routes + 1] = { pattern = def.item_path or def.path .. "/{id}", methods = methods, resource = def }
  end
  return routes
end

return collection
