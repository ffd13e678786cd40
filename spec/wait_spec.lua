local wait = require "genesiscloud.service.wait"
local errors = require "genesiscloud.errors"
local fake = require "fake_client"

local res = fake.res

-- A client holding one group "sg-0001" whose gets answer `statuses` in turn.
local function setup(statuses)
  local client = fake.new(res)
  client:put{ name = "web", status = "enqueued", rules = {} }
  client.scripted["sg-0001"] = statuses
  local clock = fake.clock()
  return client, clock
end

local function opts(clock, extra)
  local o = { now = clock.now, sleep = clock.sleep }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("wait.for_status", function()
  it("returns the object once the status is reached", function()
    local client, clock = setup{ "enqueued", "creating", "creating", "created" }
    local sg, err = wait.for_status(client, "sg-0001", opts(clock, { status = "created", interval = 2 }))
    assert.is_nil(err)
    assert.equal("created", sg.status)
    assert.equal("sg-0001", sg.id)
    assert.equal(4, client:count("get"))
    assert.same({ 2, 3, 4.5 }, clock.sleeps)   -- x1.5 each time
  end)

  it("does not sleep when the status is already there", function()
    local client, clock = setup{ "created" }
    assert.is_table(wait.for_status(client, "sg-0001", opts(clock)))
    assert.same({}, clock.sleeps)
  end)

  it("defaults to the definition's ready statuses and accepts a list of statuses", function()
    local client, clock = setup{ "creating", "created" }
    assert.equal("created", wait.for_status(client, "sg-0001", opts(clock)).status)
    client.scripted["sg-0001"] = { "creating", "updating", "active" }
    local sg = wait.for_status(client, "sg-0001", opts(clock, { status = { "active", "created" } }))
    assert.equal("active", sg.status)
    client.def = { name = "security_group", plural = "security_groups", statuses = { ready = { "active" } } }
    client.scripted["sg-0001"] = { "created", "active" }
    assert.equal("active", wait.for_status(client, "sg-0001", opts(clock)).status)
  end)

  it("grows intervals up to the cap", function()
    local statuses = {}
    for i = 1, 12 do statuses[i] = "creating" end
    statuses[13] = "created"
    local client, clock = setup(statuses)
    assert.is_table(wait.for_status(client, "sg-0001",
      opts(clock, { interval = 1, max_interval = 5, timeout = 1000 })))
    assert.same({ 1, 1.5, 2.25, 3.375, 5, 5, 5, 5, 5, 5, 5, 5 }, clock.sleeps)
    for i = 2, #clock.sleeps do assert.is_true(clock.sleeps[i] >= clock.sleeps[i - 1]) end
  end)

  it("ends with resource_error on status error", function()
    local client, clock = setup{ "creating", "error", "created" }
    local sg, err = wait.for_status(client, "sg-0001", opts(clock))
    assert.is_nil(sg)
    assert.is_true(errors.is(err))
    assert.equal("resource_error", err.kind)
    assert.equal("error", err.last_status)
    assert.equal("sg-0001", err.id)
    assert.equal("sg-0001", err.resource.id)
    assert.truthy(tostring(err):find('"error"', 1, true))
    assert.equal(2, client:count("get"))
  end)

  it("takes error statuses from the definition's failed statuses or opts", function()
    local client, clock = setup{ "creating", "failed" }
    client.def = { name = "security_group", plural = "security_groups",
      statuses = { ready = { "created" }, failed = { "failed" } } }
    local _, err = wait.for_status(client, "sg-0001", opts(clock))
    assert.equal("resource_error", err.kind)
    client.scripted["sg-0001"] = { "broken" }
    _, err = wait.for_status(client, "sg-0001", opts(clock, { error_statuses = { "broken" } }))
    assert.equal("broken", err.last_status)
  end)

  it("ends with the API error on 404", function()
    local client, clock = setup{ "creating", 404 }
    local sg, err = wait.for_status(client, "sg-0001", opts(clock))
    assert.is_nil(sg)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal(2, client:count("get"))
  end)

  it("ends with any other error as it came", function()
    local client, clock = setup{ "creating" }
    local boom = errors.new{ kind = "transport", message = "reset" }
    client.fail = function(_, _, n) if n == 2 then return boom end end
    local _, err = wait.for_status(client, "sg-0001", opts(clock))
    assert.equal(boom, err)
  end)

  it("times out with the last status seen, polling once more at the deadline", function()
    local statuses = {}
    for i = 1, 50 do statuses[i] = "creating" end
    local client, clock = setup(statuses)
    local start = clock.now()
    local sg, err = wait.for_status(client, "sg-0001", opts(clock, { timeout = 10, interval = 2 }))
    assert.is_nil(sg)
    assert.equal("timeout", err.kind)
    assert.equal("creating", err.last_status)
    assert.equal("created", err.wanted)
    assert.truthy(err.message:find('last status "creating"', 1, true))
    assert.truthy(err.message:find("10 s", 1, true))
    assert.same({ 2, 3, 4.5, 0.5 }, clock.sleeps)  -- the last sleep is cut to the deadline
    assert.equal(start + 10, clock.now())
    assert.equal(5, client:count("get"))
  end)

  it("with timeout 0 looks once", function()
    local client, clock = setup{ "creating" }
    local _, err = wait.for_status(client, "sg-0001", opts(clock, { timeout = 0 }))
    assert.equal("timeout", err.kind)
    assert.equal(1, client:count("get"))
    assert.same({}, clock.sleeps)
  end)

  it("rejects bad options without a request", function()
    local client, clock = setup{}
    local cases = {
      { "sg-0001", { interval = 0 } }, { "sg-0001", { interval = -1 } }, { "sg-0001", { timeout = -1 } },
      { "sg-0001", { timeout = "10" } }, { "sg-0001", { backoff = 0.5 } }, { "sg-0001", { max_interval = 0 } },
      { "", {} }, { 42, {} },
    }
    for i, case in ipairs(cases) do
      local sg, err = wait.for_status(client, case[1], opts(clock, case[2]))
      assert.is_nil(sg, "case " .. i)
      assert.equal("usage", err.kind, "case " .. i)
    end
    assert.equal(0, client:count())
  end)
end)

describe("wait.for_deleted", function()
  it("returns true once GET answers 404", function()
    local client, clock = setup{ "deleting", "deleting", 404 }
    local ok, err = wait.for_deleted(client, "sg-0001", opts(clock, { interval = 1 }))
    assert.is_nil(err)
    assert.is_true(ok)
    assert.equal(3, client:count("get"))
    assert.same({ 1, 1.5 }, clock.sleeps)
  end)

  it("returns true at once for a group already gone", function()
    local client, clock = setup{}
    assert.is_true(wait.for_deleted(client, "sg-9999", opts(clock)))
    assert.same({}, clock.sleeps)
  end)

  it("times out with the last status", function()
    local statuses = {}
    for i = 1, 50 do statuses[i] = "deleting" end
    local client, clock = setup(statuses)
    local ok, err = wait.for_deleted(client, "sg-0001", opts(clock, { timeout = 5, interval = 1 }))
    assert.is_nil(ok)
    assert.equal("timeout", err.kind)
    assert.equal("deleting", err.last_status)
    assert.truthy(err.message:find("not deleted", 1, true))
  end)

  it("ends on status error and on other errors", function()
    local client, clock = setup{ "deleting", "error" }
    local _, err = wait.for_deleted(client, "sg-0001", opts(clock))
    assert.equal("resource_error", err.kind)
    local boom = errors.new{ kind = "api", status = 500, message = "oops" }
    client.fail = function() return boom end
    _, err = wait.for_deleted(client, "sg-0001", opts(clock))
    assert.equal(boom, err)
  end)
end)

describe("wait options", function()
  it("refuses unknown keys and values of the wrong type, sending nothing", function()
    local client, clock = setup{ "created" }
    local cases = {
      { { timout = 5 }, "unknown option 'timout' (did you mean 'timeout'?)" },
      { { now = 5 }, "now must be a function" },
      { { sleep = "x" }, "sleep must be a function" },
      { { status = 5 }, "status must be a status or a list of statuses" },
      { { status = {} }, "status must be a status or a list of statuses" },
      { { error_statuses = { 1 } }, "error_statuses must be a status or a list" },
    }
    for i, case in ipairs(cases) do
      local sg, err = wait.for_status(client, "sg-0001", opts(clock, case[1]))
      assert.is_nil(sg, "case " .. i)
      assert.equal("usage", err.kind, "case " .. i)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message)
    end
    local ok, err = wait.for_deleted(client, "sg-0001", opts(clock, { status = "created" }))
    assert.is_nil(ok)
    assert.equal("wait_for_security_group_deleted: unknown option 'status'", err.message)
    assert.equal(0, client:count())
  end)

  it("takes one error status as a string", function()
    local client, clock = setup{ "creating", "error" }
    local sg, err = wait.for_status(client, "sg-0001", opts(clock, { error_statuses = "error" }))
    assert.is_nil(sg)
    assert.equal("resource_error", err.kind)
  end)
end)
