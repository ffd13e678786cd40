--- Instances: CRUD (update is PATCH only, in 2023-07 and since), the
-- actions start/stop/reset, their snapshots (created below the instance)
-- and their user metadata. Checks before sending: resources/instances/instance_checks.lua.
-- @module genesiscloud.resources.instances
local validate = require "genesiscloud.resources.instances.instance_checks"

local function field(type_, doc, extra)
  local f = { type = type_, doc = doc }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end
local CREATE_ONLY, REQUIRED = { create_only = true }, { create_only = true, required = true }

return {
  name = "instance",
  plural = "instances",
  cli = "instances",
  path = "/instances",
  list_key = "instances",
  envelope = "instance",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  update_method = "PATCH",
  identity = "name",
  -- ensure: these cannot change once created (a difference is a conflict).
  immutable = { "type", "image", "region" },
  statuses = {
    -- Each list holds the names of every API version (2023-07, 2023-09..2025-02,
    -- since 2025-02), so a wait works against any of them.
    ready = { "active" },
    failed = { "error" },
    deleting = "deleting",
    settled = { "stopped", "shutoff" },
    transitional = { "enqueued", "build", "copying", "creating", "starting", "stopping",
      "restarting", "resetting", "updating", "pending_payment", "unknown" },
    -- Renamed since 2023-07: old name -> today's.
    aliases = { enqueued = "creating", build = "creating", copying = "creating",
      shutoff = "stopped", restarting = "resetting" },
    vocabulary = {
      ["2023-07"] = { "enqueued", "creating", "active", "shutoff", "starting", "restarting",
        "stopping", "deleting", "error" },
      current = { "active", "creating", "deleting", "error", "pending_payment", "resetting",
        "starting", "stopped", "stopping" },
    },
  },
  actions = {
    path = "/instances/{id}/actions",
    list_key = "actions",
    names = { start = { to = "active" }, stop = { to = { "stopped", "shutoff" } }, reset = { to = "active" } },
  },
  nested = {
    snapshots = { name = "snapshot", path = "/instances/{id}/snapshots", envelope = "snapshot",
      list_key = "snapshots", operations = { list = {}, create = {} },
      fields = {
        name = { type = "string", required = true, max = 255, doc = "Name of the snapshot" },
        replicated_region = { type = "string", doc = "Also copy it to this region (since 2025-02)" },
      } },
  },
  calls = {
    -- Since 2024-10; a bare free-form object.
    user_metadata = { method = "GET", path = "/instances/{id}/user-metadata", envelope = false },
  },
  fields = {
    name = field("string", "Human-readable name", { required = true }),
    hostname = field("string", "Hostname (RFC 1123)", REQUIRED),
    type = field("string", "Instance type, e.g. vcpu-4_memory-12g", REQUIRED),
    image = field("string", "Image or snapshot id, or image slug",
      { create_only = true, required = true, reference = true }),
    region = field("string", "Region, e.g. NORD-NO-KRS-1", REQUIRED),
    ssh_keys = field("array", "SSH key id (not with password)", { create_only = true, reference = true }),
    password = field("string", "Password: 8-72 chars mixing upper, lower, digits (not with ssh keys)",
      { create_only = true, write_only = true }),
    security_groups = field("array", "Security group id", { reference = true }),
    volumes = field("array", "Volume id", { reference = true }),
    is_protected = field("boolean", "Refuse deletion while true"),
    metadata = field("object", "startup_script (<= 64 KiB) and/or user_data",
      { create_only = true, write_only = true }),
    placement_option = field("string", "Placement option", CREATE_ONLY),
    billing_type = field("string", "Billing type, e.g. on-demand", CREATE_ONLY),
    floating_ip = field("string", "Floating IP id", CREATE_ONLY),
    disk_size = field("integer", "Boot disk size in GiB", { min = 1 }),
    reservation_id = field("string", "Reservation id"),
    destroy_on_shutdown = field("boolean", "Delete the instance when it shuts down", CREATE_ONLY),
    public_ipv6 = field("boolean", "Give it a public IPv6 address", CREATE_ONLY),
    reuse_long_term_subscription = field("string", "Subscription id to bill against", CREATE_ONLY),
    public_ip_type = field("string", "dynamic or static (2023-07 only)", CREATE_ONLY),
  },
  validate = { create = validate.create, update = validate.update },
}
