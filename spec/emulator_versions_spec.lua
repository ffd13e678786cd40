-- The emulator's `api_version` setting (issue 14, point 6): "2023-07"
-- plays the July 2023 contract strictly, "current" today's API, "any"
-- (the default) what either accepts. Raw requests in process for each
-- rule; over HTTP, a vendor-style client (curl: Authorization: Bearer,
-- PATCH, region) and the module's own client against each mode.

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"

local REGION = "NORD-NO-KRS-1"
local PASSWORD = "Secret123abc"
local RULES = { { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 } }
local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGs7r3Yy8yq0m0dC8bY8bq6t0m9p3Yb1XkJY0X9c2v1a spec"

-- A fresh in-process emulator playing `version`: call(method, path, body,
-- headers) -> status, decoded body, headers; the clock.
local function emulator(version, opts)
  opts = opts or {}
  opts.api_version = version
  local st, clock = helper.emulator_state(opts)
  return function(method, path, body, headers)
    return helper.emulator_call(st, method, path, body, headers)
  end, clock, st
end

local function instance_body(extra)
  local body = { name = "box", hostname = "box", type = "vcpu-2_memory-4g_disk-80g", image = "ubuntu:22.04",
    password = PASSWORD }
  for k, v in pairs(extra or {}) do body[k] = v end
  return body
end

-- One record of each kind with an update, created in `region` (nil: none).
local function create_each(call, region)
  local out = {}
  local s, b = call("POST", "/volumes", { name = "v", description = "d", size = 5, region = region })
  out.volume = { s, b }
  s, b = call("POST", "/security-groups", { name = "g", rules = RULES, region = region })
  out.security_group = { s, b }
  s, b = call("POST", "/instances", instance_body{ region = region })
  out.instance = { s, b }
  return out
end

describe("emulator api_version", function()
  it("is a setting: any by default, 2023-07 or current, nothing else", function()
    local app = require "genesiscloud.emulator.app"
    local _, _, st = emulator(nil)
    assert.are.equal("any", st.config.api_version)
    assert.is_nil((app.check_config("api_version", "2024")))
    assert.is_nil((app.check_config("api_version", 7)))
    assert.is_nil((st:configure{ api_version = "v1" }))
    assert.is_true(st:configure{ api_version = "current" })
    assert.are.equal("current", st.config.api_version)
  end)

  it("is set and shown by POST /_emulator/config", function()
    local _, _, st = emulator(nil)
    local json = require "genesiscloud.emulator.wire_json"
    local status, text = st:handle("POST", "/_emulator/config", nil, '{"api_version":"2023-07"}', {})
    assert.are.equal(200, status)
    assert.are.equal("2023-07", json.decode(text).config.api_version)
    status = st:handle("POST", "/_emulator/config", nil, '{"api_version":"2025"}', {})
    assert.are.equal(400, status)
    assert.are.equal("2023-07", st.config.api_version)
  end)

  describe("any (default)", function()
    it("takes PUT and PATCH, and a create without region", function()
      local call = emulator(nil)
      local made = create_each(call, nil)
      local id = made.volume[2].volume.id
      assert.are.same({ 201, 201, 201 }, { made.volume[1], made.security_group[1], made.instance[1] })
      assert.are.equal(200, (call("PUT", "/volumes/" .. id, { name = "w", description = "e" })))
      assert.are.equal(200, (call("PATCH", "/volumes/" .. id, { name = "x" })))
    end)

    it("serves every route, and today's status names", function()
      local call, clock = emulator(nil)
      assert.are.equal(200, (call("GET", "/floating-ips")))
      assert.are.equal(200, (call("GET", "/quotas")))
      local _, body = call("POST", "/volumes", { name = "v", size = 5, region = REGION })
      clock.t = clock.t + 1
      local _, got = call("GET", "/volumes/" .. body.volume.id)
      assert.are.equal("created", got.volume.status)
    end)
  end)

  describe("2023-07", function()
    it("updates by PUT where the contract had PUT: PATCH there is a 405", function()
      local call = emulator("2023-07")
      local made = create_each(call, nil)
      local vol, group = made.volume[2].volume.id, made.security_group[2].security_group.id
      assert.are.equal(200, (call("PUT", "/volumes/" .. vol, { name = "w", description = "e" })))
      local status, body, headers = call("PATCH", "/volumes/" .. vol, { name = "x" })
      assert.are.same({ 405, "DELETE, GET, PUT" }, { status, headers.allow })
      assert.matches("PUT", body.message)
      assert.are.equal(405, (call("PATCH", "/security-groups/" .. group, { name = "h" })))
      -- instances and snapshots were PATCH already
      local inst = made.instance[2].instance.id
      assert.are.equal(200, (call("PATCH", "/instances/" .. inst, { name = "renamed" })))
    end)

    it("takes a create without region, and refuses a region it does not know", function()
      local call = emulator("2023-07")
      local made = create_each(call, nil)
      assert.are.same({ 201, 201, 201 }, { made.volume[1], made.security_group[1], made.instance[1] })
      assert.are.equal("ARC-IS-HAF-1", made.volume[2].volume.region)
      made = create_each(call, "MARS-1")
      assert.are.same({ 400, 400, 400 }, { made.volume[1], made.security_group[1], made.instance[1] })
      assert.matches("region", made.volume[2].message)
    end)

    it("has no route added since: floating IPs, filesystems, quotas, reservations, import, "
      .. "clone, user-metadata", function()
      local call, clock = emulator("2023-07")
      for _, path in ipairs{ "/floating-ips", "/filesystems", "/quotas", "/reservations" } do
        local status, body = call("GET", path)
        assert.are.same({ 404, "Invalid route" }, { status, body.message }, path)
      end
      assert.are.equal(404, (call("POST", "/floating-ips", { name = "f", region = REGION })))
      assert.are.equal(404, (call("POST", "/snapshots", { name = "s", region = REGION, size = 1,
        url = "https://example.com/i.raw" })))
      local _, inst = call("POST", "/instances", instance_body())
      local id = inst.instance.id
      clock.t = clock.t + 1
      assert.are.equal(404, (call("GET", "/instances/" .. id .. "/user-metadata")))
      local status, snap = call("POST", "/instances/" .. id .. "/snapshots", { name = "s" })
      assert.are.equal(201, status)
      assert.are.equal(404, (call("POST", "/snapshots/" .. snap.snapshot.id .. "/clone",
        { name = "c", region = REGION })))
      assert.are.equal(200, (call("GET", "/snapshots")))
    end)

    it("has start and stop but no reset", function()
      local call, clock = emulator("2023-07")
      local _, inst = call("POST", "/instances", instance_body())
      local id = inst.instance.id
      clock.t = clock.t + 1
      local _, actions = call("GET", "/instances/" .. id .. "/actions")
      assert.are.same({ "stop" }, actions.actions)
      local status, body = call("POST", "/instances/" .. id .. "/actions", { action = "reset" })
      assert.are.equal(400, status)
      assert.are.equal("action must be one of start, stop", body.message)
    end)

    it("names statuses as the 2023-07 contract does", function()
      local call, clock = emulator("2023-07", { create_delay = 5 })
      local _, vol = call("POST", "/volumes", { name = "v", description = "d", size = 5 })
      local _, inst = call("POST", "/instances", instance_body())
      clock.t = clock.t + 5
      local sid = select(2, call("POST", "/instances/" .. inst.instance.id .. "/snapshots", { name = "s" }))
        .snapshot.id
      assert.are.equal("snapshotting", select(2, call("GET", "/snapshots/" .. sid)).snapshot.status)
      clock.t = clock.t + 5
      assert.are.equal("active", select(2, call("GET", "/volumes/" .. vol.volume.id)).volume.status)
      assert.are.equal("available", select(2, call("GET", "/snapshots/" .. sid)).snapshot.status)
      local iid = inst.instance.id
      assert.are.equal("active", select(2, call("GET", "/instances/" .. iid)).instance.status)
      assert.are.equal(204, (call("POST", "/instances/" .. iid .. "/actions", { action = "stop" })))
      clock.t = clock.t + 5
      assert.are.equal("shutoff", select(2, call("GET", "/instances/" .. iid)).instance.status)
      -- the list shows them the same way
      assert.are.equal("active", select(2, call("GET", "/volumes")).volumes[1].status)
    end)

    it("shows the 2023-07 fields: none added since, a snapshot's size in bytes as a string", function()
      local call, clock, st = emulator("2023-07")
      local _, key = call("POST", "/ssh-keys", { name = "k", value = KEY })
      assert.is_nil(key.updated_at)
      local _, group = call("POST", "/security-groups", { name = "g", rules = RULES })
      assert.are.same({ nil, nil, "g" }, { group.security_group.is_internal, group.security_group.updated_at,
        group.security_group.name })
      local _, vol = call("POST", "/volumes", { name = "v", description = "d", size = 5 })
      assert.are.same({ nil, 5 }, { vol.volume.type, vol.volume.size })
      local _, inst = call("POST", "/instances", instance_body())
      local i = inst.instance
      assert.are.same({ "dynamic", "box" }, { i.public_ip_type, i.hostname })
      assert.is_nil(i.dns_name or i.disk_size or i.os_type or i.is_protected)
      clock.t = clock.t + 1
      local _, snap = call("POST", "/instances/" .. i.id .. "/snapshots", { name = "s" })
      local sn = snap.snapshot
      assert.are.same({ i.id, "85899345920" }, { sn.resource_id, sn.size })
      assert.is_nil(sn.source_instance_id or sn.os_type or sn.updated_at)
      local _, images = call("GET", "/images")
      assert.is_nil(images.images[1].updated_at or images.images[1].os_type)
      assert.is_string(images.images[1].name)
      -- the same records under "any" show today's fields
      assert.is_true(st:configure{ api_version = "any" })
      local _, again = call("GET", "/snapshots/" .. sn.id)
      assert.are.same({ 80, i.id }, { again.snapshot.size, again.snapshot.source_instance_id })
      assert.is_string(again.snapshot.updated_at)
      local _, g = call("GET", "/security-groups/" .. group.security_group.id)
      assert.are.equal(false, g.security_group.is_internal)
    end)

    it("deletes volumes and snapshots at once: 2023-07 has no deleting status for them", function()
      local call = emulator("2023-07", { delete_delay = 5 })
      local _, vol = call("POST", "/volumes", { name = "v", description = "d", size = 5 })
      assert.are.equal(204, (call("DELETE", "/volumes/" .. vol.volume.id)))
      assert.are.equal(404, (call("GET", "/volumes/" .. vol.volume.id)))
    end)
  end)

  describe("current", function()
    it("updates by PATCH only: PUT is a 405", function()
      local call = emulator("current")
      local made = create_each(call, REGION)
      local vol = made.volume[2].volume.id
      local status, _, headers = call("PUT", "/volumes/" .. vol, { name = "w", description = "e" })
      assert.are.same({ 405, "DELETE, GET, PATCH" }, { status, headers.allow })
      assert.are.equal(405, (call("PUT", "/ssh-keys/anything", { name = "k" })))
      assert.are.equal(200, (call("PATCH", "/volumes/" .. vol, { name = "x" })))
    end)

    it("requires region on create, naming the field", function()
      local call = emulator("current")
      local made = create_each(call, nil)
      for _, kind in ipairs{ "volume", "security_group", "instance" } do
        assert.are.same({ 400, "region is required" }, { made[kind][1], made[kind][2].message }, kind)
      end
      assert.are.equal(0, #select(2, call("GET", "/volumes")).volumes)
      made = create_each(call, "MARS-1")
      assert.are.same({ 400, 400, 400 }, { made.volume[1], made.security_group[1], made.instance[1] })
      made = create_each(call, REGION)
      assert.are.same({ 201, 201, 201 }, { made.volume[1], made.security_group[1], made.instance[1] })
      -- SSH keys have no region
      assert.are.equal(201, (call("POST", "/ssh-keys", { name = "k", value = KEY })))
    end)

    it("serves today's routes and status names", function()
      local call, clock = emulator("current")
      assert.are.equal(200, (call("GET", "/floating-ips")))
      assert.are.equal(200, (call("GET", "/reservations")))
      local _, inst = call("POST", "/instances", instance_body{ region = REGION })
      clock.t = clock.t + 1
      local iid = inst.instance.id
      assert.are.equal(200, (call("GET", "/instances/" .. iid .. "/user-metadata")))
      assert.are.equal(204, (call("POST", "/instances/" .. iid .. "/actions", { action = "stop" })))
      clock.t = clock.t + 1
      assert.are.equal("stopped", select(2, call("GET", "/instances/" .. iid)).instance.status)
    end)
  end)

  it("takes X-Auth-Token and Authorization: Bearer in every mode", function()
    for _, version in ipairs{ "any", "2023-07", "current" } do
      local call = emulator(version)
      assert.are.equal(200, (call("GET", "/volumes", nil, { ["x-auth-token"] = "t" })))
      assert.are.equal(200, (call("GET", "/volumes", nil, { authorization = "Bearer t" })))
      assert.are.equal(401, (call("GET", "/volumes", nil, { authorization = "Bearer u" })))
    end
  end)

  it("stays up whatever the body, in every mode", function()
    for _, version in ipairs{ "2023-07", "current" } do
      local call = emulator(version)
      for _, body in ipairs{ "[]", "null", "{\"region\":[]}", "{\"region\":null}", "\"x\"" } do
        local status = helper.emulator_call(select(3, emulator(version)), "POST", "/volumes", body)
        assert.are.equal(400, status, body)
      end
      assert.are.equal(200, (call("GET", "/volumes")))
    end
  end)
end)

-- Over HTTP ------------------------------------------------------------------

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A client written by others for today's API: plain HTTP (curl) with
-- Authorization: Bearer. Returns status, decoded body (or nil).
local function vendor(emu, method, path, body)
  local json = require "genesiscloud.emulator.wire_json"
  local args = { "curl -s -X", method, "-H", shell_quote("Authorization: Bearer " .. emu.token),
    "-w", "'\\n%{http_code}'", "--max-time 10" }
  if body then
    args[#args + 1] = "-H 'Content-Type: application/json' --data-binary " .. shell_quote(assert(json.encode(body)))
  end
  args[#args + 1] = shell_quote(emu.endpoint .. path)
  local p = assert(io.popen(table.concat(args, " ")))
  local out = p:read("*a")
  p:close()
  local text, code = out:match("^(.*)\n(%d+)$")
  return tonumber(code), text ~= "" and json.decode(text) or nil
end

-- The vendor's usual sequence; every step must succeed.
local function vendor_run(emu)
  local s, key = vendor(emu, "POST", "/ssh-keys", { name = "k", value = KEY })
  assert.are.equal(201, s)
  assert.are.equal(200, (vendor(emu, "PATCH", "/ssh-keys/" .. key.id, { name = "k2" })))
  local vs, vol = vendor(emu, "POST", "/volumes", { name = "v", size = 10, region = REGION, type = "ssd" })
  assert.are.equal(201, vs)
  local ps, patched = vendor(emu, "PATCH", "/volumes/" .. vol.volume.id, { size = 20 })
  assert.are.same({ 200, 20 }, { ps, patched.volume.size })
  local gs, group = vendor(emu, "POST", "/security-groups", { name = "g", region = REGION, rules = RULES })
  assert.are.equal(201, gs)
  assert.are.equal(200, (vendor(emu, "PATCH", "/security-groups/" .. group.security_group.id,
    { description = "web" })))
  local is, inst = vendor(emu, "POST", "/instances", instance_body{ region = REGION,
    security_groups = { group.security_group.id }, volumes = { vol.volume.id } })
  assert.are.equal(201, is)
  local id = inst.instance.id
  assert.are.equal("active", select(2, vendor(emu, "GET", "/instances/" .. id)).instance.status)
  assert.are.equal(200, (vendor(emu, "PATCH", "/instances/" .. id, { is_protected = false })))
  assert.are.equal(200, (vendor(emu, "GET", "/floating-ips")))
  assert.are.equal(204, (vendor(emu, "DELETE", "/instances/" .. id)))
end

describe("emulator api_version over HTTP", function()
  local emus = {}
  local function start(version)
    local emu = helper.start_emulator{ api_version = version }
    emus[#emus + 1] = emu
    return emu
  end
  teardown(function()
    for _, emu in ipairs(emus) do emu:stop() end
  end)

  it("a vendor-style client (Bearer, PATCH, region) works unchanged against the default", function()
    vendor_run(start(nil))
  end)

  it("a vendor-style client works unchanged against current", function()
    local emu = start("current")
    vendor_run(emu)
    local s = vendor(emu, "POST", "/volumes", { name = "v", size = 10 })
    assert.are.equal(400, s)
  end)

  it("emulator.start refuses an unknown api_version", function()
    local emulator_module = require "genesiscloud.emulator"
    local emu, err = emulator_module.start{ token = "t", api_version = "2022" }
    assert.is_nil(emu)
    assert.matches("api_version", err)
  end)

  -- The module's own client: update_method "auto" sends a complete
  -- update as PUT and learns PATCH from a 405.
  for _, version in ipairs{ "any", "2023-07", "current" } do
    it("the module's client creates, waits, updates and deletes against " .. version, function()
      local emu = start(version)
      local client = helper.client(emu)
      local vol = assert(client.volumes:create({ name = "v", description = "d", size = 10, region = REGION },
        { wait = true }))
      local updated = assert(client.volumes:update(vol.id, { name = "w", description = "e" }))
      assert.are.equal("w", updated.name)
      local requests = assert(emu:requests())
      local methods = {}
      for _, r in ipairs(requests) do
        if r.path == "/volumes/" .. vol.id and (r.method == "PUT" or r.method == "PATCH") then
          methods[#methods + 1] = r.method .. " " .. r.status
        end
      end
      local expected = { any = { "PUT 200" }, ["2023-07"] = { "PUT 200" },
        current = { "PUT 405", "PATCH 200" } }
      assert.are.same(expected[version], methods)
      assert(client.volumes:delete(vol.id))
      assert(client.volumes:wait_deleted(vol.id, { timeout = 10 }))
      client:close()
    end)
  end

  it("bin/genesiscloud-emulator takes --api-version and refuses a bad one", function()
    local p = assert(io.popen("lua5.4 bin/genesiscloud-emulator --api-version 2099 2>&1; echo \"rc=$?\""))
    local out = p:read("*a")
    p:close()
    assert.matches("%-%-api%-version: api_version must be one of any, 2023%-07, current", out)
    assert.matches("rc=[1-9]", out)
    p = assert(io.popen("lua5.4 bin/genesiscloud-emulator --help"))
    out = p:read("*a")
    p:close()
    assert.matches("%-%-api%-version", out)
  end)
end)
