-- A GPU box, declaratively: an SSH key, a security group, a volume and an
-- instance with all three ("up", with ensure: a second run changes
-- nothing); then a snapshot, a stop and a start; then everything torn
-- down in order, each deletion waited for ("down").
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/gpu_box.lua [up|down]
-- Without an argument it runs up, the snapshot, stop and start, and down.
local genesiscloud = require "genesiscloud"

local REGION = "NORD-NO-KRS-1"
local PUBLIC_KEY = os.getenv("GPU_BOX_PUBLIC_KEY")
  or "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"
-- Polls start fast and slow down (x1.5, up to 30 s); a GPU box may take minutes.
local WAIT = { interval = 0.5, timeout = 900 }

local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })

local function say(action, kind, obj)
  print(("%-9s %-15s %s (%s)%s"):format(action, kind, obj.name, obj.id, obj.status and (", " .. obj.status) or ""))
end

-- An Ubuntu image: today's cloud image, else an older base image.
local function ubuntu()
  local fallback
  for image in client.images:each{ per_page = 100 } do
    if image.slug == "ubuntu" then return image.id end
    if not fallback and tostring(image.name):match("^Ubuntu") then fallback = image.id end
  end
  return assert(fallback, "no Ubuntu image in the catalog")
end

-- The first GPU type the region has now.
local function gpu_type()
  local availability = assert(client.availability:get(REGION))
  for _, t in ipairs(availability.instance_types) do
    if t.available and t.type:match("nvidia") then return t.type end
  end
  error("no GPU instance type available in " .. REGION)
end

local function up()
  local key, action = assert(client.ssh_keys:ensure{ name = "gpu-box-key", value = PUBLIC_KEY })
  say(action, "ssh key", key)
  local group
  group, action = assert(client.security_groups:ensure({ name = "gpu-box-ssh",
    rules = { genesiscloud.rules.ssh(), genesiscloud.rules.egress.all() } }, { wait = WAIT }))
  say(action, "security group", group)
  local volume
  volume, action = assert(client.volumes:ensure({ name = "gpu-box-data", size = 50, region = REGION },
    { wait = WAIT }))
  say(action, "volume", volume)
  local box
  box, action = assert(client.instances:ensure({ name = "gpu-box", hostname = "gpu-box", region = REGION,
    type = gpu_type(), image = ubuntu(), ssh_keys = { key.id }, security_groups = { group.id },
    volumes = { volume.id } }, { wait = WAIT }))
  say(action, "instance", box)
  return box
end

local function exercise(box)
  local snapshot = assert(client.instances:create_snapshot(box.id, { name = "gpu-box-snapshot" }))
  snapshot = assert(client.snapshots:wait(snapshot.id, WAIT))
  say("snapshot", "snapshot", snapshot)
  say("stopped", "instance", assert(client.instances:stop(box.id, { wait = WAIT })))
  say("started", "instance", assert(client.instances:start(box.id, { wait = WAIT })))
end

-- Deletes what `up` made, instance first (the volume is attached to it,
-- the group in use by it), waiting for each to be gone.
local function down()
  local gone = { wait = WAIT }
  for _, box in ipairs(assert(client.instances:find("gpu-box"))) do
    for _, snapshot in ipairs(assert(client.instances:snapshots(box.id)).snapshots) do
      assert(client.snapshots:delete(snapshot.id))
      assert(client.snapshots:wait_deleted(snapshot.id, WAIT))
      say("deleted", "snapshot", snapshot)
    end
  end
  for _, step in ipairs{ { "instances", "instance", "gpu-box" }, { "volumes", "volume", "gpu-box-data" },
      { "security_groups", "security group", "gpu-box-ssh" }, { "ssh_keys", "ssh key", "gpu-box-key" } } do
    local _, action = assert(client[step[1]]:ensure_absent({ name = step[3] }, step[1] ~= "ssh_keys" and gone or nil))
    print(("%-9s %-15s %s"):format(action, step[2], step[3]))
  end
end

local ok, err = pcall(function()
  local mode = arg[1]
  if mode == "up" then
    up()
  elseif mode == "down" then
    down()
  elseif mode == nil then
    exercise(up())
    down()
  else
    error("usage: gpu_box.lua [up|down]")
  end
end)
client:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
