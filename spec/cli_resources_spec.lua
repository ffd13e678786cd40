-- The generic commands of the `genesiscloud` tool, made from resource
-- definitions: run in this process through main.run with a small registry
-- and a fake client whose services keep their objects in memory and record
-- every call (the real services against the emulator: cli_spec.lua).

-- The command-line tool runs on lua5.4 only (bin/genesiscloud); its modules
-- are driven in this process, so on other runtimes this file is pending
-- (cli_spec.lua runs bin/genesiscloud with lua5.4 whatever runs the specs).
if _VERSION ~= "Lua 5.4" then
  pending("the command-line tool runs on Lua 5.4 only")
  return
end

local helper = require "helper"
local errors = helper.genesiscloud.errors
local main = require "genesiscloud.cli.main"
local parser = require "genesiscloud.cli.parser"
local cjson = require("cjson.safe").new()

local REGISTRY = {
  { name = "security_group", plural = "security_groups", cli = "security-groups", cli_short = "sg",
    operations = { list = {}, get = {}, create = {}, update = {}, delete = {} } },
  { name = "ssh_key", plural = "ssh_keys", cli = "ssh-keys", list_key = "ssh_keys", identity = "name",
    operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
    fields = {
      name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
      value = { type = "string", required = true, create_only = true, doc = "SSH public key" },
    } },
  { name = "image", plural = "images", cli = "images", list_key = "images", operations = { list = {} },
    query = { type = { type = "string", enum = { "base-os", "preconfigured", "snapshot", "cloud-image" },
      doc = "Only images of this type" } } },
  { name = "availability", plural = "availability", cli = "availability",
    operations = { get = { path = "/availability/{region}/instances", params = { "region" } } } },
  -- a resource with statuses, a number field and no identity
  { name = "volume", plural = "volumes", cli = "volumes", list_key = "volumes",
    operations = { list = {}, create = {}, delete = {} },
    statuses = { ready = { "created" }, failed = { "error" }, deleting = "deleting" },
    fields = { size = { type = "integer", min = 1, max = 10, required = true, doc = "Size in GiB" } } },
  -- no `cli`: no command
  { name = "secret", plural = "secrets", operations = { list = {} } },
}

local function not_found(path)
  return errors.new{ kind = "api", status = 404, method = "GET", path = path,
    message = "GET " .. path .. ": 404 not found" }
end

-- A service over `objects` (a list) that records every call in `calls`.
local function fake_service(list_key, objects, calls)
  local s = {}
  local function find_id(id)
    for i, o in ipairs(objects) do if o.id == id then return i, o end end
  end
  function s.list(_, query)
    calls[#calls + 1] = { "list", query }
    return { [list_key] = objects, total_count = #objects + 10, page = query.page, per_page = query.per_page }
  end
  function s.all(_, query) calls[#calls + 1] = { "all", query } return objects end
  function s.get(_, id)
    calls[#calls + 1] = { "get", id }
    local _, o = find_id(id)
    if o then return o end
    return nil, not_found("/x/" .. tostring(id))
  end
  function s.find(_, name)
    calls[#calls + 1] = { "find", name }
    local found = {}
    for _, o in ipairs(objects) do if o.name == name then found[#found + 1] = o end end
    return found
  end
  function s.create(_, body)
    calls[#calls + 1] = { "create", body }
    local o = { id = "new-" .. (#objects + 1), status = "creating" }
    for k, v in pairs(body) do o[k] = v end
    objects[#objects + 1] = o
    return o
  end
  function s.update(_, id, body)
    calls[#calls + 1] = { "update", id, body }
    local _, o = find_id(id)
    if not o then return nil, not_found("/x/" .. tostring(id)) end
    for k, v in pairs(body) do o[k] = v end
    return o
  end
  function s.delete(_, id)
    calls[#calls + 1] = { "delete", id }
    local i = find_id(id)
    if not i then return nil, not_found("/x/" .. tostring(id)) end
    table.remove(objects, i)
    return true
  end
  function s.wait(_, id, opts)
    calls[#calls + 1] = { "wait", id, opts }
    return nil, errors.new{ kind = "timeout", id = id, last_status = "creating",
      message = "volume " .. id .. " did not reach status created" }
  end
  return s
end

-- A file-like sink for out/err.
local function sink()
  local buffer = {}
  return { text = function() return table.concat(buffer) end,
    write = function(self, ...) for _, p in ipairs{ ... } do buffer[#buffer + 1] = tostring(p) end return self end,
    flush = function() return true end, seek = function() return 0 end }
end

describe("genesiscloud commands made from resource definitions", function()
  local calls, store, made_with

  before_each(function()
    calls = {}
    store = {
      ssh_keys = {
        { id = "k1", name = "laptop", value = "ssh-ed25519 AAAA laptop", fingerprint = "SHA256:x" },
        { id = "k2", name = "twin", value = "ssh-ed25519 BBBB" },
        { id = "k3", name = "twin", value = "ssh-ed25519 CCCC" },
      },
      images = {
        { id = "i1", name = "Ubuntu 22.04", type = "base-os", regions = { "NORD-NO-KRS-1", "ARC-IS-HAF-1" } },
      },
      volumes = {},
    }
  end)

  local function fake_client(args)
    made_with = args
    local client = {}
    for _, def in ipairs(REGISTRY) do
      if def.list_key then client[def.plural] = fake_service(def.list_key, store[def.plural], calls) end
    end
    client.availability = { get = function(_, region)
      calls[#calls + 1] = { "get", region }
      return { region = region, type = "instances", instance_types = {
        { type = "vcpu-4_memory-12g", available = true },
        { type = "vcpu-32_memory-192g_disk-80g_nvidia3090-8-never-cut", available = false } } }
    end }
    return client
  end

  -- -> { code =, out =, err = }
  local function run(argv)
    local out, err = sink(), sink()
    local code = main.run(argv, { out = out, err = err, registry = REGISTRY, client = fake_client })
    return { code = code, out = out:text(), err = err:text() }
  end

  local function show(r)
    return ("exit %s\n--- stdout\n%s--- stderr\n%s"):format(tostring(r.code), r.out, r.err)
  end

  local function ok(r)
    assert.are.equal(0, r.code, show(r))
    assert.are.equal("", r.err, show(r))
    return r
  end

  local function failed(r, code, pattern)
    assert.are.equal(code, r.code, show(r))
    assert.matches(pattern, r.err, nil, nil, show(r))
    return r
  end

  local function json(r)
    return assert(cjson.decode(r.out), show(r))
  end

  describe("commands", function()
    it("exist for each resource with a cli name, and its short name", function()
      local r = ok(run{ "--help" })
      for _, pattern in ipairs{ "security%-groups%s+Security groups", "sg%s+Security groups %(short",
          "ssh%-keys%s+Manage ssh keys: list, get, create, update, delete", "images%s+Manage images: list",
          "availability%s+Show availability for one region", "emulator" } do
        assert.matches(pattern, r.out)
      end
      assert.is_nil(r.out:find("secrets", 1, true))
    end)

    it("exist only for the operations a resource has", function()
      failed(run{ "images", "get", "i1" }, 2, "images: unknown command 'get'")
      failed(run{ "volumes", "update", "v1" }, 2, "volumes: unknown command 'update'")
      failed(run{ "secrets", "list" }, 2, "unknown command 'secrets'")
      assert.are.same({}, calls)
    end)

    it("security-groups and sg run the security-group commands", function()
      for _, name in ipairs{ "security-groups", "sg" } do
        local _, route = parser.parse({ name, "apply", "f.json" }, REGISTRY)
        assert.are.equal("genesiscloud.cli.commands.sg_apply", route.module)
        _, route = parser.parse({ name, "list" }, REGISTRY)
        assert.are.equal("genesiscloud.cli.commands.sg", route.module)
        assert.matches("Usage: genesiscloud " .. name:gsub("%-", "%%-") .. " create .*%-%-rule RULE",
          ok(run{ name, "create", "--help" }).out)
      end
    end)

    it("take create and update flags from the fields, filters from the query", function()
      local create = ok(run{ "ssh-keys", "create", "--help" }).out
      assert.matches("Usage: genesiscloud ssh%-keys create %[%-h%] %-%-name NAME %-%-value VALUE", create)
      assert.matches("%-%-value VALUE%s+SSH public key%.", create)
      local update = ok(run{ "ssh-keys", "update", "--help" }).out
      assert.matches("%-%-name NAME", update)
      assert.is_nil(update:find("--value", 1, true)) -- create_only
      assert.matches("ID|NAME", update)
      assert.matches("%-%-type TYPE%s+Only images of this type", ok(run{ "images", "list", "--help" }).out)
    end)

    it("have --wait only for a resource with statuses", function()
      assert.matches("%-%-wait%-timeout S", ok(run{ "volumes", "create", "--help" }).out)
      failed(run{ "ssh-keys", "create", "--name", "a", "--value", "b", "--wait" }, 2, "unknown option '%-%-wait'")
    end)
  end)

  describe("list", function()
    it("prints one page as the API gives it, as JSON", function()
      local data = json(ok(run{ "-o", "json", "ssh-keys", "list", "--per-page", "3", "--page", "2" }))
      assert.are.equal(3, #data.ssh_keys)
      assert.are.equal(13, data.total_count)
      assert.are.same({ "list", { page = 2, per_page = 3 } }, calls[1])
    end)

    it("passes the query filters; --all walks every page", function()
      local data = json(ok(run{ "-o", "json", "images", "list", "--type", "base-os", "--all" }))
      assert.are.same({ "all", { type = "base-os", per_page = 50 } }, calls[1])
      assert.are.same({ "NORD-NO-KRS-1", "ARC-IS-HAF-1" }, data.images[1].regions)
      assert.are.equal(1, data.total_count)
      failed(run{ "images", "list", "--type", "windows" }, 2, "must be one of 'base%-os'")
    end)

    it("prints a table: id and name first, lists joined, long cells cut", function()
      store.ssh_keys[1].value = ("x"):rep(100)
      local r = ok(run{ "-o", "table", "ssh-keys", "list" })
      local header = r.out:match("^[^\n]*")
      assert.matches("^ID%s+NAME%s+FINGERPRINT%s+VALUE$", header)
      assert.matches("k1%s+laptop%s+SHA256:x%s+" .. ("x"):rep(47) .. "%.%.%.\n", r.out)
      assert.matches("page 1: 3 of 13 ssh keys; %-%-page N for another page", r.out)
      r = ok(run{ "-o", "table", "images", "list", "--all" })
      assert.matches("NORD%-NO%-KRS%-1, ARC%-IS%-HAF%-1", r.out)
      assert.matches("\n1 image\n$", r.out)
      store.ssh_keys = {}
      assert.matches("^no ssh keys on page 1 %(10 in all%)\n$", ok(run{ "-o", "table", "ssh-keys", "list" }).out)
    end)
  end)

  describe("get", function()
    it("takes an id, or else a name", function()
      assert.are.equal("k1", json(ok(run{ "-o", "json", "ssh-keys", "get", "k1" })).id)
      assert.are.equal(1, #calls)
      calls = {}
      assert.are.equal("k1", json(ok(run{ "-o", "json", "ssh-keys", "get", "laptop" })).id)
      assert.are.same({ { "get", "laptop" }, { "find", "laptop" } }, calls)
    end)

    it("a name several objects have: exit 2 naming their ids; none: the 404 with a note, exit 1", function()
      failed(run{ "ssh-keys", "get", "twin" }, 2,
        "^genesiscloud: 2 ssh keys have name \"twin\" %(ids k2, k3%): give the id of one\n$")
      failed(run{ "ssh-keys", "get", "nobody" }, 1, "404 not found; no ssh key has name \"nobody\" either\n$")
    end)

    it("prints key/value lines, with lists of objects as tables", function()
      local r = ok(run{ "-o", "table", "availability", "NORD-NO-KRS-1" })
      assert.are.same({ "get", "NORD-NO-KRS-1" }, calls[1])
      assert.matches("^region%s+NORD%-NO%-KRS%-1\ntype%s+instances\n\ninstance_types:\nAVAILABLE%s+TYPE\n"
        .. "true%s+vcpu%-4_memory%-12g\nfalse%s+vcpu%-32_memory%-192g_disk%-80g_nvidia3090%-8%-never%-cut\n$", r.out)
    end)
  end)

  describe("create", function()
    it("sends the fields given", function()
      local data = json(ok(run{ "-o", "json", "ssh-keys", "create", "--name", "k", "--value", "ssh-ed25519 AAAA" }))
      assert.are.same({ "create", { name = "k", value = "ssh-ed25519 AAAA" } }, calls[1])
      assert.are.equal("k", data.name)
      failed(run{ "ssh-keys", "create", "--name", "k" }, 2, "missing option '%-%-value'")
    end)

    it("reads @FILE (the last line end dropped); @@ is a literal @", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write("ssh-ed25519 AAAAfile me@host\n")
      f:close()
      ok(run{ "-o", "json", "ssh-keys", "create", "--name", "@@home", "--value", "@" .. path })
      os.remove(path)
      assert.are.same({ "create", { name = "@home", value = "ssh-ed25519 AAAAfile me@host" } }, calls[1])
      failed(run{ "ssh-keys", "create", "--name", "k", "--value", "@" .. path }, 2, "%-%-value: cannot read ")
    end)

    it("checks number fields against their range", function()
      failed(run{ "volumes", "create", "--size", "11" }, 2, "%-%-size must be a whole number from 1 to 10, got '11'")
      failed(run{ "volumes", "create", "--size", "-1" }, 2, "%-%-size must be a whole number from 1 to 10, got '%-1'")
      ok(run{ "-o", "json", "volumes", "create", "--size", "2" })
      assert.are.same({ "create", { size = 2 } }, calls[1])
    end)

    it("--wait that runs out prints what was written and exits 3", function()
      local r = run{ "-o", "json", "volumes", "create", "--size", "2", "--wait", "--wait-timeout", "5" }
      assert.are.equal(3, r.code, show(r))
      assert.are.equal("new-1", json(r).id)
      assert.are.same({ "wait", "new-1", { timeout = 5 } }, calls[2])
      assert.matches("did not reach status created", r.err)
    end)
  end)

  describe("update", function()
    it("sends only the fields given, to the object of that id or name", function()
      local data = json(ok(run{ "-o", "json", "ssh-keys", "update", "laptop", "--name", "desk" }))
      assert.are.equal("desk", data.name)
      assert.are.same({ { "update", "laptop", { name = "desk" } }, { "find", "laptop" },
        { "update", "k1", { name = "desk" } } }, calls)
    end)

    it("with nothing to change is a usage error, nothing sent", function()
      failed(run{ "ssh-keys", "update", "k1" }, 2, "ssh%-keys update: nothing to change: give %-%-name\n$")
      assert.are.same({}, calls)
    end)
  end)

  describe("delete", function()
    it("deletes ids and names, goes on past one that fails, and exits with the worst", function()
      local r = run{ "-o", "json", "ssh-keys", "delete", "k1", "nobody", "twin" }
      assert.are.equal(2, r.code, show(r)) -- the ambiguous name (usage) beats the 404 (api)
      local data = json(r)
      assert.are.same({ "k1" }, data.deleted)
      assert.are.equal(2, #data.failed)
      assert.are.equal(2, #store.ssh_keys)
      r = run{ "-o", "table", "ssh-keys", "delete", "k2" }
      assert.are.equal("deleted k2\n", ok(r).out)
    end)
  end)

  it("makes the client from the global flags", function()
    ok(run{ "-o", "json", "--connect-timeout", "2.5", "--max-retries", "7", "images", "list" })
    assert.are.equal(2.5, made_with.connect_timeout)
    assert.are.equal(7, made_with.max_retries)
  end)
end)
