-- The emulator's behaviours, one per resource of the client's registry
-- (genesiscloud.resources), by plural: what the emulator does beyond what
-- the definition fixes. kinds.lua joins each with its definition; a new
-- resource is a behaviour file and one line here. A behaviour's fields:
--
--   plural                 the definition it belongs to
--   title                  messages ("SSH key not found")
--   in_progress            statuses while a step is under way, { create = "creating",
--                          update = "updating" }: exactly when the definition has statuses
--   check(body, mode, app, record)
--                          fields to write (mode "create", "replace", "patch"; `record` on
--                          updates) or nil, message and the error kind (nil: a 400)
--   new_record(fields, now, app), update_record(record, fields, now, app),
--   represent(record, app) (`app`: its store, to show links), encoded(record)
--   refuse_delete(record, app)  nil, or the error kind and message refusing a delete
--   actions                { <name> = { from = { statuses }, status = "stopping" } }: each
--                          action of the definition (its target status is the definition's)
--   nested                 { <plural> = { link, check(body, mode, app, parent),
--                          new_record(fields, parent, now, app) } }: records of that kind
--                          created below one of these, `link` naming the parent's id
--   calls                  { <name> = { check = fn(body, "call", app, record) or nil,
--                          run = fn(app, kind, record, fields) -> answer | nil, message, kind } }:
--                          each call of the definition that is not one of its operations
--   select(query)          read-only list catalogs: the items, or nil, message (a 400)
--   lookup(key, query)     read-only item catalogs: the object, or nil, message (a 400)

local behaviours = {}
for _, behaviour in ipairs{
  (require "genesiscloud.emulator.behaviours.security_groups_behaviour"), -- () keeps one value
  (require "genesiscloud.emulator.behaviours.ssh_keys_behaviour"),
  (require "genesiscloud.emulator.behaviours.images_behaviour"),
  (require "genesiscloud.emulator.behaviours.availability_behaviour"),
  (require "genesiscloud.emulator.behaviours.instances_behaviour"),
  (require "genesiscloud.emulator.behaviours.volumes_behaviour"),
  (require "genesiscloud.emulator.behaviours.snapshots_behaviour"),
  (require "genesiscloud.emulator.behaviours.floating_ips_behaviour"),
  (require "genesiscloud.emulator.behaviours.filesystems_behaviour"),
  (require "genesiscloud.emulator.behaviours.quotas_behaviour"),
  (require "genesiscloud.emulator.behaviours.reservations_behaviour"),
} do
  behaviours[behaviour.plural] = behaviour
end

return behaviours
