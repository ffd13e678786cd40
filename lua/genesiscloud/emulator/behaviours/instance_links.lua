-- What an instance points at, checked against the emulator's records and
-- catalogs: its image (a catalog image's id, a cloud image's slug or
-- `slug:version`, or a snapshot's id), SSH keys, security groups, volumes,
-- floating IP and reservation, each by id. An id that names nothing is a
-- 400; a volume another instance holds, or a floating IP in use, a 409.
-- Volumes and security groups change as a full list or one at a time
-- ({ attach = id } / { detach = id }; attaching an attached id or
-- detaching a detached one changes nothing).

local json = require "genesiscloud.emulator.wire_json"
local images = require "genesiscloud.emulator.behaviours.images_behaviour"
local reservations = require "genesiscloud.emulator.behaviours.reservations_behaviour"

local links = {}

-- The store kind and what a message calls each list of ids.
links.LISTS = {
  ssh_keys = { kind = "ssh_key", what = "SSH key" },
  security_groups = { kind = "security_group", what = "security group" },
  volumes = { kind = "volume", what = "volume" },
}

-- The image `value` names, as { id, name }, or nil and a message.
function links.image(value, app)
  for _, image in ipairs(images.CATALOG) do
    if image.id == value then return { id = image.id, name = image.name } end
    local slug = image.slug
    if type(slug) == "string" then
      if value == slug then return { id = image.id, name = image.name } end
      for _, version in ipairs(image.versions) do
        if value == slug .. ":" .. version then return { id = image.id, name = image.name .. " " .. version } end
      end
    end
  end
  local snapshot = app.store:get("snapshot", value)
  if snapshot and snapshot.status ~= "deleting" then return { id = snapshot.id, name = snapshot.name } end
  return nil, "image " .. value .. " is neither an image id, an image slug nor a snapshot id"
end

-- The live record of `kind` with `id`, not being deleted; or nil.
local function live(app, kind, id)
  local record = app.store:get(kind, id)
  if record and record.status ~= "deleting" then return record end
  return nil
end

-- nil, or the message of a 400 naming the first id of `ids` that names
-- no record of list `field`.
function links.check_ids(app, field, ids)
  local list = links.LISTS[field]
  for _, id in ipairs(ids) do
    if not live(app, list.kind, id) then return ("%s: there is no %s %s"):format(field, list.what, id) end
  end
  return nil
end

-- The instance other than `self_id` that holds volume `id`, or nil.
local function holder_of(app, id, self_id)
  for _, instance in ipairs(app.store:list("instance")) do
    if instance.id ~= self_id then
      for _, v in ipairs(instance.volume_ids) do
        if v == id then return instance end
      end
    end
  end
  return nil
end

-- nil, or a message and "conflict" when a volume of `ids` is attached
-- to another instance.
function links.check_volumes_free(app, ids, self_id)
  for _, id in ipairs(ids) do
    local other = holder_of(app, id, self_id)
    if other then return ("volume %s is attached to instance %s"):format(id, other.id), "conflict" end
  end
  return nil
end

-- The floating IP of a create: nil, or a message (and kind).
function links.check_floating_ip(app, id)
  if not live(app, "floating_ip", id) then return "floating_ip: there is no floating IP " .. id end
  for _, instance in ipairs(app.store:list("instance")) do
    if instance.floating_ip_id == id then return "floating IP " .. id .. " is in use", "conflict" end
  end
  return nil
end

function links.check_reservation(id)
  for _, r in ipairs(reservations.CATALOG) do
    if r.id == id then return nil end
  end
  return "reservation_id: there is no reservation " .. id
end

-- The ids after `change` ({ replace = ids } | { attach = id } | { detach = id }).
function links.apply(ids, change)
  if change.replace then return json.array{ table.unpack(change.replace) } end
  local out = json.array()
  for _, id in ipairs(ids) do
    if id ~= change.detach then out[#out + 1] = id end
  end
  if change.attach then
    for _, id in ipairs(out) do
      if id == change.attach then return out end
    end
    out[#out + 1] = change.attach
  end
  return out
end

-- `value` of a PATCH (a list, { attach = id } or { detach = id }) as a
-- change, or nil and a message.
function links.change(value, field)
  -- [] and {} decode alike: both are the empty list
  if json.is_list(value) then
    for i, id in ipairs(value) do
      if type(id) ~= "string" or id == "" then return nil, ("%s[%d] must be an id (a string)"):format(field, i) end
    end
    return { replace = value }
  end
  if json.is_object(value) then
    local attach, detach, n = value.attach, value.detach, 0
    for _ in pairs(value) do n = n + 1 end
    local id = attach or detach
    if n == 1 and type(id) == "string" and id ~= "" then return { attach = attach, detach = detach } end
  end
  return nil, field .. ' must be a list of ids, {"attach": id} or {"detach": id}'
end

-- { { id, name }, ... } of the live records of `kind` among `ids`.
function links.shown(app, kind, ids)
  local out = json.array()
  for _, id in ipairs(ids) do
    local record = app.store:get(kind, id)
    if record then out[#out + 1] = { id = record.id, name = record.name } end
  end
  return out
end

return links
