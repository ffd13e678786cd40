-- The pure-Lua layer (rules, validation, iteration, waiting, ensure) against
-- the real emulator: what the unit specs check with a fake client, checked
-- again over HTTP, with the emulator's request log as the witness of what
-- was (and was not) sent. A canned server plays the one that repeats pages.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local rules = genesiscloud.rules
local clock = require "genesiscloud.clock"
local cjson = require "cjson"

-- The four API keys of a rule, without the builder's metatable.
local function plain(rule)
  return { protocol = rule.protocol, direction = rule.direction,
    port_range_min = rule.port_range_min, port_range_max = rule.port_range_max }
end

local function formatted(list)
  local out = {}
  for i, rule in ipairs(list) do out[i] = rules.format(rule) end
  return out
end

local function methods(log)
  local out = {}
  for i, entry in ipairs(log) do out[i] = entry.method end
  return out
end

local function count_method(log, method)
  local n = 0
  for _, entry in ipairs(log) do
    if entry.method == method then n = n + 1 end
  end
  return n
end

-- Asserts the log holds at least one request and nothing but GETs.
local function assert_only_gets(log)
  assert.is_true(#log > 0, "expected at least one GET")
  assert.are.same({}, (function()
    local writes = {}
    for _, entry in ipairs(log) do
      if entry.method ~= "GET" then writes[#writes + 1] = entry.method .. " " .. entry.path end
    end
    return writes
  end)())
end

local function ceil_div(a, b) return math.floor((a + b - 1) / b) end

describe("lua layer against the emulator", function()
  local emu, client

  setup(function()
    emu = helper.start_emulator()
    client = helper.client(emu)
  end)

  teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  local function fresh()
    assert(emu:reset())
    assert(emu:configure{ create_delay = 0, update_delay = 0, delete_delay = 0, put_405 = false })
  end

  local function log()
    return assert(emu:requests())
  end

  local function clear()
    assert(emu:clear_requests())
  end

  describe("rule builders", function()
    before_each(fresh)

    local BUILDERS = {
      { "rules.ingress.tcp(22)", rules.ingress.tcp(22), "ingress tcp 22" },
      { "rules.ingress.tcp(8080, 8085)", rules.ingress.tcp(8080, 8085), "ingress tcp 8080-8085" },
      { "rules.ingress.tcp()", rules.ingress.tcp(), "ingress tcp" },
      { "rules.ingress.udp(51820)", rules.ingress.udp(51820), "ingress udp 51820" },
      { "rules.ingress.udp(60000, 61000)", rules.ingress.udp(60000, 61000), "ingress udp 60000-61000" },
      { "rules.ingress.icmp()", rules.ingress.icmp(), "ingress icmp" },
      { "rules.ingress.all()", rules.ingress.all(), "ingress all" },
      { "rules.egress.tcp(443)", rules.egress.tcp(443), "egress tcp 443" },
      { "rules.egress.udp(53)", rules.egress.udp(53), "egress udp 53" },
      { "rules.egress.icmp()", rules.egress.icmp(), "egress icmp" },
      { "rules.egress.all()", rules.egress.all(), "egress all" },
      { "rules.ssh()", rules.ssh(), "ingress tcp 22" },
      { "rules.http()", rules.http(), "ingress tcp 80" },
      { "rules.https()", rules.https(), "ingress tcp 443" },
      { "rules.ping()", rules.ping(), "ingress icmp" },
    }
    for _, text in ipairs{ "ingress tcp 8080-8085", "ingress tcp 22", "ingress udp 53", "ingress tcp",
                           "ingress udp", "ingress icmp", "ingress all", "egress tcp 443", "egress all",
                           "EGRESS Udp 1-65535" } do
      local parsed = assert(rules.parse(text))
      BUILDERS[#BUILDERS + 1] = { ("rules.parse(%q)"):format(text), parsed, rules.format(parsed) }
    end

    for _, case in ipairs(BUILDERS) do
      local label, rule, text = case[1], case[2], case[3]
      it(label .. " is sent unchanged and comes back equal", function()
        local before = plain(rule)
        local sg = assert(client:create_security_group{ name = "b", rules = { rule } })
        assert.are.same(before, plain(rule))         -- the builder's table is not touched
        assert.are.equal(text, tostring(rule))       -- and still prints (metatable kept)
        local req = log()[2] -- [1]: the look at what exists before a create
        assert.are.equal("POST", req.method)
        assert.are.same({ before }, cjson.decode(req.body).rules)
        assert.are.equal(1, #sg.rules)
        assert.are.same(before, plain(sg.rules[1]))
        assert.is_true(rules.equal(sg.rules, { rule }))
        local read = assert(client:get_security_group(sg.id))
        assert.is_true(rules.equal(read.rules, { rule }))
        assert.are.equal(text, rules.format(read.rules[1]))
      end)
    end

    it("all of them in one group come back as the same set", function()
      local list = {}
      for i, case in ipairs(BUILDERS) do list[i] = case[2] end
      local sg = assert(client:create_security_group{ name = "every-builder", rules = list })
      assert.are.equal(#list, #sg.rules)
      assert.is_true(rules.equal(sg.rules, list))
      assert.are.same(formatted(rules.normalize(list)), formatted(rules.normalize(sg.rules)))
      -- and a set missing one of them is told apart
      local fewer = {}
      for _, rule in ipairs(list) do
        if rules.format(rule) ~= "ingress udp 60000-61000" then fewer[#fewer + 1] = rule end
      end
      assert.are.equal(#list - 1, #fewer)
      assert.is_false(rules.equal(sg.rules, fewer))
    end)
  end)

  describe("validation sends nothing", function()
    local NONE = {}

    local function with(base, changes)
      local out = {}
      for k, v in pairs(base) do out[k] = v end
      for k, v in pairs(changes or {}) do
        if v == NONE then out[k] = nil else out[k] = v end
      end
      return out
    end

    local function rule(changes)
      return with({ protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 }, changes)
    end

    local function spec(changes)
      return with({ name = "web", description = "web tier", rules = { rule() } }, changes)
    end

    -- { label, complete spec, field the error names }
    local SPECS = {
      { "name missing", spec{ name = NONE }, "name" },
      { "name empty", spec{ name = "" }, "name" },
      { "name blank", spec{ name = "   " }, "name" },
      { "name not a string", spec{ name = 42 }, "name" },
      { "name a table", spec{ name = {} }, "name" },
      { "name default", spec{ name = "default" }, "name" },
      { "name standard", spec{ name = "standard" }, "name" },
      { "description a number", spec{ description = 5 }, "description" },
      { "description a boolean", spec{ description = false }, "description" },
      { "rules missing", spec{ rules = NONE }, "rules" },
      { "rules empty", spec{ rules = {} }, "rules" },
      { "rules with a hole", spec{ rules = { [1] = rule(), [3] = rule() } }, "rules" },
      { "rules with a string key", spec{ rules = { rule(), extra = rule() } }, "rules" },
      { "rules a string", spec{ rules = "ingress tcp 22" }, "rules" },
      { "rule a string", spec{ rules = { "ingress tcp 22" } }, "rules[1]" },
      { "protocol unknown", spec{ rules = { rule{ protocol = "sctp" } } }, "rules[1].protocol" },
      { "protocol upper case", spec{ rules = { rule{ protocol = "TCP" } } }, "rules[1].protocol" },
      { "protocol missing", spec{ rules = { rule{ protocol = NONE } } }, "rules[1].protocol" },
      { "direction unknown", spec{ rules = { rule{ direction = "inbound" } } }, "rules[1].direction" },
      { "direction missing", spec{ rules = { rule{ direction = NONE } } }, "rules[1].direction" },
      { "port a string", spec{ rules = { rule{ port_range_min = "22" } } }, "rules[1].port_range_min" },
      { "port 0", spec{ rules = { rule{ port_range_min = 0 } } }, "rules[1].port_range_min" },
      { "port 65536", spec{ rules = { rule{ port_range_max = 65536 } } }, "rules[1].port_range_max" },
      { "port 22.5", spec{ rules = { rule{ port_range_min = 22.5, port_range_max = 23 } } },
        "rules[1].port_range_min" },
      { "port NaN", spec{ rules = { rule{ port_range_max = 0 / 0 } } }, "rules[1].port_range_max" },
      { "port huge", spec{ rules = { rule{ port_range_min = math.huge } } }, "rules[1].port_range_min" },
      { "min above max", spec{ rules = { rule{ port_range_min = 8085, port_range_max = 8080 } } },
        "rules[1].port_range_min" },
      { "only the min port", spec{ rules = { rule{ port_range_max = NONE } } }, "rules[1].port_range_max" },
      { "only the max port", spec{ rules = { rule{ port_range_min = NONE } } }, "rules[1].port_range_min" },
      { "icmp with ports", spec{ rules = { rule{ protocol = "icmp" } } }, "rules[1].port_range_min" },
      { "all with a max port", spec{ rules = { rule{ protocol = "all", port_range_min = NONE } } },
        "rules[1].port_range_max" },
      { "unknown rule key", spec{ rules = { rule{ cidr = "0.0.0.0/0" } } }, "rules[1].cidr" },
      { "second rule bad", spec{ rules = { rule(), rule{ direction = "out" } } }, "rules[2].direction" },
    }

    -- Specs an update in auto mode sends as PATCH (no name or no rules):
    -- what is there is still checked.
    local PARTIAL = {
      { "description only, a number", { description = 5 }, "description" },
      { "name only, empty", { name = "" }, "name" },
      { "name only, not a string", { name = 42 }, "name" },
      { "name only, default", { name = "default" }, "name" },
      { "name only, standard", { name = "standard" }, "name" },
      { "rules only, empty", { rules = {} }, "rules" },
      { "rules only, with a hole", { rules = { [1] = rule(), [3] = rule() } }, "rules" },
      { "rules only, string key", { rules = { rule(), x = rule() } }, "rules" },
      { "rules only, port 0", { rules = { rule{ port_range_min = 0 } } }, "rules[1].port_range_min" },
      { "rules only, port 22.5", { rules = { rule{ port_range_max = 22.5 } } }, "rules[1].port_range_max" },
      { "rules only, min above max", { rules = { rule{ port_range_min = 23 } } }, "rules[1].port_range_min" },
      { "rules only, icmp with ports", { rules = { rule{ protocol = "icmp" } } }, "rules[1].port_range_min" },
      { "rules only, unknown key", { rules = { rule{ cidr = "10.0.0.0/8" } } }, "rules[1].cidr" },
      { "description and a bad protocol", { description = "x", rules = { rule{ protocol = "gre" } } },
        "rules[1].protocol" },
      { "name and a bad direction", { name = "web", rules = { rule{ direction = "both" } } },
        "rules[1].direction" },
    }

    local QUERIES = {
      { "page 0", { page = 0 }, "page" },
      { "page -1", { page = -1 }, "page" },
      { "page \"1\"", { page = "1" }, "page" },
      { "page 1.5", { page = 1.5 }, "page" },
      { "per_page 0", { per_page = 0 }, "per_page" },
      { "per_page 101", { per_page = 101 }, "per_page" },
      { "per_page 2.5", { per_page = 2.5 }, "per_page" },
      { "per_page \"50\"", { per_page = "50" }, "per_page" },
    }

    local existing

    setup(function()
      fresh()
      existing = assert(client:create_security_group(spec()))
    end)

    before_each(clear)

    local function assert_validation(result, err, field)
      assert.is_nil(result)
      assert.is_true(genesiscloud.is_error(err), "not an error object: " .. tostring(err))
      assert.are.equal("validation", err.kind)
      assert.are.equal(field, err.field)
      assert.matches("^genesiscloud: validation: ", tostring(err))
      assert.are.same({}, methods(log()))
    end

    -- The table is not a valid spec (the cases would prove nothing otherwise).
    it("has a valid base spec and query that do send", function()
      assert(client:create_security_group(spec()))
      assert(client:update_security_group(existing.id, spec()))
      assert(client:update_security_group(existing.id, { description = "partial" }))
      assert(client:list_security_groups{ page = 1, per_page = 100 })
      assert.are.same({ "GET", "POST", "PUT", "PATCH", "GET" }, methods(log()))
    end)

    for _, case in ipairs(SPECS) do
      local label, bad, field = case[1], case[2], case[3]

      it("create_security_group: " .. label .. " -> " .. field, function()
        local result, err = client:create_security_group(bad)
        assert_validation(result, err, field)
      end)

      it("ensure_security_group: " .. label .. " -> " .. field, function()
        local result, err = client:ensure_security_group(bad)
        assert_validation(result, err, field)
      end)

      if bad.name ~= nil and bad.rules ~= nil then
        it("update_security_group (complete, PUT): " .. label .. " -> " .. field, function()
          local result, err = client:update_security_group(existing.id, bad)
          assert_validation(result, err, field)
        end)
      end
    end

    for _, case in ipairs(PARTIAL) do
      local label, bad, field = case[1], case[2], case[3]
      it("update_security_group (partial, PATCH): " .. label .. " -> " .. field, function()
        local result, err = client:update_security_group(existing.id, bad)
        assert_validation(result, err, field)
      end)
    end

    it("update_security_group with update_method = PUT needs a complete spec", function()
      local put = helper.client(emu, { update_method = "PUT" })
      local result, err = put:update_security_group(existing.id, { description = "x" })
      assert_validation(result, err, "name")
      result, err = put:update_security_group(existing.id, { name = "web" })
      assert_validation(result, err, "rules")
      put:close()
    end)

    for _, case in ipairs(QUERIES) do
      local label, query, field = case[1], case[2], case[3]

      it("list_security_groups: " .. label .. " -> " .. field, function()
        local result, err = client:list_security_groups(query)
        assert_validation(result, err, field)
      end)

      it("all_security_groups: " .. label .. " -> " .. field, function()
        local result, err = client:all_security_groups(query)
        assert_validation(result, err, field)
      end)

      it("security_groups and security_group_pages raise it: " .. label, function()
        for _, name in ipairs{ "security_groups", "security_group_pages" } do
          local ok, err = pcall(function()
            for _ in client[name](client, query) do error("the loop body ran") end
          end)
          assert.is_false(ok)
          assert_validation(nil, err, field)
        end
      end)
    end

    it("rejects max_pages below 1 before sending", function()
      local result, err = client:all_security_groups{ max_pages = 0 }
      assert_validation(result, err, "max_pages")
    end)
  end)

  describe("iteration", function()
    for _, size in ipairs{ 0, 1, 50, 51, 237 } do
      describe("over " .. size .. " groups", function()
        local ids          -- in creation order
        local index_of     -- id -> position

        setup(function()
          fresh()
          ids, index_of = {}, {}
          local r = { rules.ssh() }
          for i = 1, size do
            local sg = assert(client:create_security_group{ name = ("g%03d"):format(i), rules = r })
            ids[i], index_of[sg.id] = sg.id, i
          end
        end)

        before_each(clear)

        local sizes = size <= 51 and { 1, 7, 50, 100 } or { 7, 50, 100 }
        for _, per_page in ipairs(sizes) do
          local pages = math.max(1, ceil_div(size, per_page))

          it(("security_groups{ per_page = %d } sees every group exactly once"):format(per_page), function()
            local seen, n = {}, 0
            for sg in client:security_groups{ per_page = per_page } do
              n = n + 1
              assert.is_not_nil(index_of[sg.id], "unknown id " .. tostring(sg.id))
              assert.is_nil(seen[sg.id], "seen twice: " .. tostring(sg.id))
              seen[sg.id] = true
              assert.are.equal(("g%03d"):format(index_of[sg.id]), sg.name)
            end
            assert.are.equal(size, n)
            local requests = log()
            assert.are.equal(pages, #requests)
            for i, req in ipairs(requests) do
              assert.are.equal("GET", req.method)
              assert.are.equal("/security-groups", req.path)
              assert.are.same({ page = tostring(i), per_page = tostring(per_page) }, req.query)
              assert.are.equal(200, req.status)
            end
          end)

          it(("security_group_pages{ per_page = %d } yields whole pages"):format(per_page), function()
            local got, count = {}, 0
            for page, response in client:security_group_pages{ per_page = per_page } do
              count = count + 1
              assert.are.equal(size, response.total_count)
              assert.are.equal(count, response.page)
              assert.are.equal(math.min(per_page, size - (count - 1) * per_page), #page)
              for _, sg in ipairs(page) do got[#got + 1] = sg.id end
            end
            assert.are.equal(size == 0 and 0 or pages, count)
            assert.are.same(ids, got)
            assert.are.equal(pages, #log())
          end)

          it(("all_security_groups{ per_page = %d } returns one array"):format(per_page), function()
            local all, err = client:all_security_groups{ per_page = per_page }
            assert.is_nil(err)
            local got = {}
            for i, sg in ipairs(all) do got[i] = sg.id end
            assert.are.same(ids, got)
            assert.are.equal(pages, #log())
          end)
        end

        if size >= 51 then
          it("fetches a page only when the one before is used up", function()
            local step = client:security_groups{ per_page = 50 }
            assert.are.equal(0, #log())
            for i = 1, 50 do assert.are.equal(ids[i], step().id) end
            assert.are.equal(1, #log())
            assert.are.equal(ids[51], step().id)
            assert.are.equal(2, #log())

            clear()
            local next_page = client:security_group_pages{ per_page = 7 }
            assert.are.equal(0, #log())
            assert.are.equal(7, #next_page())
            assert.are.equal(1, #log())
            assert.are.equal(7, #next_page())
            assert.are.equal(2, #log())
          end)

          it("stops after max_pages", function()
            local got = {}
            for sg in client:security_groups{ per_page = 7, max_pages = 2 } do got[#got + 1] = sg.id end
            assert.are.same({ table.unpack(ids, 1, 14) }, got)
            assert.are.equal(2, #log())
            clear()
            local all = assert(client:all_security_groups{ per_page = 50, max_pages = 1 })
            assert.are.equal(50, #all)
            assert.are.equal(1, #log())
          end)

          it("starts at page = n and still stops at the end", function()
            local got = {}
            for sg in client:security_groups{ page = 3, per_page = 7 } do got[#got + 1] = sg.id end
            assert.are.same({ table.unpack(ids, 15) }, got)
            assert.are.equal(ceil_div(size, 7) - 2, #log())
            assert.are.same({ page = "3", per_page = "7" }, log()[1].query)
          end)

          it("can be left with break, and the client still works", function()
            local n = 0
            for _ in client:security_groups{ per_page = 7 } do
              n = n + 1
              if n == 3 then break end
            end
            assert.are.equal(3, n)
            assert.are.equal(1, #log())
            local page = assert(client:list_security_groups{ per_page = 1 })
            assert.are.equal(size, page.total_count)
            assert.are.equal(size, #assert(client:all_security_groups{ per_page = 100 }))
          end)

          it("can be left by an error in the loop body, and the client still works", function()
            local ok, err = pcall(function()
              for _ in client:security_groups{ per_page = 7 } do error("stop here", 0) end
            end)
            assert.is_false(ok)
            assert.are.equal("stop here", err)
            assert.are.equal(1, #log())
            assert.are.equal(size, #assert(client:all_security_groups{ per_page = 100 }))
          end)

          it("ends the walk when its closing value is closed", function()
            local step, _, _, closing = client:security_groups{ per_page = 7 }
            assert.is_not_nil(step())
            getmetatable(closing).__close(closing)
            assert.is_nil(step())
            assert.are.equal(1, #log())
          end)
        end

        if size == 237 then
          it("lets ensure find a group on the third page", function()
            local sg, action = client:ensure_security_group{ name = "g237", rules = { rules.ssh() } }
            assert.are.equal("unchanged", action)
            assert.are.equal(ids[237], sg.id)
            assert.are.same({ "GET", "GET", "GET" }, methods(log()))
          end)
        end
      end)
    end
  end)

  describe("waiting", function()
    before_each(fresh)

    local SPEC = { name = "web", rules = { rules.ssh() } }

    -- Time checks have lower bounds that hold however slow the machine is
    -- (the emulator's clock starts before the client sees the answer) and
    -- generous upper bounds, so that valgrind runs do not fail them.
    it("returns the group once it is created", function()
      assert(emu:configure{ create_delay = 0.3 })
      local started = clock.now()
      local sg = assert(client:create_security_group(SPEC))
      assert.are.equal("creating", sg.status)
      clear()
      local ready, err = client:wait_for_security_group(sg.id, { interval = 0.05 })
      local elapsed = clock.now() - started
      assert.is_nil(err)
      assert.are.equal("created", ready.status)
      assert.are.equal(sg.id, ready.id)
      assert.is_true(elapsed >= 0.25 and elapsed < 10, "took " .. elapsed .. " s")
      local requests = log()
      assert.is_true(#requests >= 1)
      assert.are.equal(count_method(requests, "GET"), #requests)
    end)

    it("polls until the status changes, with growing pauses", function()
      assert(emu:configure{ create_delay = 30 })
      local sg = assert(client:create_security_group(SPEC))
      clear()
      local pauses = {}
      local ready, err = client:wait_for_security_group(sg.id, { interval = 0.01, timeout = 10,
        sleep = function(seconds)
          pauses[#pauses + 1] = seconds
          if #pauses == 3 then assert(emu:set_status(sg.id, "created")) end
          clock.sleep(seconds)
        end })
      assert.is_nil(err)
      assert.are.equal("created", ready.status)
      assert.are.equal(4, #log())
      assert.are.equal(3, #pauses)
      assert.is_true(pauses[1] < pauses[2] and pauses[2] < pauses[3], table.concat(pauses, ", "))
    end)

    it("stops on status error with kind resource_error", function()
      assert(emu:configure{ create_delay = 30 })
      local sg = assert(client:create_security_group(SPEC))
      assert(emu:set_status(sg.id, "error"))
      clear()
      local ready, err = client:wait_for_security_group(sg.id, { interval = 0.05, timeout = 5 })
      assert.is_nil(ready)
      assert.is_true(genesiscloud.is_error(err))
      assert.are.equal("resource_error", err.kind)
      assert.are.equal("error", err.last_status)
      assert.are.equal(sg.id, err.resource.id)
      assert.are.equal(1, #log())
    end)

    it("returns the 404 for an unknown id at once", function()
      local ready, err = client:wait_for_security_group("no-such-group", { interval = 0.05, timeout = 5 })
      assert.is_nil(ready)
      assert.are.equal("api", err.kind)
      assert.are.equal(404, err.status)
      assert.are.equal(1, #log())
    end)

    it("times out with the last status", function()
      assert(emu:configure{ create_delay = 30 })
      local sg = assert(client:create_security_group(SPEC))
      local started = clock.now()
      local ready, err = client:wait_for_security_group(sg.id, { interval = 0.05, timeout = 0.3 })
      local elapsed = clock.now() - started
      assert.is_nil(ready)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("creating", err.last_status)
      assert.are.equal("created", err.wanted)
      assert.matches("creating", tostring(err))
      assert.is_true(elapsed >= 0.25 and elapsed < 10, "took " .. elapsed .. " s")
    end)

    it("waits for a deletion to finish", function()
      assert(emu:configure{ delete_delay = 0.3 })
      local sg = assert(client:create_security_group(SPEC))
      local started = clock.now()
      assert.is_true(client:delete_security_group(sg.id))
      clear()
      local ok, err = client:wait_for_security_group_deleted(sg.id, { interval = 0.05 })
      local elapsed = clock.now() - started
      assert.is_nil(err)
      assert.is_true(ok)
      assert.is_true(elapsed >= 0.25 and elapsed < 10, "took " .. elapsed .. " s")
      local requests = log()
      assert.are.equal(404, requests[#requests].status)
      assert.are.equal(count_method(requests, "GET"), #requests)
    end)

    it("times out waiting for a deletion that does not finish", function()
      assert(emu:configure{ delete_delay = 30 })
      local sg = assert(client:create_security_group(SPEC))
      assert.is_true(client:delete_security_group(sg.id))
      local ok, err = client:wait_for_security_group_deleted(sg.id, { interval = 0.05, timeout = 0.2 })
      assert.is_nil(ok)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("deleting", err.last_status)
    end)

    it("create_security_group(spec, { wait = ... }) returns the created group", function()
      assert(emu:configure{ create_delay = 0.2 })
      local started = clock.now()
      local sg, err = client:create_security_group(SPEC, { wait = { interval = 0.05 } })
      local elapsed = clock.now() - started
      assert.is_nil(err)
      assert.are.equal("created", sg.status)
      assert.is_true(elapsed >= 0.15 and elapsed < 10, "took " .. elapsed .. " s")
      local requests = log()
      assert.are.equal("POST", requests[2].method) -- after the look at what exists
      assert.are.equal("GET", requests[#requests].method)
    end)

    it("update_security_group(id, spec, { wait = ... }) returns the updated group", function()
      local sg = assert(client:create_security_group(SPEC))
      assert(emu:configure{ update_delay = 0.2 })
      clear()
      local started = clock.now()
      local updated, err = client:update_security_group(sg.id, { name = "web", description = "v2",
        rules = SPEC.rules }, { wait = { interval = 0.05 } })
      local elapsed = clock.now() - started
      assert.is_nil(err)
      assert.are.equal("created", updated.status)
      assert.are.equal("v2", updated.description)
      assert.is_true(elapsed >= 0.15 and elapsed < 10, "took " .. elapsed .. " s")
      local requests = log()
      assert.are.equal("PUT", requests[1].method)
      assert.are.equal("GET", requests[#requests].method)
    end)
  end)

  describe("ensure_security_group", function()
    before_each(fresh)

    local function want(changes)
      local out = { name = "web", description = "web tier", rules = { rules.ssh(), rules.https() } }
      for k, v in pairs(changes or {}) do out[k] = v end
      return out
    end

    local function create()
      local sg = assert(client:create_security_group(want()))
      clear()
      return sg
    end

    it("creates a group that does not exist", function()
      local sg, action, plan = client:ensure_security_group(want())
      assert.are.equal("created", action)
      assert.are.equal("web", sg.name)
      assert.are.equal("web tier", sg.description)
      assert.is_true(rules.equal(want().rules, sg.rules))
      assert.are.equal("created", plan.action)
      assert.are.same({ "GET", "POST" }, methods(log()))
      assert.are.equal(1, #assert(client:all_security_groups()))
    end)

    it("changes nothing the second time, sending no write", function()
      local first = assert(client:ensure_security_group(want()))
      clear()
      local sg, action, plan = client:ensure_security_group(want())
      assert.are.equal("unchanged", action)
      assert.are.equal(first.id, sg.id)
      assert.are.same({ add = {}, remove = {} }, plan.rules)
      assert_only_gets(log())
    end)

    it("updates a changed description", function()
      local sg = create()
      local updated, action, plan = client:ensure_security_group(want{ description = "web tier, v2" })
      assert.are.equal("updated", action)
      assert.are.equal(sg.id, updated.id)
      assert.are.same({ from = "web tier", to = "web tier, v2" }, plan.changes.description)
      assert.are.same({ add = {}, remove = {} }, plan.rules)
      local requests = log()
      assert.are.equal(1, count_method(requests, "PUT"))
      assert.are.equal("/security-groups/" .. sg.id, requests[#requests].path)
      local read = assert(client:get_security_group(sg.id))
      assert.are.equal("web tier, v2", read.description)
      assert.is_true(rules.equal(want().rules, read.rules))
    end)

    it("updates changed rules", function()
      local sg = create()
      local _, action, plan = client:ensure_security_group(want{ rules = { rules.ssh(), rules.http() } })
      assert.are.equal("updated", action)
      assert.are.same({ "ingress tcp 80" }, formatted(plan.rules.add))
      assert.are.same({ "ingress tcp 443" }, formatted(plan.rules.remove))
      assert.is_nil(plan.changes.description)
      assert.are.equal(1, count_method(log(), "PUT"))
      local read = assert(client:get_security_group(sg.id))
      assert.are.same({ "ingress tcp 22", "ingress tcp 80" }, formatted(rules.normalize(read.rules)))
      assert.are.equal("web tier", read.description)
    end)

    it("keeps the description when it is left out, even on a rules update", function()
      local sg = create()
      local _, action = client:ensure_security_group{ name = "web", rules = { rules.ssh() } }
      assert.are.equal("updated", action)
      assert.are.equal("web tier", assert(client:get_security_group(sg.id)).description)
    end)

    it("treats order, duplicates, 22.0 and 1-65535 alone as unchanged", function()
      local sg = assert(client:create_security_group(
        want{ rules = { rules.ssh(), rules.https(), rules.ingress.udp() } }))
      clear()
      local same = {
        rules.ingress.udp(1, 65535), rules.https(), rules.ssh(), rules.ssh(),
        { protocol = "tcp", direction = "ingress", port_range_min = 22.0, port_range_max = 22.0 },
      }
      local got, action, plan = client:ensure_security_group(want{ rules = same })
      assert.are.equal("unchanged", action)
      assert.are.equal(sg.id, got.id)
      assert.are.same({ add = {}, remove = {} }, plan.rules)
      assert_only_gets(log())
      -- and a description left out is not managed
      clear()
      local _, again = client:ensure_security_group{ name = "web", rules = same }
      assert.are.equal("unchanged", again)
      assert_only_gets(log())
    end)

    it("waits for the group when asked", function()
      assert(emu:configure{ create_delay = 0.2 })
      local sg, action = client:ensure_security_group(want(), { wait = { interval = 0.05 } })
      assert.are.equal("created", action)
      assert.are.equal("created", sg.status)
    end)

    describe("dry_run", function()
      it("plans a create without writing", function()
        local plan, action = client:ensure_security_group(want{ dry_run = true })
        assert.are.equal("created", action)
        assert.are.equal("created", plan.action)
        assert.is_true(plan.dry_run)
        assert.is_nil(plan.id)
        assert.are.equal("web", plan.name)
        assert.are.same({ "ingress tcp 22", "ingress tcp 443" }, formatted(plan.rules.add))
        assert.are.same({}, plan.rules.remove)
        assert_only_gets(log())
        assert.are.equal(0, #assert(client:all_security_groups()))
      end)

      it("plans an update without writing", function()
        local sg = create()
        local plan, action = client:ensure_security_group(
          want{ description = "new", rules = { rules.ssh(), rules.http() } }, { dry_run = true })
        assert.are.equal("updated", action)
        assert.are.equal("updated", plan.action)
        assert.are.equal(sg.id, plan.id)
        assert.are.same({ description = { from = "web tier", to = "new" } }, plan.changes)
        assert.are.same({ "ingress tcp 80" }, formatted(plan.rules.add))
        assert.are.same({ "ingress tcp 443" }, formatted(plan.rules.remove))
        assert_only_gets(log())
        local read = assert(client:get_security_group(sg.id))
        assert.are.equal("web tier", read.description)
        assert.is_true(rules.equal(want().rules, read.rules))
      end)

      it("plans nothing for an unchanged group", function()
        local sg = create()
        local plan, action = client:ensure_security_group(want{ dry_run = true })
        assert.are.equal("unchanged", action)
        assert.are.equal("unchanged", plan.action)
        assert.are.equal(sg.id, plan.id)
        assert.are.same({}, plan.changes)
        assert.are.same({ add = {}, remove = {} }, plan.rules)
        assert_only_gets(log())
      end)

      it("plans a delete without deleting", function()
        local sg = create()
        local plan, action = client:ensure_security_group_absent({ name = "web" }, { dry_run = true })
        assert.are.equal("deleted", action)
        assert.are.equal("deleted", plan.action)
        assert.are.equal(sg.id, plan.id)
        assert.is_true(plan.dry_run)
        assert_only_gets(log())
        assert(client:get_security_group(sg.id))
      end)

      it("plans nothing for a group already absent", function()
        local plan, action = client:ensure_security_group_absent{ name = "web", dry_run = true }
        assert.are.equal("absent", action)
        assert.are.equal("absent", plan.action)
        assert.is_nil(plan.id)
        assert_only_gets(log())
      end)
    end)

    describe("absent", function()
      it("deletes the group, then finds it absent", function()
        local sg = create()
        local ok, action = client:ensure_security_group_absent{ name = "web" }
        assert.is_true(ok)
        assert.are.equal("deleted", action)
        local requests = log()
        assert.are.equal(1, count_method(requests, "DELETE"))
        assert.are.equal("/security-groups/" .. sg.id, requests[#requests].path)
        local _, err = client:get_security_group(sg.id)
        assert.are.equal(404, err.status)

        clear()
        ok, action = client:ensure_security_group_absent{ name = "web" }
        assert.is_true(ok)
        assert.are.equal("absent", action)
        assert_only_gets(log())
      end)

      it("waits for the deletion when asked", function()
        local sg = create()
        assert(emu:configure{ delete_delay = 0.2 })
        local ok, action = client:ensure_security_group_absent({ name = "web" }, { wait = { interval = 0.05 } })
        assert.is_true(ok)
        assert.are.equal("deleted", action)
        local _, err = client:get_security_group(sg.id)
        assert.are.equal(404, err.status)
      end)
    end)

    it("refuses to choose between two groups with the same name", function()
      local a = assert(client:create_security_group{ name = "dup", rules = { rules.ssh() } })
      local b = assert(client:create_security_group{ name = "dup", rules = { rules.https() } })
      clear()
      for _, call in ipairs{
        function() return client:ensure_security_group{ name = "dup", rules = { rules.ssh() } } end,
        function() return client:ensure_security_group{ name = "dup", rules = { rules.ssh() }, dry_run = true } end,
        function() return client:ensure_security_group_absent{ name = "dup" } end,
      } do
        local result, err = call()
        assert.is_nil(result)
        assert.is_true(genesiscloud.is_error(err))
        assert.are.equal("conflict", err.kind)
        assert.are.same({ a.id, b.id }, err.ids)
        assert.is_truthy(tostring(err):find(a.id, 1, true))
        assert.is_truthy(tostring(err):find(b.id, 1, true))
      end
      assert_only_gets(log())
      assert.are.equal(2, #assert(client:all_security_groups()))
    end)
  end)

  describe("a closed client", function()
    it("raises a usage error from the iterators and returns one from the rest", function()
      fresh()
      local sg = assert(client:create_security_group{ name = "web", rules = { rules.ssh() } })
      local c = helper.client(emu)
      c:close()
      clear()
      for _, name in ipairs{ "security_groups", "security_group_pages" } do
        -- the call itself raises, before the loop asks for anything
        local ok, err = pcall(c[name], c)
        assert.is_false(ok)
        assert.is_true(genesiscloud.is_error(err), name .. " raised " .. tostring(err))
        assert.are.equal("usage", err.kind)
        assert.matches("closed", err.message)
        ok, err = pcall(function()
          for _ in c[name](c) do error("the loop body ran") end
        end)
        assert.is_false(ok)
        assert.are.equal("usage", err.kind)
      end
      local calls = {
        function() return c:all_security_groups() end,
        function() return c:wait_for_security_group(sg.id, { timeout = 1 }) end,
        function() return c:wait_for_security_group_deleted(sg.id, { timeout = 1 }) end,
        function() return c:ensure_security_group{ name = "web", rules = { rules.ssh() } } end,
        function() return c:ensure_security_group_absent{ name = "web" } end,
      }
      for _, call in ipairs(calls) do
        local result, err = call()
        assert.is_nil(result)
        assert.is_true(genesiscloud.is_error(err))
        assert.are.equal("usage", err.kind)
        assert.matches("closed", err.message)
      end
      assert.are.same({}, log())
    end)
  end)
end)

describe("lua layer against a server that repeats a page", function()
  local server, client

  setup(function()
    server = helper.start_canned_server()
    client = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint, timeout = 2 })
  end)

  teardown(function()
    if client then client:close() end
    if server then server.stop() end
  end)

  local function assert_repeated(err)
    assert.is_true(genesiscloud.is_error(err), "not an error object: " .. tostring(err))
    assert.are.equal("decode", err.kind)
    assert.are.equal("repeated_page", err.code)
    assert.are.equal(2, err.page)
  end

  it("serves the same page twice (the premise)", function()
    local one = assert(client:list_security_groups{ page = 1, per_page = 2 })
    local two = assert(client:list_security_groups{ page = 2, per_page = 2 })
    assert.are.same(one.security_groups, two.security_groups)
    assert.are.equal(10, two.total_count)
  end)

  it("ends security_groups with an error object, not an endless loop", function()
    local seen = {}
    local ok, err = pcall(function()
      for sg in client:security_groups{ per_page = 2 } do
        seen[#seen + 1] = sg.id
        if #seen > 20 then error("runaway walk", 0) end
      end
    end)
    assert.is_false(ok)
    assert_repeated(err)
    assert.are.same({ "rep-1", "rep-2" }, seen)
  end)

  it("ends security_group_pages the same way", function()
    local pages = 0
    local ok, err = pcall(function()
      for _ in client:security_group_pages{ per_page = 2 } do
        pages = pages + 1
        if pages > 10 then error("runaway walk", 0) end
      end
    end)
    assert.is_false(ok)
    assert_repeated(err)
    assert.are.equal(1, pages)
  end)

  it("makes all_security_groups return nil, err", function()
    local all, err = client:all_security_groups{ per_page = 2 }
    assert.is_nil(all)
    assert_repeated(err)
  end)
end)

describe("ensure and a group that is being deleted", function()
  local emu, client
  setup(function()
    emu = helper.start_emulator{ delete_delay = 30 }
    client = helper.client(emu)
  end)
  teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  it("treats it as absent: present creates a new group, absent sends nothing", function()
    local spec = { name = "leaving", rules = { rules.ssh() } }
    local old = assert(client:create_security_group(spec))
    assert(client:delete_security_group(old.id))
    assert.are.equal("deleting", assert(client:get_security_group(old.id)).status)
    assert(emu:clear_requests())
    local ok, action = client:ensure_security_group_absent{ name = "leaving" }
    assert.is_true(ok)
    assert.are.equal("absent", action)
    for _, req in ipairs(assert(emu:requests())) do assert.are.equal("GET", req.method) end
    local sg, created = assert(client:ensure_security_group(spec))
    assert.are.equal("created", created)
    assert.are_not.equal(old.id, sg.id)
  end)
end)
