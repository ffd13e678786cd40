-- Concurrent listing and bulk calls over the curl multi interface, against
-- the emulator: order, per-request retries, bounds on what is in flight,
-- connection reuse, isolation between clients, and closing mid-way.
local helper = require "helper"
-- Transfers still in flight on a client's (private) core handle.
local function pending(c) return require("genesiscloud.client").state(c).core:multi_pending() end
local genesiscloud = helper.genesiscloud
local clock = require "genesiscloud.clock"
local rules = genesiscloud.rules

local function spec_named(name)
  return { name = name, rules = { rules.https() } }
end

local function specs(n, prefix)
  local out = {}
  for i = 1, n do out[i] = spec_named((prefix or "g") .. i) end
  return out
end

local function count(emu, method)
  local n = 0
  for _, req in ipairs(assert(emu:requests())) do
    if method == nil or req.method == method then n = n + 1 end
  end
  return n
end

local function ids_of(list)
  local ids = {}
  for i, g in ipairs(list) do ids[i] = g.id end
  return ids
end

describe("concurrency", function()
  local emu

  setup(function() emu = helper.start_emulator{ fault_seed = 3 } end)
  teardown(function() if emu then emu:stop() end end)

  before_each(function()
    assert(emu:configure{ fault_rate = 0, latency = 0 })
    assert(emu:reset())
  end)

  describe("bulk calls", function()
    it("return one result per input, in input order, failures in their slots", function()
      local c = helper.client(emu)
      local created = c:create_security_groups(specs(10))
      assert.are.equal(10, #created)
      for i, g in ipairs(created) do
        assert.is_false(genesiscloud.is_error(g))
        assert.are.equal("g" .. i, g.name)
      end
      local ids = ids_of(created)
      table.insert(ids, 3, "no-such-id")
      table.insert(ids, 7, "")
      local got = c:get_security_groups(ids, { concurrency = 4 })
      assert.are.equal(12, #got)
      assert.is_true(genesiscloud.is_error(got[3]))
      assert.are.equal(404, got[3].status)
      assert.are.equal("usage", got[7].kind)
      local names = {}
      for i, g in ipairs(got) do
        if i ~= 3 and i ~= 7 then names[#names + 1] = g.name end
      end
      assert.are.same({ "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "g10" }, names)
      -- the empty id was never sent (one more GET: the create's look at
      -- what existed before it)
      assert.are.equal(12, count(emu, "GET"))

      local deleted = c:delete_security_groups({ ids[1], "no-such-id", ids[2] })
      assert.is_true(deleted[1])
      assert.are.equal(404, deleted[2].status)
      assert.is_true(deleted[3])
      assert.are.equal(8, c:list_security_groups().total_count)
      c:close()
    end)

    it("put a validation error in the slot of an invalid spec and send the others", function()
      local c = helper.client(emu)
      local out = c:create_security_groups{ spec_named("a"), { name = "" }, spec_named("c") }
      assert.are.equal("a", out[1].name)
      assert.are.equal("validation", out[2].kind)
      assert.are.equal("c", out[3].name)
      assert.are.equal(2, count(emu, "POST"))
      c:close()
    end)

    it("give an empty array for no input and send nothing", function()
      local c = helper.client(emu)
      assert.are.same({}, c:get_security_groups({}))
      assert.are.same({}, c:create_security_groups({}))
      assert.are.equal(0, count(emu))
      c:close()
    end)

    it("reject bad options before any request", function()
      local c = helper.client(emu)
      for _, bad in ipairs{ 0, 1000, "x", 2.5 } do
        local r, err = c:get_security_groups({ "a" }, { concurrency = bad })
        assert.is_nil(r)
        assert.are.equal("validation", err.kind)
        r, err = c:delete_security_groups({ "a" }, { concurrency = bad })
        assert.is_nil(r)
        assert.are.equal("validation", err.kind)
        r, err = c:create_security_groups({ spec_named("a") }, { concurrency = bad })
        assert.is_nil(r)
        assert.are.equal("validation", err.kind)
        r, err = c:all_security_groups{ concurrency = bad }
        assert.is_nil(r)
        assert.are.equal("validation", err.kind)
        local ok, raised = pcall(function()
          for _ in c:security_groups{ concurrency = bad } do end
        end)
        assert.is_false(ok)
        assert.are.equal("validation", raised.kind)
      end
      local r, err = c:get_security_groups({ "a" }, { concurency = 2 })
      assert.is_nil(r)
      assert.are.equal("usage", err.kind)
      assert.has_error(function() c:get_security_groups("a") end)
      assert.has_error(function() c:get_security_groups({ 1 }) end)
      assert.are.equal(0, count(emu))
      c:close()
    end)

    it("retry each request on its own, with exact request counts", function()
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503,
        fault_methods = { "GET" } })
      local c = helper.client(emu, { max_retries = 2, retry_base = 0,
        random = function() return 0 end })
      local out = c:get_security_groups({ "a", "b", "c", "d", "e" }, { concurrency = 3 })
      assert.are.equal(5, #out)
      for _, err in ipairs(out) do
        assert.are.equal(503, err.status)
        assert.are.equal(3, err.attempts)
        assert.is_true(err.retryable)
      end
      assert.are.equal(15, count(emu, "GET"))
      c:close()
    end)

    it("recover from faults with one retry each", function()
      local c0 = helper.client(emu)
      local ids = ids_of(c0:create_security_groups(specs(4)))
      c0:close()
      assert(emu:clear_requests())
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503,
        fault_methods = { "GET" } })
      local failures = 0
      local c = helper.client(emu, { max_retries = 3, retry_base = 0.3,
        random = function() return 1 end,
        debug = function(event)
          if event.status == 503 then
            failures = failures + 1
            if failures == 4 then assert(emu:configure{ fault_rate = 0 }) end
          end
        end })
      local out = c:get_security_groups(ids, { concurrency = 4 })
      for i, g in ipairs(out) do assert.are.equal("g" .. i, g.name) end
      assert.are.equal(8, count(emu, "GET"))
      c:close()
    end)

    it("sort out creates whose answers were lost without creating twice", function()
      assert(emu:configure{ fault_rate = 1, faults = { "close_after_body" },
        fault_methods = { "POST" } })
      local c = helper.client(emu, { max_retries = 2, retry_base = 0 })
      local out = c:create_security_groups{ spec_named("dup"), spec_named("dup"), spec_named("other") }
      assert(emu:configure{ fault_rate = 0 })
      local seen = {}
      for i, g in ipairs(out) do
        assert.is_false(genesiscloud.is_error(g), tostring(g))
        assert.is_nil(seen[g.id])
        seen[g.id] = true
        assert.are.equal(i == 3 and "other" or "dup", g.name)
      end
      assert.are.equal(3, count(emu, "POST"))
      assert.are.equal(3, c:list_security_groups().total_count)
      c:close()
    end)

    it("run requests at the same time, at most `concurrency` of them", function()
      local c0 = helper.client(emu)
      local ids = ids_of(c0:create_security_groups(specs(16)))
      c0:close()
      assert(emu:configure{ latency = 0.2 })
      local c = helper.client(emu)
      local t0 = clock.now()
      local out = c:get_security_groups(ids, { concurrency = 8 })
      local elapsed = clock.now() - t0
      assert.are.equal(16, #out)
      assert.is_true(elapsed < 1.6, "16 requests of 0.2 s took " .. elapsed .. " s")
      -- HTTP/1.1: every transfer in flight holds its own connection.
      local stats = c:transfer_stats()
      assert.are.equal(16, stats.requests)
      assert.is_true(stats.new_connections <= 8, "opened " .. stats.new_connections)

      assert(emu:configure{ latency = 0.1 })
      local c3 = helper.client(emu)
      t0 = clock.now()
      out = c3:get_security_groups({ ids[1], ids[2], ids[3], ids[4], ids[5], ids[6],
        ids[7], ids[8], ids[9] }, { concurrency = 3 })
      elapsed = clock.now() - t0
      assert.are.equal(9, #out)
      -- three rounds at least: never more than three at once
      assert.is_true(elapsed >= 0.29, "took " .. elapsed .. " s")
      assert.is_true(c3:transfer_stats().new_connections <= 3)
      c:close()
      c3:close()
    end)

    it("reuse connections across batches and with single calls", function()
      local c0 = helper.client(emu)
      local ids = ids_of(c0:create_security_groups(specs(6)))
      c0:close()
      local c = helper.client(emu)
      c:get_security_groups(ids, { concurrency = 3 })
      local first = c:transfer_stats().new_connections
      assert.is_true(first >= 1 and first <= 3)
      c:get_security_groups(ids, { concurrency = 3 })
      assert.is_true(c:transfer_stats().new_connections - first <= 1)
      assert(c:get_security_group(ids[1]))
      assert.are.equal(0, c:last_request_info().new_connections)
      assert.are.equal(13, c:transfer_stats().requests)
      c:close()
    end)
  end)

  describe("listing", function()
    local function sequential(c, opts)
      local names = {}
      for g in c:security_groups(opts) do names[#names + 1] = g.name end
      return names
    end

    for _, n in ipairs{ 0, 1, 237 } do
      it("yields the sequential order for " .. n .. " groups", function()
        local c = helper.client(emu)
        if n > 0 then
          for _, g in ipairs(c:create_security_groups(specs(n), { concurrency = 16 })) do
            assert.is_false(genesiscloud.is_error(g))
          end
        end
        local want = sequential(c, { per_page = 10 })
        assert.are.equal(n, #want)
        for _, conc in ipairs{ 1, 2, 8, 16 } do
          assert.are.same(want, sequential(c, { per_page = 10, concurrency = conc }))
          local all = assert(c:all_security_groups{ per_page = 10, concurrency = conc })
          local names = {}
          for i, g in ipairs(all) do names[i] = g.name end
          assert.are.same(want, names)
          local pages = 0
          for items in c:security_group_pages{ per_page = 10, concurrency = conc } do
            pages = pages + 1
            assert.is_true(#items >= 1 and #items <= 10)
          end
          assert.are.equal(math.ceil(n / 10), pages)
        end
        -- the same pages and no more were asked for
        assert(emu:clear_requests())
        sequential(c, { per_page = 10, concurrency = 8 })
        assert.are.equal(math.max(1, math.ceil(n / 10)), count(emu, "GET"))
        c:close()
      end)
    end

    it("fetches pages concurrently", function()
      local c = helper.client(emu)
      c:create_security_groups(specs(40))
      assert(emu:configure{ latency = 0.1 })
      local t0 = clock.now()
      local names = {}
      for g in c:security_groups{ per_page = 5, concurrency = 8 } do names[#names + 1] = g.name end
      local elapsed = clock.now() - t0
      assert.are.equal(40, #names)
      -- page 1, then 7 pages at once: about 0.2 s; sequentially 0.8 s
      assert.is_true(elapsed < 0.6, "took " .. elapsed .. " s")
      c:close()
    end)

    it("honours max_pages and stops fetching when the loop breaks", function()
      local c = helper.client(emu)
      c:create_security_groups(specs(50))
      assert(emu:clear_requests())
      local n = 0
      for _ in c:security_groups{ per_page = 5, concurrency = 4, max_pages = 3 } do n = n + 1 end
      assert.are.equal(15, n)
      assert.are.equal(3, count(emu, "GET"))
      n = 0
      for _ in c:security_groups{ per_page = 5, concurrency = 4 } do
        n = n + 1
        if n == 7 then break end
      end
      if _VERSION == "Lua 5.4" then assert.are.equal(0, pending(c)) end
      -- the client goes on working
      assert.are.equal(50, #assert(c:all_security_groups{ per_page = 7, concurrency = 3 }))
      c:close()
    end)

    it("lets the loop body make bulk calls on the same client", function()
      local c = helper.client(emu)
      c:create_security_groups(specs(30))
      local n = 0
      for g in c:security_groups{ per_page = 4, concurrency = 4 } do
        n = n + 1
        if n % 10 == 1 then
          local got = c:get_security_groups({ g.id, g.id }, { concurrency = 2 })
          assert.are.equal(g.name, got[1].name)
          assert.are.equal(g.name, got[2].name)
        end
      end
      assert.are.equal(30, n)
      c:close()
    end)
  end)

  describe("clients", function()
    it("do not interfere when used at the same time", function()
      local a, b = helper.client(emu), helper.client(emu)
      local ids = ids_of(a:create_security_groups(specs(20)))
      -- concurrent creates reach the server in any order: the listing order
      local order = {}
      for i, g in ipairs(assert(a:all_security_groups())) do order[i] = g.name end
      local before = a:transfer_stats().requests
      local n = 0
      for g in a:security_groups{ per_page = 3, concurrency = 4 } do
        n = n + 1
        if n == 2 then
          local got = b:get_security_groups(ids, { concurrency = 5 })
          for i, x in ipairs(got) do assert.are.equal("g" .. i, x.name) end
          assert.are.equal(20, b:transfer_stats().requests)
        end
        assert.are.equal(order[n], g.name)
      end
      assert.are.equal(20, n)
      assert.are.equal(before + 7, a:transfer_stats().requests)
      b:close()
      -- a closed client leaves the other alone
      assert.are.equal(20, #assert(a:all_security_groups{ per_page = 3, concurrency = 4 }))
      a:close()
    end)

    it("closed mid-way fail cleanly and free their transfers", function()
      local c = helper.client(emu)
      c:create_security_groups(specs(30))
      assert(emu:configure{ latency = 0.05 })
      local n = 0
      local ok, err = pcall(function()
        for _ in c:security_groups{ per_page = 3, concurrency = 4 } do
          n = n + 1
          if n == 4 then c:close() end
        end
      end)
      assert.is_false(ok)
      assert.are.equal("usage", err.kind)
      assert.are.equal(0, pending(c))
      local r, cerr = c:get_security_groups({ "a" })
      assert.is_nil(r)
      assert.are.equal("usage", cerr.kind)
      -- transfers left in flight are freed with the client
      local d = helper.client(emu)
      local dh = require("genesiscloud.client").state(d).core
      assert(dh:multi_add(1, "GET", "/security-groups"))
      assert(dh:multi_add(2, "GET", "/security-groups"))
      d:close()
      assert.is_nil(dh:multi_next())
      local e = helper.client(emu)
      assert(require("genesiscloud.client").state(e).core:multi_add(1, "GET", "/security-groups"))
      e = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
    end)
  end)
end)
