-- The routes below one object of a kind, driven by its kind (kinds.lua:
-- the definition's actions, nested collections and calls, compiled by the
-- client's genesiscloud.service.operation, joined with the behaviour):
--
--   actions   POST {path} with `{ <field>: name }` starts the action's
--             transition when the record's status allows it (409 when
--             not); GET {path} lists the actions its status allows now
--   nested    GET lists the child kind's records linked to the object
--             (paginated), POST creates one linked to it
--   calls     the behaviour's `run` answers them
--
-- Handlers get (app, request) and return `status, body, headers` like
-- collection.lua's; a route knows its resource, list key and envelopes
-- (the hostile fault uses them).

local json = require "genesiscloud.emulator.wire_json"
local reply = require "genesiscloud.emulator.reply"
local collection = require "genesiscloud.emulator.collection"
local api_version = require "genesiscloud.emulator.api_version"

local object_routes = {}

-- The names of `t`, sorted; with `version` and `def`, only the actions
-- that version has.
local function sorted_names(t, version, def)
  local out = {}
  for name in pairs(t) do
    if not version or api_version.has_action(version, def, name) then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

local function allowed(action, status)
  for _, from in ipairs(action.from) do
    if from == status then return true end
  end
  return false
end

-- POST: one action, started at once, answered with no body.
local function act(app, req, def)
  local actions = def.actions
  local record = app.store:get(def.name, req.params[actions.param])
  if not record then return collection.not_found(def) end
  local body, err = collection.body_object(req)
  if not body then return reply.error("bad_request", err) end
  local name = body[actions.field]
  local version = app.config.api_version
  local action = type(name) == "string" and api_version.has_action(version, def, name) and actions.names[name]
  if not action then
    return reply.error("bad_request", actions.field .. " must be one of "
      .. table.concat(sorted_names(actions.names, version, def), ", "))
  end
  if not allowed(action, record.status) then
    return reply.error("conflict", ("%s is %s: %s needs it %s"):format(def.title, tostring(record.status), name,
      table.concat(action.from, " or ")))
  end
  if action.method ~= req.method then
    return reply.error("bad_request", ("%s %s is sent with %s"):format(actions.field, name, action.method))
  end
  record._json = nil
  collection.begin(app, def, record, name)
  return action.expect
end

-- GET: the actions the record's status allows now, sorted.
local function available(app, req, def)
  local actions = def.actions
  local record = app.store:get(def.name, req.params[actions.param])
  if not record then return collection.not_found(def) end
  local out = json.array()
  for _, name in ipairs(sorted_names(actions.names, app.config.api_version, def)) do
    if allowed(actions.names[name], record.status) then out[#out + 1] = name end
  end
  return actions.available.expect, { [actions.available.list_key] = out }
end

local function list_nested(app, req, def, nested)
  local parent = app.store:get(def.name, req.params[nested.list.param])
  if not parent then return collection.not_found(def) end
  local child, linked = nested.child, {}
  for _, record in ipairs(app.store:list(child.name)) do
    if record[nested.link] == parent.id then linked[#linked + 1] = record end
  end
  return collection.page_of(app, req, child, nested.list, linked)
end

local function create_nested(app, req, def, nested)
  local parent = app.store:get(def.name, req.params[nested.create.param])
  if not parent then return collection.not_found(def) end
  local fields, err, kind = collection.decode_body(nested.check, req, "create", app, parent)
  if not fields then return reply.error(kind or "bad_request", err) end
  local record = nested.new_record(fields, parent, app.store:now(), app)
  record[nested.link] = parent.id
  record = collection.insert(app, nested.child, record)
  return collection.answer(nested.create, collection.show(nested.child, record, app))
end

local function run_call(app, req, def, call)
  local record = app.store:get(def.name, req.params[call.param])
  if not record then return collection.not_found(def) end
  local fields = {}
  if call.check then
    local err, kind
    fields, err, kind = collection.decode_body(call.check, req, "call", app, record)
    if not fields then return reply.error(kind or "bad_request", err) end
  end
  local value, err, kind = call.run(app, def, record, fields)
  if value == nil then return reply.error(kind or "bad_request", err) end
  return collection.answer(call, value)
end

-- The route of `path` in `by_path` (made on first use, appended to `routes`).
local function route_of(def, path, routes, by_path)
  local route = by_path[path]
  if not route then
    route = { pattern = path, methods = {}, envelopes = {}, ops = {}, resource = def, list = false }
    by_path[path] = route
    routes[#routes + 1] = route
  end
  return route
end

local function add_actions(def, routes, by_path)
  local actions = def.actions
  local route = route_of(def, actions.path, routes, by_path)
  for _, action in pairs(actions.names) do
    route.methods[action.method] = function(app, req) return act(app, req, def) end
    route.ops[action.method] = "actions"
  end
  if actions.available then
    local list = route_of(def, actions.available.path, routes, by_path)
    list.methods.GET = function(app, req) return available(app, req, def) end
    list.ops.GET = "actions"
  end
end

local function add_nested(def, nested, routes, by_path)
  if nested.list then
    local route = route_of(def, nested.list.path, routes, by_path)
    route.methods.GET = function(app, req) return list_nested(app, req, def, nested) end
    route.ops.GET = "nested"
    route.list, route.list_key = true, nested.list.list_key
  end
  if nested.create then
    local route = route_of(def, nested.create.path, routes, by_path)
    route.methods.POST = function(app, req) return create_nested(app, req, def, nested) end
    route.ops.POST = "nested"
    route.envelopes.POST = nested.create.envelope
  end
end

--- The routes below one object of kind `def` (none when it has neither
-- actions, nested collections nor calls).
function object_routes.routes(def)
  local routes, by_path = {}, {}
  if def.actions then add_actions(def, routes, by_path) end
  for _, plural in ipairs(sorted_names(def.nested or {})) do
    add_nested(def, def.nested[plural], routes, by_path)
  end
  for _, name in ipairs(sorted_names(def.calls or {})) do
    local call = def.calls[name]
    local route = route_of(def, call.path, routes, by_path)
    route.methods[call.method] = function(app, req) return run_call(app, req, def, call) end
    route.envelopes[call.method] = call.envelope
    route.ops[call.method] = name
  end
  return routes
end

return object_routes
