-- The emulator's compute kinds (issue 14): volumes, floating IPs,
-- filesystems, quotas, reservations, instances with their actions and
-- snapshots, snapshots with their clone, and the links between them,
-- driven in process (helper.emulator_state: a clock the spec moves).

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"

local REGION = "NORD-NO-KRS-1"
local TYPE = "vcpu-2_memory-4g_disk-80g"
local PASSWORD = "Secret123abc"

local function rules()
  return { { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 } }
end

-- A fresh emulator: call(method, path, body) -> status, decoded body; the
-- clock; the app.
local function emulator(opts)
  local st, clock = helper.emulator_state(opts)
  return function(method, path, body)
    local status, decoded = helper.emulator_call(st, method, path, body)
    return status, decoded
  end, clock, st
end

local function instance_spec(extra)
  local spec = { name = "box", hostname = "box", type = TYPE, image = "ubuntu:22.04", region = REGION,
    password = PASSWORD }
  for k, v in pairs(extra or {}) do spec[k] = v end
  if spec.ssh_keys then spec.password = nil end -- they exclude each other
  return spec
end

-- Creates an instance and lets it become active; returns its id.
local function active_instance(call, clock, extra)
  local status, body = call("POST", "/instances", instance_spec(extra))
  assert.are.equal(201, status, body and body.message)
  clock.t = clock.t + 1
  return body.instance.id
end

local function status_of(call, path, key)
  local _, body = call("GET", path)
  return body[key].status
end

describe("emulator compute kinds", function()
  describe("volumes", function()
    it("are created, read creating then created, and deleted", function()
      local call, clock = emulator{ create_delay = 5 }
      local status, body = call("POST", "/volumes", { name = "data", size = 50, region = REGION })
      local v = body.volume
      assert.are.same({ 201, "creating", "ssd", 50 }, { status, v.status, v.type, v.size })
      local id = body.volume.id
      assert.are.equal("creating", status_of(call, "/volumes/" .. id, "volume"))
      clock.t = clock.t + 5
      assert.are.equal("created", status_of(call, "/volumes/" .. id, "volume"))
      assert.are.equal(204, (call("DELETE", "/volumes/" .. id)))
      assert.are.equal(404, (call("GET", "/volumes/" .. id)))
    end)

    it("refuse an unknown region, a bad size and a missing name", function()
      local call = emulator()
      local status, body = call("POST", "/volumes", { name = "d", size = 5, region = "MARS-1" })
      assert.are.equal(400, status)
      assert.matches("region must be one of", body.message)
      assert.are.equal(400, (call("POST", "/volumes", { name = "d", size = 0, region = REGION })))
      assert.are.equal(400, (call("POST", "/volumes", { size = 5, region = REGION })))
      assert.are.same({ 0 }, { select(2, call("GET", "/volumes")).total_count })
    end)

    it("grow and never shrink: a smaller size is a 400", function()
      local call = emulator()
      local _, body = call("POST", "/volumes", { name = "d", size = 50, region = REGION })
      local id = body.volume.id
      local status
      status, body = call("PATCH", "/volumes/" .. id, { size = 40 })
      assert.are.equal(400, status)
      assert.matches("size can only grow", body.message)
      status, body = call("PATCH", "/volumes/" .. id, { size = 80, name = "bigger" })
      assert.are.same({ 200, 80, "bigger" }, { status, body.volume.size, body.volume.name })
      -- the 2023-07 PUT wants name and description
      assert.are.equal(400, (call("PUT", "/volumes/" .. id, { name = "x" })))
      assert.are.equal(200, (call("PUT", "/volumes/" .. id, { name = "x", description = "y" })))
    end)
  end)

  describe("floating IPs", function()
    it("need a known region, have an address, and are renamed by PATCH", function()
      local call = emulator()
      assert.are.equal(400, (call("POST", "/floating-ips", { name = "ip" })))
      local status, body = call("POST", "/floating-ips", { name = "ip", region = REGION })
      assert.are.equal(201, status)
      local ip = body.floating_ip
      assert.are.same({ "ipv4", true, "creating" }, { ip.version, ip.is_public, ip.status })
      assert.matches("^203%.0%.113%.%d+$", ip.ip_address)
      status, body = call("PATCH", "/floating-ips/" .. ip.id, { description = "front" })
      assert.are.same({ 200, "front" }, { status, body.floating_ip.description })
      assert.are.equal(400, (call("PATCH", "/floating-ips/" .. ip.id, { region = "EUC-DE-MUC-1" })))
      assert.are.equal(405, (call("PUT", "/floating-ips/" .. ip.id, { name = "x" })))
    end)

    it("show the instance created with them, and cannot be deleted while it lives", function()
      local call, clock = emulator()
      local _, body = call("POST", "/floating-ips", { name = "ip", region = REGION })
      local ip = body.floating_ip.id
      local id = active_instance(call, clock, { floating_ip = ip })
      _, body = call("GET", "/floating-ips/" .. ip)
      assert.are.equal(id, body.floating_ip.instance.id)
      _, body = call("GET", "/instances/" .. id)
      assert.are.equal(ip, body.instance.floating_ip.id)
      assert.are.equal(409, (call("POST", "/instances", instance_spec{ floating_ip = ip })))
      assert.are.equal(409, (call("DELETE", "/floating-ips/" .. ip)))
      assert.are.equal(204, (call("DELETE", "/instances/" .. id)))
      assert.are.equal(204, (call("DELETE", "/floating-ips/" .. ip)))
    end)
  end)

  describe("filesystems", function()
    it("are created with a size and region, and only grow", function()
      local call, clock = emulator{ create_delay = 1 }
      local status, body = call("POST", "/filesystems", { name = "fs", size = 100, region = REGION })
      assert.are.same({ 201, "creating", "vast" }, { status, body.filesystem.status, body.filesystem.type })
      local id = body.filesystem.id
      clock.t = clock.t + 1
      assert.are.equal("created", status_of(call, "/filesystems/" .. id, "filesystem"))
      assert.are.equal(400, (call("PATCH", "/filesystems/" .. id, { size = 99 })))
      status, body = call("PATCH", "/filesystems/" .. id, { size = 200 })
      assert.are.same({ 200, 200 }, { status, body.filesystem.size })
      assert.are.equal(400, (call("POST", "/filesystems", { name = "fs", size = 1, region = REGION, type = "nfs" })))
    end)
  end)

  describe("quotas and reservations", function()
    it("are seeded lists answered whole, read only", function()
      local call = emulator()
      for _, plural in ipairs{ "quotas", "reservations" } do
        local status, body = call("GET", "/" .. plural .. "?page=2&per_page=1")
        assert.are.equal(200, status)
        assert.is_true(#body[plural] >= 2, plural)
        assert.is_nil(body.total_count)
        assert.are.equal(405, (call("POST", "/" .. plural, {})))
      end
      local _, body = call("GET", "/reservations")
      assert.is_string(body.reservations[1].id)
      assert.are.equal(201, (call("POST", "/instances", instance_spec{ reservation_id = body.reservations[1].id })))
      assert.are.equal(400, (call("POST", "/instances", instance_spec{ reservation_id = "nope" })))
    end)
  end)

  describe("instances", function()
    it("are created from known regions, types and images, creating then active", function()
      local call, clock = emulator{ create_delay = 2 }
      local status, body = call("POST", "/instances", instance_spec())
      assert.are.same({ 201, "creating" }, { status, body.instance.status })
      local i = body.instance
      assert.are.same({ "box", TYPE, REGION, false, "Ubuntu 22.04" },
        { i.hostname, i.type, i.region, i.is_protected, i.image.name })
      clock.t = clock.t + 2
      assert.are.equal("active", status_of(call, "/instances/" .. i.id, "instance"))
      for _, image in ipairs{ "9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a02", "debian", "debian:12" } do
        assert.are.equal(201, (call("POST", "/instances", instance_spec{ image = image })), image)
      end
    end)

    it("refuse what the API refuses before storing anything", function()
      local call = emulator()
      local bad = {
        { hostname = false }, { type = false }, { image = false }, { region = "MARS-1" },
        { type = "vcpu-1000" }, { image = "windows-95" }, { image = "debian:9" },
        { ssh_keys = { "no-such-key" } }, { ssh_keys = { "k" }, password = PASSWORD }, { password = "short1A" },
        { password = "alllowercase123" }, { security_groups = { "no-such-group" } }, { volumes = { "no-such-volume" } },
        { metadata = { startup_script = string.rep("x", 64 * 1024 + 1) } }, { security_groups = { attach = "x" } },
      }
      for i, change in ipairs(bad) do
        local spec = instance_spec()
        for k, v in pairs(change) do
          if v == false then spec[k] = nil else spec[k] = v end
        end
        local status, body = call("POST", "/instances", spec)
        assert.are.equal(400, status, i .. ": " .. tostring(body and body.message))
      end
      assert.are.equal(0, select(2, call("GET", "/instances")).total_count)
    end)

    it("take SSH keys by id and show them by name", function()
      local call = emulator()
      local key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"
      local _, k = call("POST", "/ssh-keys", { name = "laptop", value = key })
      local status, body = call("POST", "/instances", instance_spec{ ssh_keys = { k.id } })
      assert.are.equal(201, status)
      assert.are.same({ { id = k.id, name = "laptop" } }, body.instance.ssh_keys)
    end)

    it("list the actions their status allows, and move through each action's statuses", function()
      local call, clock = emulator{ transitions = { instances = { stop = { reads = 1 }, start = { reads = 1 },
        reset = { reads = 1 } } } }
      local id = active_instance(call, clock)
      local path, actions = "/instances/" .. id, "/instances/" .. id .. "/actions"
      assert.are.same({ 200, { actions = { "reset", "stop" } } }, { call("GET", actions) })
      local steps = { { "stop", "stopping", "stopped", { "start" } },
        { "start", "starting", "active", { "reset", "stop" } },
        { "reset", "resetting", "active", { "reset", "stop" } } }
      for _, step in ipairs(steps) do
        assert.are.equal(204, (call("POST", actions, { action = step[1] })), step[1])
        assert.are.same({ actions = {} }, select(2, call("GET", actions)))
        assert.are.equal(step[2], status_of(call, path, "instance"))
        assert.are.equal(step[3], status_of(call, path, "instance"))
        assert.are.same({ actions = step[4] }, select(2, call("GET", actions)))
      end
    end)

    it("refuse an action their status does not allow (409), or that does not exist (400)", function()
      local call, clock = emulator()
      local id = active_instance(call, clock)
      local actions = "/instances/" .. id .. "/actions"
      local status, body = call("POST", actions, { action = "start" })
      assert.are.equal(409, status)
      assert.matches("active", body.message)
      assert.are.equal(400, (call("POST", actions, { action = "explode" })))
      assert.are.equal(400, (call("POST", actions, {})))
      assert.are.equal(404, (call("POST", "/instances/nope/actions", { action = "stop" })))
      assert.are.equal(404, (call("GET", "/instances/nope/actions")))
    end)

    it("are updated by PATCH: name, protection, groups and volumes as lists or one at a time", function()
      local call, clock = emulator()
      local _, g1 = call("POST", "/security-groups", { name = "a", rules = rules() })
      local _, g2 = call("POST", "/security-groups", { name = "b", rules = rules() })
      local _, v = call("POST", "/volumes", { name = "v", size = 10, region = REGION })
      g1, g2, v = g1.security_group.id, g2.security_group.id, v.volume.id
      local id = active_instance(call, clock, { security_groups = { g1 } })
      local path = "/instances/" .. id
      local function ids(list)
        local out = {}
        for i, x in ipairs(list) do out[i] = x.id end
        return out
      end
      local status, body = call("PATCH", path, { name = "renamed", is_protected = true,
        security_groups = { attach = g2 }, volumes = { attach = v } })
      assert.are.same({ 200, "renamed", true, { g1, g2 }, { v } }, { status, body.instance.name,
        body.instance.is_protected, ids(body.instance.security_groups), ids(body.instance.volumes) })
      _, body = call("PATCH", path, { security_groups = { attach = g2 }, volumes = { detach = "other" } })
      assert.are.same({ { g1, g2 }, { v } }, { ids(body.instance.security_groups), ids(body.instance.volumes) })
      _, body = call("PATCH", path, { security_groups = { g2 }, volumes = { detach = v } })
      assert.are.same({ { g2 }, {} }, { ids(body.instance.security_groups), ids(body.instance.volumes) })
      assert.are.equal(400, (call("PATCH", path, { type = TYPE })))
      assert.are.equal(400, (call("PATCH", path, { volumes = { attach = "nope" } })))
      assert.are.equal(400, (call("PATCH", path, { volumes = { attach = v, detach = v } })))
    end)

    it("show attached volumes on both sides; an attached volume or a used group is not deleted", function()
      local call, clock = emulator()
      local _, v = call("POST", "/volumes", { name = "v", size = 10, region = REGION })
      local _, g = call("POST", "/security-groups", { name = "g", rules = rules() })
      v, g = v.volume.id, g.security_group.id
      local id = active_instance(call, clock, { volumes = { v }, security_groups = { g } })
      local _, body = call("GET", "/volumes/" .. v)
      assert.are.same({ { id = id, name = "box" } }, body.volume.instances)
      local status
      status, body = call("DELETE", "/volumes/" .. v)
      assert.are.equal(409, status)
      assert.matches("attached", body.message)
      assert.are.equal(409, (call("DELETE", "/security-groups/" .. g)))
      -- a volume is on one instance at a time
      assert.are.equal(409, (call("POST", "/instances", instance_spec{ volumes = { v } })))
      assert.are.equal(200, (call("PATCH", "/instances/" .. id, { volumes = { detach = v } })))
      assert.are.same({}, select(2, call("GET", "/volumes/" .. v)).volume.instances)
      assert.are.equal(204, (call("DELETE", "/volumes/" .. v)))
    end)

    it("refuse deletion while protected (409), then are deleting, then gone", function()
      local call, clock = emulator{ delete_delay = 3 }
      local id = active_instance(call, clock, { is_protected = true })
      local path = "/instances/" .. id
      local status, body = call("DELETE", path)
      assert.are.equal(409, status)
      assert.matches("protected", body.message)
      assert.are.equal(200, (call("PATCH", path, { is_protected = false })))
      assert.are.equal(204, (call("DELETE", path)))
      assert.are.equal("deleting", status_of(call, path, "instance"))
      assert.are.equal(409, (call("POST", path .. "/actions", { action = "stop" })))
      clock.t = clock.t + 3
      assert.are.equal(404, (call("GET", path)))
    end)

    it("answer their user metadata", function()
      local call, clock = emulator()
      local id = active_instance(call, clock, { metadata = { startup_script = "#!/bin/sh\necho hi\n" } })
      assert.are.same({ 200, { startup_script = "#!/bin/sh\necho hi\n" } },
        { call("GET", "/instances/" .. id .. "/user-metadata") })
      assert.are.equal(404, (call("GET", "/instances/nope/user-metadata")))
    end)
  end)

  describe("snapshots", function()
    it("are taken below an instance, record it, and are listed there", function()
      local call, clock = emulator{ create_delay = 1 }
      local a, b = active_instance(call, clock), active_instance(call, clock)
      local status, body = call("POST", "/instances/" .. a .. "/snapshots", { name = "s1" })
      assert.are.same({ 201, "creating", a, a, REGION }, { status, body.snapshot.status,
        body.snapshot.source_instance_id, body.snapshot.resource_id, body.snapshot.region })
      local s1 = body.snapshot.id
      assert.are.equal(201, (call("POST", "/instances/" .. b .. "/snapshots", { name = "s2" })))
      status, body = call("GET", "/instances/" .. a .. "/snapshots")
      assert.are.same({ 200, 1, s1 }, { status, body.total_count, body.snapshots[1].id })
      assert.are.equal(2, select(2, call("GET", "/snapshots")).total_count)
      clock.t = clock.t + 1
      assert.are.equal("created", status_of(call, "/snapshots/" .. s1, "snapshot"))
      assert.are.equal(400, (call("POST", "/instances/" .. a .. "/snapshots", {})))
      assert.are.equal(404, (call("POST", "/instances/nope/snapshots", { name = "x" })))
    end)

    it("are refused (409) while the instance is creating", function()
      local call = emulator{ create_delay = 10 }
      local _, body = call("POST", "/instances", instance_spec())
      assert.are.equal(409, (call("POST", "/instances/" .. body.instance.id .. "/snapshots", { name = "s" })))
    end)

    it("are imported, renamed, cloned into a region and deleted", function()
      local call = emulator()
      local status, body = call("POST", "/snapshots", { name = "imp", region = REGION, size = 10,
        url = "https://example.com/disk.raw" })
      assert.are.equal(201, status)
      local id = body.snapshot.id
      assert.are.equal(400, (call("POST", "/snapshots", { name = "imp", region = REGION, size = 10, url = "ftp://x" })))
      status, body = call("PATCH", "/snapshots/" .. id, { name = "renamed" })
      assert.are.same({ 200, "renamed" }, { status, body.snapshot.name })
      assert.are.equal(400, (call("PATCH", "/snapshots/" .. id, { size = 20 })))
      status, body = call("POST", "/snapshots/" .. id .. "/clone", { name = "copy", region = "EUC-DE-MUC-1" })
      assert.are.same({ 201, id, "EUC-DE-MUC-1", 10 }, { status, body.snapshot.source_snapshot_id,
        body.snapshot.region, body.snapshot.size })
      assert.are.equal(400, (call("POST", "/snapshots/" .. id .. "/clone", { name = "copy", region = "MARS-1" })))
      assert.are.equal(404, (call("POST", "/snapshots/nope/clone", { name = "copy", region = REGION })))
      -- a snapshot is an image an instance can start from
      assert.are.equal(201, (call("POST", "/instances", instance_spec{ image = id })))
      assert.are.equal(204, (call("DELETE", "/snapshots/" .. id)))
      assert.are.equal(404, (call("GET", "/snapshots/" .. id)))
    end)
  end)

  describe("control and faults", function()
    it("force any status on every kind that keeps records", function()
      local call, _, st = emulator()
      local made = {
        instance = select(2, call("POST", "/instances", instance_spec())).instance.id,
        volume = select(2, call("POST", "/volumes", { name = "v", size = 1, region = REGION })).volume.id,
        floating_ip = select(2, call("POST", "/floating-ips", { name = "f", region = REGION })).floating_ip.id,
        filesystem = select(2, call("POST", "/filesystems", { name = "f", size = 1, region = REGION })).filesystem.id,
        snapshot = select(2, call("POST", "/snapshots", { name = "s", region = REGION, size = 1,
          url = "https://example.com/x" })).snapshot.id,
      }
      local paths = { instance = "/instances/", volume = "/volumes/", floating_ip = "/floating-ips/",
        filesystem = "/filesystems/", snapshot = "/snapshots/" }
      for name, id in pairs(made) do
        local status, text = st:handle("POST", "/_emulator" .. paths[name] .. id .. "/status", nil,
          '{"status":"error"}', {})
        assert.are.equal(200, status, name .. " " .. tostring(text))
        assert.are.equal("error", status_of(call, paths[name] .. id, name), name)
      end
      assert.are.equal(404, (st:handle("POST", "/_emulator/quotas/x/status", nil, '{"status":"error"}', {})))
    end)

    it("take transitions for each action by name, and say which steps there are", function()
      local _, _, st = emulator()
      assert(st:configure{ transitions = { instances = { stop = "immediate", reset = { seconds = 2 } } } })
      local ok, err = st:configure{ transitions = { instances = { explode = "immediate" } } }
      assert.is_nil(ok)
      assert.matches("create, delete, reset, start, stop", err, 1, true)
    end)

    it("fault the new routes like the others", function()
      local call, clock, st = emulator()
      local id = active_instance(call, clock)
      assert(st:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503 })
      local target = "/compute/v1/instances/" .. id .. "/actions"
      local fault = assert(st:choose_fault("POST", target))
      local status = st:handle("POST", target, nil, '{"action":"stop"}', helper.EMULATOR_AUTH, fault)
      assert.are.equal(503, status)
      assert(st:configure{ fault_rate = 0 })
      assert.are.equal("active", status_of(call, "/instances/" .. id, "instance"))
      local route = st:hostile_route("GET", "/instances/" .. id .. "/snapshots")
      assert.are.same({ true, "snapshots" }, { route.list, route.list_key })
      route = st:hostile_route("POST", "/instances/" .. id .. "/snapshots")
      assert.are.same({ false, "snapshot" }, { route.list, route.envelope })
    end)
  end)
end)
