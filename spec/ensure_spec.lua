local ensure = require "genesiscloud.service.ensure"
local errors = require "genesiscloud.errors"
local rules = require "genesiscloud.rules"
local validate = require "genesiscloud.resources.security_groups.group_checks"
local sg_plan = require "genesiscloud.resources.security_groups.plan"
local fake = require "fake_client"

-- The security-group definition with the hooks ensure reads.
local res = {
  name = "security_group", plural = "security_groups", path = "/security-groups",
  list_key = "security_groups", identity = "name",
  statuses = { ready = { "created" }, failed = { "error" }, deleting = "deleting" },
  validate = { create = validate.security_group },
  compare = sg_plan.compare,
  update_body = sg_plan.update_body,
}

local function web(extra)
  local d = { name = "web", description = "web servers", rules = { rules.ssh(), rules.https() } }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local function texts(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = rules.format(r) end
  return out
end

-- A store with 120 other groups and "web" (as given) at position 61, so
-- finding it takes more than one page.
local function store_with(web_fields)
  local client = fake.new(res):add(60)
  local existing = web_fields and client:put(web_fields)
  client:add(60)
  return client, existing
end

describe("ensure.present", function()
  it("creates a missing group", function()
    local client = store_with(nil)
    local sg, action, plan = ensure.present(client, web{ region = "NORD-NO-KRS-1" })
    assert.equal("created", action)
    assert.equal("web", sg.name)
    assert.equal(1, client:writes())
    assert.equal(1, client:count("create"))
    local sent = client.calls[#client.calls].args[1]
    assert.same({ "ingress tcp 22", "ingress tcp 443" }, texts(sent.rules))
    assert.equal("NORD-NO-KRS-1", sent.region)   -- unknown fields pass through
    assert.equal("created", plan.action)
    assert.same({ "ingress tcp 22", "ingress tcp 443" }, texts(plan.rules.add))
    assert.equal(2, client:count("list"))         -- walked every page (per_page 100)
  end)

  it("second run sends no write", function()
    local client = store_with(nil)
    assert.equal("created", select(2, ensure.present(client, web())))
    local sg, action = ensure.present(client, web())
    assert.equal("unchanged", action)
    assert.equal("web", sg.name)
    assert.equal(1, client:writes())
  end)

  it("is unchanged when rules differ only in order, duplicates and spelling of all ports", function()
    local client, existing = store_with{ name = "web", description = "web servers", rules = {
      { protocol = "tcp", direction = "ingress", port_range_min = 443.0, port_range_max = 443.0, id = "r2" },
      { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
      { protocol = "udp", direction = "egress", port_range_min = 1, port_range_max = 65535 },
    } }
    local desired = web{ rules = { rules.ssh(), rules.egress.udp(), rules.https(), rules.ssh() } }
    local sg, action, plan = ensure.present(client, desired)
    assert.equal("unchanged", action)
    assert.equal(existing.id, sg.id)
    assert.same({ add = {}, remove = {} }, plan.rules)
    assert.equal(0, client:writes())
  end)

  it("updates a changed description, sending name, description and rules", function()
    local client, existing = store_with{ name = "web", description = "old", rules = { rules.ssh(), rules.https() } }
    local sg, action, plan = ensure.present(client, web())
    assert.equal("updated", action)
    assert.equal("web servers", sg.description)
    assert.equal(1, client:writes())
    local call = client.calls[#client.calls]
    assert.equal("update", call.op)
    assert.equal(existing.id, call.args[1])
    assert.same({ "description", "name", "rules" }, (function()
      local keys = {}
      for k in pairs(call.args[2]) do keys[#keys + 1] = k end
      table.sort(keys)
      return keys
    end)())
    assert.same({ from = "old", to = "web servers" }, plan.changes.description)
    assert.same({ add = {}, remove = {} }, plan.rules)
  end)

  it("updates changed rules and reports the diff", function()
    local client, existing = store_with{ name = "web", description = "web servers",
                                         rules = { rules.ssh(), rules.http() } }
    local sg, action, plan = ensure.present(client, web())
    assert.equal("updated", action)
    assert.equal(existing.id, plan.id)
    assert.same({ "ingress tcp 443" }, texts(plan.rules.add))
    assert.same({ "ingress tcp 80" }, texts(plan.rules.remove))
    assert.is_nil(plan.changes.description)
    assert.same({ "ingress tcp 22", "ingress tcp 443" }, texts(sg.rules))
    assert.equal(1, client:count("update"))
  end)

  it("leaves a description it was not given alone", function()
    local client = store_with{ name = "web", description = "kept", rules = { rules.ssh() } }
    local desired = { name = "web", rules = { rules.ssh(), rules.ping() } }
    local sg, action = ensure.present(client, desired)
    assert.equal("updated", action)
    assert.equal("kept", sg.description)
    assert.equal("kept", client.calls[#client.calls].args[2].description)
    client.calls = {}
    assert.equal("unchanged", select(2, ensure.present(client, desired)))
    assert.equal(0, client:writes())
  end)

  it("treats a missing description as equal to an empty one", function()
    local client = store_with{ name = "web", rules = { rules.ssh() } }
    local desired = { name = "web", description = "", rules = { rules.ssh() } }
    assert.equal("unchanged", select(2, ensure.present(client, desired)))
    assert.equal(0, client:writes())
  end)

  describe("dry_run", function()
    it("plans a create without writing", function()
      local client = store_with(nil)
      local plan, action = ensure.present(client, web(), { dry_run = true })
      assert.equal("created", action)
      assert.equal("created", plan.action)
      assert.is_true(plan.dry_run)
      assert.is_nil(plan.id)
      assert.same({ from = nil, to = "web servers" }, plan.changes.description)
      assert.same({ "ingress tcp 22", "ingress tcp 443" }, texts(plan.rules.add))
      assert.same({}, plan.rules.remove)
      assert.equal(0, client:writes())
    end)

    it("plans an update without writing (dry_run inside desired)", function()
      local client, existing = store_with{ name = "web", description = "old", rules = { rules.ssh(), rules.ping() } }
      local plan, action = ensure.present(client, web{ dry_run = true })
      assert.equal("updated", action)
      assert.equal(existing.id, plan.id)
      assert.equal("web", plan.name)
      assert.same({ from = "old", to = "web servers" }, plan.changes.description)
      assert.same({ "ingress tcp 443" }, texts(plan.rules.add))
      assert.same({ "ingress icmp" }, texts(plan.rules.remove))
      assert.equal(0, client:writes())
      assert.equal("old", client.objects[existing.id].description)
    end)

    it("plans nothing for an unchanged group", function()
      local client, existing = store_with{ name = "web", description = "web servers",
                                           rules = { rules.https(), rules.ssh() } }
      local plan, action = ensure.present(client, web(), { dry_run = true })
      assert.equal("unchanged", action)
      assert.equal(existing.id, plan.id)
      assert.same({}, plan.changes)
      assert.same({ add = {}, remove = {} }, plan.rules)
      assert.equal(0, client:writes())
    end)
  end)

  it("validates first and sends nothing on a bad spec", function()
    local client = store_with(nil)
    client.calls = {}
    local too_high = { protocol = "tcp", direction = "ingress", port_range_min = 1, port_range_max = 70000 }
    local sg, err = ensure.present(client, web{ rules = { rules.ssh(), too_high } })
    assert.is_nil(sg)
    assert.equal("validation", err.kind)
    assert.equal("rules[2].port_range_max", err.field)
    sg, err = ensure.present(client, web{ name = "default", dry_run = true })
    assert.is_nil(sg)
    assert.equal("name", err.field)
    assert.equal(0, client:count())
  end)

  it("refuses to guess between two groups with the same name", function()
    local client = fake.new(res):add(3)
    local a = client:put(web())
    client:add(150)
    local b = client:put(web{ description = "other" })
    local sg, err = ensure.present(client, web())
    assert.is_nil(sg)
    assert.is_true(errors.is(err))
    assert.equal("conflict", err.kind)
    assert.same({ a.id, b.id }, err.ids)
    assert.truthy(err.message:find(a.id, 1, true))
    assert.truthy(err.message:find(b.id, 1, true))
    assert.truthy(err.message:find('"web"', 1, true))
    assert.equal(0, client:writes())
  end)

  it("returns list, create and update errors", function()
    local boom = errors.new{ kind = "api", status = 500, message = "oops" }
    local client = store_with(nil)
    client.fail = function(op) if op == "list" then return boom end end
    local _, err = ensure.present(client, web())
    assert.equal(boom, err)
    client.fail = function(op) if op == "create" then return boom end end
    _, err = ensure.present(client, web())
    assert.equal(boom, err)
    client = store_with{ name = "web", rules = { rules.ssh() } }
    client.fail = function(op) if op == "update" then return boom end end
    _, err = ensure.present(client, web())
    assert.equal(boom, err)
  end)

  it("waits for the status when asked", function()
    local client = store_with(nil)
    client.create_status = "creating"
    client.scripted["sg-0121"] = { "creating", "created" }
    local clock = fake.clock()
    local sg, action = ensure.present(client, web(), { wait = { now = clock.now, sleep = clock.sleep } })
    assert.equal("created", action)
    assert.equal("created", sg.status)
    assert.equal(2, client:count("get"))
    assert.same({ 2 }, clock.sleeps)
  end)

  it("compares every given field when the resource has no compare hook", function()
    local plain_res = { name = "security_group", plural = "security_groups", path = "/x",
      list_key = "security_groups", identity = "name" }
    local client = fake.new(plain_res)
    client:put{ name = "k", size = 10, tags = { "a" } }
    assert.equal("unchanged", select(2, ensure.present(client, { name = "k", size = 10, tags = { "a" } })))
    local _, action, plan = ensure.present(client, { name = "k", size = 20 })
    assert.equal("updated", action)
    assert.same({ from = 10, to = 20 }, plan.changes.size)
    assert.same({ name = "k", size = 20 }, client.calls[#client.calls].args[2])
  end)
end)

describe("ensure.absent", function()
  it("deletes the named group", function()
    local client, existing = store_with(web())
    local ok, action = ensure.absent(client, { name = "web" })
    assert.is_true(ok)
    assert.equal("deleted", action)
    assert.equal(1, client:count("delete"))
    assert.equal(existing.id, client.calls[#client.calls].args[1])
    assert.is_nil(client.objects[existing.id])
  end)

  it("reports absent without writing, also on a second run", function()
    local client = store_with(web())
    assert.equal("deleted", select(2, ensure.absent(client, web())))
    local ok, action = ensure.absent(client, web())
    assert.is_true(ok)
    assert.equal("absent", action)
    assert.equal(1, client:writes())
  end)

  it("plans without writing on dry_run", function()
    local client, existing = store_with(web())
    local plan, action = ensure.absent(client, { name = "web", dry_run = true })
    assert.equal("deleted", action)
    assert.equal(existing.id, plan.id)
    assert.is_true(plan.dry_run)
    plan, action = ensure.absent(client, { name = "nope" }, { dry_run = true })
    assert.equal("absent", action)
    assert.is_nil(plan.id)
    assert.equal(0, client:writes())
  end)

  it("counts a group deleted meanwhile (404 on delete) as absent", function()
    local client = store_with(web())
    client.fail = function(op, call)
      if op == "delete" then
        client:_forget(call.args[1])
        return errors.new{ kind = "api", status = 404, message = "gone" }
      end
    end
    local ok, action = ensure.absent(client, { name = "web" })
    assert.is_true(ok)
    assert.equal("absent", action)
  end)

  it("returns other delete errors", function()
    local client = store_with(web())
    local boom = errors.new{ kind = "api", status = 409, message = "in use" }
    client.fail = function(op) if op == "delete" then return boom end end
    local ok, err = ensure.absent(client, { name = "web" })
    assert.is_nil(ok)
    assert.equal(boom, err)
  end)

  it("refuses two groups with the same name", function()
    local client = fake.new(res)
    local a, b = client:put(web()), client:put(web())
    local ok, err = ensure.absent(client, { name = "web" })
    assert.is_nil(ok)
    assert.equal("conflict", err.kind)
    assert.same({ a.id, b.id }, err.ids)
    assert.equal(0, client:writes())
  end)

  it("needs a name", function()
    local client = fake.new(res)
    local ok, err = ensure.absent(client, {})
    assert.is_nil(ok)
    assert.equal("validation", err.kind)
    assert.equal("name", err.field)
    ok, err = ensure.absent(client, "web")
    assert.is_nil(ok)
    assert.equal("usage", err.kind)
    assert.equal(0, client:count())
  end)

  it("waits for the deletion when asked", function()
    local client, existing = store_with(web())
    client.delete_keeps = true
    client.scripted[existing.id] = { "deleting", 404 }
    local clock = fake.clock()
    local ok, action = ensure.absent(client, { name = "web", wait = { now = clock.now, sleep = clock.sleep } })
    assert.is_true(ok)
    assert.equal("deleted", action)
    assert.equal(2, client:count("get"))
  end)
end)

describe("ensure and a server answer it cannot use", function()
  -- The group the list returns is not a group's shape: ensure returns a
  -- decode error object and writes nothing, never raising from rules.lua.
  local cases = {
    { "rules a number", { rules = 5 } },
    { "rules a string", { rules = "ingress tcp 22" } },
    { "a rule a number", { rules = { 5 } } },
    { "a rule a string", { rules = { "x" } } },
    { "rules with a name key", { rules = { bad = {} } } },
    { "description a table", { description = {} } },
  }
  for _, case in ipairs(cases) do
    it("answers a decode error when " .. case[1], function()
      local fields = { name = "web", rules = { rules.ssh() } }
      for k, v in pairs(case[2]) do fields[k] = v end
      local client = store_with(fields)
      local obj, err = ensure.present(client, web())
      assert.is_nil(obj)
      assert.is_true(errors.is(err))
      assert.equal("decode", err.kind)
      assert.matches("cannot be compared", err.message)
      assert.equal(0, client:writes())
    end)
  end

  it("answers a decode error for a found group without an id", function()
    local client = store_with(web())
    for _, obj in pairs(client.objects) do
      if obj.name == "web" then obj.id = nil end
    end
    -- the fake looks objects up by its own key; the list shows the object
    local obj, err = ensure.absent(client, { name = "web" })
    assert.is_nil(obj)
    assert.equal("decode", err.kind)
    assert.matches("but no id", err.message)
    assert.equal(0, client:writes())
  end)
end)

describe("ensure options", function()
  it("refuses an unknown option before anything is read or written", function()
    local client = store_with(nil)
    local obj, err = ensure.present(client, web(), { dryrun = true })
    assert.is_nil(obj)
    assert.equal("usage", err.kind)
    assert.equal("ensure_security_group: unknown option 'dryrun' (did you mean 'dry_run'?)", err.message)
    obj, err = ensure.absent(client, { name = "web" }, { wait = { timout = 1 } })
    assert.is_nil(obj)
    assert.matches("unknown option 'timout' %(did you mean 'timeout'%?%)", err.message)
    assert.equal(0, client:count())
  end)

  it("reads dry_run and wait inside desired too, and checks their values", function()
    local client = store_with(nil)
    local _, err = ensure.present(client, web{ dry_run = "yes" })
    assert.equal("usage", err.kind)
    _, err = ensure.present(client, web{ wait = 5 })
    assert.equal("usage", err.kind)
    assert.equal(0, client:count())
  end)

  it("validates and sends a plain copy: a spec read through __index is refused", function()
    local client = store_with(nil)
    local obj, err = ensure.present(client, setmetatable({}, { __index = web() }))
    assert.is_nil(obj)
    assert.equal("validation", err.kind)
    assert.equal(0, client:count())
  end)
end)
