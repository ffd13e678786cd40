-- The compute resources added after security groups, SSH keys, images and
-- availability: instances (validation before sending, actions, snapshots
-- below them, user metadata), volumes and filesystems (resize upwards
-- only), snapshots (import, clone), floating IPs, quotas and reservations
-- (lists answered whole), and their status vocabularies. Against
-- spec/support/compute_server.lua until the emulator plays them.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local registry = genesiscloud.resources
local cjson = require "cjson"

local BOX = { name = "box", hostname = "box-1", type = "vcpu-4_memory-12g", image = "ubuntu:22.04",
  region = "NORD-NO-KRS-1", ssh_keys = { "key-1" } }

local function with(changes)
  local spec = {}
  for k, v in pairs(BOX) do spec[k] = v end
  for k, v in pairs(changes) do spec[k] = v ~= cjson.null and v or nil end
  return spec
end

describe("compute resources", function()
  local server, c

  local function log()
    local raw = assert(c:request("GET", "/_log", { expect = 200 }))
    return raw
  end

  setup(function()
    server = helper.spawn("lua5.4 spec/support/compute_server.lua", "^http://")
    c = assert(genesiscloud.new{ token = "t", endpoint = server.line .. "/compute/v1", max_retries = 0 })
  end)

  teardown(function()
    if c then c:close() end
    if server then server.stop() end
  end)

  describe("instance create is checked before anything is sent", function()
    local BAD = {
      { "name", { name = cjson.null } }, { "hostname", { hostname = cjson.null } },
      { "type", { type = cjson.null } }, { "image", { image = cjson.null } },
      { "region", { region = cjson.null } },
      { "hostname", { hostname = "-box" } }, { "hostname", { hostname = "box_1" } },
      { "hostname", { hostname = ("a"):rep(64) } }, { "hostname", { hostname = "a..b" } },
      { "password", { password = "Abcdefg1" } }, -- with ssh_keys
      { "password", { ssh_keys = cjson.null, password = "short1A" } },
      { "password", { ssh_keys = cjson.null, password = "alllowercase1" } },
      { "password", { ssh_keys = cjson.null, password = "NoDigitsHere" } },
      { "password", { ssh_keys = cjson.null, password = ("Ab1"):rep(25) } },
      { "metadata.startup_script", { metadata = { startup_script = ("x"):rep(64 * 1024 + 1) } } },
      { "metadata", { metadata = {} } },
      { "security_groups", { security_groups = "sg-1" } },
      { "security_groups[2]", { security_groups = { "sg-1", 7 } } },
      { "volumes[1]", { volumes = { "" } } },
      { "ssh_keys", { ssh_keys = {} } },
      { "colour", { colour = "red" } },
    }
    for _, case in ipairs(BAD) do
      local field, changes = case[1], case[2]
      it("refuses a bad " .. field, function()
        local before = #log()
        local result, err = c.instances:create(with(changes))
        assert.is_nil(result)
        assert.are.equal("validation", err.kind)
        assert.are.equal(field, err.field)
        assert.are.equal(before, #log()) -- nothing sent
      end)
    end

    it("never puts a password into the error", function()
      local _, err = c.instances:create(with{ ssh_keys = cjson.null, password = "secretpassword" })
      assert.is_nil(err.value)
      assert.is_nil(tostring(err):find("secretpassword", 1, true))
    end)

    it("takes a full spec, a password instead of keys, and a 64 KiB startup script", function()
      assert.is_string(assert(c.instances:create(with{ hostname = "gpu-1.example.com" })).id)
      assert.is_string(assert(c:create_instance(with{ ssh_keys = cjson.null, password = "Abcdefg1" })).id)
      local script = ("x"):rep(64 * 1024)
      local box = assert(c.instances:create(with{ metadata = { startup_script = script,
        user_data = { { type = "cloud-config", content = "#cloud-config" } } }, security_groups = { "sg-1" },
        volumes = {}, is_protected = false, disk_size = 80 }))
      assert.are.equal(#script, #box.metadata.startup_script)
    end)
  end)

  describe("instance update (PATCH)", function()
    it("takes a full list or one attach/detach, and refuses what is not one", function()
      local box = assert(c.instances:create(BOX))
      assert(c.instances:update(box.id, { volumes = { "vol-1", "vol-2" }, is_protected = true }))
      assert(c.instances:update(box.id, { volumes = { attach = "vol-3" }, security_groups = { detach = "sg-1" } }))
      local lines = log()
      assert.are.equal(1, lines[#lines]:find("PATCH /compute/v1/instances/" .. box.id .. " ", 1, true))
      assert.matches('"attach":"vol%-3"', lines[#lines])
      for _, bad in ipairs{ { volumes = { attach = "a", detach = "b" } }, { volumes = { attach = "" } },
        { volumes = { attach = "a", extra = 1 } }, { security_groups = {} }, { hostname = "x" },
        { is_protected = "yes" } } do
        local n = #log()
        local result, err = c.instances:update(box.id, bad)
        assert.is_nil(result)
        assert.are.equal("validation", err.kind)
        assert.are.equal(n, #log())
      end
    end)

    it("a protected instance's delete is refused by the server, and the error says so", function()
      local box = assert(c.instances:create(with{ is_protected = true }))
      local ok, err = c.instances:delete(box.id)
      assert.is_nil(ok)
      assert.are.equal(409, err.status)
      assert.matches("protected", err.message)
    end)
  end)

  it("instance actions, their list, snapshots below it and its user metadata", function()
    local box = assert(c.instances:create(BOX))
    assert.is_true(c.instances:stop(box.id))
    assert.are.equal("stopped", assert(c.instances:get(box.id)).status)
    assert.is_true(c:start_instance(box.id))
    assert.is_true(c.instances:reset(box.id))
    assert.are.same({ "stop", "reset" }, assert(c.instances:actions(box.id)))
    local snap = assert(c.instances:create_snapshot(box.id, { name = "before" }))
    assert.are.equal(box.id, snap.source_instance_id)
    assert.are.equal(1, #assert(c:list_instance_snapshots(box.id)).snapshots)
    local meta = assert(c.instances:user_metadata(box.id))
    assert.are.equal(box.id, meta.instance) -- a bare object
    assert.are.equal(box.id, assert(c:get_instance_user_metadata(box.id)).instance)
  end)

  describe("resize only grows", function()
    for _, plural in ipairs{ "volumes", "filesystems" } do
      it(plural .. ": a smaller size is refused after reading, before sending", function()
        local svc = c[plural]
        local obj = assert(svc:create{ name = "d", size = 50, region = "NORD-NO-KRS-1" })
        local n = #log()
        local result, err = svc:resize(obj.id, 40)
        assert.is_nil(result)
        assert.are.equal("validation", err.kind)
        assert.are.equal("size", err.field)
        assert.matches("only grow", err.message)
        local lines = log()
        assert.are.equal(n + 1, #lines) -- the GET, no PATCH
        assert.matches("^GET ", lines[#lines])
        assert.are.equal(80, assert(svc:resize(obj.id, 80)).size)
        assert.matches('^PATCH .* {"size":80}$', log()[#log()])
        _, err = svc:resize("missing", 100)
        assert.are.equal(404, err.status)
        _, err = svc:resize(obj.id, 0)
        assert.are.equal("validation", err.kind)
      end)
    end

    it("a volume update changes name and description only", function()
      local vol = assert(c.volumes:create{ name = "d", size = 50, region = "NORD-NO-KRS-1" })
      local _, err = c.volumes:update(vol.id, { size = 10 })
      assert.are.equal("validation", err.kind)
    end)
  end)

  it("snapshots: import from a URL, clone into a region, rename", function()
    local imported = assert(c.snapshots:create{ name = "img", region = "NORD-NO-KRS-1", size = 10,
      url = "https://example.com/disk.raw.zst", os_type = "linux" })
    local copy = assert(c.snapshots:clone(imported.id, { name = "img-2", region = "EUC-DE-MUC-1" }))
    assert.are.equal(imported.id, copy.source_snapshot_id)
    assert.are.equal(1, log()[#log()]:find("POST /compute/v1/snapshots/" .. imported.id .. "/clone ", 1, true))
    assert.is_string(assert(c:clone_snapshot(imported.id, { name = "img-3", region = "NORD-NO-KRS-1" })).id)
    local _, err = c.snapshots:clone(imported.id, { name = "no region" })
    assert.are.equal("region", err.field)
    assert.are.equal("renamed", assert(c.snapshots:update(imported.id, { name = "renamed" })).name)
    assert.matches("^PATCH ", log()[#log()])
  end)

  it("floating IPs and filesystems check their enums", function()
    local _, err = c.floating_ips:create{ name = "ip", region = "NORD-NO-KRS-1", version = "ipv5" }
    assert.are.equal("version", err.field)
    _, err = c.filesystems:create{ name = "fs", region = "NORD-NO-KRS-1", size = 1, type = "nfs" }
    assert.are.equal("type", err.field)
  end)

  it("quotas and reservations: one request, however they are walked", function()
    assert.are.equal("gpu", assert(c.quotas:list()).quotas[1].key)
    local n = #log()
    local all = assert(c.quotas:all())
    assert.are.equal(1, #all)
    local seen = 0
    for _ in c:reservations() do seen = seen + 1 end
    assert.are.equal(1, seen)
    assert.are.equal(1, #assert(c:all_reservations()))
    assert.are.equal(n + 3, #log())
  end)
end)

describe("status vocabularies across API versions", function()
  for _, def in ipairs(registry) do
    local st = def.statuses
    if st and st.vocabulary then
      it(def.plural .. ": every status of every version is classified, renamed ones aliased", function()
        local known = {}
        for _, group in ipairs{ "ready", "failed", "settled", "transitional" } do
          for _, s in ipairs(st[group] or {}) do known[s] = group end
        end
        known[st.deleting] = "deleting"
        for version, list in pairs(st.vocabulary) do
          for _, s in ipairs(list) do assert.is_string(known[s], version .. " " .. s) end
        end
        for old, new in pairs(st.aliases or {}) do
          assert.is_string(known[old], old)
          assert.are.equal(known[old] == "ready", known[new] == "ready", old .. " -> " .. new)
        end
      end)
    end
  end

  it("an unknown status is no error by itself: a wait goes on through it", function()
    local server = helper.spawn("lua5.4 spec/support/compute_server.lua", "^http://")
    local c = assert(genesiscloud.new{ token = "t", endpoint = server.line .. "/compute/v1" })
    local vol = assert(c.volumes:create{ name = "d", size = 5, region = "NORD-NO-KRS-1" })
    assert(c:request("PATCH", "/volumes/" .. vol.id, { body = { status = "hibernating" }, expect = 200 }))
    local polls = 0
    local got, err = c.volumes:wait(vol.id, { timeout = 5, interval = 0.01, sleep = function()
      polls = polls + 1
      if polls == 2 then
        c:request("PATCH", "/volumes/" .. vol.id, { body = { status = "available" }, expect = 200 })
      end
    end })
    c:close()
    server.stop()
    assert.is_nil(err)
    assert.are.equal("available", got.status) -- 2023-09's name for ready, kept as sent
  end)
end)
