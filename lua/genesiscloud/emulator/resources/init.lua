-- The emulator's resources, one definition each, named like the client's
-- registry (lua/genesiscloud/resources/): an array in route order, each
-- also under its plural. collection.lua serves any of them; a new
-- resource is a definition and one line here. The fields of a definition:
--
--   name, plural, title    store kind ("ssh_key"), registry name, messages ("SSH key not found")
--   path, item_path, key   collection path; item path (default path .. "/{id}") and its parameter
--   list_key, envelope     list key; single objects under a key, or bare (false)
--   operations             { list, get, create, delete = true, update = { "PUT", "PATCH" } }
--   transitions            statuses per step (create, update, delete); none: no status
--   check(body, mode)      fields to write (mode "create", "replace", "patch") or nil, message
--   new_record(fields, now), update_record(record, fields, now), represent(record), encoded(record)
--   select(query)          read-only list catalogs: the items, or nil, message (a 400)
--   lookup(key, query)     read-only item catalogs: the object, or nil, message (a 400)

local registry = {
  (require "genesiscloud.emulator.resources.security_groups"), -- () keeps one value
  (require "genesiscloud.emulator.resources.ssh_keys"),
  (require "genesiscloud.emulator.resources.images"),
  (require "genesiscloud.emulator.resources.availability"),
}
for _, def in ipairs(registry) do registry[def.plural] = def end

return registry
