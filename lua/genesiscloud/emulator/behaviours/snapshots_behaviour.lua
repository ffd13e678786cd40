-- How the emulator serves snapshots beyond what their definition
-- (genesiscloud.resources.snapshots: envelope "snapshot", PATCH, statuses,
-- the clone call) fixes. Three ways in, each reading `creating` first:
-- from an instance (`POST /instances/{id}/snapshots`, instances_behaviour
-- uses `from_instance`: the snapshot records `source_instance_id`, and
-- `resource_id` as in 2023-07), imported from a URL (`POST /snapshots`),
-- and cloned into a region (`POST /snapshots/{id}/clone`: the copy records
-- `source_snapshot_id`). An update renames.

local json = require "genesiscloud.emulator.wire_json"
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"
local collection = require "genesiscloud.emulator.collection"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local M = {
  plural = "snapshots", title = "Snapshot",
  in_progress = { create = "creating" },
}

local IMPORT = {
  { "name", "string", required = true },
  { "region", "region", required = true, create_only = true },
  { "size", "integer", required = true, min = 1, create_only = true },
  { "url", "string", required = true, create_only = true },
  { "os_type", "string", enum = { "linux", "windows" }, create_only = true },
}
local SERVER = { source_instance_id = true, source_snapshot_id = true, resource_id = true }

function M.check(body, mode)
  local fields, err = field_checks.check(body, mode, IMPORT, SERVER)
  if not fields then return nil, err end
  if fields.url and not fields.url:match("^https?://[^/]") then
    return nil, "url must be an http:// or https:// URL"
  end
  return fields
end

local function record_of(fields, now, extra)
  local out = {
    name = fields.name, region = fields.region, size = fields.size, os_type = fields.os_type or "linux",
    extra = fields.extra, created_at = now, updated_at = now,
  }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

function M.new_record(fields, now)
  return record_of(fields, now)
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

-- Snapshots of an instance: taken while it is active or stopped.
local FROM_INSTANCE = {
  { "name", "string", required = true },
  { "replicated_region", "region" },
}
local SNAPSHOTTABLE = { active = true, stopped = true }

M.from_instance = {
  link = "source_instance_id",
  check = function(body, mode, _, instance)
    if not SNAPSHOTTABLE[instance.status] then
      return nil, "Instance is " .. tostring(instance.status) .. ": it can be snapshotted when active or stopped",
        "conflict"
    end
    return field_checks.check(body, mode, FROM_INSTANCE, SERVER)
  end,
  new_record = function(fields, instance, now)
    fields.region = instance.region
    fields.size = instance.disk_size
    return record_of(fields, now, { replicated_region = fields.replicated_region })
  end,
}

local CLONE = {
  { "name", "string", required = true },
  { "region", "region", required = true },
}

M.calls = {
  clone = {
    check = function(body, mode)
      return field_checks.check(body, mode == "call" and "create" or mode, CLONE, SERVER)
    end,
    run = function(app, def, source, fields)
      if collection.deleting(source) then return nil, "Snapshot is being deleted", "conflict" end
      fields.size, fields.os_type = source.size, source.os_type
      local copy = collection.insert(app, def, record_of(fields, app.store:now(), { source_snapshot_id = source.id }))
      return collection.show(def, copy, app)
    end,
  },
}

function M.represent(record)
  local out = field_checks.shown(record)
  out.id, out.name, out.region, out.size = record.id, record.name, record.region, record.size
  out.status, out.os_type = record.status, record.os_type
  out.source_instance_id = record.source_instance_id or json.null
  out.resource_id = record.source_instance_id or json.null
  out.source_snapshot_id = record.source_snapshot_id or json.null
  if record.replicated_region then out.replicated_region = record.replicated_region end
  out.created_at, out.updated_at = iso8601(record.created_at), iso8601(record.updated_at)
  return out
end

return M
