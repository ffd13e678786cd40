--- Compiles a resource definition into operation records: everything the
-- pipeline needs to send one request and to know its success, so generic
-- code never guesses a method, a status or an envelope.
--
-- An operation record:
--   name      "list" | "get" | "create" | "update" | "delete", or an action's name
--   kind      the same for the five operations; "action" (a named action),
--             "actions" (the list of actions available now), "call" (another
--             request on one object, e.g. a snapshot's clone)
--   method    HTTP method ("PUT" for an update whose method is learned)
--   path      template, e.g. "/security-groups/{id}", "/availability/{region}/instances"
--   params    names of the template's parameters, in order ({} for none)
--   prefix, suffix   the template around its one parameter (see target)
--   expect    the success status
--   envelope  key of the object in the answer, or nil (bare object, list, 204)
--   list_key  key of the list in a page (list only)
--   paginated (list only) false for a list answered whole (quotas): a walk
--             stops after its one answer
--   fresh     send over a new connection: libcurl may re-send a request on
--             a reused connection that died, harmless except for POST and DELETE
--   body      the fixed body of an action (`{ action = "start" }`)
--   to        an action's target status(es), from the definition (nil: none)
--   resource  the definition
--
-- Besides `operations`, a definition may declare named actions and nested
-- collections (see `operation.compile`); both live below one object, so
-- their path templates have exactly one parameter, the object's id.
-- @module genesiscloud.service.operation
local operation = {}

-- core.escape, loaded on first use: compiling needs no C, so the emulator
-- (pure Lua) serves the operations compiled from the same definitions.
local escape
local function escaped(value)
  escape = escape or require("genesiscloud.core").escape
  return escape(value)
end

-- What each kind of operation is unless the definition says otherwise.
local KINDS = {
  list = { method = "GET", expect = 200, item = false },
  get = { method = "GET", expect = 200, item = true, object = true },
  create = { method = "POST", expect = 201, item = false, object = true },
  update = { method = "PUT", expect = 200, item = true, object = true },
  delete = { method = "DELETE", expect = 204, item = true },
}
operation.KINDS = KINDS

local FRESH = { POST = true, DELETE = true }
operation.FRESH = FRESH

-- "/a/{id}/b" -> { "id" }
local function params_of(template)
  local params = {}
  for name in template:gmatch("{([%w_]+)}") do params[#params + 1] = name end
  return params
end

-- `op` completed: its parameters, the template split around a single one
-- (the fast path of `target`), and whether it needs a fresh connection.
local function finish(op, def)
  op.params = op.params or params_of(op.path)
  if #op.params == 1 then
    op.prefix, op.suffix = op.path:match("^(.-){[%w_]+}(.*)$")
  end
  op.fresh = FRESH[op.method] or false
  op.resource = def
  return op
end

-- A definition that cannot be compiled is the program's mistake: raised
-- (`client:register` checks first and answers a usage error instead).
local function bad(def, message)
  error(("resource %s: %s"):format(tostring(def.plural), message), 0)
end

-- The record of operation `name` of `def`.
local function compile_one(def, name, override)
  local kind = KINDS[name]
  if not kind then bad(def, ("unknown operation %q"):format(tostring(name))) end
  local path = override.path or (kind.item and def.path .. "/{id}" or def.path)
  local envelope = override.envelope
  if envelope == nil and kind.object then envelope = def.envelope end
  local method = override.method or kind.method
  if name == "update" and def.update_method and def.update_method ~= "auto" then
    method = def.update_method
  end
  local op = finish({
    name = name, kind = name, method = method, path = path, params = override.params,
    expect = override.expect or kind.expect,
    envelope = envelope or nil, -- false (a bare object) goes to C as nil
    list_key = name == "list" and (override.list_key or def.list_key) or nil,
  }, def)
  if name == "list" then op.paginated = override.paginated ~= false end
  return op
end

local function compile_operations(def, operations)
  local ops = {}
  for name, override in pairs(operations or {}) do
    ops[name] = compile_one(def, name, type(override) == "table" and override or {})
  end
  return ops
end

-- Actions and nested collections ------------------------------------------------

--- What an action is unless the definition says otherwise: `POST` of
-- `{ [field] = name }`, answered 204.
operation.ACTION = { method = "POST", expect = 204, field = "action" }

-- A path template below one object: a string with exactly one parameter.
local function check_below(def, what, path)
  if type(path) ~= "string" or #params_of(path) ~= 1 then
    bad(def, ("%s need a path with one parameter, the object's id (e.g. %q), got %s")
      :format(what, def.path .. "/{id}/...", type(path) == "string" and ("%q"):format(path) or type(path)))
  end
end

local function check_identifier(def, what, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    bad(def, ("%s must be a name made of letters, digits and _, got %s"):format(what, tostring(name)))
  end
end

-- `actions = { path, field, list_key, names = { start = { to, method, expect } } }`
-- -> name -> action record, and the record listing the actions available
-- now (nil without `list_key`).
local function compile_actions(def, spec)
  if type(spec) ~= "table" then bad(def, "actions must be a table") end
  check_below(def, "actions", spec.path)
  local ACTION = operation.ACTION
  local records = {}
  for name, action in pairs(spec.names or {}) do
    check_identifier(def, "an action", name)
    action = type(action) == "table" and action or {}
    records[name] = finish({ name = name, kind = "action", path = spec.path,
      method = action.method or ACTION.method, expect = action.expect or ACTION.expect,
      body = { [spec.field or ACTION.field] = name }, to = action.to }, def)
  end
  local available = spec.list_key ~= nil and finish({ name = "actions", kind = "actions",
    method = "GET", path = spec.path, expect = 200, list_key = spec.list_key }, def) or nil
  return records, available
end

--- Operations a nested collection may have: it is listed and created
-- below its parent; its objects are read and changed where they live
-- (their own resource, e.g. `/snapshots/{id}`).
operation.NESTED_KINDS = { list = true, create = true }

-- Checks one nested collection `spec` of `def`, listed under `plural`.
local function check_nested(def, plural, spec)
  check_identifier(def, "a nested collection", plural)
  if type(spec) ~= "table" then bad(def, ("nested %s must be a table"):format(plural)) end
  check_identifier(def, ("nested %s: its name (singular)"):format(plural), spec.name)
  check_below(def, "nested collections", spec.path)
  local ops = spec.operations or {}
  for name in pairs(ops) do
    if not operation.NESTED_KINDS[name] then
      bad(def, ("nested %s: operation %q (a nested collection has list and create)")
        :format(plural, tostring(name)))
    end
  end
  if ops.list and type(spec.list_key) ~= "string" then
    bad(def, ("nested %s: list needs a list_key"):format(plural))
  end
  if ops.create and spec.envelope == nil then
    bad(def, ("nested %s: create needs an envelope (a key, or false for bare objects)"):format(plural))
  end
end

-- `nested = { snapshots = { name, path, envelope, list_key, operations, fields } }`
-- -> plural -> { list = record, create = record }, compiled like a
-- definition's own list and create, at the nested path.
local function compile_nested(def, nested)
  local out = {}
  for plural, spec in pairs(nested) do
    check_nested(def, plural, spec)
    out[plural] = compile_operations({ plural = def.plural, path = spec.path, envelope = spec.envelope,
      list_key = spec.list_key }, spec.operations)
  end
  return out
end

-- Calls: other requests on one object ---------------------------------------------

--- What a call answers unless it says otherwise, per method.
operation.CALL_EXPECT = { GET = 200, POST = 201, PUT = 200, PATCH = 200, DELETE = 204 }

-- `calls = { clone = { method, path, expect, envelope, fields, argument, before } }`
-- -> name -> record: one request below one object (`POST /snapshots/{id}/clone`,
-- `GET /instances/{id}/user-metadata`). An answer with a body must say its
-- envelope (a key, or false for a bare object): nothing is guessed.
local function compile_calls(def, calls)
  if type(calls) ~= "table" then bad(def, "calls must be a table") end
  local records = {}
  for name, call in pairs(calls) do
    check_identifier(def, "a call", name)
    if type(call) ~= "table" then bad(def, ("call %s must be a table"):format(name)) end
    check_below(def, ("call %s"):format(name), call.path)
    local method = call.method or "GET"
    local expect = call.expect or operation.CALL_EXPECT[method]
    if not expect then bad(def, ("call %s: method %s needs an expect"):format(name, tostring(method))) end
    if expect ~= 204 and call.envelope == nil then
      bad(def, ("call %s needs an envelope (a key, or false for a bare object)"):format(name))
    end
    records[name] = finish({ name = name, kind = "call", method = method, path = call.path,
      expect = expect, envelope = call.envelope or nil, call = call }, def)
  end
  return records
end

--- The operation records of `def`, keyed by operation name; named actions
-- under `actions` (name -> record) and `available_actions`, nested
-- collections under `nested` (plural -> { list, create }), calls under
-- `calls` (name -> record). A definition
-- that cannot be compiled raises, naming the resource.
-- @tparam table def a resource definition
-- @treturn table name -> operation record
function operation.compile(def)
  local ops = compile_operations(def, def.operations)
  if def.actions ~= nil then ops.actions, ops.available_actions = compile_actions(def, def.actions) end
  if def.nested ~= nil then
    if type(def.nested) ~= "table" then bad(def, "nested must be a table") end
    ops.nested = compile_nested(def, def.nested)
  end
  if def.calls ~= nil then ops.calls = compile_calls(def, def.calls) end
  return ops
end

--- The path of one request of `op`, its parameters percent-escaped, so a
-- value can never reach anything but its own path segment.
-- @param op an operation record
-- @param ... the values of `op.params`, in order (strings)
function operation.target(op, a, ...)
  if op.prefix then return op.prefix .. escaped(a) .. op.suffix end
  local n = #op.params
  if n == 0 then return op.path end
  local values = { a, ... }
  local path = op.path
  for i = 1, n do
    path = path:gsub("{" .. op.params[i] .. "}", (escaped(values[i]):gsub("%%", "%%%%")), 1)
  end
  return path
end

return operation
