-- A property run against the emulator's hostile mode (faults = { "hostile" }):
-- half the answers come back broken (missing ids, wrong types, nulls, wrong
-- totals, repeated pages, oversize headers, wrong envelopes, bodies that are
-- not JSON). Whatever the call, it must end within its time bound and give
-- a value or an error object: nothing raises (an iterator raises, by
-- design, an error object), nothing loops. Seeded: a failure names the
-- seed and the call, and runs again the same way.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local rules = genesiscloud.rules
local clock = require "genesiscloud.clock"

local function pack(...) return { n = select("#", ...), ... } end

-- 21, 28 and 39 once found ensure acting on a listed group without an id.
local SEEDS = { 1, 2, 21, 28, 39 }
local CALLS = 80 -- per seed
local TIMEOUT = 2 -- seconds per request
local BOUND = 15 -- seconds per call, however many requests it makes

-- A private generator (the emulator draws from its own).
local function rng(seed)
  local x = seed * 7919 + 17
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return math.floor(x / 2147483648 * n) + 1
  end
end

local function spec_for(r, name)
  local all = { rules.ssh(), rules.https(), rules.http(), rules.ping(), rules.egress.all() }
  return { name = name or ("h" .. r(4)), description = "d" .. r(3), rules = { all[r(#all)] } }
end

describe("the emulator's hostile mode", function()
  -- The server's modules use 5.3 operators (the server runs on lua5.4).
  if not math.type then
    pending("the server's modules need Lua 5.3+")
    return
  end
  local json = require "genesiscloud.emulator.wire_json"
  local AUTH = helper.EMULATOR_AUTH

  local function state_with_groups(settings)
    local st = helper.emulator_state{ seed = 5 }
    for i = 1, 3 do
      helper.emulator_call(st, "POST", "/security-groups", { name = "g" .. i,
        rules = { { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 } } })
    end
    assert(st:configure(settings))
    return st
  end

  local function hostile(st, method, target)
    return st:handle(method, "/compute/v1" .. target, nil, nil, AUTH, { kind = "hostile" })
  end

  it("is a fault kind used only when named, with shapes to pick from", function()
    local faults = require "genesiscloud.emulator.faults"
    local hostile_module = require "genesiscloud.emulator.hostile"
    for _, k in ipairs(faults.DEFAULTS.faults) do assert.are_not.equal("hostile", k) end
    assert.are.same({ "hostile" }, (faults.check("faults", { "hostile" })))
    assert.are.same(hostile_module.SHAPES, faults.DEFAULTS.hostile_shapes)
    assert.are.same({ "nulls" }, (faults.check("hostile_shapes", "nulls")))
    local v, err = faults.check("hostile_shapes", { "nulls", "bogus" })
    assert.is_nil(v)
    assert.matches("unknown hostile shape 'bogus'", err)
    assert.is_nil((faults.check("hostile_shapes", {})))
  end)

  it("breaks list pages and objects in the shape asked for, and logs it", function()
    local function page(st)
      local status, text = hostile(st, "GET", "/security-groups?per_page=2")
      return status, text, json.decode(text)
    end
    local st = state_with_groups{ hostile_shapes = { "missing_ids" } }
    local _, _, t = page(st)
    assert.is_nil(t.security_groups[1].id)
    assert.are.equal("missing_ids", st:requests()[#st:requests()].shape)

    st = state_with_groups{ hostile_shapes = { "not_json" } }
    local status, text = page(st)
    assert.are.equal(200, status)
    assert.is_true(text == "" or json.decode(text) == nil or type(json.decode(text)) ~= "table"
      or json.decode(text).security_groups == nil)

    st = state_with_groups{ hostile_shapes = { "repeated_page" } }
    local _, first = hostile(st, "GET", "/security-groups?per_page=2&page=1")
    local _, second = hostile(st, "GET", "/security-groups?per_page=2&page=2")
    assert.are.equal(first, second)

    st = state_with_groups{ hostile_shapes = { "oversize_headers" } }
    local _, _, headers = hostile(st, "GET", "/security-groups")
    local size = 0
    for k, v in pairs(headers) do size = size + #k + #v end
    assert.is_true(size > 16 * 1024)

    st = state_with_groups{ hostile_shapes = { "wrong_totals" } }
    _, _, t = page(st)
    assert.are_not.equal(3, t.total_count)

    -- a DELETE's 204 that gains a body becomes a 200
    st = state_with_groups{ hostile_shapes = { "not_json" } }
    local id = json.decode(select(2, st:handle("GET", "/compute/v1/security-groups", nil, nil, AUTH)))
      .security_groups[1].id
    status = hostile(st, "DELETE", "/security-groups/" .. id)
    assert.are.equal(200, status)
  end)

  it("is switched on by emulator.start options (the command-line flags)", function()
    local emulator = require "genesiscloud.emulator"
    local bad, msg = emulator.start{ faults = { "hostile" }, hostile_shapes = { "nope" } }
    assert.is_nil(bad)
    assert.matches("unknown hostile shape 'nope'", msg)
    local emu = helper.start_emulator{ fault_rate = 1, faults = { "hostile" }, hostile_shapes = { "not_json" },
      fault_methods = { "GET" } }
    local c = helper.client(emu, { max_retries = 0 })
    local sg = assert(c:create_security_group({ name = "x", rules = { genesiscloud.rules.ssh() } },
      { existing = {} }))
    local got, err = c:get_security_group(sg.id)
    local config = assert(emu:configure{})
    c:close()
    emu:stop()
    assert.is_nil(got)
    assert.are.equal("decode", err.kind)
    assert.are.same({ "not_json" }, config.hostile_shapes)
    assert.are.same({ "hostile" }, config.faults)
  end)

  it("repeats itself for the same seed", function()
    local function run()
      local st = state_with_groups{ fault_seed = 9 }
      local out = {}
      for i = 1, 20 do
        local _, text = hostile(st, "GET", "/security-groups?page=" .. (i % 3 + 1))
        out[i] = text
      end
      return out
    end
    assert.are.same(run(), run())
  end)
end)

describe("a hostile server", function()
  local emu

  setup(function()
    emu = helper.start_emulator{ create_delay = 0, update_delay = 0, delete_delay = 0 }
  end)
  teardown(function() if emu then emu:stop() end end)

  -- Every kind of call, on ids and names that exist and some that do not.
  local function calls(c, r, known)
    local function id()
      if #known > 0 and r(4) > 1 then return known[r(#known)] end
      return "no-such-id-" .. r(9)
    end
    local function per_page() return ({ 1, 2, 5, 100 })[r(4)] end
    -- an iterator yields objects (items) or lists of them (pages)
    local function iterate(make, pages)
      local n = 0
      for v in make() do
        n = n + 1
        assert(n < 10000, "runaway iterator")
        assert(type(v) == "table" and not genesiscloud.is_error(v), "yielded a " .. type(v))
        if pages then
          for _, item in ipairs(v) do assert(type(item) == "table", "a page holds a " .. type(item)) end
        end
      end
      return n
    end
    local wait_opts = { timeout = 0.3, interval = 0.05 }
    return {
      { "get", function() return c:get_security_group(id()) end },
      { "list", function() return c:list_security_groups{ per_page = per_page(), page = r(3) } end },
      { "items", function() return iterate(function() return c:security_groups{ per_page = per_page() } end) end,
        iterator = true },
      { "items concurrent", function()
        return iterate(function() return c:security_groups{ per_page = per_page(), concurrency = 4 } end)
      end, iterator = true },
      { "pages", function()
        return iterate(function() return c:security_group_pages{ per_page = per_page() } end, true)
      end, iterator = true },
      { "all", function() return c:all_security_groups{ per_page = per_page() } end },
      { "all concurrent", function() return c:all_security_groups{ per_page = per_page(), concurrency = 3 } end },
      { "create", function() return c:create_security_group(spec_for(r)) end },
      { "create and wait", function() return c:create_security_group(spec_for(r), { wait = wait_opts }) end },
      { "update", function() return c:update_security_group(id(), spec_for(r)) end },
      { "patch", function() return c:update_security_group(id(), { description = "p" .. r(9) }) end },
      { "delete", function() return c:delete_security_group(id()) end },
      { "wait", function() return c:wait_for_security_group(id(), wait_opts) end },
      { "wait deleted", function() return c:wait_for_security_group_deleted(id(), wait_opts) end },
      { "ensure", function() return c:ensure_security_group(spec_for(r)) end },
      { "ensure dry run", function() return c:ensure_security_group(spec_for(r), { dry_run = true }) end },
      { "ensure absent", function() return c:ensure_security_group_absent{ name = "h" .. r(4) } end },
      { "bulk get", function() return c:get_security_groups({ id(), id(), id() }, { concurrency = 2 }) end },
      { "bulk delete", function() return c:delete_security_groups({ id(), id() }) end },
      { "bulk create", function() return c:create_security_groups({ spec_for(r), spec_for(r), spec_for(r) }) end },
    }
  end

  -- What a call may give back: a value, or nil and an error object.
  local function check_outcome(label, packed)
    local v, err = packed[2], packed[3]
    if v == nil then
      assert.is_true(genesiscloud.is_error(err), label .. ": nil without an error object: " .. tostring(err))
      assert.is_string(tostring(err))
      assert.is_nil(tostring(err):find("\n"), label .. ": a message of more than one line")
    else
      assert.is_true(type(v) == "table" or type(v) == "number" or v == true,
        label .. ": returned a " .. type(v))
      -- ensure says what it did
      if label:find("(ensure", 1, true) then assert.is_string(err, label .. ": no action") end
      if type(v) == "table" and not genesiscloud.is_error(v) then
        for _, entry in ipairs(v) do
          -- bulk results: a value or an error object in each slot
          assert.is_true(type(entry) == "table" or entry == true, label .. ": a " .. type(entry) .. " in the result")
        end
      end
    end
  end

  for _, seed in ipairs(SEEDS) do
    it("seed " .. seed .. ": every call ends in time with a value or an error object", function()
      assert(emu:reset())
      assert(emu:configure{ fault_rate = 0 })
      local admin = helper.client(emu)
      local known = {}
      for i = 1, 6 do
        known[#known + 1] = assert(admin:create_security_group(spec_for(rng(i), "h" .. (i % 4 + 1)))).id
      end
      admin:close()
      assert(emu:configure{ fault_rate = 0.5, faults = { "hostile" }, fault_seed = seed })
      local c = helper.client(emu, { timeout = TIMEOUT, max_retries = 1, retry_base = 0.01,
        retry_max_wait = 0.05 })
      local r = rng(seed)
      local list = calls(c, r, known)
      local shapes = {}
      local started = clock.now()
      for n = 1, CALLS do
        local call = list[r(#list)]
        local label = ("seed %d, call %d (%s)"):format(seed, n, call[1])
        local t0 = clock.now()
        local packed = pack(pcall(call[2]))
        local took = clock.now() - t0
        assert.is_true(took < BOUND, label .. " took " .. took .. " s")
        if not packed[1] then
          assert.is_true(call.iterator and genesiscloud.is_error(packed[2]),
            label .. " raised: " .. tostring(packed[2]))
        else
          check_outcome(label, { true, packed[2], packed[3] })
          -- remember ids that came back, to use them later
          local v = packed[2]
          if type(v) == "table" and type(v.id) == "string" and #known < 50 then known[#known + 1] = v.id end
        end
      end
      for _, req in ipairs(assert(emu:requests())) do
        if req.shape then shapes[req.shape] = true end
      end
      c:close()
      -- the run met most shapes (the draws decide which)
      local n = 0
      for _ in pairs(shapes) do n = n + 1 end
      assert.is_true(n >= 6, "only " .. n .. " hostile shapes met")
      assert.is_true(clock.now() - started < 120)
    end)
  end
end)

describe("what the hostile run found", function()
  local ensure = require "genesiscloud.service.ensure"
  local res = require "genesiscloud.resources.security_groups"

  -- A service whose list holds a group named "web" without an id.
  local function stub()
    local writes = 0
    local c = {
      def = res,
      list = function()
        return { security_groups = { { name = "web", description = "old", rules = { rules.ssh() } } } }
      end,
    }
    for _, op in ipairs{ "create", "update", "delete" } do
      c[op] = function() writes = writes + 1 return {} end
    end
    return c, function() return writes end
  end

  it("ensure refuses to act on a listed group without an id (a decode error, no write)", function()
    local c, writes = stub()
    local obj, err = ensure.present(c, { name = "web", description = "new", rules = { rules.ssh() } })
    assert.is_nil(obj)
    assert.are.equal("decode", err.kind)
    assert.matches('security group with name "web" but no id', err.message)
    local ok, aerr = ensure.absent(c, { name = "web" })
    assert.is_nil(ok)
    assert.are.equal("decode", aerr.kind)
    assert.are.equal(0, writes())
  end)
end)
