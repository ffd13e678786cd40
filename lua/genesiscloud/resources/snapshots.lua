--- Snapshots: listed, read, renamed (PATCH, in 2023-07 and since) and
-- deleted here; taken from an instance below it
-- (`instances:create_snapshot(id, spec)`), imported from a URL (`create`,
-- `POST /snapshots`, since 2024-01) or cloned into a region (`clone`,
-- `POST /snapshots/{id}/clone`, since 2025-02). No identity: snapshot names
-- need not be unique, so a create whose answer was lost is reported, not
-- looked up.
-- @module genesiscloud.resources.snapshots
return {
  name = "snapshot",
  plural = "snapshots",
  cli = "snapshots",
  path = "/snapshots",
  list_key = "snapshots",
  envelope = "snapshot",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  update_method = "PATCH",
  statuses = {
    -- available (2023-07) and active (2023-09..2025-02) are today's created.
    ready = { "created", "available", "active" },
    failed = { "error" },
    deleting = "deleting",
    transitional = { "creating", "snapshotting", "pending_delete" },
    aliases = { available = "created", active = "created", snapshotting = "creating" },
    vocabulary = {
      ["2023-07"] = { "available", "snapshotting", "error" },
      current = { "created", "creating", "deleting", "error", "pending_delete" },
    },
  },
  calls = {
    clone = { method = "POST", path = "/snapshots/{id}/clone", envelope = "snapshot",
      fields = {
        name = { type = "string", required = true, max = 255, doc = "Name of the copy" },
        region = { type = "string", required = true, doc = "Region of the copy" },
      } },
  },
  -- create is the import from a URL; update renames.
  fields = {
    name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
    region = { type = "string", required = true, create_only = true, doc = "Region to import into" },
    size = { type = "integer", required = true, min = 1, create_only = true, doc = "Size of the image in GiB" },
    url = { type = "string", required = true, create_only = true, doc = "URL of a raw (or zstd-compressed raw) image" },
    os_type = { type = "string", enum = { "linux", "windows" }, create_only = true, doc = "Operating system" },
  },
}
