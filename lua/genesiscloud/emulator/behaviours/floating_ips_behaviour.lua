-- How the emulator serves floating IPs beyond what their definition
-- (genesiscloud.resources.floating_ips: envelope "floating_ip", PATCH,
-- statuses) fixes: the checks (name and a region the emulator knows, on
-- create), the record with an address from 203.0.113.0/24 or
-- 2001:db8::/32 (documentation ranges), and `instance`: the instance
-- created with it, or null. A floating IP in use cannot be deleted (409).

local json = require "genesiscloud.emulator.wire_json"
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local M = {
  plural = "floating_ips", title = "Floating IP",
  in_progress = { create = "creating" },
}

local RULES = {
  { "name", "string", required = true },
  { "description", "text" },
  { "region", "region", required = true, create_only = true },
  { "version", "string", enum = { "ipv4", "ipv6" }, create_only = true },
}
local SERVER = { ip_address = true, is_public = true, instance = true }

function M.check(body, mode)
  return field_checks.check(body, mode, RULES, SERVER)
end

-- An address from the record's id, so the same seed gives the same ones.
local function address(id, version)
  local n = tonumber(id:sub(1, 4), 16)
  if version == "ipv6" then return ("2001:db8::%x"):format(n) end
  return ("203.0.113.%d"):format(n % 254 + 1)
end

function M.new_record(fields, now)
  return {
    name = fields.name, description = fields.description or "", region = fields.region,
    version = fields.version or "ipv4", extra = fields.extra, created_at = now, updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  record.description = fields.description or record.description
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

-- The live instance created with this floating IP, or nil.
local function holder(record, app)
  for _, instance in ipairs(app.store:list("instance")) do
    if instance.floating_ip_id == record.id then return instance end
  end
  return nil
end

function M.refuse_delete(record, app)
  local instance = holder(record, app)
  if instance then return "conflict", "Floating IP is in use by instance " .. instance.id end
  return nil
end

function M.represent(record, app)
  local out = field_checks.shown(record)
  local instance = holder(record, app)
  out.id, out.name, out.description, out.region = record.id, record.name, record.description, record.region
  out.version, out.status, out.is_public = record.version, record.status, true
  out.ip_address = address(record.id, record.version)
  out.instance = instance and { id = instance.id, name = instance.name } or json.null
  out.created_at, out.updated_at = iso8601(record.created_at), iso8601(record.updated_at)
  return out
end

return M
