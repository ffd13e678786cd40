-- How the emulator serves volumes beyond what their definition
-- (genesiscloud.resources.volumes: envelope "volume", update by PUT or
-- PATCH, statuses) fixes: the checks (a region the emulator knows, a size
-- that only grows), the record, and its links: `instances` shows the
-- instances it is attached to (attaching is done from the instance), and
-- an attached volume cannot be deleted (409).

local json = require "genesiscloud.emulator.wire_json"
local field_checks = require "genesiscloud.emulator.behaviours.field_checks"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local M = {
  plural = "volumes", title = "Volume",
  in_progress = { create = "creating" },
}

-- 2023-07: PUT needs name and description; since: PATCH, all optional,
-- and `size` resizes (the client's `resize` call).
local RULES = {
  { "name", "string", required = true, replace = true },
  { "description", "text", replace = true },
  { "size", "integer", required = true, min = 1 },
  { "region", "region" },
  { "type", "string", enum = { "ssd", "hdd" }, create_only = true },
}
local SERVER = { instances = true }

function M.check(body, mode, _, record)
  local fields, err = field_checks.check(body, mode, RULES, SERVER)
  if not fields then return nil, err end
  if record then
    if fields.region and fields.region ~= record.region then return nil, "region cannot be changed once created" end
    err = field_checks.grow_only("volume", record, fields.size)
    if err then return nil, err end
  end
  return fields
end

function M.new_record(fields, now)
  return {
    name = fields.name, description = fields.description or "", size = fields.size,
    region = fields.region or field_checks.DEFAULT_REGION, type = fields.type or "ssd",
    extra = fields.extra, created_at = now, updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  record.description = fields.description or record.description
  record.size = fields.size or record.size
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

-- The instances (live ones) that list this volume, in creation order.
function M.attached(record, app)
  local out = {}
  for _, instance in ipairs(app.store:list("instance")) do
    for _, id in ipairs(instance.volume_ids) do
      if id == record.id then out[#out + 1] = instance end
    end
  end
  return out
end

function M.refuse_delete(record, app)
  local instances = M.attached(record, app)
  if #instances > 0 then
    return "conflict", ("Volume is attached to instance %s: detach it first"):format(instances[1].id)
  end
  return nil
end

function M.represent(record, app)
  local out = field_checks.shown(record)
  local instances = json.array()
  for i, instance in ipairs(M.attached(record, app)) do
    instances[i] = { id = instance.id, name = instance.name }
  end
  out.id, out.name, out.description = record.id, record.name, record.description
  out.size, out.region, out.type, out.status = record.size, record.region, record.type, record.status
  out.instances = instances
  out.created_at, out.updated_at = iso8601(record.created_at), iso8601(record.updated_at)
  return out
end

return M
