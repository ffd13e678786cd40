-- How the emulator serves filesystems beyond what their definition
-- (genesiscloud.resources.filesystems: envelope "filesystem", PATCH,
-- statuses) fixes: the checks (name, size, a region the emulator knows,
-- on create; a size that only grows), and the record with its mount
-- endpoints.

local json = require "genesiscloud.emulator.wire_json"
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local M = {
  plural = "filesystems", title = "Filesystem",
  in_progress = { create = "creating" },
}

local RULES = {
  { "name", "string", required = true },
  { "description", "text" },
  { "size", "integer", required = true, min = 1 },
  { "region", "region", required = true, create_only = true },
  { "type", "string", enum = { "vast" }, create_only = true },
}
local SERVER = { mount_endpoint_range = true, mount_base_path = true }

function M.check(body, mode, _, record)
  local fields, err = field_checks.check(body, mode, RULES, SERVER)
  if not fields then return nil, err end
  if record then
    err = field_checks.grow_only("filesystem", record, fields.size)
    if err then return nil, err end
  end
  return fields
end

function M.new_record(fields, now)
  return {
    name = fields.name, description = fields.description or "", size = fields.size,
    region = fields.region, type = fields.type or "vast", extra = fields.extra,
    created_at = now, updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  record.description = fields.description or record.description
  record.size = fields.size or record.size
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

function M.represent(record)
  local out = field_checks.shown(record)
  out.id, out.name, out.description, out.size = record.id, record.name, record.description, record.size
  out.region, out.type, out.status = record.region, record.type, record.status
  out.mount_endpoint_range = json.array{ "10.20.0.10", "10.20.0.11" }
  out.mount_base_path = "/" .. record.id
  out.created_at, out.updated_at = iso8601(record.created_at), iso8601(record.updated_at)
  return out
end

return M
