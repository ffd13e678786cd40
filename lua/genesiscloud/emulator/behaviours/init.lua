-- The emulator's behaviours, one per resource of the client's registry
-- (genesiscloud.resources), by plural: what the emulator does beyond what
-- the definition fixes. kinds.lua joins each with its definition; a new
-- resource is a behaviour file and one line here. A behaviour's fields:
--
--   plural                 the definition it belongs to
--   title                  messages ("SSH key not found")
--   in_progress            statuses while a step is under way, { create = "creating",
--                          update = "updating" }: exactly when the definition has statuses
--   check(body, mode)      fields to write (mode "create", "replace", "patch") or nil, message
--   new_record(fields, now), update_record(record, fields, now), represent(record), encoded(record)
--   select(query)          read-only list catalogs: the items, or nil, message (a 400)
--   lookup(key, query)     read-only item catalogs: the object, or nil, message (a 400)

local behaviours = {}
for _, behaviour in ipairs{
  (require "genesiscloud.emulator.behaviours.security_groups_behaviour"), -- () keeps one value
  (require "genesiscloud.emulator.behaviours.ssh_keys_behaviour"),
  (require "genesiscloud.emulator.behaviours.images_behaviour"),
  (require "genesiscloud.emulator.behaviours.availability_behaviour"),
} do
  behaviours[behaviour.plural] = behaviour
end

return behaviours
