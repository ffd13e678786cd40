--- Floating IPs (since 2023-09): CRUD, update (PATCH, since 2024-02)
-- renames and describes. Attached only when an instance is created
-- (its `floating_ip`).
-- @module genesiscloud.resources.floating_ips
return {
  name = "floating_ip",
  plural = "floating_ips",
  cli = "floating-ips",
  path = "/floating-ips",
  list_key = "floating_ips",
  envelope = "floating_ip",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  update_method = "PATCH",
  identity = "name",
  immutable = { "region", "version" },
  statuses = {
    ready = { "created" },
    failed = { "error" },
    deleting = "deleting",
    transitional = { "creating" },
    aliases = {},
    vocabulary = { current = { "created", "creating", "deleting", "error" } },
  },
  fields = {
    name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
    description = { type = "string", doc = "Free text" },
    region = { type = "string", required = true, create_only = true, doc = "Region, e.g. NORD-NO-KRS-1" },
    version = { type = "string", enum = { "ipv4", "ipv6" }, create_only = true,
      doc = "IP version (the API takes ipv4 only since 2024-02)" },
  },
}
