-- ensure for any resource that can be compared, driven by its definition
-- only: a test-only resource "gadgets" (shaped like an instance: fields the
-- server does not echo, references echoed as objects, fields that cannot
-- change) registered on one client, against the canned server
-- spec/resources/status_server.lua.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local fake = require "fake_client"

local function gadgets(extra)
  local def = {
    name = "gadget", plural = "gadgets", path = "/gadgets", list_key = "gadgets", envelope = "gadget",
    operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
    update_method = "PATCH",
    identity = "name",
    statuses = { ready = { "active" }, failed = { "error" }, deleting = "deleting",
      aliases = { terminating = "deleting" } },
    immutable = { "type", "image", "region" },
    fields = {
      name = { type = "string", required = true },
      size = { type = "integer" },
      description = { type = "string" },
      type = { type = "string", required = true },
      region = { type = "string", required = true },
      image = { type = "string", required = true, reference = true },
      security_groups = { type = "array", reference = true },
      password = { type = "string", write_only = true, create_only = true },
      serial = { type = "string", create_only = true },
    },
  }
  for k, v in pairs(extra or {}) do def[k] = v end
  return def
end

local function box(extra)
  local spec = { name = "box", type = "small", region = "R1", image = "img-1", size = 10,
    password = "s3cret-Pass", security_groups = { "sg-1", "sg-2" } }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return spec
end

describe("ensure for any resource", function()
  local server, c, clock

  local function requests()
    return assert(c:request("GET", "/_log"))
  end

  -- The requests that write (anything but GET).
  local function writes()
    local out = {}
    for _, line in ipairs(requests()) do
      if not line:match("^GET ") then out[#out + 1] = line end
    end
    return out
  end

  setup(function()
    server = helper.spawn("lua5.4 spec/resources/status_server.lua", "^http://")
  end)
  teardown(function()
    if server then server.stop() end
  end)
  before_each(function()
    clock = fake.clock()
    c = assert(genesiscloud.new{ token = "t", endpoint = server.line .. "/compute/v1", max_retries = 0,
      now = clock.now, sleep = clock.sleep })
    assert(c:register(gadgets()))
    assert(c:request("POST", "/_reset", { expect = 204 }))
  end)
  after_each(function() c:close() end)

  it("creates, then finds nothing to change (write-only fields and references compared as echoed)", function()
    local g, action, plan = assert(c.gadgets:ensure(box()))
    assert.are.equal("created", action)
    assert.are.equal("created", plan.action)
    assert.are.equal("g-1", g.id)
    assert.are.same({ id = "img-1", name = "image img-1" }, g.image)   -- echoed as an object
    assert.is_nil(g.password)                                          -- never echoed
    assert.are.equal(1, #writes())
    -- the same spec again, the groups in another order: nothing to write
    local again, action2, plan2 = assert(c:ensure_gadget(box{ security_groups = { "sg-2", "sg-1" } }))
    assert.are.equal("unchanged", action2)
    assert.are.equal("g-1", again.id)
    assert.are.same({}, plan2.changes)
    assert.are.equal(1, #writes())
  end)

  it("updates what differs, sending only fields that can change and are echoed", function()
    assert(c.gadgets:ensure(box()))
    local g, action, plan = assert(c.gadgets:ensure(box{ size = 20, security_groups = { "sg-1" },
      password = "another-Pass1" }))
    assert.are.equal("updated", action)
    assert.are.equal(20, g.size)
    assert.are.same({ from = 10, to = 20 }, plan.changes.size)
    assert.are.same({ "sg-1" }, plan.changes.security_groups.to)
    assert.is_nil(plan.changes.password)
    local sent = writes()
    assert.are.equal(2, #sent)
    local body = require("genesiscloud.json").decode(sent[2]:match("^PATCH /compute/v1/gadgets/g%-1 (.*)$"))
    assert.are.same({ name = "box", size = 20, security_groups = { "sg-1" } }, body)
  end)

  it("plans without writing on dry_run", function()
    local plan, action = assert(c.gadgets:ensure(box(), { dry_run = true }))
    assert.are.equal("created", action)
    assert.is_true(plan.dry_run)
    assert.are.equal("box", plan.name)
    assert(c.gadgets:ensure(box()))
    plan, action = assert(c.gadgets:ensure(box{ description = "new", dry_run = true }))
    assert.are.equal("updated", action)
    assert.are.equal("g-1", plan.id)
    assert.are.same({ description = { to = "new" } }, plan.changes)
    plan, action = assert(c.gadgets:ensure(box(), { dry_run = true }))
    assert.are.equal("unchanged", action)
    assert.are.same({}, plan.changes)
    assert.are.equal(1, #writes())
  end)

  it("refuses a change of an immutable field with a conflict naming the fields and both values", function()
    assert(c.gadgets:ensure(box()))
    local before = #requests()
    for _, dry in ipairs{ false, true } do
      local g, err = c.gadgets:ensure(box{ type = "large", image = "img-2", size = 99, dry_run = dry })
      assert.is_nil(g)
      assert.are.equal("conflict", err.kind)
      assert.are.same({ "image", "type" }, err.fields)
      assert.are.equal("g-1", err.id)
      assert.are.same({ from = "small", to = "large" }, err.changes.type)
      assert.are.equal("img-2", err.changes.image.to)
      assert.matches('gadget name "box" (id g-1) cannot be changed where it differs', err.message, 1, true)
      assert.matches('type is "small", wanted "large"', err.message, 1, true)
      assert.matches('wanted "img-2"', err.message, 1, true)
      assert.matches("ensure will not replace it", err.message, 1, true)
    end
    assert.are.equal(1, #writes())
    assert.are.equal(before + 2, #requests()) -- one list each, nothing else
  end)

  it("treats a create-only field as immutable, and compares no immutable field the server does not echo", function()
    assert(c:request("POST", "/_put", { body = { id = "old", name = "box", type = "small", image = { id = "img-1" },
      size = 10, serial = "A", security_groups = {}, status = "active" }, expect = 201 }))
    local _, err = c.gadgets:ensure(box{ serial = "B", security_groups = {} })
    assert.are.equal("conflict", err.kind)
    assert.are.same({ "serial" }, err.fields)
    -- no region on the server: it cannot be compared, so it is no conflict
    local g, action = assert(c.gadgets:ensure(box{ serial = "A", security_groups = {}, region = "R9" }))
    assert.are.equal("old", g.id)
    assert.are.equal("unchanged", action)
  end)

  it("waits for the ready status when asked", function()
    assert(c:request("POST", "/_script/g-1", { body = { statuses = { "creating", "enqueued", "active" } },
      expect = 204 }))
    local g, action = assert(c.gadgets:ensure(box(), { wait = { interval = 1 } }))
    assert.are.equal("created", action)
    assert.are.equal("active", g.status)
    assert.are.same({ 1, 1.5 }, clock.sleeps)
  end)

  it("takes an object on its way out (an alias of deleting) for absent", function()
    assert(c:request("POST", "/_put", { body = { id = "old", name = "box", status = "terminating" }, expect = 201 }))
    local g, action = assert(c.gadgets:ensure(box()))
    assert.are.equal("created", action)
    assert.are.equal("g-1", g.id)
    local ok, absent = assert(c.gadgets:ensure_absent{ name = "box" })
    assert.is_true(ok)
    assert.are.equal("deleted", absent)
    assert.are.equal("absent", select(2, assert(c.gadgets:ensure_absent{ name = "box" })))
  end)

  it("validates the spec from the definition's fields before any request", function()
    local _, err = c.gadgets:ensure(box{ size = "ten" })
    assert.are.equal("validation", err.kind)
    assert.are.equal("size", err.field)
    _, err = c.gadgets:ensure(box{ colour = "red" })
    assert.are.equal("validation", err.kind)
    _, err = c.gadgets:ensure(box{ type = false })
    assert.are.equal("validation", err.kind)
    assert.are.same({}, requests())
  end)

  it("needs an identity: without one there is no ensure, and the loop refuses to guess", function()
    local def = gadgets{ plural = "anonymous", name = "anonymous" }
    def.identity = nil
    local svc = assert(c:register(def))
    assert.is_nil(svc.ensure)
    assert.is_nil(c.ensure_anonymous)
    local ensure = require "genesiscloud.service.ensure"
    local _, err = ensure.present({ def = def }, box())
    assert.are.equal("usage", err.kind)
    assert.matches("has no identity", err.message, 1, true)
  end)

  it("keeps a definition's own compare and update body", function()
    local seen = {}
    local svc = assert(c:register(gadgets{ plural = "custom", name = "custom", path = "/gadgets",
      compare = function(current, desired)
        seen[#seen + 1] = current and current.id or false
        return current ~= nil and current.size ~= desired.size, { changes = {}, note = "mine" }
      end,
      update_body = function(_, desired) return { size = desired.size } end }))
    local _, action, plan = assert(svc:ensure(box()))
    assert.are.equal("created", action)
    assert.are.equal("mine", plan.note)
    _, action = assert(svc:ensure(box{ size = 11 }))
    assert.are.equal("updated", action)
    assert.are.same({ false, "g-1" }, seen)
    assert.matches('^PATCH /compute/v1/gadgets/g%-1 {"size":11}$', writes()[2])
  end)
end)
