-- One implementation of every emulated resource, driven by its kind
-- (kinds.lua: the client's definition joined with its behaviour): a route
-- per path of its operations (a method a path lacks answers 405), list
-- pages, create, get, update by PUT or PATCH, delete, each answering with
-- its operation's success status and envelope (a key, or the bare
-- object), status transitions, and read-only catalogs. Handlers get (app,
-- request) and return `status, body_table_or_nil, extra_headers`; app.lua
-- does auth, logging and encoding around them.

local json = require "genesiscloud.emulator.wire_json"
local checks = require "genesiscloud.emulator.request_checks"
local reply = require "genesiscloud.emulator.reply"
local transitions = require "genesiscloud.emulator.transitions"
local api_version = require "genesiscloud.emulator.api_version"

local collection = {}

local function not_found(def)
  return reply.error("not_found", def.title .. " not found")
end
collection.not_found = not_found

-- A single object's answer to operation `op`: its success status, the
-- object under the operation's envelope or bare.
local function answer(op, value)
  if op.envelope then return op.expect, { [op.envelope] = value } end
  return op.expect, value
end
collection.answer = answer

-- The record as the API shows it (`app`: behaviours that show links read
-- the other kinds' records).
-- (security groups answer cached JSON, except under 2023-07, whose
-- fields differ.)
local function show(def, record, app)
  local version = app and app.config.api_version
  if def.encoded and version ~= "2023-07" then return def.encoded(record) end
  return api_version.shape(version, def, def.represent(record, app))
end
collection.show = show

-- The record as operation `op_name` of its kind answers it.
local function one(def, record, op_name, app)
  return answer(def.operations[op_name], show(def, record, app))
end
collection.one = one

-- The request's body as a JSON object, or nil and a message.
local function body_object(req)
  local body, err = json.decode(req.body)
  if body == nil then
    return nil, "request body must be a JSON object (" .. tostring(err) .. ")"
  end
  local problem = checks.object_body(body)
  if problem then return nil, problem end
  return body
end
collection.body_object = body_object

-- The fields the request writes, checked by `check(body, mode, app,
-- record)`: the fields, or nil, a message and the error kind (a 400
-- unless the check says otherwise).
local function decode_body(check, req, mode, app, record)
  local body, err = body_object(req)
  if not body then return nil, err end
  return check(body, mode, app, record)
end
collection.decode_body = decode_body

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
collection.begin = begin

-- Stores a new record of kind `def` and starts its create step.
function collection.insert(app, def, record)
  record = app.store:insert(def.name, record)
  begin(app, def, record, "create")
  return record
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

local function page_answer(op, items, total, page, per_page)
  return op.expect, { [op.list_key] = items, total_count = total, page = page, per_page = per_page }
end

local function list_stored(app, req, def)
  local page, per_page = checks.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local total = app.store:count(def.name)
  local items = json.array()
  local first, n = page_window(total, page, per_page)
  if n > 0 then
    for i, record in ipairs(app.store:slice(def.name, first, n)) do items[i] = show(def, record, app) end
  end
  return page_answer(def.operations.list, items, total, page, per_page)
end

-- One page of `records` (all of them, in order) as list operation `op`
-- answers it, each shown as kind `def` shows it; a 400 for bad page
-- parameters.
function collection.page_of(app, req, def, op, records)
  local page, per_page = checks.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local items = json.array()
  local first, n = page_window(#records, page, per_page)
  for i = 1, n do items[i] = show(def, records[first + i - 1], app) end
  return page_answer(op, items, #records, page, per_page)
end

local function list_catalog(app, req, def)
  local op = def.operations.list
  local selected, err = def.select(req.query)
  if not selected then return reply.error("bad_request", err) end
  -- a list answered whole (quotas): no pages
  if op.paginated == false then return op.expect, { [op.list_key] = json.array{ table.unpack(selected) } } end
  local page, per_page = checks.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local total = #selected
  local items = json.array()
  local first, n = page_window(total, page, per_page)
  local version = app.config.api_version
  for i = 1, n do items[i] = api_version.shape(version, def, selected[first + i - 1]) end
  return page_answer(op, items, total, page, per_page)
end

local function create(app, req, def)
  local body, problem = body_object(req)
  if not body then return reply.error("bad_request", problem) end
  local missing = api_version.required_on_create(app.config.api_version, def, body)
  if missing then return reply.error("bad_request", missing .. " is required") end
  local fields, err, kind = decode_body(def.check, req, "create", app)
  if not fields then return reply.error(kind or "bad_request", err) end
  local record = collection.insert(app, def, def.new_record(fields, app.store:now(), app))
  return one(def, record, "create", app)
end

local function get(app, req, def)
  local record = app.store:read(def.name, req.params[def.operations.get.param])
  if not record then return not_found(def) end
  return one(def, record, "get", app)
end

local function get_catalog(_, req, def)
  local op = def.operations.get
  local value, err = def.lookup(req.params[op.param], req.query)
  if not value then return reply.error("bad_request", err) end
  return answer(op, value)
end

local function update(app, req, def, mode)
  local record = app.store:get(def.name, req.params[def.operations.update.param])
  if not record then return not_found(def) end
  local fields, err, kind = decode_body(def.check, req, mode, app, record)
  if not fields then return reply.error(kind or "bad_request", err) end
  if deleting(record) then
    return reply.error("conflict", def.title .. " is being deleted")
  end
  def.update_record(record, fields, app.store:now(), app)
  record._json = nil
  begin(app, def, record, "update")
  return one(def, record, "update", app)
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
  local record = app.store:get(def.name, req.params[def.operations.delete.param])
  if not record then return not_found(def) end
  if deleting(record) then return def.operations.delete.expect end
  -- a link the API guards (an attached volume, a protected instance)
  if def.refuse_delete then
    local refused, message = def.refuse_delete(record, app)
    if refused then return reply.error(refused, message) end
  end
  -- deleting twice while the first delete is pending changes nothing
  if not (api_version.shows_deleting(app.config.api_version, def) and begin(app, def, record, "delete")) then
    app.store:remove(def.name, record.id)
  end
  return def.operations.delete.expect
end

-- The handler of each method of each operation ("update" has a mode per
-- method; PUT is bound in routes, it needs the path's other methods).
local HANDLERS = {
  list = function(def) return def.select and list_catalog or list_stored end,
  get = function(def) return def.lookup and get_catalog or get end,
  create = function() return create end,
  update = function() return update end,
  delete = function() return delete end,
}
local UPDATE_MODE = { PATCH = "patch" }

local function bind(def, handler, extra)
  return function(app, req) return handler(app, req, def, extra) end
end

-- Adds operation `op` of `def` to the route of its path (made on first use).
local function add_operation(def, op, routes, by_path)
  local route = by_path[op.path]
  if not route then
    route = { pattern = op.path, methods = {}, envelopes = {}, ops = {}, resource = def, list = false }
    by_path[op.path] = route
    routes[#routes + 1] = route
  end
  local handler = HANDLERS[op.name](def)
  for _, method in ipairs(op.methods) do
    if op.name == "update" and method == "PUT" then
      route.put = true
    else
      route.methods[method] = bind(def, handler, UPDATE_MODE[method])
    end
    route.envelopes[method] = op.envelope
    route.ops[method] = op.name
  end
  if op.name == "list" then route.list, route.list_key = true, op.list_key end
end

-- The API routes of one kind (see router.lua), in the order list, create,
-- get, update, delete; each route knows its resource, whether it is the
-- list path and the envelope of each method (the hostile fault uses them).
function collection.routes(def)
  local routes, by_path = {}, {}
  for _, name in ipairs{ "list", "create", "get", "update", "delete" } do
    local op = def.operations[name]
    if op then add_operation(def, op, routes, by_path) end
  end
  for _, route in ipairs(routes) do
    if route.put then
      local allow = {}
      for method in pairs(route.methods) do allow[#allow + 1] = method end
      table.sort(allow)
      route.methods.PUT = bind(def, put, table.concat(allow, ", "))
      route.put = nil
    end
  end
  -- actions, nested collections and calls: below one object
  for _, route in ipairs(require("genesiscloud.emulator.object_routes").routes(def)) do
    routes[#routes + 1] = route
  end
  return routes
end

return collection
