-- The emulator's resources beyond security groups, driven in process
-- through app:handle with a fake clock: SSH keys (bare objects, public key
-- checks, fingerprints compared with ssh-keygen), the seeded images and
-- availability catalogs, 405s for methods a path lacks, per-kind status
-- transitions and set_status per kind.

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"
local json = require "genesiscloud.emulator.wire_json"
local ssh_public_key = require "genesiscloud.emulator.ssh_public_key"
local images = require "genesiscloud.emulator.behaviours.images_behaviour"

local null = json.null
local T0 = helper.EMULATOR_T0
local new, call = helper.emulator_state, helper.emulator_call

-- An SSH wire blob: each argument a length-prefixed string.
local function blob(...)
  local out = {}
  for _, s in ipairs{ ... } do out[#out + 1] = string.pack(">s4", s) end
  return table.concat(out)
end

local function key_line(key_type, ...)
  return key_type .. " " .. ssh_public_key.base64_encode(blob(...)) .. " someone@example"
end

local ED25519 = key_line("ssh-ed25519", "ssh-ed25519", string.rep("\7", 32))

-- Keys made by ssh-keygen in a fresh directory: { [name] = { line, size,
-- fingerprint } }, the last two as `ssh-keygen -l` prints them; nil when
-- there is no ssh-keygen.
local function keygen_keys()
  local dir = os.tmpname()
  os.remove(dir)
  local out, ok = helper.run("command -v ssh-keygen >/dev/null && mkdir " .. dir)
  if not ok then return nil, out end
  local keys = {}
  local kinds = { rsa2048 = "-t rsa -b 2048", rsa4096 = "-t rsa -b 4096", ed25519 = "-t ed25519",
    ecdsa256 = "-t ecdsa -b 256", ecdsa384 = "-t ecdsa -b 384", ecdsa521 = "-t ecdsa -b 521" }
  for name, args in pairs(kinds) do
    local file = dir .. "/" .. name
    assert(select(2, helper.run("ssh-keygen -q -N '' -C 'user@host " .. name .. "' " .. args .. " -f " .. file)))
    local f = assert(io.open(file .. ".pub"))
    local line = f:read("a")
    f:close()
    local listed = helper.run("ssh-keygen -l -f " .. file .. ".pub")
    local size, fingerprint = listed:match("^(%d+) (SHA256:%S+)")
    keys[name] = { line = line, size = tonumber(size), fingerprint = fingerprint }
  end
  helper.run("rm -rf " .. dir)
  return keys
end

describe("emulator resources", function()
  describe("ssh keys", function()
    local function create(st, over)
      local body = { name = "laptop", value = ED25519 }
      for k, v in pairs(over or {}) do body[k] = v end
      return call(st, "POST", "/ssh-keys", body)
    end

    it("answers create, get, update and delete with bare objects", function()
      local st, clock = new()
      local status, key = create(st)
      assert.are.equal(201, status)
      assert.is_string(key.id)
      assert.is_nil(key.ssh_key)
      assert.are.same({ "laptop", "ssh-ed25519", 256, "2026-11-27T12:00:00.000Z" },
        { key.name, key.type, key.size, key.created_at })
      assert.are.equal(ED25519, key.value)
      assert.matches("^SHA256:[%w+/]+$", key.fingerprint)
      local got
      status, got = call(st, "GET", "/ssh-keys/" .. key.id)
      assert.are.equal(200, status)
      assert.are.same(key, got)
      clock.t = T0 + 5
      for _, method in ipairs{ "PUT", "PATCH" } do
        local updated
        status, updated = call(st, method, "/ssh-keys/" .. key.id, { name = "desk-" .. method })
        assert.are.equal(200, status)
        assert.are.same({ "desk-" .. method, key.fingerprint, "2026-11-27T12:00:05.000Z" },
          { updated.name, updated.fingerprint, updated.updated_at })
      end
      assert.are.equal(204, (call(st, "DELETE", "/ssh-keys/" .. key.id)))
      local _, err = call(st, "GET", "/ssh-keys/" .. key.id)
      assert.are.same({ code = "02003", message = "SSH key not found" }, err)
    end)

    it("lists keys under ssh_keys, paginated like the other lists", function()
      local st = new()
      for i = 1, 3 do create(st, { name = "k" .. i }) end
      local status, page = call(st, "GET", "/ssh-keys?per_page=2&page=2")
      assert.are.equal(200, status)
      assert.are.same({ 3, 2, 2, 1, "k3" },
        { page.total_count, page.page, page.per_page, #page.ssh_keys, page.ssh_keys[1].name })
      assert.are.equal(400, (call(st, "GET", "/ssh-keys?per_page=101")))
    end)

    it("has no status, so keys never change by themselves", function()
      local st, clock = new{ create_delay = 5 }
      local _, key = create(st)
      assert.is_nil(key.status)
      clock.t = T0 + 10
      local _, got = call(st, "GET", "/ssh-keys/" .. key.id)
      assert.is_nil(got.status)
    end)

    it("needs name on create and PUT, not on PATCH; value cannot change", function()
      local st = new()
      local _, err = create(st, { name = null })
      assert.are.equal("name is required", err.message)
      _, err = create(st, { value = null })
      assert.matches("^value is required", err.message)
      local _, key = create(st)
      local status
      status, err = call(st, "PUT", "/ssh-keys/" .. key.id, {})
      assert.are.same({ 400, "name is required" }, { status, err.message })
      status = call(st, "PATCH", "/ssh-keys/" .. key.id, { extra_field = 1 })
      assert.are.equal(200, status)
      status, err = call(st, "PATCH", "/ssh-keys/" .. key.id, { value = ED25519 })
      assert.are.equal(400, status)
      assert.matches("^value cannot be changed", err.message)
    end)

    it("ignores the server's fields when a client sends them", function()
      local st = new()
      local _, key = create(st, { fingerprint = "SHA256:forged", size = 1, type = "ssh-rsa", id = "mine" })
      assert.are.same({ 256, "ssh-ed25519" }, { key.size, key.type })
      assert.are_not.equal("SHA256:forged", key.fingerprint)
      assert.are_not.equal("mine", key.id)
    end)

    it("PUT answers 405 when put_405 names ssh_keys, and only then", function()
      local st = new{ put_405 = { "ssh_keys" } }
      local _, key = create(st)
      local status, err, headers = call(st, "PUT", "/ssh-keys/" .. key.id, { name = "n" })
      assert.are.same({ 405, "02002", "DELETE, GET, PATCH" }, { status, err.code, headers.allow })
      assert.are.equal(200, (call(st, "PATCH", "/ssh-keys/" .. key.id, { name = "n" })))
      local group = { name = "g", rules = { { protocol = "all", direction = "egress" } } }
      local _, g = call(st, "POST", "/security-groups", group)
      assert.are.equal(200, (call(st, "PUT", "/security-groups/" .. g.security_group.id, group)))
    end)

    describe("public key checks", function()
      local function rejects(value, pattern)
        local st = new()
        local status, err = create(st, { value = value })
        assert.are.equal(400, status)
        assert.are.equal("02004", err.code)
        assert.matches(pattern, err.message)
        assert.are.equal(0, select(2, call(st, "GET", "/ssh-keys")).total_count)
      end

      it("takes the five OpenSSH key types only", function()
        rejects("ssh-dss " .. ssh_public_key.base64_encode(blob("ssh-dss", "x")), "key type must be one of ssh%-rsa")
        rejects(42, "value must be a string")
        rejects("", "must be an OpenSSH public key")
        rejects("ssh-ed25519", "must be an OpenSSH public key")
      end)

      it("wants base64 that decodes", function()
        rejects("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!!", "not valid base64")
        rejects("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", "not valid base64")
        rejects("ssh-ed25519 AA=A", "not valid base64")
      end)

      it("wants the type inside the key to be the type it is given as", function()
        rejects(key_line("ssh-rsa", "ssh-ed25519", string.rep("\7", 32)), "not an ssh%-rsa key")
        rejects(key_line("ssh-ed25519", "ssh-ed2551", string.rep("\7", 32)), "not an ssh%-ed25519 key")
        rejects("ssh-ed25519 " .. ssh_public_key.base64_encode("\0\0"), "not an ssh%-ed25519 key")
      end)

      it("checks the size of the key material", function()
        rejects(key_line("ssh-ed25519", "ssh-ed25519", string.rep("\7", 31)), "must hold 32 bytes")
        rejects(key_line("ssh-rsa", "ssh-rsa", "\1\0\1", "\127" .. string.rep("\255", 63)),
          "RSA key must have 1024 to 16384 bits, this one has 511")
        rejects(key_line("ssh-rsa", "ssh-rsa", "\1\0\1", "\128" .. string.rep("\0", 127)), "not positive integers")
        rejects(key_line("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", "nistp384", "\4" .. string.rep("\1", 96)),
          "curve is not nistp256")
        rejects(key_line("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", "nistp256", "\4" .. string.rep("\1", 63)),
          "point is not 65 bytes")
        rejects(key_line("ssh-ed25519", "ssh-ed25519", string.rep("\7", 32), "more"), "bytes after the key")
      end)

      it("wants one key on one line", function()
        rejects(ED25519 .. "\n" .. ED25519, "one public key on one line")
      end)

      it("reports type, size and fingerprint as ssh-keygen -l does", function()
        local keys, why = keygen_keys()
        if not keys then
          pending("ssh-keygen is not available: " .. tostring(why))
          return
        end
        local st = new()
        local types = { rsa2048 = "ssh-rsa", rsa4096 = "ssh-rsa", ed25519 = "ssh-ed25519",
          ecdsa256 = "ecdsa-sha2-nistp256", ecdsa384 = "ecdsa-sha2-nistp384", ecdsa521 = "ecdsa-sha2-nistp521" }
        for name, k in pairs(keys) do
          local status, key = create(st, { name = name, value = k.line })
          assert.are.equal(201, status, name)
          assert.are.same({ types[name], k.size, k.fingerprint }, { key.type, key.size, key.fingerprint }, name)
          assert.are.equal((k.line:gsub("%s+$", "")), key.value)
        end
      end)
    end)
  end)

  describe("images", function()
    it("lists the seeded catalog, paginated", function()
      local st = new()
      local status, page = call(st, "GET", "/images")
      assert.are.equal(200, status)
      assert.are.equal(#images.CATALOG, page.total_count)
      assert.are.equal(images.CATALOG[1].id, page.images[1].id)
      for _, image in ipairs(page.images) do
        assert.is_string(image.name)
        assert.is_table(image.regions)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT", image.created_at)
      end
      local _, second = call(st, "GET", "/images?per_page=3&page=2")
      assert.are.same({ images.CATALOG[4].id, 3 }, { second.images[1].id, #second.images })
      local _, past = call(st, "GET", "/images?per_page=3&page=9")
      assert.are.same({}, past.images)
    end)

    it("filters by type: the 2023-07 types and cloud-image", function()
      local st = new()
      for _, t in ipairs{ "base-os", "preconfigured", "snapshot", "cloud-image" } do
        local _, page = call(st, "GET", "/images?type=" .. t)
        assert.is_true(page.total_count > 0, t)
        for _, image in ipairs(page.images) do assert.are.equal(t, image.type) end
      end
      local _, cloud = call(st, "GET", "/images?type=cloud-image")
      assert.are.equal("ubuntu", cloud.images[1].slug)
      local status, err = call(st, "GET", "/images?type=windows")
      assert.are.equal(400, status)
      assert.matches("^type must be one of base%-os, preconfigured, snapshot, cloud%-image", err.message)
    end)

    it("is read-only and has no single-image route", function()
      local st = new()
      local status, err, headers = call(st, "POST", "/images", { name = "x" })
      assert.are.same({ 405, "02002", "GET" }, { status, err.code, headers.allow })
      assert.are.equal(405, (call(st, "DELETE", "/images")))
      status, err = call(st, "GET", "/images/" .. images.CATALOG[1].id)
      assert.are.same({ 404, "02001" }, { status, err.code })
    end)

    it("survives a reset, with the same ids", function()
      local st = new()
      local _, before = call(st, "GET", "/images")
      st:reset()
      local _, after = call(st, "GET", "/images")
      assert.are.same(before, after)
    end)
  end)

  describe("availability", function()
    it("answers per region under the availability key", function()
      local st = new()
      local status, body = call(st, "GET", "/availability/NORD-NO-KRS-1/instances")
      assert.are.equal(200, status)
      local a = body.availability
      assert.are.same({ "instances", "NORD-NO-KRS-1", "NONE" }, { a.type, a.region, a.placement })
      assert.is_true(#a.instance_types > 0)
      for _, t in ipairs(a.instance_types) do
        assert.is_string(t.type)
        assert.are.equal(t.count > 0, t.available)
      end
      local _, other = call(st, "GET", "/availability/EUC-DE-MUC-1/instances?placement=A")
      assert.are.equal("A", other.availability.placement)
      assert.are_not.same(a.instance_types, other.availability.instance_types)
    end)

    it("answers 400 for a region it does not know", function()
      local status, err = call(new(), "GET", "/availability/MARS-1/instances")
      assert.are.equal(400, status)
      assert.matches("^region must be one of ARC%-IS%-HAF%-1", err.message)
    end)

    it("has GET only, and no other path", function()
      local st = new()
      local status, _, headers = call(st, "POST", "/availability/NORD-NO-KRS-1/instances", {})
      assert.are.same({ 405, "GET" }, { status, headers.allow })
      assert.are.equal(404, (call(st, "GET", "/availability/NORD-NO-KRS-1")))
      assert.are.equal(404, (call(st, "GET", "/availability")))
    end)
  end)

  describe("status transitions", function()
    local RULES = { { protocol = "all", direction = "egress" } }
    local function create_group(st)
      local _, body = call(st, "POST", "/security-groups", { name = "g", rules = RULES })
      return body.security_group
    end
    local function status_of(st, id)
      local s, body = call(st, "GET", "/security-groups/" .. id)
      if s == 404 then return 404 end
      return body.security_group.status
    end

    it("after N reads: the first N GETs show the step's status", function()
      local st = new{ transitions = { security_groups = { create = { reads = 2 } } } }
      local g = create_group(st)
      assert.are.equal("creating", g.status)
      -- list pages show the status without counting
      for _ = 1, 3 do
        local _, page = call(st, "GET", "/security-groups")
        assert.are.equal("creating", page.security_groups[1].status)
      end
      assert.are.same({ "creating", "creating", "created", "created" },
        { status_of(st, g.id), status_of(st, g.id), status_of(st, g.id), status_of(st, g.id) })
    end)

    it("after a time, per kind, whatever create_delay says", function()
      local st, clock = new{ create_delay = 100, transitions = { security_groups = { create = { seconds = 2 } } } }
      local g = create_group(st)
      clock.t = T0 + 1
      assert.are.equal("creating", status_of(st, g.id))
      clock.t = T0 + 2
      assert.are.equal("created", status_of(st, g.id))
    end)

    it("immediate: the next read shows the final status", function()
      local st = new{ update_delay = 100, transitions = { security_groups = { update = "immediate" } } }
      local g = create_group(st)
      local _, body = call(st, "PATCH", "/security-groups/" .. g.id, { name = "n" })
      assert.are.equal("updating", body.security_group.status)
      assert.are.equal("created", status_of(st, g.id))
    end)

    it("a delete after N reads is gone on the read after them", function()
      local st = new{ transitions = { security_groups = { delete = { reads = 1 } } } }
      local g = create_group(st)
      assert.are.equal(204, (call(st, "DELETE", "/security-groups/" .. g.id)))
      assert.are.equal(409, (call(st, "PATCH", "/security-groups/" .. g.id, { name = "n" })))
      assert.are.same({ "deleting", 404 }, { status_of(st, g.id), status_of(st, g.id) })
      assert.are.equal(0, select(2, call(st, "GET", "/security-groups")).total_count)
    end)

    it("are set and cleared per kind and step through /_emulator/config", function()
      local st = new{ create_delay = 0 }
      local function configure(body)
        local status, text = st:handle("POST", "/_emulator/config", nil, json.encode(body), {})
        return status, json.decode(text)
      end
      local status, body = configure{ transitions = { security_groups = { create = { reads = 1 } } } }
      assert.are.equal(200, status)
      local _
      assert.are.same({ security_groups = { create = { reads = 1 } } }, body.config.transitions)
      _, body = configure{ transitions = { security_groups = { delete = { seconds = 3 } } } }
      assert.are.same({ create = { reads = 1 }, delete = { seconds = 3 } }, body.config.transitions.security_groups)
      local g = create_group(st)
      assert.are.same({ "creating", "created" }, { status_of(st, g.id), status_of(st, g.id) })
      _, body = configure{ transitions = { security_groups = { create = null, delete = null } } }
      assert.are.same({}, body.config.transitions)
      g = create_group(st)
      assert.are.equal("created", status_of(st, g.id))
    end)

    it("refuses kinds without statuses, unknown steps and bad progressions, all or nothing", function()
      local st = new()
      local bad = {
        { { ssh_keys = { create = "immediate" } }, "'ssh_keys' is not a kind with statuses" },
        { { nope = {} }, "'nope' is not a kind with statuses" },
        { { security_groups = { boot = "immediate" } }, "transitions.security_groups.boot: no such step" },
        { { security_groups = { create = { reads = -1 } } }, "transitions.security_groups.create must be" },
        { { security_groups = { create = { reads = 1.5 } } }, "transitions.security_groups.create must be" },
        { { security_groups = { create = { seconds = 1, reads = 1 } } }, "transitions.security_groups.create must be" },
        { { security_groups = { create = "soon" } }, "transitions.security_groups.create must be" },
        { "fast", "transitions must be an object" },
      }
      for _, case in ipairs(bad) do
        local ok, err = st:configure{ transitions = case[1], create_delay = 9 }
        assert.is_nil(ok)
        assert.matches(case[2], err, 1, true)
      end
      assert.are.same({ 0, {} }, { st.config.create_delay, st.config.transitions })
    end)
  end)

  describe("set_status", function()
    local function control(st, path, body)
      local status, text = st:handle("POST", "/_emulator" .. path, nil, json.encode(body), {})
      return status, text and json.decode(text)
    end

    it("names the kind in its not-found message", function()
      local st = new()
      local status, err = control(st, "/security-groups/nope/status", { status = "error" })
      assert.are.same({ 404, "Security group not found" }, { status, err.message })
      status, err = control(st, "/ssh-keys/nope/status", { status = "error" })
      assert.are.same({ 404, "SSH key not found" }, { status, err.message })
    end)

    it("forces a group's status through the generic route and app:set_status by kind", function()
      local st = new()
      local rules = { { protocol = "all", direction = "egress" } }
      local _, body = call(st, "POST", "/security-groups", { name = "g", rules = rules })
      local id = body.security_group.id
      local status
      status, body = control(st, "/security-groups/" .. id .. "/status", { status = "error" })
      assert.are.same({ 200, "error" }, { status, body.security_group.status })
      assert(st:set_status(id, "stuck", "security_groups"))
      assert(st:set_status(id, "stuck2", "security_group"))
      assert.are.equal("stuck2", select(2, call(st, "GET", "/security-groups/" .. id)).security_group.status)
    end)

    it("says SSH keys have no status, and knows no catalog kinds", function()
      local st = new()
      local _, key = call(st, "POST", "/ssh-keys", { name = "k", value = ED25519 })
      local status, err = control(st, "/ssh-keys/" .. key.id .. "/status", { status = "error" })
      assert.are.same({ 400, "SSH keys have no status" }, { status, err.message })
      assert.are.equal(404, (control(st, "/images/x/status", { status = "error" })))
      assert.are.same({ nil, "unknown kind 'images'" }, { st:set_status("x", "error", "images") })
    end)
  end)

  describe("faults", function()
    it("apply to the new routes as to the old", function()
      local st = new()
      for _, path in ipairs{ "/ssh-keys", "/images", "/availability/NORD-NO-KRS-1/instances" } do
        local target = "/compute/v1" .. path
        st:configure{ fault_rate = 1, faults = { "status" } }
        assert.are.same({ kind = "status", status = 503 }, st:choose_fault("GET", target))
        local status = st:handle("GET", target, nil, nil, helper.EMULATOR_AUTH, { kind = "status", status = 503 })
        assert.are.equal(503, status)
      end
    end)

    it("hostile answers of every shape on bare keys, catalogs and availability are well-formed HTTP", function()
      local st = new{ fault_seed = 3, faults = { "hostile" }, fault_rate = 1 }
      local _, key = call(st, "POST", "/ssh-keys", { name = "k", value = ED25519 })
      local paths = { { "GET", "/ssh-keys" }, { "GET", "/ssh-keys/" .. key.id }, { "GET", "/images" },
        { "GET", "/availability/NORD-NO-KRS-1/instances" }, { "PATCH", "/ssh-keys/" .. key.id },
        { "GET", "/ssh-keys/nope" } }
      local shapes = {}
      for _ = 1, 40 do
        for _, p in ipairs(paths) do
          local body = p[1] == "PATCH" and json.encode{ name = "n" } or nil
          local status, text, headers = st:handle(p[1], "/compute/v1" .. p[2], nil, body, helper.EMULATOR_AUTH,
            { kind = "hostile" })
          assert.is_number(status)
          assert.is_string(text)
          assert.is_table(headers)
          local entry = st:requests()[#st:requests()]
          shapes[entry.shape] = true
        end
      end
      for _, shape in ipairs(require("genesiscloud.emulator.hostile").SHAPES) do
        assert.is_true(shapes[shape], shape)
      end
    end)
  end)
end)
