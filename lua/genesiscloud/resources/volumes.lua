--- Volumes: CRUD, and a resize that only grows. Update is PUT of name and
-- description in the 2023-07 contract and PATCH since ("auto"); attaching
-- is done from the instance (`instances:update(id, { volumes = { attach = vid } })`).
-- @module genesiscloud.resources.volumes
local grow_only = require "genesiscloud.resources.grow_only"

return {
  name = "volume",
  plural = "volumes",
  cli = "volumes",
  path = "/volumes",
  list_key = "volumes",
  envelope = "volume",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  update_method = "auto",
  -- PUT (2023-07) needs both; anything less goes as PATCH.
  is_complete = function(spec) return spec.name ~= nil and spec.description ~= nil end,
  identity = "name",
  immutable = { "region", "type" },
  statuses = {
    -- Names of every API version: active (2023-07), available and in-use
    -- (2023-09..2025-02) are all today's created.
    ready = { "created", "active", "available", "in-use" },
    failed = { "error" },
    deleting = "deleting",
    transitional = { "creating", "pending_delete" },
    aliases = { active = "created", available = "created", ["in-use"] = "created" },
    vocabulary = {
      ["2023-07"] = { "creating", "active", "error" },
      current = { "created", "creating", "deleting", "error", "pending_delete" },
    },
  },
  calls = {
    -- `:resize(id, size)`: reads the volume, refuses to shrink it, then PATCHes `size`.
    resize = { method = "PATCH", path = "/volumes/{id}", envelope = "volume", argument = "size",
      fields = { size = { type = "integer", required = true, min = 1, doc = "New size in GiB" } },
      before = grow_only.check },
  },
  fields = {
    name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
    description = { type = "string", doc = "Free text (required by the 2023-07 contract)" },
    size = { type = "integer", required = true, min = 1, create_only = true,
      doc = "Size in GiB (grow it with resize)" },
    region = { type = "string", required = true, create_only = true, doc = "Region, e.g. NORD-NO-KRS-1" },
    type = { type = "string", enum = { "ssd", "hdd" }, create_only = true, doc = "Storage type (since 2023-09)" },
  },
}
