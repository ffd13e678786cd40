--- The flat methods of a client (`client:get_security_group(id)`), made per
-- client from the same definitions as the services: each is an alias of
-- one service method, with the same implementation. The name patterns are
-- written out here so that grep finds them; docs/services.md lists every
-- alias the registry makes (a spec keeps the two in step).
-- @module genesiscloud.service.aliases
local aliases = {}

--- The aliases of `def`, in order: `{ alias name, service method }`. The
-- iterator `client:<plural>(query)` is the service itself, called.
-- When two patterns give one name (availability: `name == plural`), the
-- first wins.
function aliases.of(def)
  local s, p = def.name, def.plural
  return {
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
  }
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
