-- A create whose answer is lost: the recovery only ever returns a group
-- this call created. The emulator drops POST answers before storing
-- (close_before_body) or after (close_after_body).
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local rules = genesiscloud.rules

local SPEC = { name = "web", rules = { rules.https() } }

describe("a create whose answer is lost", function()
  local emu, admin

  setup(function()
    emu = helper.start_emulator{ fault_seed = 11 }
    admin = helper.client(emu, { max_retries = 0 })
  end)
  teardown(function()
    if admin then admin:close() end
    if emu then emu:stop() end
  end)

  before_each(function()
    assert(emu:configure{ fault_rate = 0 })
    assert(emu:reset())
  end)

  local function lose(kind)
    assert(emu:configure{ fault_rate = 1, faults = { kind }, fault_methods = { "POST" } })
    assert(emu:clear_requests())
  end

  local function count(method)
    local n = 0
    for _, req in ipairs(assert(emu:requests())) do
      if req.method == method then n = n + 1 end
    end
    return n
  end

  local function groups()
    return assert(admin:all_security_groups())
  end

  local function client(opts)
    local o = { max_retries = 0, sleep = function() end }
    for k, v in pairs(opts or {}) do o[k] = v end
    return helper.client(emu, o)
  end

  it("never returns an identical group that existed before (POST never stored)", function()
    local old = assert(admin:create_security_group(SPEC))
    lose("close_before_body")
    local sg, err = client():create_security_group(SPEC)
    assert.is_nil(sg)
    assert.is_true(genesiscloud.is_error(err))
    -- every group that matches existed before: it was provably not created
    assert.are.equal("transport", err.kind)
    assert.matches("was not created", err.message)
    assert.is_false(err.created)
    assert(emu:configure{ fault_rate = 0 })
    local all = groups()
    assert.are.equal(1, #all)
    assert.are.equal(old.id, all[1].id)
  end)

  it("sends it again when it was provably not created, and returns the new group", function()
    local old = assert(admin:create_security_group(SPEC))
    lose("close_before_body")
    -- the backoff before the second POST turns the faults off
    local c = client{ max_retries = 3, sleep = function() assert(emu:configure{ fault_rate = 0 }) end }
    local sg = assert(c:create_security_group(SPEC))
    assert.are_not.equal(old.id, sg.id)
    assert.are.equal(2, count("POST"))
    assert.are.equal(2, #groups())
  end)

  it("returns the new group when the POST was stored, identical group or not", function()
    lose("close_after_body")
    local first = assert(client():create_security_group(SPEC))
    assert.are.equal("web", first.name)
    assert.are.equal(1, count("POST"))
    local second = assert(client():create_security_group(SPEC))
    assert.are_not.equal(first.id, second.id)
    assert(emu:configure{ fault_rate = 0 })
    assert.are.equal(2, #groups())
  end)

  it("answers unknown_outcome when two new groups could be the one", function()
    lose("close_after_body")
    -- someone else creates the same group right after our POST was stored
    local other = helper.client(emu)
    local rival
    local c = client{ debug = function(event)
      if event.method == "POST" and not rival then
        assert(emu:configure{ fault_rate = 0 })
        rival = assert(other:create_security_group(SPEC))
      end
    end }
    local sg, err = c:create_security_group(SPEC)
    other:close()
    assert.is_nil(sg)
    assert.are.equal("unknown_outcome", err.kind)
    assert.matches("outcome of the create is unknown", err.message)
    assert.matches('check the security groups with name "web" before creating it again', err.message)
    assert.are.equal(2, #err.ids)
    assert.are.equal("transport", err.cause.kind)
    assert.is_false(err.retryable)
    assert.are.equal(2, #groups()) -- and nothing sent again
    assert.matches("^genesiscloud: POST /security%-groups: unknown_outcome: ", tostring(err))
  end)

  it("answers unknown_outcome when a new group with the name cannot be compared", function()
    local res = require "genesiscloud.resources.security_groups"
    local compare = res.compare
    finally(function() res.compare = compare end)
    -- what compare answers for a group in a shape it cannot read
    res.compare = function() return nil, genesiscloud.errors.new{ kind = "decode", message = "bad rules" } end
    lose("close_after_body")
    local sg, err = client():create_security_group(SPEC)
    assert.is_nil(sg)
    assert.are.equal("unknown_outcome", err.kind)
    assert.matches("cannot be compared", err.message)
  end)

  it("sends nothing when what exists cannot be read first", function()
    assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503, fault_methods = { "GET" } })
    assert(emu:clear_requests())
    local sg, err = client():create_security_group(SPEC)
    assert.is_nil(sg)
    assert.are.equal(503, err.status)
    assert.matches("nothing was sent", err.message)
    assert.is_false(err.created)
    assert.are.equal(0, count("POST"))
  end)

  it("takes what exists from `existing` and then lists nothing before the POST", function()
    local old = assert(admin:create_security_group(SPEC))
    local all = groups()
    lose("close_before_body")
    local sg, err = client():create_security_group(SPEC, { existing = all })
    assert.is_nil(sg)
    assert.matches("was not created", err.message)
    assert.is_false(err.created)
    local log = assert(emu:requests())
    assert.are.equal("POST", log[1].method)
    -- ids work as well as objects; anything else is refused before sending
    assert(emu:configure{ fault_rate = 0 })
    assert(client():create_security_group(SPEC, { existing = { old.id } }))
    local _, uerr = client():create_security_group(SPEC, { existing = "web" })
    assert.are.equal("usage", uerr.kind)
    assert.matches("option 'existing'", uerr.message)
    _, uerr = client():create_security_group(SPEC, { existing = { true } })
    assert.are.equal("usage", uerr.kind)
  end)

  it("in a batch, shares the new groups among identical entries, never an old one", function()
    local old = assert(admin:create_security_group{ name = "dup", rules = { rules.ssh() } })
    lose("close_after_body")
    local c = client{ max_retries = 2 }
    local dup = { name = "dup", rules = { rules.ssh() } }
    local out = c:create_security_groups{ dup, dup }
    assert.is_false(genesiscloud.is_error(out[1]), tostring(out[1]))
    assert.is_false(genesiscloud.is_error(out[2]), tostring(out[2]))
    assert.are_not.equal(out[1].id, out[2].id)
    assert.are_not.equal(old.id, out[1].id)
    assert.are_not.equal(old.id, out[2].id)
    assert(emu:configure{ fault_rate = 0 })
    assert.are.equal(3, #groups())
  end)

  it("in a batch, answers unknown_outcome when new groups outnumber the entries", function()
    lose("close_after_body")
    local other = helper.client(emu)
    local rival
    local c = client{ debug = function(event)
      if event.method == "POST" and not rival then
        assert(emu:configure{ fault_rate = 0 })
        rival = assert(other:create_security_group(SPEC))
      end
    end }
    local out = c:create_security_groups{ SPEC }
    other:close()
    assert.are.equal("unknown_outcome", out[1].kind)
    assert.are.equal(2, #out[1].ids)
  end)
end)
