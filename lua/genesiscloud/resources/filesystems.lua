--- Filesystems (since 2024-02): CRUD, update (PATCH) renames and
-- describes; `resize(id, size)` grows only, checked before sending.
-- @module genesiscloud.resources.filesystems
local grow_only = require "genesiscloud.resources.grow_only"

return {
  name = "filesystem",
  plural = "filesystems",
  cli = "filesystems",
  path = "/filesystems",
  list_key = "filesystems",
  envelope = "filesystem",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  update_method = "PATCH",
  identity = "name",
  immutable = { "region", "type" },
  statuses = {
    ready = { "created" },
    failed = { "error" }, -- since 2025-02
    deleting = "deleting",
    transitional = { "creating" },
    aliases = {},
    vocabulary = { current = { "created", "creating", "deleting", "error" } },
  },
  calls = {
    resize = { method = "PATCH", path = "/filesystems/{id}", envelope = "filesystem", argument = "size",
      fields = { size = { type = "integer", required = true, min = 1, doc = "New size in GiB" } },
      before = grow_only.check },
  },
  fields = {
    name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
    description = { type = "string", doc = "Free text" },
    size = { type = "integer", required = true, min = 1, create_only = true,
      doc = "Size in GiB (grow it with resize)" },
    region = { type = "string", required = true, create_only = true, doc = "Region, e.g. NORD-NO-KRS-1" },
    type = { type = "string", enum = { "vast" }, create_only = true, doc = "Filesystem type" },
  },
}
