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
--   transitions            step -> { status, to }: while a step is under way the record
--                          reads `status`, then `to` (nil: gone); nil: no statuses
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

local function operations_of(def)
  local compiled, out = operation.compile(def), {}
  -- not served yet: say so rather than answer 404 where the API has routes
  if compiled.actions or compiled.nested then
    error(("emulator: %s has actions or nested collections, which the emulator does not serve yet")
      :format(def.plural))
  end
  for name in pairs(operation.KINDS) do
    local op = compiled[name]
    if op then
      if #op.params > 1 then error(("emulator: %s.%s has several path parameters"):format(def.plural, name)) end
      out[name] = {
        name = name, path = op.path, param = op.params[1], expect = op.expect,
        envelope = op.envelope, list_key = op.list_key,
        methods = name == "update" and update_methods(def, op) or { op.method },
      }
    end
  end
  return out
end

-- The statuses of each step: in progress from the behaviour, where they
-- end from the definition's vocabulary (the first ready status; a delete
-- ends with the record gone).
local function transitions_of(def, behaviour)
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
  return out
end

--- The kind of `def` served with `behaviour`.
function kinds.join(def, behaviour)
  local kind = {}
  for k, v in pairs(behaviour) do kind[k] = v end
  kind.name, kind.plural, kind.definition = def.name, def.plural, def
  kind.path, kind.list_key = def.path, def.list_key
  kind.operations = operations_of(def)
  kind.transitions = transitions_of(def, behaviour)
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
  return out
end

return kinds
