-- Which API version the emulator plays (the `api_version` setting):
--
--   "any"      (default) what either version accepts: PUT and PATCH where
--              the 2023-07 contract had PUT, `region` optional, every route,
--              today's status names
--   "2023-07"  the July 2023 contract: PUT where it had PUT (PATCH there is
--              a 405), no route added since (404), no `reset` action,
--              `region` optional, the 2023-07 status names
--   "current"  today's API (the reference's changes since 2023-07): PATCH
--              only (PUT is a 405), `region` required on create, today's
--              status names
--
-- Records always keep today's status names; 2023-07 names are shown on
-- the way out, from the definition's `statuses.aliases` and
-- `statuses.vocabulary["2023-07"]`. A region the emulator does not know is
-- a 400 in every mode (the behaviours' checks).

local json = require "genesiscloud.emulator.wire_json"
local reply = require "genesiscloud.emulator.reply"

local api_version = {}

api_version.VERSIONS = { "any", "2023-07", "current" }
api_version.DEFAULT = "any"

-- What the 2023-07 contract did not have: whole kinds, and single
-- operations or calls of a kind (by the name of their route's operation).
local ABSENT_2023_07 = {
  floating_ips = true, filesystems = true, quotas = true, reservations = true,
  snapshots = { create = true, clone = true }, -- import from a URL, clone
  instances = { user_metadata = true },
}
-- The actions of the 2023-07 contract (`reset` came in 2023-09).
local ACTIONS_2023_07 = { instances = { start = true, stop = true } }

--- The setting's value, or nil and a message.
function api_version.check(value)
  for _, v in ipairs(api_version.VERSIONS) do
    if value == v then return v end
  end
  return nil, "api_version must be one of " .. table.concat(api_version.VERSIONS, ", ")
end

-- Did the 2023-07 contract have operation `op` (a name of collection.lua
-- or object_routes.lua) of kind `def`?
local function in_2023_07(def, op)
  local absent = ABSENT_2023_07[def.plural]
  if absent == true then return false end
  return not (absent and absent[op])
end

-- Does the definition update by PUT in 2023-07 (update_method "auto")?
local function had_put(def)
  return def.definition.update_method == "auto"
end

--- The refusal of `method` on `route` under `version` (status, body,
-- headers), or nil when the version has it. `route.ops[method]` names the
-- operation.
function api_version.refuse(version, route, method)
  if version == "any" or not route.ops then return nil end
  local def, op = route.resource, route.ops[method]
  if op == nil then return nil end
  if version == "2023-07" then
    if not in_2023_07(def, op) then return reply.error("invalid_route") end
    if op == "update" and method == "PATCH" and had_put(def) then
      return reply.error("method_not_allowed", "Method not allowed: use PUT (API version 2023-07)",
        { allow = "DELETE, GET, PUT" })
    end
  elseif version == "current" and op == "update" and method == "PUT" then
    return reply.error("method_not_allowed", "Method not allowed: use PATCH", { allow = "DELETE, GET, PATCH" })
  end
  return nil
end

--- Is action `name` of kind `def` part of `version`?
function api_version.has_action(version, def, name)
  if version ~= "2023-07" then return true end
  local actions = ACTIONS_2023_07[def.plural]
  return actions == nil or actions[name] == true
end

-- The kinds whose create took no `region` in 2023-07 and needs it since
-- 2023-09 (the others needed it from their start: their checks say so).
local REGION_REQUIRED_SINCE = { instances = true, volumes = true, security_groups = true }

--- The name of the field a create under `version` requires that the
-- behaviour leaves optional, or nil.
function api_version.required_on_create(version, def, body)
  if version ~= "current" or not REGION_REQUIRED_SINCE[def.plural] then return nil end
  if body.region == nil or body.region == json.null then return "region" end
  return nil
end

-- today's name -> the 2023-07 name, per kind (made on first use).
local old_names = setmetatable({}, { __mode = "k" })

local function names_2023_07(def)
  local names = old_names[def]
  if names then return names end
  names = {}
  local statuses = def.definition.statuses or {}
  local vocabulary = statuses.vocabulary and statuses.vocabulary["2023-07"] or {}
  local old = {}
  for _, name in ipairs(vocabulary) do old[name] = true end
  for old_name, today in pairs(statuses.aliases or {}) do
    if old[old_name] and not old[today] then names[today] = old_name end
  end
  old_names[def] = names
  return names
end

-- The fields each object gained after the 2023-07 contract (its schemas'
-- properties), left out under "2023-07".
local ADDED_SINCE = {
  ssh_keys = { "updated_at" },
  security_groups = { "is_internal", "updated_at" },
  volumes = { "type", "updated_at" },
  snapshots = { "os_type", "source_instance_id", "source_snapshot_id", "updated_at" },
  instances = { "disk_size", "dns_name", "floating_ip", "is_protected", "os_type", "reservation_id" },
  images = { "family", "os_type", "slug", "updated_at", "versions" },
}
local GIB = 1024 * 1024 * 1024

-- The 2023-07 form of a snapshot: `size` a string of bytes (today an
-- integer of GiB); an instance: `public_ip_type` (required then).
local function reshape_2023_07(def, out)
  for _, field in ipairs(ADDED_SINCE[def.plural] or {}) do out[field] = nil end
  if def.plural == "snapshots" and math.type(out.size) == "integer" then
    out.size = tostring(out.size * GIB)
  elseif def.plural == "instances" and out.public_ip_type == nil then
    out.public_ip_type = "dynamic"
  end
end

--- The object `object` of kind `def` as `version` shows it: under
-- "2023-07" a copy with its status names and fields; otherwise itself.
function api_version.shape(version, def, object)
  if version ~= "2023-07" or type(object) ~= "table" then return object end
  local out = {}
  for k, v in pairs(object) do out[k] = v end
  if type(out.status) == "string" then out.status = names_2023_07(def)[out.status] or out.status end
  reshape_2023_07(def, out)
  return out
end

--- Does a delete of kind `def` go through its deleting status under
-- `version`? The 2023-07 vocabularies of volumes and snapshots have no
-- such status: they are gone at once.
function api_version.shows_deleting(version, def)
  if version ~= "2023-07" then return true end
  local statuses = def.definition.statuses
  local vocabulary = statuses and statuses.vocabulary and statuses.vocabulary["2023-07"]
  if not vocabulary then return true end
  for _, name in ipairs(vocabulary) do
    if name == statuses.deleting then return true end
  end
  return false
end

return api_version
