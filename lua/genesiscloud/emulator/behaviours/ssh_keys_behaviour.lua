-- How the emulator serves SSH keys beyond what their definition
-- (genesiscloud.resources.ssh_keys: bare objects, no status, update by PUT
-- or PATCH) fixes: an update changes the name only; the public key is
-- checked (type, base64, the type inside it, its size) and the key is
-- shown with its `type`, `size` and SHA-256 `fingerprint`.

local checks = require "genesiscloud.emulator.request_checks"
local ssh_public_key = require "genesiscloud.emulator.ssh_public_key"
local iso8601 = require("genesiscloud.emulator.timestamps").iso8601

local present = checks.present

-- Handled, or owned by the server (and so ignored when sent).
local KNOWN = { name = true, value = true, fingerprint = true, type = true, size = true }

local M = { plural = "ssh_keys", title = "SSH key" }

-- mode: "create" (name and value required), "replace" (PUT: name
-- required) or "patch" (PATCH: name optional). Returns name, key (the
-- parsed value, on create) and `extra` (unknown fields, passed through).
function M.check(body, mode)
  local out = {}
  if present(body.name) then
    if type(body.name) ~= "string" or body.name == "" then return nil, "name must be a non-empty string" end
    out.name = body.name
  elseif mode ~= "patch" then
    return nil, "name is required"
  end
  if mode == "create" then
    if not present(body.value) then return nil, "value is required (an OpenSSH public key)" end
    local key, err = ssh_public_key.parse(body.value)
    if not key then return nil, err end
    out.key = key
  elseif present(body.value) then
    return nil, "value cannot be changed: delete the key and create a new one"
  end
  out.extra = checks.extra_fields(body, KNOWN)
  return out
end

function M.new_record(fields, now)
  local key = fields.key
  return {
    name = fields.name, value = key.value, type = key.type, size = key.size, fingerprint = key.fingerprint,
    extra = fields.extra, created_at = now, updated_at = now,
  }
end

function M.update_record(record, fields, now)
  record.name = fields.name or record.name
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = now
end

function M.represent(record)
  local out = {}
  for k, v in pairs(record.extra) do out[k] = v end
  out.id = record.id
  out.name = record.name
  out.value = record.value
  out.fingerprint = record.fingerprint
  out.type = record.type
  out.size = record.size
  out.created_at = iso8601(record.created_at)
  out.updated_at = iso8601(record.updated_at)
  return out
end

return M
