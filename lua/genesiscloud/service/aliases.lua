--- The flat methods of a client (`client:get_security_group(id)`), made per
-- client from the same definitions as the services: each is an alias of
-- one service method, with the same implementation. The name patterns are
-- written out here so that grep finds them; docs/services.md lists every
-- alias the registry makes (a spec keeps the two in step).
-- @module genesiscloud.service.aliases
local aliases = {}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The aliases of named actions and nested collections (an instance's
-- `start`, `actions`, `create_snapshot`, `snapshots`), in order:
--   <action>_<name>               start_instance        -> start
--   list_<name>_actions           list_instance_actions -> actions
--   create_<name>_<nested name>   create_instance_snapshot -> create_snapshot
--   list_<name>_<nested plural>   list_instance_snapshots  -> snapshots
--   get_<name>_<call>             get_instance_user_metadata -> user_metadata (a GET call)
--   <call>_<name>                 clone_snapshot        -> clone (any other call)
local function of_actions_and_nested(def, out)
  local s, actions = def.name, def.actions or {}
  for _, action in ipairs(sorted_keys(actions.names)) do
    out[#out + 1] = { action .. "_" .. s, action }
  end
  out[#out + 1] = { "list_" .. s .. "_actions", "actions" }
  for _, plural in ipairs(sorted_keys(def.nested)) do
    local nested = def.nested[plural]
    out[#out + 1] = { "create_" .. s .. "_" .. tostring(nested.name), "create_" .. tostring(nested.name) }
    out[#out + 1] = { "list_" .. s .. "_" .. plural, plural }
  end
  for _, call in ipairs(sorted_keys(def.calls)) do
    if (def.calls[call].method or "GET") == "GET" then
      out[#out + 1] = { "get_" .. s .. "_" .. call, call }
    else
      out[#out + 1] = { call .. "_" .. s, call }
    end
  end
  return out
end

--- The aliases of `def`, in order: `{ alias name, service method }`. The
-- iterator `client:<plural>(query)` is the service itself, called.
-- When two patterns give one name (availability: `name == plural`), the
-- first wins. Only those whose method the service has are made
-- (`aliases.available`).
function aliases.of(def)
  local s, p = def.name, def.plural
  return of_actions_and_nested(def, {
    { "get_" .. s, "get" },
    { "list_" .. p, "list" },
    { "create_" .. s, "create" },
    { "update_" .. s, "update" },
    { "delete_" .. s, "delete" },
    { s .. "_pages", "pages" },
    { "all_" .. p, "all" },
    { "wait_for_" .. s, "wait" },
    { "wait_for_" .. s .. "_deleted", "wait_deleted" },
    { "ensure_" .. s, "ensure" },
    { "ensure_" .. s .. "_absent", "ensure_absent" },
    { "get_" .. p, "get_many" },
    { "create_" .. p, "create_many" },
    { "delete_" .. p, "delete_many" },
    { "find_" .. p, "find" },
  })
end

--- The aliases `def`'s service has: name -> service method, given the
-- set of its methods (`have[method] == true`), and the names in order.
function aliases.available(def, have)
  local map, order = {}, {}
  for _, entry in ipairs(aliases.of(def)) do
    local name, method = entry[1], entry[2]
    if have[method] and map[name] == nil and name ~= def.plural then
      map[name] = method
      order[#order + 1] = name
    end
  end
  return map, order
end

return aliases
