-- "Behaves like a collection": every entry of the registry, through its
-- service and its flat aliases, against the emulator (which serves the
-- same definitions), the compute resources of issue 14 included.
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

-- A spec to create, and a change to make, per resource that can be written;
-- the arguments of a get, per resource that can only be read.
local SAMPLES = {
  security_groups = { create = { name = "web", rules = { genesiscloud.rules.ssh() } },
    update = { name = "web2", rules = { genesiscloud.rules.https() } }, check = "name" },
  ssh_keys = { create = { name = "laptop",
    value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host" },
    update = { name = "desk" }, check = "name" },
  availability = { get = "NORD-NO-KRS-1", check = "region" },
  -- a type, image and region of the emulator's seeded catalogs
  instances = { create = { name = "box", hostname = "box", type = "vcpu-2_memory-4g_disk-80g", image = "ubuntu:22.04",
    region = "NORD-NO-KRS-1", password = "Secret123abc" }, update = { name = "box2" }, check = "name" },
  volumes = { create = { name = "data", size = 50, region = "NORD-NO-KRS-1" },
    update = { name = "data2" }, check = "name" },
  snapshots = { create = { name = "imported", region = "NORD-NO-KRS-1", size = 10,
    url = "https://example.com/disk.raw" }, update = { name = "renamed" }, check = "name" },
  floating_ips = { create = { name = "ip", region = "NORD-NO-KRS-1", version = "ipv4" },
    update = { description = "front" }, check = "description" },
  filesystems = { create = { name = "shared", size = 100, region = "NORD-NO-KRS-1", type = "vast" },
    update = { name = "shared2" }, check = "name" },
}
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
  local emu, clients = nil, {}

  setup(function()
    emu = helper.start_emulator()
  end)

  teardown(function()
    for _, c in pairs(clients) do c:close() end
    if emu then emu:stop() end
  end)

  local function client_for(def)
    if not clients[def.plural] then
      clients[def.plural] = helper.client(emu, { max_retries = 0 })
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

      if def.operations.list then
        it("lists, walks and collects the same objects, through service and aliases", function()
          local c = client_for(def)
          local svc = c[def.plural]
          local created = def.operations.create and assert(svc:create(SAMPLES[def.plural].create))
          local page = assert(c["list_" .. def.plural](c, { per_page = 2 }))
          -- an unpaginated list (quotas) is all there is, with no total_count
          local total = page.total_count or #page[def.list_key]
          assert.is_true(total >= 1)
          local all = assert(c["all_" .. def.plural](c, { per_page = 2 }))
          assert.are.equal(total, #all)
          local ids, seen = {}, 0 -- quotas have no id: count the items too
          for obj in svc:each{ per_page = 2 } do seen = seen + 1; ids[seen] = obj.id end
          local pages = 0
          for items in svc:pages{ per_page = 2 } do pages = pages + (#items > 0 and 1 or 0) end
          local paged = def.operations.list.paginated ~= false
          assert.are.same({ #all, paged and math.ceil(#all / 2) or 1 }, { seen, pages })
          for i, obj in ipairs(all) do assert.are.equal(obj.id, ids[i]) end
          if created then assert(svc:delete(created.id)) end
        end)
      end

      if def.operations.get and not def.operations.create then
        it("gets one object by its path parameters, through service and alias", function()
          local c, sample = client_for(def), SAMPLES[def.plural]
          local got = assert(c[def.plural]:get(sample.get))
          assert.are.equal(sample.get, got[sample.check])
          assert.are.same(got, assert(c["get_" .. def.name](c, sample.get)))
          local many = assert(c[def.plural]:get_many{ sample.get, sample.get })
          assert.are.same({ got, got }, many)
        end)
      end
    end)
  end
end)
