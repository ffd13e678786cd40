-- "Behaves like a collection": every entry of the registry, through its
-- service and its flat aliases. Security groups run against the emulator;
-- SSH keys, images and availability against a loopback server
-- (spec/support/resource_server.lua), the newer compute resources against
-- spec/support/compute_server.lua, until the emulator serves them.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local registry = genesiscloud.resources

-- The methods each service must have: exactly these.
local EXPECTED = {
  security_groups = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "ensure", "ensure_absent", "get_many", "create_many", "delete_many", "find" },
  ssh_keys = { "list", "get", "create", "update", "delete", "each", "pages", "all", "ensure",
    "ensure_absent", "get_many", "create_many", "delete_many", "find" },
  images = { "list", "each", "pages", "all" },
  availability = { "get", "get_many" },
  instances = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "ensure", "ensure_absent", "get_many", "create_many", "delete_many", "find",
    "start", "stop", "reset", "actions", "create_snapshot", "snapshots", "user_metadata" },
  volumes = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "ensure", "ensure_absent", "get_many", "create_many", "delete_many", "find", "resize" },
  snapshots = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "get_many", "create_many", "delete_many", "clone" },
  floating_ips = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "ensure", "ensure_absent", "get_many", "create_many", "delete_many", "find" },
  filesystems = { "list", "get", "create", "update", "delete", "each", "pages", "all", "wait",
    "wait_deleted", "ensure", "ensure_absent", "get_many", "create_many", "delete_many", "find", "resize" },
  quotas = { "list", "each", "pages", "all" },
  reservations = { "list", "each", "pages", "all" },
}

-- A spec to create, and a change to make, per resource that can be written.
local SAMPLES = {
  security_groups = { create = { name = "web", rules = { genesiscloud.rules.ssh() } },
    update = { name = "web2", rules = { genesiscloud.rules.https() } }, check = "name" },
  ssh_keys = { create = { name = "laptop", value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI x@y" },
    update = { name = "desk" }, check = "name" },
  instances = { create = { name = "box", hostname = "box", type = "vcpu-4_memory-12g", image = "ubuntu:22.04",
    region = "NORD-NO-KRS-1", ssh_keys = { "key-1" } }, update = { name = "box2" }, check = "name" },
  volumes = { create = { name = "data", size = 50, region = "NORD-NO-KRS-1" },
    update = { name = "data2" }, check = "name" },
  snapshots = { create = { name = "imported", region = "NORD-NO-KRS-1", size = 10,
    url = "https://example.com/disk.raw" }, update = { name = "renamed" }, check = "name" },
  floating_ips = { create = { name = "ip", region = "NORD-NO-KRS-1", version = "ipv4" },
    update = { description = "front" }, check = "description" },
  filesystems = { create = { name = "shared", size = 100, region = "NORD-NO-KRS-1", type = "vast" },
    update = { name = "shared2" }, check = "name" },
}
-- Served by spec/support/compute_server.lua (the emulator does not play them yet).
local COMPUTE = { instances = true, volumes = true, snapshots = true, floating_ips = true,
  filesystems = true, quotas = true, reservations = true }

local function keys_of(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function sorted(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  table.sort(out)
  return out
end

describe("every resource of the registry behaves like a collection", function()
  local emu, server, compute, clients = nil, nil, nil, {}

  setup(function()
    emu = helper.start_emulator()
    server = helper.spawn("lua5.4 spec/support/resource_server.lua put", "^http://")
    compute = helper.spawn("lua5.4 spec/support/compute_server.lua", "^http://")
  end)

  teardown(function()
    for _, c in pairs(clients) do c:close() end
    if emu then emu:stop() end
    if server then server.stop() end
    if compute then compute.stop() end
  end)

  local function client_for(def)
    if not clients[def.plural] then
      local root = COMPUTE[def.plural] and compute.line or server.line
      clients[def.plural] = def.plural == "security_groups" and helper.client(emu)
        or assert(genesiscloud.new{ token = "t", endpoint = root .. "/compute/v1", max_retries = 0 })
    end
    return clients[def.plural]
  end

  it("has one registry entry per resource, in order and by plural", function()
    assert.are.equal(11, #registry)
    for i, def in ipairs(registry) do assert.are.equal(def, registry[def.plural], i) end
  end)

  for _, def in ipairs(registry) do
    describe(def.plural, function()
      it("has a service with exactly its methods", function()
        local svc = client_for(def)[def.plural]
        assert.are.same(sorted(EXPECTED[def.plural]), keys_of(svc))
        assert.are.equal(svc, client_for(def)[def.plural]) -- one per client
      end)

      it("has exactly the flat aliases of those methods", function()
        local c = client_for(def)
        local patterns = require("genesiscloud.service.aliases").of(def)
        local have = {}
        for _, m in ipairs(EXPECTED[def.plural]) do have[m] = true end
        for _, entry in ipairs(patterns) do
          local name, method = entry[1], entry[2]
          if have[method] then
            assert.is_function(c[name], name)
          elseif name ~= "get_" .. def.plural or not have.get then
            assert.is_nil(c[name], name)
          end
        end
      end)

      if def.operations.create then
        it("creates, gets, lists, finds, updates and deletes, through service and aliases", function()
          local c, sample = client_for(def), SAMPLES[def.plural]
          local svc = c[def.plural]
          local obj = assert(svc:create(sample.create))
          assert.are.equal(obj.id, assert(c["get_" .. def.name](c, obj.id)).id)
          assert.are.equal(obj.id, assert(svc:get(obj.id)).id)
          local page = assert(c["list_" .. def.plural](c))
          assert.is_table(page[def.list_key])
          if def.identity then assert.are.equal(1, #assert(svc:find(sample.create[def.identity]))) end
          local updated = assert(c["update_" .. def.name](c, obj.id, sample.update))
          assert.are.equal(sample.update[sample.check], updated[sample.check])
          local seen = 0
          for _ in c[def.plural](c) do seen = seen + 1 end -- the old iterator call
          assert.are.equal(#assert(svc:all()), seen)
          assert.is_true(assert(svc:delete(obj.id)))
          local _, err = svc:get(obj.id)
          assert.are.equal(404, err.status)
        end)
      end
    end)
  end
end)
