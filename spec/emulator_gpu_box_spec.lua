-- End to end through the client's services against a running emulator,
-- as issue 14's examples/gpu_box.lua does it: an SSH key, a security
-- group, a volume and an instance with both; wait until it is active;
-- stop and start it, waiting for each; snapshot it; then tear everything
-- down in order, waiting for each deletion. Then examples/gpu_box.lua
-- itself: a second "up" sends no write.
local helper = require "helper"

local ROOT = assert(helper.run("pwd"):match("^(.-)\n?$"))

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs examples/gpu_box.lua `mode` as a user would against `emu`: its
-- output and whether it exited 0.
local function run_example(emu, mode)
  local out, ok = helper.run(table.concat({ "cd", quote(ROOT), "&&", "env -u LUA_PATH_5_4 -u LUA_CPATH_5_4",
    "GENESISCLOUD_TOKEN=" .. quote(emu.token), "GENESISCLOUD_ENDPOINT=" .. quote(emu.endpoint),
    "LUA_PATH=" .. quote(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"),
    -- the lua5.4 build, as spec/examples_spec.lua runs the examples
    "LUA_CPATH=" .. quote(ROOT .. "/build/?.so;;"),
    "lua5.4 examples/gpu_box.lua", mode, "2>&1" }, " "))
  return out, ok
end

local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"
local REGION = "NORD-NO-KRS-1"
-- every step takes a few reads, so each wait polls through it
local STEPS = { create = { reads = 2 }, stop = { reads = 2 }, start = { reads = 2 }, delete = { reads = 2 } }
local WAIT = { interval = 0.01, timeout = 10 }

describe("a GPU box through the services, against the emulator", function()
  local emu, c

  setup(function()
    emu = helper.start_emulator{ transitions = { instances = STEPS, volumes = { create = { reads = 1 } },
      snapshots = { create = { reads = 1 }, delete = { reads = 1 } } } }
    c = helper.client(emu, { max_retries = 0 })
  end)

  teardown(function()
    if c then c:close() end
    if emu then emu:stop() end
  end)

  it("is built, stopped, started, snapshotted and torn down in order", function()
    local key = assert(c.ssh_keys:create{ name = "laptop", value = KEY })
    local group = assert(c.security_groups:create({ name = "ssh", region = REGION,
      rules = { require("genesiscloud").rules.ssh() } }, { wait = WAIT }))
    local volume = assert(c.volumes:create({ name = "data", size = 50, region = REGION }, { wait = WAIT }))
    assert.are.equal("created", volume.status)
    local box = assert(c.instances:create({ name = "gpu-box", hostname = "gpu-box", region = REGION,
      type = "vcpu-4_memory-24g_disk-80g_nvidia3090-1", image = "ubuntu:22.04", ssh_keys = { key.id },
      security_groups = { group.id }, volumes = { volume.id } }, { wait = WAIT }))
    assert.are.same({ "active", group.id, volume.id, key.id },
      { box.status, box.security_groups[1].id, box.volumes[1].id, box.ssh_keys[1].id })
    assert.are.equal(box.id, assert(c.volumes:get(volume.id)).instances[1].id)

    local stopped = assert(c.instances:stop(box.id, { wait = WAIT }))
    assert.are.equal("stopped", stopped.status)
    assert.are.same({ "start" }, assert(c.instances:actions(box.id)))
    local started = assert(c.instances:start(box.id, { wait = WAIT }))
    assert.are.equal("active", started.status)

    local snapshot = assert(c.instances:create_snapshot(box.id, { name = "gpu-box-1" }))
    assert.are.equal(box.id, snapshot.source_instance_id)
    assert.are.equal("created", assert(c.snapshots:wait(snapshot.id, WAIT)).status)
    local listed = assert(c.instances:snapshots(box.id))
    assert.are.equal(snapshot.id, listed.snapshots[1].id)

    -- the volume is attached: the API refuses to delete it first
    local ok, err = c.volumes:delete(volume.id)
    assert.is_nil(ok)
    assert.are.equal(409, err.status)

    assert(c.instances:delete(box.id))
    assert(c.instances:wait_deleted(box.id, WAIT))
    assert(c.snapshots:delete(snapshot.id))
    assert(c.snapshots:wait_deleted(snapshot.id, WAIT))
    assert(c.volumes:delete(volume.id))
    assert(c.volumes:wait_deleted(volume.id, WAIT))
    assert(c.security_groups:delete(group.id))
    assert(c.security_groups:wait_deleted(group.id, WAIT))
    assert(c.ssh_keys:delete(key.id))
    for _, plural in ipairs{ "instances", "volumes", "snapshots", "security_groups", "ssh_keys" } do
      assert.are.same({}, assert(c[plural]:all()), plural)
    end
  end)

  it("is what examples/gpu_box.lua does; a second up changes nothing", function()
    local out, ok = run_example(emu, "up")
    assert.is_true(ok, out)
    assert.matches("created%s+instance%s+gpu%-box %(.-%), active", out)
    assert(emu:clear_requests())
    out, ok = run_example(emu, "up")
    assert.is_true(ok, out)
    for _, kind in ipairs{ "ssh key", "security group", "volume", "instance" } do
      assert.matches("unchanged " .. kind:gsub("%s", "%%s+"), out)
    end
    for _, req in ipairs(assert(emu:requests())) do
      assert.are.equal("GET", req.method, "the second up wrote: " .. req.method .. " " .. req.path)
    end
    out, ok = run_example(emu, "down")
    assert.is_true(ok, out)
    assert.matches("deleted%s+instance%s+gpu%-box\n", out)
    assert.are.same({}, assert(c.instances:all()))
  end)

  it("ensures an instance with a password and metadata, which are never echoed, unchanged the second time", function()
    local spec = { name = "pw-box", hostname = "pw-box", region = REGION, type = "vcpu-2_memory-4g_disk-80g",
      image = "9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a02", password = "Secret123abc",
      metadata = { startup_script = "#!/bin/sh\ntrue\n" } }
    local box, action = assert(c.instances:ensure(spec))
    assert.are.equal("created", action)
    assert.is_nil(box.password)
    local again
    again, action = assert(c.instances:ensure(spec))
    assert.are.same({ "unchanged", box.id }, { action, again.id })
    assert(c.instances:delete(box.id))
  end)
end)
