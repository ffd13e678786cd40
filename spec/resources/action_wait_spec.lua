-- Waiting after an action and status vocabularies, driven by definition
-- data only: a test-only resource "gadgets" registered on one client,
-- against the canned server spec/resources/status_server.lua whose GETs
-- answer the statuses a spec scripts. The client runs on a fake clock
-- (its `now` and `sleep` options), which the waits use too.
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
      -- names of the 2023-07 vocabulary, read as today's
      aliases = { shutoff = "stopped", restarting = "resetting", enqueued = "creating" } },
    actions = { path = "/gadgets/{id}/actions",
      names = { start = { to = "active" }, stop = { to = { "stopped", "shutoff" } }, reset = { to = "active" },
        poke = {} } },
  }
  for k, v in pairs(extra or {}) do def[k] = v end
  return def
end

describe("waiting after an action", function()
  local server, c, clock

  local function new(opts, def)
    clock = fake.clock()
    local o = { token = "t", endpoint = server.line .. "/compute/v1", max_retries = 0,
      now = clock.now, sleep = clock.sleep }
    for k, v in pairs(opts or {}) do o[k] = v end
    local client = assert(genesiscloud.new(o))
    assert(client:register(def or gadgets()))
    return client
  end

  -- A gadget `id` whose GETs answer `statuses` in turn (the last one stays).
  local function script(id, statuses)
    assert(c:request("POST", "/_put", { body = { id = id, name = id, status = statuses[1] }, expect = 201 }))
    assert(c:request("POST", "/_script/" .. id, { body = { statuses = statuses }, expect = 204 }))
  end

  local function requests()
    return assert(c:request("GET", "/_log"))
  end

  setup(function()
    server = helper.spawn("lua5.4 spec/resources/status_server.lua", "^http://")
  end)
  teardown(function()
    if server then server.stop() end
  end)
  before_each(function()
    c = new()
    assert(c:request("POST", "/_reset", { expect = 204 }))
  end)
  after_each(function() c:close() end)

  it("reads the status, sends the action, sees the status leave it, then reach the target", function()
    script("g1", { "stopped", "stopped", "starting", "active" })
    local g = assert(c.gadgets:start("g1", { wait = true }))
    assert.are.equal("active", g.status)
    assert.are.equal("g1", g.id)
    assert.are.same({
      "GET /compute/v1/gadgets/g1",
      'POST /compute/v1/gadgets/g1/actions {"action":"start"}',
      "GET /compute/v1/gadgets/g1", "GET /compute/v1/gadgets/g1", "GET /compute/v1/gadgets/g1",
    }, requests())
    assert.are.same({ 2, 3 }, clock.sleeps) -- the client's sleep, first poll at once
  end)

  it("returns at the first poll when the server was done before it (the status read before counts)", function()
    -- Taking the first poll as the old status would wait for "active" to
    -- change, forever.
    script("g1", { "stopped", "active" })
    local g = assert(c:start_gadget("g1", { wait = true }))
    assert.are.equal("active", g.status)
    assert.are.equal(3, #requests())
    assert.are.same({}, clock.sleeps)
  end)

  it("reset (active -> active) returns only after another status was seen in between", function()
    script("g1", { "active", "active", "resetting", "active" })
    local g = assert(c.gadgets:reset("g1", { wait = { interval = 1 } }))
    assert.are.equal("active", g.status)
    assert.are.equal(5, #requests()) -- a plain wait for "active" would have stopped at the first poll
    assert.are.same({ 1, 1.5 }, clock.sleeps)
  end)

  it("a reset never seen to leave its status times out, naming the last status and why", function()
    script("g1", { "active" })
    local g, err = c.gadgets:reset("g1", { wait = { timeout = 10, interval = 2 } })
    assert.is_nil(g)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("reset", err.action)
    assert.are.equal("active", err.last_status)
    assert.are.equal("active", err.from)
    assert.is_false(err.left)
    assert.matches('gadget g1 did not reach status active after reset within 10 s (last status "active";'
      .. ' it never left "active"', err.message, 1, true)
  end)

  it("stop reaches either of its targets; an old status name counts as its new one", function()
    script("g1", { "active", "stopping", "shutoff" })
    local g = assert(c.gadgets:stop("g1", { wait = true }))
    assert.are.equal("shutoff", g.status) -- the raw status, as the server said it
    -- "shutoff" read as "stopped": the start has not begun while either shows
    script("g2", { "shutoff", "stopped", "shutoff", "starting", "active" })
    clock.sleeps = {}
    g = assert(c.gadgets:start("g2", { wait = { interval = 1 } }))
    assert.are.equal("active", g.status)
    assert.are.same({ 1, 1.5, 2.25 }, clock.sleeps)
  end)

  it("a failure status after the status left is an error naming it and the action", function()
    script("g1", { "stopped", "starting", "error" })
    local g, err = c.gadgets:start("g1", { wait = true })
    assert.is_nil(g)
    assert.are.equal("resource_error", err.kind)
    assert.are.equal("error", err.last_status)
    assert.are.equal("start", err.action)
    assert.are.equal("stopped", err.from)
    assert.are.equal("g1", err.resource.id)
    assert.matches('gadget g1 went into status "error" after start while waiting for active', err.message, 1, true)
  end)

  it("the failure status the object started in is not the action's outcome", function()
    script("g1", { "error", "error", "stopping", "stopped" })
    local g = assert(c.gadgets:stop("g1", { wait = true }))
    assert.are.equal("stopped", g.status)
  end)

  it("an unknown status is passed through: never an error by itself, named by the timeout", function()
    script("g1", { "stopped", "warming_up" })
    local g, err = c.gadgets:start("g1", { wait = { timeout = 5 } })
    assert.is_nil(g)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("warming_up", err.last_status)
    assert.is_true(err.left)
    assert.matches('last status "warming_up"', err.message, 1, true)
    assert.is_nil(err.message:find("never left", 1, true))
    script("g2", { "stopped", "warming_up", "active" })
    assert.are.equal("active", assert(c.gadgets:start("g2", { wait = true })).status)
  end)

  it("sends nothing when the status cannot be read first", function()
    local g, err = c.gadgets:start("missing", { wait = true })
    assert.is_nil(g)
    assert.are.equal("api", err.kind)
    assert.are.equal(404, err.status)
    assert.matches("nothing was sent: reading the gadget before the start failed", err.message, 1, true)
    assert.are.same({ "GET /compute/v1/gadgets/missing" }, requests())
  end)

  it("returns the action's own error as it came, and polls no more", function()
    script("conflict", { "active" })
    local g, err = c.gadgets:stop("conflict", { wait = true })
    assert.is_nil(g)
    assert.are.equal(409, err.status)
    assert.are.equal(2, #requests())
  end)

  it("waits for the status given in the options, which an action without a target needs", function()
    script("g1", { "active" })
    local g, err = c.gadgets:poke("g1", { wait = true })
    assert.is_nil(g)
    assert.are.equal("usage", err.kind)
    assert.matches("gadgets:poke: the action poke has no target status", err.message, 1, true)
    assert.are.same({}, requests())
    script("g2", { "active", "poked" })
    assert.are.equal("poked", assert(c.gadgets:poke("g2", { wait = { status = "poked" } })).status)
    script("g3", { "stopped", "starting", "active" })
    g, err = c.gadgets:start("g3", { wait = { status = "starting" } })
    assert.are.equal("starting", g and g.status, err)
  end)

  it("without wait sends the action only and returns true", function()
    script("g1", { "stopped" })
    assert.is_true(assert(c.gadgets:start("g1")))
    assert.is_true(assert(c.gadgets:start("g1", { wait = false })))
    assert.are.equal(2, #requests())
  end)

  it("refuses bad wait options before any request", function()
    script("g1", { "stopped" })
    for _, opts in ipairs{ { wait = { timout = 1 } }, { wait = "yes" }, { wait = { interval = 0 } },
        { wait = { status = 5 } }, { waits = true } } do
      local g, err = c.gadgets:start("g1", opts)
      assert.is_nil(g)
      assert.are.equal("usage", err.kind)
    end
    assert.are.same({}, requests())
  end)

  it("has no wait on actions of a resource without statuses or without get", function()
    for i, change in ipairs{ { statuses = false }, { operations = { list = {} } } } do
      local def = gadgets{ plural = "things" .. i, name = "thing" .. i }
      for k, v in pairs(change) do def[k] = v or nil end
      local svc = assert(c:register(def))
      local _, err = svc:start("g1", { wait = true })
      assert.are.equal("usage", err.kind)
      assert.matches("unknown option 'wait'", err.message, 1, true)
    end
    assert.are.same({}, requests())
  end)

  it("raises its errors in raise mode", function()
    local r = new{ errors = "raise" }
    script("g1", { "stopped", "starting", "error" })
    local ok, err = pcall(r.gadgets.start, r.gadgets, "g1", { wait = true })
    assert.is_false(ok)
    local line = 'genesiscloud: resource_error: gadget g1 went into status "error" after start while waiting for active'
    -- the error object, or on PUC Lua 5.1 its one line (errors.raises_strings)
    if genesiscloud.errors.raises_strings then
      assert.are.equal(line, err)
    else
      assert.are.equal("resource_error", err.kind)
      assert.are.equal(line, tostring(err))
    end
    r:close()
  end)
end)

describe("status vocabularies in waits", function()
  local server, c, clock

  local function script(id, statuses)
    assert(c:request("POST", "/_put", { body = { id = id, name = id, status = statuses[1] }, expect = 201 }))
    assert(c:request("POST", "/_script/" .. id, { body = { statuses = statuses }, expect = 204 }))
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
  end)
  after_each(function() c:close() end)

  it("reads an aliased status as its new name, in what it sees and in what it is asked", function()
    script("g1", { "enqueued", "shutoff" })
    local g = assert(c.gadgets:wait("g1", { status = "stopped" }))
    assert.are.equal("shutoff", g.status)
    script("g2", { "stopped" })
    assert.are.equal("stopped", assert(c:wait_for_gadget("g2", { status = "shutoff" })).status)
    script("g3", { "creating", "enqueued", "active" })
    assert.are.equal("active", assert(c.gadgets:wait("g3")).status)
  end)

  it("reads failure statuses through the aliases too", function()
    local svc = assert(c:register(gadgets{ plural = "failing", name = "failing",
      statuses = { ready = { "active" }, failed = { "error" }, aliases = { failure = "error" } } }))
    script("g1", { "creating", "failure" })
    local _, err = svc:wait("g1")
    assert.are.equal("resource_error", err.kind)
    assert.are.equal("failure", err.last_status)
    assert.matches('status "failure" (read as "error")', err.message, 1, true)
  end)

  it("passes an unknown status through and names it when time runs out", function()
    script("g1", { "creating", "quantum", "quantum" })
    local _, err = c.gadgets:wait("g1", { timeout = 4 })
    assert.are.equal("timeout", err.kind)
    assert.are.equal("quantum", err.last_status)
    assert.matches('last status "quantum"', err.message, 1, true)
    script("g2", { "quantum", "active" })
    assert.are.equal("active", assert(c.gadgets:wait("g2")).status)
  end)

  it("assumes no status the definition does not name", function()
    -- no failed statuses: "error" is a status like any other
    local svc = assert(c:register(gadgets{ plural = "plain", name = "plain", statuses = { ready = { "active" } } }))
    script("g1", { "error", "active" })
    assert.are.equal("active", assert(svc:wait("g1")).status)
    -- no ready status: a wait must be told what to wait for
    svc = assert(c:register(gadgets{ plural = "unready", name = "unready", statuses = { failed = { "error" } } }))
    local _, err = svc:wait("g1")
    assert.are.equal("usage", err.kind)
    assert.matches("the unready has no ready status", err.message, 1, true)
    assert.are.equal("active", assert(svc:wait("g1", { status = "active" })).status)
    -- no deleting status: nothing counts as on its way out
    local wait = require "genesiscloud.service.wait"
    assert.is_false(wait.is_leaving({ statuses = { ready = { "a" } } }, { status = "deleting" }))
    assert.is_true(wait.is_leaving({ statuses = { deleting = { "deleting", "terminating" } } },
      { status = "terminating" }))
    assert.is_true(wait.is_leaving({ statuses = { deleting = "deleting", aliases = { gone = "deleting" } } },
      { status = "gone" }))
  end)

  it("waits on the client's clock", function()
    script("g1", { "creating", "creating", "active" })
    assert(c.gadgets:wait("g1", { interval = 4 }))
    assert.are.same({ 4, 6 }, clock.sleeps)
  end)
end)
