-- The kinds the emulator serves: each resource definition of the client's
-- registry (genesiscloud.resources) joined with its behaviour
-- (behaviours/). What the API contract fixes comes from the definition
-- alone, compiled by the client's own genesiscloud.service.operation: the
-- paths, the list key, which operations exist, each one's method, success
-- status and envelope, the statuses. If a definition says SSH keys answer
-- bare objects, the emulator answers bare objects because of that.
--
-- A kind: the behaviour's fields and functions (behaviours/init.lua), plus
--   name, plural           store kind ("ssh_key"), registry name
--   path, list_key         the definition's
--   operations             name -> { methods = { "PUT", "PATCH" }, path, param, expect,
--                          envelope (nil: bare), list_key }
--   actions                nil, or { path, param, field, names = { name -> { method, expect,
--                          from, status, to } }, available = { path, list_key, expect } }
--   nested                 nil, or plural -> { list, create, link, check, new_record, child }
--   calls                  nil, or name -> { path, param, method, expect, envelope, check, run }
--   transitions            step -> { status, to }: while a step (create, update, delete or
--                          an action) is under way the record reads `status`, then `to`
--                          (nil: gone); nil: no statuses
--   definition             the client's definition

local resources = require "genesiscloud.resources"
local operation = require "genesiscloud.service.operation"
local behaviours = require "genesiscloud.emulator.behaviours"

local kinds = {}

-- The methods an update answers: "auto" means the client tries PUT (the
-- 2023-07 contract) and learns PATCH (today's API) from a 405, so the
-- emulator takes both, and put_405 refuses PUT like the live API.
local function update_methods(def, op)
  if def.update_method == "auto" then return { "PUT", "PATCH" } end
  return { op.method }
end

local function operations_of(def, compiled)
  local out = {}
  for name in pairs(operation.KINDS) do
    local op = compiled[name]
    if op then
      if #op.params > 1 then error(("emulator: %s.%s has several path parameters"):format(def.plural, name)) end
      out[name] = {
        name = name, path = op.path, param = op.params[1], expect = op.expect,
        envelope = op.envelope, list_key = op.list_key, paginated = op.paginated,
        methods = name == "update" and update_methods(def, op) or { op.method },
      }
    end
  end
  return out
end

local function first(to)
  if type(to) == "table" then return to[1] end
  return to
end

local function missing(def, what)
  error(("emulator: %s: %s has no behaviour"):format(def.plural, what))
end

-- The named actions: the definition's path, method, status and target
-- status (its first `to`), the behaviour's `from` (the statuses it may
-- start in) and `status` (the one while it is under way).
local function actions_of(def, compiled, behaviour)
  if not compiled.actions then return nil end
  local out = { names = {} }
  for name, rec in pairs(compiled.actions) do
    local b = behaviour.actions and behaviour.actions[name]
    if not b then missing(def, "action " .. name) end
    out.path, out.param, out.field = rec.path, rec.params[1], next(rec.body)
    out.names[name] = { name = name, method = rec.method, expect = rec.expect, from = b.from, status = b.status,
      to = first(rec.to) }
  end
  local available = compiled.available_actions
  if available then
    out.available = { path = available.path, list_key = available.list_key, expect = available.expect }
  end
  return out
end

-- Nested collections: listed and created below one object, stored as
-- records of the kind of the same plural (joined in kinds.all), linked
-- to their parent by the behaviour's `link` field.
local function nested_of(def, compiled, behaviour)
  if not compiled.nested then return nil end
  local out = {}
  for plural, ops in pairs(compiled.nested) do
    local b = behaviour.nested and behaviour.nested[plural]
    if not b then missing(def, "nested " .. plural) end
    local list, create = ops.list, ops.create
    out[plural] = {
      plural = plural, link = b.link, check = b.check, new_record = b.new_record,
      list = list and { path = list.path, param = list.params[1], list_key = list.list_key, expect = list.expect },
      create = create and { path = create.path, param = create.params[1], envelope = create.envelope,
        expect = create.expect },
    }
  end
  return out
end

-- Calls: a call with the method and path of an operation is that
-- operation (a volume's resize is its PATCH); the others run the
-- behaviour's `calls[name]` ({ check = fn(body) or nil, run = fn }).
local function calls_of(def, compiled, behaviour, ops)
  if not compiled.calls then return nil end
  local out = {}
  for name, rec in pairs(compiled.calls) do
    local same = false
    for _, op in pairs(ops) do
      for _, method in ipairs(op.methods) do
        if op.path == rec.path and method == rec.method then same = true end
      end
    end
    if not same then
      local b = behaviour.calls and behaviour.calls[name]
      if not b then missing(def, "call " .. name) end
      out[name] = { name = name, path = rec.path, param = rec.params[1], method = rec.method,
        expect = rec.expect, envelope = rec.envelope, check = b.check, run = b.run }
    end
  end
  return out
end

-- The statuses of each step: in progress from the behaviour, where they
-- end from the definition's vocabulary (the first ready status; a delete
-- ends with the record gone; an action where the definition says).
local function transitions_of(def, behaviour, actions)
  local statuses, in_progress = def.statuses, behaviour.in_progress
  if (statuses == nil) ~= (in_progress == nil) then
    error(("emulator: %s: the definition's statuses and the behaviour's in_progress go together")
      :format(def.plural))
  end
  if not statuses then return nil end
  local ready = statuses.ready and statuses.ready[1]
  local out = {}
  for step, status in pairs(in_progress) do out[step] = { status = status, to = ready } end
  if statuses.deleting then out.delete = { status = statuses.deleting } end
  for name, action in pairs(actions and actions.names or {}) do
    out[name] = { status = action.status, to = action.to or ready }
  end
  return out
end

--- The kind of `def` served with `behaviour`.
function kinds.join(def, behaviour)
  local kind = {}
  for k, v in pairs(behaviour) do kind[k] = v end
  kind.name, kind.plural, kind.definition = def.name, def.plural, def
  kind.path, kind.list_key = def.path, def.list_key
  local compiled = operation.compile(def)
  kind.operations = operations_of(def, compiled)
  kind.actions = actions_of(def, compiled, behaviour)
  kind.nested = nested_of(def, compiled, behaviour)
  kind.calls = calls_of(def, compiled, behaviour, kind.operations)
  kind.transitions = transitions_of(def, behaviour, kind.actions)
  return kind
end

--- Joins the nested collections of `kind` with the kinds of `served`
-- that store their records (a nested collection of a kind not served is
-- an error).
function kinds.link(kind, served)
  for plural, nested in pairs(kind.nested or {}) do
    nested.child = served[plural]
    if not nested.child then
      error(("emulator: %s: nested %s is not a served kind"):format(kind.plural, plural))
    end
  end
  return kind
end

--- Every kind, in the registry's order, each also under its plural.
-- Resources without a behaviour are not served; a behaviour without a
-- resource is an error.
function kinds.all(registry, by_plural)
  registry, by_plural = registry or resources, by_plural or behaviours
  local out = {}
  for plural in pairs(by_plural) do
    if not registry[plural] then error("emulator: behaviour for unknown resource '" .. plural .. "'") end
  end
  for _, def in ipairs(registry) do
    local behaviour = by_plural[def.plural]
    if behaviour then
      local kind = kinds.join(def, behaviour)
      out[#out + 1] = kind
      out[kind.plural] = kind
    end
  end
  for _, kind in ipairs(out) do kinds.link(kind, out) end
  return out
end

return kinds
