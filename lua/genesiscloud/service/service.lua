--- Services: per client and per resource definition, the object with
-- exactly the methods its operations allow (`client.ssh_keys:get(id)`).
--
-- Two layers:
-- * the collection (internal): the client's state, the definition, its
--   operation records, and the plain methods list/get/create/update/delete
--   the loops (paginate, wait, ensure, bulk, create) call; failures are
--   always `nil, err` values there;
-- * the public service: each method wrapped by `calls.method` (receiver
--   check, raise mode), named in messages `security_groups:get`.
-- Every method is an implementation `impl(collection, fname, a, b, c)`
-- shared by the service and the flat aliases (service/aliases.lua).
-- @module genesiscloud.service.service
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local request = require "genesiscloud.request"
local validate = require "genesiscloud.validate"
local options = require "genesiscloud.options"
local operation = require "genesiscloud.service.operation"
local arguments = require "genesiscloud.service.arguments"
local calls = require "genesiscloud.service.calls"
local fields = require "genesiscloud.service.fields"
local create = require "genesiscloud.service.create"
local paginate = require "genesiscloud.service.paginate"
local wait = require "genesiscloud.service.wait"
local ensure = require "genesiscloud.service.ensure"
local bulk = require "genesiscloud.service.bulk"
local aliases = require "genesiscloud.service.aliases"

local service = {}
local impl = {}
service.impl = impl

--- Which methods a definition's service has, in order, and what each
-- needs: its operations, statuses (waits) or an identity (ensure, find).
service.METHODS = {
  { "list", ops = { "list" } }, { "get", ops = { "get" } }, { "create", ops = { "create" } },
  { "update", ops = { "update" } }, { "delete", ops = { "delete" } },
  { "each", ops = { "list" } }, { "pages", ops = { "list" } }, { "all", ops = { "list" } },
  { "wait", ops = { "get" }, statuses = true }, { "wait_deleted", ops = { "get" }, statuses = true },
  { "ensure", ops = { "list", "create", "update" }, identity = true },
  { "ensure_absent", ops = { "list", "delete" }, identity = true },
  { "get_many", ops = { "get" } }, { "create_many", ops = { "create" } },
  { "delete_many", ops = { "delete" } }, { "find", ops = { "list" }, identity = true },
}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- The methods of `def`'s named actions and nested collections, in order:
-- `{ method, kind, key }` with kind "action" (key: the action's name),
-- "actions" (the list of actions available now), "create_nested" and
-- "list_nested" (key: the nested collection's plural), "call" (key: the
-- call's name). Names: `<action>` (`start`), `actions`, `create_<nested
-- name>` (`create_snapshot`), `<nested plural>` (`snapshots`) and `<call>`
-- (`clone`, `user_metadata`).
function service.extra_methods(def)
  local out = {}
  local actions = def.actions or {}
  for _, name in ipairs(sorted_keys(actions.names)) do out[#out + 1] = { name, "action", name } end
  if actions.list_key ~= nil then out[#out + 1] = { "actions", "actions" } end
  for _, plural in ipairs(sorted_keys(def.nested)) do
    local nested = def.nested[plural]
    local ops = type(nested) == "table" and nested.operations or {}
    if ops.create then out[#out + 1] = { "create_" .. tostring(nested.name), "create_nested", plural } end
    if ops.list then out[#out + 1] = { plural, "list_nested", plural } end
  end
  for _, name in ipairs(sorted_keys(def.calls)) do out[#out + 1] = { name, "call", name } end
  return out
end

--- The names of the methods the service of `def` has, in order: those of
-- its operations (service.METHODS), then its actions and nested
-- collections. A name given twice (an action called `list`) raises.
function service.methods_of(def)
  local have, out, seen = def.operations or {}, {}, {}
  for _, m in ipairs(service.METHODS) do
    local ok = (not m.statuses or def.statuses ~= nil) and (not m.identity or def.identity ~= nil)
    for _, op in ipairs(m.ops) do ok = ok and have[op] ~= nil end
    if ok then out[#out + 1], seen[m[1]] = m[1], true end
  end
  for _, m in ipairs(service.extra_methods(def)) do
    if seen[m[1]] then
      error(("resource %s: two methods named %q (an action or nested collection takes the"
        .. " name of another method)"):format(tostring(def.plural), m[1]), 0)
    end
    out[#out + 1], seen[m[1]] = m[1], true
  end
  return out
end

--- Whether `def` can be made into a service: its operations compile and
-- its method names are distinct. -> true | nil, message
function service.check_definition(def)
  local ok, err = pcall(operation.compile, def)
  if ok then ok, err = pcall(service.methods_of, def) end
  if not ok then return nil, tostring(err) end
  return true
end

-- Option sets of a definition: without statuses there is nothing to wait
-- for; its list filters (`query`) are options of their own.
local function option_sets(def)
  local waits = def.statuses ~= nil
  local filters = {}
  for name in pairs(def.query or {}) do filters[#filters + 1] = name end
  local function set(list, extra)
    local names = {}
    for _, n in ipairs(list) do names[#names + 1] = n end
    for _, n in ipairs(extra or {}) do names[#names + 1] = n end
    return options.set(names)
  end
  return {
    list = set({ "page", "per_page", "query" }, filters),
    walk = set({ "page", "per_page", "query", "max_pages", "concurrency" }, filters),
    write = waits and arguments.WRITE_OPTIONS or options.set{},
    -- An action may wait when the object's status can be read; waiting
    -- for a nested object: not yet.
    action = (waits and def.operations and def.operations.get) and options.set{ "wait" } or options.set{},
    create_nested = options.set{},
    create = set({ "existing" }, waits and { "wait" } or nil),
    ensure = set({ "dry_run" }, waits and { "wait" } or nil),
  }
end

-- The collection: what every implementation works on. -------------------

local Collection = {}
Collection.__index = Collection

--- A collection of `def` over a client's private state `st`.
function service.collection(st, def)
  local ops = operation.compile(def)
  local names = {}
  for _, entry in ipairs(aliases.of(def)) do names[entry[2]] = names[entry[2]] or entry[1] end
  local self = setmetatable({ st = st, def = def, ops = ops, names = names,
    options = option_sets(def), impl = service.implementations(def) }, Collection)
  if ops.update then
    local patch = {}
    for k, v in pairs(ops.update) do patch[k] = v end
    patch.method = "PATCH"
    self.update_ops = { PUT = ops.update, PATCH = patch, [ops.update.method] = ops.update }
  end
  return self
end

-- The plain methods the loops call; messages name the flat alias.
function Collection:list(opts) return impl.list(self, self.names.list, opts) end
function Collection:get(id) return impl.get(self, self.names.get, id) end
function Collection:create(spec, opts) return impl.create(self, self.names.create, spec, opts) end
function Collection:update(id, spec, opts) return impl.update(self, self.names.update, id, spec, opts) end
function Collection:delete(id) return impl.delete(self, self.names.delete, id) end

-- Implementations ------------------------------------------------------------

local escape, MAX_ID = core.escape, arguments.MAX_ID_LENGTH

-- The hottest call there is: no table, no closure, and no closed check (on
-- a closed client the core itself answers with the same usage error).
function impl.get(svc, fname, id)
  if type(id) ~= "string" or id == "" or #id > MAX_ID then
    local ok, err = arguments.id(id, fname)
    if not ok then return nil, err end
  end
  local op = svc.ops.get
  return request.run(svc.st, op, op.prefix .. escape(id) .. op.suffix)
end

-- `opts` with the definition's filters (e.g. images' `type`) checked and
-- moved into `query`. -> opts | nil, err
local function with_filters(def, opts)
  if opts == nil or def.query == nil then return opts end
  local out, query = {}, {}
  for k, v in pairs(opts.query or {}) do query[k] = v end
  for k, v in pairs(opts) do
    local filter = def.query[k]
    if filter then
      local ok, err = validate.enum(v, k, filter.enum or { v }, { optional = true })
      if not ok then return nil, err end
      query[k] = v
    elseif k ~= "query" then
      out[k] = v
    end
  end
  out.query = next(query) ~= nil and query or nil
  return out
end

-- The query a list call sends: `query` plus page and per_page.
local function list_query(opts)
  if opts == nil then return nil end
  local query = {}
  for k, v in pairs(opts.query or {}) do query[k] = v end
  query.page, query.per_page = opts.page, opts.per_page
  return query
end

function impl.list(svc, fname, opts)
  local ok, err = arguments.list_options(opts, fname, svc.options.list)
  if not ok then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  if opts then
    ok, err = validate.list_query(opts)
    if not ok then return nil, err end
    opts, err = with_filters(svc.def, opts)
    if not opts then return nil, err end
  end
  local op = svc.ops.list
  local page, lerr = request.run(svc.st, op, op.path .. request.query_string(list_query(opts)))
  if not page then return nil, lerr end
  if type(page[op.list_key]) ~= "table" then
    return errors.fail{ kind = "decode", status = 200, method = "GET", path = op.path,
      message = "the response has no '" .. op.list_key .. "' list" }
  end
  return page
end

-- `opts.wait` (true or wait options) waits for the ready status after a
-- create or update.
local function then_wait(svc, obj, err, opts)
  if obj and opts and opts.wait then
    if type(obj.id) ~= "string" or obj.id == "" then
      return errors.fail{ kind = "decode", method = "GET", path = svc.def.path, message = "the "
        .. svc.def.name:gsub("_", " ") .. " in the response has no id, so it cannot be waited for" }
    end
    return wait.for_status(svc, obj.id, type(opts.wait) == "table" and opts.wait or nil)
  end
  return obj, err
end

function impl.create(svc, fname, spec, opts)
  arguments.table(spec, 1, fname)
  local ok, err = arguments.write_options(opts, fname, 2, svc.options.create)
  if not ok then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  -- What is validated is what is sent: a plain copy of the spec.
  local body, perr = validate.plain(spec)
  if not body then return nil, perr end
  ok, err = fields.check(svc.def, body, "create")
  if not ok then return nil, err end
  -- What already matches, so that a lost answer is never answered with
  -- someone else's object: given by the caller who has just listed, else
  -- read now (when that fails, nothing is sent).
  local key, before = svc.def.identity
  if opts and opts.existing ~= nil then
    before, err = create.given_ids(opts.existing, fname)
  else
    before, err = create.existing_ids(svc, key and body[key] ~= nil and { [body[key]] = true } or {})
  end
  if not before then return nil, err end
  local obj, cerr = create.send(svc, body, nil, nil, before)
  return then_wait(svc, obj, cerr, opts)
end

-- The update method: the client's `update_method` option when not "auto",
-- else the definition's; "auto" sends a complete spec with PUT (or what
-- this client learned for this resource) and a partial one with PATCH.
local function update_method(svc, spec)
  local configured = svc.st.options.update_method or "auto"
  if configured == "auto" then configured = svc.def.update_method or "auto" end
  if configured ~= "auto" then return configured, false end
  local complete = svc.def.is_complete == nil or svc.def.is_complete(spec)
  return complete and (svc.st.learned[svc.def.plural] or "PUT") or "PATCH", true
end

function impl.update(svc, fname, id, spec, opts)
  local ok, err = arguments.id(id, fname)
  if not ok then return nil, err end
  arguments.table(spec, 2, fname)
  ok, err = arguments.write_options(opts, fname, 3, svc.options.write)
  if not ok then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  spec, err = validate.plain(spec)
  if not spec then return nil, err end
  local method, auto = update_method(svc, spec)
  ok, err = fields.check(svc.def, spec, "update", method == "PATCH")
  if not ok then return nil, err end
  local target = operation.target(svc.ops.update, id)
  local result, uerr = request.run(svc.st, svc.update_ops[method], target, spec)
  -- The documentation says PUT, the API may only take PATCH: on 405 the
  -- same body goes as PATCH, and this client remembers it for this
  -- resource alone.
  if not result and auto and method == "PUT" and uerr.kind == "api" and uerr.status == 405 then
    svc.st.learned[svc.def.plural] = "PATCH"
    result, uerr = request.run(svc.st, svc.update_ops.PATCH, target, spec)
  end
  return then_wait(svc, result, uerr, opts)
end

function impl.delete(svc, fname, id)
  local ok, err = arguments.id(id, fname)
  if not ok then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  return request.run(svc.st, svc.ops.delete, operation.target(svc.ops.delete, id))
end

-- Walks ---------------------------------------------------------------------

-- A list answered whole (`paginated = false`: quotas, reservations) is one
-- request: asking for page 2 would only get the same list again.
local function single_page(svc, opts)
  if svc.ops.list.paginated then return opts end
  local out = {}
  for k, v in pairs(opts or {}) do out[k] = v end
  out.max_pages = 1
  return out
end

-- Iterators raise instead of returning nil, err (a `for` cannot take an
-- error value), so a closed client or a bad option raises its usage error
-- there too. -> the walk's options
local function walk_options(svc, fname, opts, raising)
  local ok, err = arguments.list_options(opts, fname, svc.options.walk)
  if ok then err = arguments.closed(svc.st) end
  if ok and not err then
    opts, err = with_filters(svc.def, opts)
    if opts or err == nil then return single_page(svc, opts) end
  end
  if raising then error(err, 0) end
  return nil, err
end

-- The iterators are tail calls so that Lua 5.4 gets their fourth,
-- to-be-closed value.
function impl.each(svc, fname, opts)
  return paginate.items(svc, walk_options(svc, fname, opts, true))
end

function impl.pages(svc, fname, opts)
  return paginate.pages(svc, walk_options(svc, fname, opts, true))
end

function impl.all(svc, fname, opts)
  if opts ~= nil then
    local o, err = walk_options(svc, fname, opts, false)
    if not o then return nil, err end
    opts = o
  else
    local err = arguments.closed(svc.st)
    if err then return nil, err end
    opts = single_page(svc, opts)
  end
  return paginate.all(svc, opts)
end

--- Every object whose identity (e.g. name) is `value`, across pages.
function impl.find(svc, fname, value)
  local key = svc.def.identity
  if type(value) ~= "string" and type(value) ~= "number" then
    calls.arg_error(("bad argument #1 to '%s' (%s expected, got %s)"):format(fname, key, type(value)))
  end
  local err = arguments.closed(svc.st)
  if err then return nil, err end
  local found = {}
  local ok, ferr = paginate.each(svc, function(obj)
    if obj[key] == value then found[#found + 1] = obj end
  end, { per_page = 100 })
  if not ok then return nil, ferr end
  return found
end

-- Waits and ensure ------------------------------------------------------------

local function waiter(for_status)
  return function(svc, fname, id, opts)
    local ok, err = arguments.id(id, fname)
    if not ok then return nil, err end
    if opts ~= nil then arguments.table(opts, 2, fname) end
    ok, err = wait.check_options(opts, fname, for_status)
    if not ok then return nil, err end
    err = arguments.closed(svc.st)
    if err then return nil, err end
    if for_status then return wait.for_status(svc, id, opts, fname) end
    return wait.for_deleted(svc, id, opts, fname)
  end
end
impl.wait, impl.wait_deleted = waiter(true), waiter(false)

local function ensurer(absent)
  return function(svc, fname, desired, opts)
    arguments.table(desired, 1, fname)
    local ok, err = arguments.write_options(opts, fname, 2, svc.options.ensure)
    if not ok then return nil, err end
    err = arguments.closed(svc.st)
    if err then return nil, err end
    if absent then return ensure.absent(svc, desired, opts, fname) end
    return ensure.present(svc, desired, opts, fname)
  end
end
impl.ensure, impl.ensure_absent = ensurer(false), ensurer(true)

impl.get_many, impl.delete_many, impl.create_many = bulk.get_many, bulk.delete_many, bulk.create_many

-- Actions and nested collections -------------------------------------------------

-- The list under `op.list_key` of an answer `page`. -> page | nil, err
local function with_list(op, target, page, err)
  if not page then return nil, err end
  if type(page[op.list_key]) ~= "table" then
    return errors.fail{ kind = "decode", status = op.expect, method = op.method, path = target,
      message = "the response has no '" .. op.list_key .. "' list" }
  end
  return page
end

-- The checks every call below one object starts with. -> true | nil, err
local function check_id_and_options(svc, fname, id, opts, n, known)
  local ok, err = arguments.id(id, fname)
  if not ok then return nil, err end
  if known == arguments.LIST_OPTIONS then
    ok, err = arguments.list_options(opts, fname, known)
  else
    ok, err = arguments.write_options(opts, fname, n, known)
  end
  if not ok then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  return true
end

--- `svc:start(id, opts)`: sends the action (a POST, so never re-sent
-- after it may have reached the server). -> true | nil, err. With
-- `opts.wait` (true or wait options) it returns the object once it went
-- through the action (wait.after_action).
function impl.action(svc, fname, name, id, opts)
  local ok, err = check_id_and_options(svc, fname, id, opts, 2, svc.options.action)
  if not ok then return nil, err end
  local op = svc.ops.actions[name]
  local function send() return request.run(svc.st, op, operation.target(op, id), op.body) end
  if not (opts and opts.wait) then return send() end
  return wait.after_action(svc, id, op, type(opts.wait) == "table" and opts.wait or nil, fname, send)
end

--- `svc:actions(id)`: the list of the actions the object allows now.
function impl.actions(svc, fname, id)
  local ok, err = check_id_and_options(svc, fname, id, nil, 2, svc.options.action)
  if not ok then return nil, err end
  local op = svc.ops.available_actions
  local target = operation.target(op, id)
  local page, perr = with_list(op, target, request.run(svc.st, op, target))
  return page and page[op.list_key], perr
end

--- `svc:snapshots(id, opts)`: one page of a nested collection (page,
-- per_page, query), as `list` answers it.
function impl.list_nested(svc, fname, plural, id, opts)
  local ok, err = check_id_and_options(svc, fname, id, opts, 2, arguments.LIST_OPTIONS)
  if not ok then return nil, err end
  if opts then
    ok, err = validate.list_query(opts)
    if not ok then return nil, err end
  end
  local op = svc.ops.nested[plural].list
  local target = operation.target(op, id)
  return with_list(op, target, request.run(svc.st, op, target .. request.query_string(list_query(opts))))
end

--- `svc:create_snapshot(id, spec)`: creates an object below `id`, its spec
-- checked against the nested collection's `fields` (or `validate.create`).
-- A lost answer is an `ambiguous` error, as for any POST.
function impl.create_nested(svc, fname, plural, id, spec, opts)
  local ok, err = arguments.id(id, fname)
  if not ok then return nil, err end
  arguments.table(spec, 2, fname)
  ok, err = check_id_and_options(svc, fname, id, opts, 3, svc.options.create_nested)
  if not ok then return nil, err end
  local body, perr = validate.plain(spec)
  if not body then return nil, perr end
  ok, err = fields.check(svc.def.nested[plural], body, "create")
  if not ok then return nil, err end
  local op = svc.ops.nested[plural].create
  return request.run(svc.st, op, operation.target(op, id), body)
end

-- The body of a call: its one `argument` (`resize(id, 100)` -> { size = 100 }),
-- or the spec given, checked against the call's `fields`; nil for a call
-- without fields. -> body | false (none) | nil, err
local function call_body(call, fname, arg)
  if call.fields == nil and call.validate == nil then return false end
  local body, err
  if call.argument ~= nil then
    body = { [call.argument] = arg }
  else
    arguments.table(arg, 2, fname)
    body, err = validate.plain(arg)
    if not body then return nil, err end
  end
  local ok, ferr = fields.check(call, body, "create")
  if not ok then return nil, ferr end
  return body
end

--- `svc:clone(id, spec)`, `svc:user_metadata(id)`: one request below the
-- object `id`, its body checked first; the call's `before(collection, id,
-- body)` (e.g. a volume's resize reading the current size) may still
-- refuse it. Answers as its record says (an object, or true on 204).
function impl.call(svc, fname, name, id, arg)
  local ok, err = arguments.id(id, fname)
  if not ok then return nil, err end
  local op = svc.ops.calls[name]
  local body, berr = call_body(op.call, fname, arg)
  if body == nil then return nil, berr end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  if op.call.before then
    ok, err = op.call.before(svc, id, body)
    if not ok then return nil, err end
  end
  return request.run(svc.st, op, operation.target(op, id), body or nil)
end

--- The implementation of each method of `def`'s service:
-- method -> `impl(collection, fname, a, b, c)`.
function service.implementations(def)
  local out = {}
  for _, m in ipairs(service.methods_of(def)) do out[m] = impl[m] end
  for _, m in ipairs(service.extra_methods(def)) do
    local kind, key = impl[m[2]], m[3]
    out[m[1]] = key == nil and kind or function(svc, fname, a, b, c)
      return kind(svc, fname, key, a, b, c)
    end
  end
  return out
end

-- The public service ------------------------------------------------------------

--- The service of `def` for one client: a table with exactly its methods;
-- called as `client:security_groups(query)` it iterates (the flat alias
-- of old). Returns the service and its collection.
-- @param st the client's private state
-- @param client the client it is bound to
-- @tparam table def the definition
-- @param is_client `function(x)`: whether x is a client (of another call)
function service.new(st, client, def, is_client)
  local raw = service.collection(st, def)
  local svc = {}
  for _, m in ipairs(service.methods_of(def)) do
    svc[m] = calls.method(st, svc, def.plural .. ":" .. m, "service", raw.impl[m], raw)
  end
  local mt = { __name = "genesiscloud service", __metatable = false,
    __tostring = function() return "genesiscloud service " .. def.plural end }
  if svc.each then
    mt.__call = calls.method(st, client, def.plural, "client", function(c, _, q)
      return impl.each(c, def.plural, q)
    end, raw, function(self) return is_client(self) and self[def.plural] end)
    local call = mt.__call
    mt.__call = function(_, ...) return call(...) end
  end
  return setmetatable(svc, mt), raw
end

return service
