-- How the emulator serves instances beyond what their definition
-- (genesiscloud.resources.instances: envelope "instance", PATCH, statuses,
-- the actions start/stop/reset, nested snapshots, the user-metadata call)
-- fixes: the create checks (required fields; a region, instance type and
-- image the emulator knows; SSH keys or a password; ids that name
-- records, see instance_links.lua), the statuses of each step
-- (create: creating -> active; stop: stopping -> stopped; start:
-- starting -> active; reset: resetting -> active), a protected instance
-- refusing deletion (409), and the record shown with its links by name.

local json = require "genesiscloud.emulator.wire_json"
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"
local links = require "genesiscloud.emulator.behaviours.instance_links"
local availability = require "genesiscloud.emulator.behaviours.availability_behaviour"
local snapshots = require "genesiscloud.emulator.behaviours.snapshots_behaviour"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local M = {
  plural = "instances", title = "Instance",
  in_progress = { create = "creating" },
  -- the statuses an action starts from, and the one while it is under way
  actions = {
    start = { from = { "stopped" }, status = "starting" },
    stop = { from = { "active" }, status = "stopping" },
    reset = { from = { "active" }, status = "resetting" },
  },
  nested = { snapshots = snapshots.from_instance },
}

local STARTUP_SCRIPT_MAX = 64 * 1024
local DEFAULT_DISK = 80

local RULES = {
  { "name", "string", required = true },
  { "hostname", "string", required = true, create_only = true },
  { "type", "string", required = true, create_only = true, enum = availability.INSTANCE_TYPES },
  { "image", "string", required = true, create_only = true },
  { "region", "region", create_only = true },
  { "ssh_keys", "list", create_only = true },
  { "password", "text", create_only = true },
  { "is_protected", "boolean" },
  { "metadata", "object", create_only = true },
  { "placement_option", "string", create_only = true },
  { "billing_type", "string", create_only = true },
  { "floating_ip", "string", create_only = true },
  { "disk_size", "integer", min = 1 },
  { "reservation_id", "string" },
  { "destroy_on_shutdown", "boolean", create_only = true },
  { "public_ipv6", "boolean", create_only = true },
  { "reuse_long_term_subscription", "string", create_only = true },
  { "public_ip_type", "string", create_only = true },
}
-- checked apart: a list on create, a list or { attach } / { detach } on update
local ATTACHED = { "security_groups", "volumes" }
local SERVER = { dns_name = true, os_type = true, public_ip = true, private_ip = true, security_groups = true,
  volumes = true }

local function password_problem(p)
  if #p < 8 or #p > 72 then return "password must be 8 to 72 characters long" end
  if not (p:find("%u") and p:find("%l") and p:find("%d")) then
    return "password must mix upper case letters, lower case letters and digits"
  end
  return nil
end

-- The checks of a create that need no other record.
local function check_create_fields(fields)
  if fields.ssh_keys and fields.password then return "ssh_keys and password exclude each other" end
  if fields.password then
    local problem = password_problem(fields.password)
    if problem then return problem end
  end
  local script = fields.metadata and fields.metadata.startup_script
  if script ~= nil and script ~= json.null then
    if type(script) ~= "string" then return "metadata.startup_script must be a string" end
    if #script > STARTUP_SCRIPT_MAX then return "metadata.startup_script must be at most 64 KiB" end
  end
  return nil
end

-- The ids a create or update names, checked against the store.
local function check_links(fields, app, self_id)
  local err, kind
  for field in pairs(links.LISTS) do
    local ids = fields[field] and (fields[field].replace or { fields[field].attach })
    if ids then
      err = links.check_ids(app, field, ids)
      if err then return err end
    end
  end
  if fields.volumes then
    err, kind = links.check_volumes_free(app, fields.volumes.replace or { fields.volumes.attach }, self_id)
    if err then return err, kind end
  end
  if fields.floating_ip then
    err, kind = links.check_floating_ip(app, fields.floating_ip)
    if err then return err, kind end
  end
  if fields.reservation_id then return links.check_reservation(fields.reservation_id) end
  return nil
end

-- Security groups and volumes: lists on create, changes on update.
local function check_attached(body, mode, fields)
  for _, field in ipairs(ATTACHED) do
    local value = body[field]
    if value ~= nil and value ~= json.null then
      local change, err = links.change(value, field)
      if not change then return err end
      if mode == "create" and not change.replace then return field .. " must be a list of ids" end
      fields[field] = change
    end
  end
  if fields.ssh_keys then fields.ssh_keys = { replace = fields.ssh_keys } end
  return nil
end

function M.check(body, mode, app, record)
  local fields, err = field_checks.check(body, mode, RULES, SERVER)
  if not fields then return nil, err end
  err = check_attached(body, mode, fields)
  if not err and mode == "create" then err = check_create_fields(fields) end
  if err then return nil, err end
  if fields.image then
    fields.image, err = links.image(fields.image, app)
    if not fields.image then return nil, err end
  end
  if record and fields.disk_size and fields.disk_size < record.disk_size then
    return nil, ("disk_size can only grow: the instance has %d GiB"):format(record.disk_size)
  end
  local kind
  err, kind = check_links(fields, app, record and record.id)
  if err then return nil, err, kind end
  return fields
end

-- Addresses from the id, so the same seed gives the same ones.
local function address(prefix, id)
  local n = tonumber(id:sub(1, 4), 16)
  return ("%s.%d.%d"):format(prefix, n // 256 % 256, n % 254 + 1)
end

function M.new_record(fields, now)
  local ids = {}
  for field in pairs(links.LISTS) do ids[field] = fields[field] and fields[field].replace or json.array() end
  return {
    name = fields.name, hostname = fields.hostname, type = fields.type, image = fields.image,
    region = fields.region or field_checks.DEFAULT_REGION, ssh_key_ids = ids.ssh_keys,
    security_group_ids = ids.security_groups, volume_ids = ids.volumes, floating_ip_id = fields.floating_ip,
    is_protected = fields.is_protected or false, metadata = fields.metadata or {},
    placement_option = fields.placement_option or "AUTO", disk_size = fields.disk_size or DEFAULT_DISK,
    reservation_id = fields.reservation_id, extra = fields.extra, created_at = now, updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  if fields.is_protected ~= nil then record.is_protected = fields.is_protected end
  record.disk_size = fields.disk_size or record.disk_size
  record.reservation_id = fields.reservation_id or record.reservation_id
  if fields.volumes then record.volume_ids = links.apply(record.volume_ids, fields.volumes) end
  if fields.security_groups then
    record.security_group_ids = links.apply(record.security_group_ids, fields.security_groups)
  end
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

function M.refuse_delete(record)
  if record.is_protected then
    return "conflict", "Instance is protected: set is_protected to false before deleting it"
  end
  return nil
end

M.calls = {
  -- the user data it was created with (undocumented shape: the metadata)
  user_metadata = { run = function(_, _, record) return record.metadata end },
}

function M.represent(record, app)
  local out = field_checks.shown(record)
  local floating = record.floating_ip_id and app.store:get("floating_ip", record.floating_ip_id)
  out.id, out.name, out.hostname, out.type = record.id, record.name, record.hostname, record.type
  out.dns_name = record.hostname .. ".emulator.invalid"
  out.status, out.region, out.image, out.os_type = record.status, record.region, record.image, "linux"
  out.public_ip, out.private_ip = address("198.51", record.id), address("10.0", record.id)
  out.ssh_keys = links.shown(app, "ssh_key", record.ssh_key_ids)
  out.security_groups = links.shown(app, "security_group", record.security_group_ids)
  out.volumes = links.shown(app, "volume", record.volume_ids)
  out.floating_ip = floating and { id = floating.id, name = floating.name } or json.null
  out.is_protected, out.disk_size = record.is_protected, record.disk_size
  out.reservation_id = record.reservation_id or json.null
  out.placement_option = record.placement_option
  out.created_at, out.updated_at = iso8601(record.created_at), iso8601(record.updated_at)
  return out
end

return M
