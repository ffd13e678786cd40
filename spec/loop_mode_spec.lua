-- Loop mode (issue 15): a client made with `loop = adapter` yields inside
-- coroutines and blocks on the main thread, against the emulator, with the
-- test host spec/support/test_loop_host.lua (luv), which counts what it
-- holds so every spec can check that nothing is left watched or armed.
-- Conditions are waited for with the host's bounded loop (run_until),
-- never with sleeps.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local test_host = require "support.test_loop_host"

local unpack = table.unpack or unpack -- luacheck: ignore 143
-- PUC Lua 5.1 raises error objects as strings, and cannot yield across pcall
-- or from a metamethod
local PUC51 = _VERSION == "Lua 5.1" and rawget(_G, "jit") == nil
local function pack(...) return { n = select("#", ...), ... } end

-- A host that is enough for `new` to accept (never run).
local function inert_host()
  local function nop() end
  return { watch = nop, unwatch = nop, timer = nop }
end

describe("the loop option", function()
  local emu
  setup(function() emu = helper.start_emulator() end)
  teardown(function() emu:stop() end)

  it("must be an adapter: a clear usage error from new", function()
    local cases = {
      { 5, "option 'loop' must be a loop adapter (a table), got number" },
      { "luv", "option 'loop' must be a loop adapter (a table), got string" },
      { {}, "option 'loop' must be a loop adapter: its 'watch' is a nil, not a function" },
      { { watch = function() end, unwatch = function() end },
        "option 'loop' must be a loop adapter: its 'timer' is a nil, not a function" },
      { { watch = function() end, unwatch = true, timer = function() end },
        "option 'loop' must be a loop adapter: its 'unwatch' is a boolean, not a function" },
    }
    for _, case in ipairs(cases) do
      local c, err = genesiscloud.new{ token = emu.token, endpoint = emu.endpoint, loop = case[1] }
      assert.is_nil(c)
      assert.are.equal("usage", err.kind)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message)
    end
    local ok, err = pcall(genesiscloud.new, { token = emu.token, endpoint = emu.endpoint, loop = {},
      errors = "raise" })
    assert.is_false(ok)
    assert.matches("option 'loop' must be a loop adapter", tostring(err), 1, true)
  end)

  it("serves one open client: a second on the same adapter is refused", function()
    -- the adapter's one timer would be taken from the first client, whose
    -- transfers and sleeps would then never wake
    local host = inert_host()
    local first = helper.client(emu, { loop = host })
    local second, err = genesiscloud.new{ token = emu.token, endpoint = emu.endpoint, loop = host }
    assert.is_nil(second)
    assert.are.equal("usage", err.kind)
    assert.matches("this adapter already serves another open client", err.message, 1, true)
    first:close()
    helper.client(emu, { loop = host }) -- free again once it is closed; dropped unclosed
    collectgarbage()
    collectgarbage()
    helper.client(emu, { loop = host }):close() -- and once it is collected
  end)

  it("spawn needs a client made with a loop", function()
    local c = helper.client(emu)
    local task, err = c:spawn(function() end)
    assert.is_nil(task)
    assert.are.same({ "usage", "spawn needs a client made with loop = adapter" }, { err.kind, err.message })
    assert.has_error(function() c:spawn("not a function") end)
    c:close()
    local lc = helper.client(emu, { loop = inert_host() })
    lc:close()
    task, err = lc:spawn(function() end)
    assert.is_nil(task)
    assert.are.same({ "usage", "the client is closed" }, { err.kind, err.message })
  end)
end)

if not test_host.available then
  pending("loop mode against a real loop needs luv (" .. test_host.why .. ")")
  return
end

local uv = test_host.uv
local client_state = require("genesiscloud.client").state
local rules = genesiscloud.rules

local function driver_of(client) return client_state(client).driver end

local LATENCY = 0.01 -- seconds the emulator takes per request: long enough for ticks
local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"
local BOX = { name = "box", hostname = "box", type = "vcpu-2_memory-4g_disk-80g", image = "ubuntu:22.04",
  region = "NORD-NO-KRS-1", password = "Secret123abc" }

local function group(name)
  return { name = name, rules = { rules.ssh() } }
end

-- The parts of an error object that must not depend on the mode.
local function error_fields(err)
  assert.is_table(err)
  return { kind = err.kind, status = err.status, attempts = err.attempts, retryable = err.retryable,
    message = err.message, ambiguous = err.ambiguous, deadline_exceeded = err.deadline_exceeded }
end

-- A group as the API shows it, without what differs between two creates.
local function shape(sg)
  local out = {}
  for k, v in pairs(sg) do
    if k ~= "id" and k ~= "created_at" and k ~= "updated_at" and k ~= "name" then out[k] = v end
  end
  return out
end

-- The specs for one kind of host: `host_opts` for test_host.new (nil: the
-- driver runs plain coroutines; { spawn = true, park = true }: the host
-- runs its own, as cqueues does; `only`: the sections to run).
local function loop_mode(label, host_opts)
describe(label, function()
  local emu, host, c
  local hosts -- every host of the spec, checked and closed after it

  -- A spec whose coroutine yields inside a `for` over an iterator, which
  -- is a callable object: PUC Lua 5.1 cannot yield from its __call.
  local function it_iterator(name, fn)
    if PUC51 then return pending(name .. ": PUC Lua 5.1 cannot yield from an iterator's __call") end
    it(name, fn)
  end

  -- The parts to run (host_opts.only: some of them).
  local function section(name, fn)
    if not (host_opts and host_opts.only) or host_opts.only[name] then describe(name, fn) end
  end

  setup(function() emu = helper.start_emulator() end)
  teardown(function() emu:stop() end)

  -- A loop client with extra options, on a host of its own (an adapter
  -- serves one client): -> the client, its host.
  local function loop_client(opts)
    local h = host_opts and host_opts.real and test_host.real(host_opts) or test_host.new(host_opts)
    hosts[#hosts + 1] = h
    local o = { loop = h, max_retries = 0 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return helper.client(emu, o), h
  end

  before_each(function()
    assert(emu:reset())
    assert(emu:configure{ latency = LATENCY, fault_rate = 0, create_delay = 0, update_delay = 0,
      delete_delay = 0, transitions = { security_groups = { create = false }, instances = { stop = false } } })
    hosts = {}
    c, host = loop_client()
  end)

  after_each(function()
    local n = driver_of(c):counts()
    assert.are.same({ 0, 0 }, { n.in_flight, n.waiting }, "in flight, waiting")
    c:close()
    -- whatever a spec did, the driver leaves the host nothing (all hosts
    -- run on luv's default loop: spinning one spins them all)
    host:spin(2)
    for _, h in ipairs(hosts) do
      assert.are.same({ watchers = 0, timer = false }, h:counts())
      assert.are.same({}, h.errors)
      assert.are.equal(0, h.pending_resumes)
      h:close()
    end
  end)

  -- Runs the loop until `task` ends (bounded).
  local function settle(task, limit)
    assert.is_true(host:run_until(function() return task:status() ~= "running" end, limit),
      "the task did not end")
    return task
  end

  -- Runs `call` in a task of client `client` (default c) with a ticker on
  -- the loop: -> its results (packed), the ticks counted while it ran.
  local function in_loop(call, client)
    local ticker = test_host.ticker(1)
    local ticks
    local task = (client or c):spawn(function()
      local before = ticker.n
      local r = pack(call())
      ticks = ticker.n - before
      return r
    end)
    settle(task)
    ticker.stop()
    local r, err = task:wait()
    assert(r, err)
    return r, ticks
  end

  -- On the main thread: the call blocks; the loop does not run (no host
  -- callback fires), none is needed.
  local function on_main(call)
    local before = host.calls.fired + host.calls.ready
    local r = pack(call())
    assert.are.equal(before, host.calls.fired + host.calls.ready, "the loop ran during a main-thread call")
    return r
  end

  -- Each kind of call: in a coroutine it yields (ticks happen while it
  -- waits), on the main thread it blocks, and both give the same.
  section("every kind of call", function()
    it("single create, get, update and delete", function()
      local r, ticks = in_loop(function() return c:create_security_group(group("in-loop")) end)
      local sg = assert(r[1], r[2])
      assert.is_true(ticks > 0, "no tick during create")
      local main_sg = assert(on_main(function() return c:create_security_group(group("on-main")) end)[1])
      assert.are.same(shape(main_sg), shape(sg))

      r, ticks = in_loop(function() return c:get_security_group(sg.id) end)
      assert.is_true(ticks > 0, "no tick during get")
      assert.are.same(on_main(function() return c:get_security_group(sg.id) end), r)

      r, ticks = in_loop(function() return c:update_security_group(sg.id, { description = "new" }) end)
      assert.is_true(ticks > 0, "no tick during update")
      assert.are.equal("new", r[1].description)
      local m = on_main(function() return c:update_security_group(main_sg.id, { description = "new" }) end)
      assert.are.same(shape(m[1]), shape(r[1]))

      r, ticks = in_loop(function() return c:delete_security_group(sg.id) end)
      assert.is_true(ticks > 0, "no tick during delete")
      assert.are.same(on_main(function() return c:delete_security_group(main_sg.id) end), r)

      -- and a failure: the same error object
      r = in_loop(function() return c:get_security_group(sg.id) end)
      local m404 = on_main(function() return c:get_security_group(sg.id) end)
      assert.is_nil(r[1])
      assert.are.equal(404, r[2].status)
      assert.are.same(error_fields(m404[2]), error_fields(r[2]))
    end)

    it("bulk: create_many, get_many, delete_many", function()
      local specs = { group("b1"), group("b2"), group("b3"), group("b4"), group("b5") }
      local r, ticks = in_loop(function() return c.security_groups:create_many(specs) end)
      assert.is_true(ticks > 0)
      local ids = {}
      for i, sg in ipairs(assert(r[1])) do
        assert.are.equal("b" .. i, sg.name)
        ids[i] = sg.id
      end
      ids[#ids + 1] = "no-such-group"
      r, ticks = in_loop(function() return c.security_groups:get_many(ids, { concurrency = 3 }) end)
      assert.is_true(ticks > 0)
      local m = on_main(function() return c.security_groups:get_many(ids, { concurrency = 3 }) end)
      assert.are.equal(#ids, #r[1])
      for i = 1, #ids - 1 do assert.are.same(m[1][i], r[1][i]) end
      assert.are.same(error_fields(m[1][#ids]), error_fields(r[1][#ids]))
      table.remove(ids)
      r, ticks = in_loop(function() return c.security_groups:delete_many(ids) end)
      assert.is_true(ticks > 0)
      for i = 1, #ids do assert.is_true(r[1][i]) end
      assert.are.same({}, assert(c.security_groups:all()))
    end)

    it_iterator("an iterator, and one broken out of early", function()
      for i = 1, 9 do assert(c:create_security_group(group("g" .. i))) end
      local r, ticks = in_loop(function()
        local names = {}
        for sg in c:security_groups{ per_page = 2 } do names[#names + 1] = sg.name end
        return names
      end)
      assert.is_true(ticks > 0)
      local names = {}
      for sg in c:security_groups{ per_page = 2 } do names[#names + 1] = sg.name end
      assert.are.same(names, r[1])
      assert.are.equal(9, #names)

      if _VERSION == "Lua 5.4" then
        -- broken out of early: the for loop closes the pipeline, whose
        -- pages in flight go at once
        local d = driver_of(c)
        r = in_loop(function()
          for _ in c:security_groups{ per_page = 1, concurrency = 4 } do break end -- luacheck: ignore 512
          return d:counts().in_flight
        end)
        assert.are.equal(0, r[1])
      end
    end)

    it("all with concurrency 8", function()
      for i = 1, 9 do assert(c:create_security_group(group("g" .. i))) end
      local r, ticks = in_loop(function() return c.security_groups:all{ per_page = 1, concurrency = 8 } end)
      assert.is_true(ticks > 0)
      assert.are.same(on_main(function() return c.security_groups:all{ per_page = 1, concurrency = 8 } end), r)
      assert.are.equal(9, #r[1])
    end)

    it("wait: its polls and the sleeps between them", function()
      assert(emu:configure{ transitions = { security_groups = { create = { reads = 3 } } } })
      local a = assert(c:create_security_group(group("a")))
      local b = assert(c:create_security_group(group("b")))
      assert.are.equal("creating", a.status)
      local opts = { status = "created", interval = 0.02, timeout = 5 }
      local sleeping = 0 -- ticks while the coroutine sleeps between polls
      local d = driver_of(c)
      local probe = uv.new_timer()
      probe:start(1, 1, function()
        local n = d:counts()
        if n.waiting == 1 and n.in_flight == 0 then sleeping = sleeping + 1 end
      end)
      local r, ticks = in_loop(function() return c:wait_for_security_group(a.id, opts) end)
      probe:stop()
      probe:close()
      assert.is_true(ticks > 0)
      assert.is_true(sleeping > 0, "no tick during the sleeps between polls")
      assert.are.equal("created", r[1].status)
      local m = on_main(function() return c:wait_for_security_group(b.id, opts) end)
      assert.are.same(shape(m[1]), shape(r[1]))
    end)

    it("ensure", function()
      local spec = { name = "web", description = "web tier", rules = { rules.ssh(), rules.https() } }
      local r, ticks = in_loop(function() return c:ensure_security_group(spec) end)
      assert.is_true(ticks > 0)
      assert.are.equal("created", r[2])
      r = in_loop(function() return c:ensure_security_group(spec) end)
      assert.are.equal("unchanged", r[2])
      local m = on_main(function() return c:ensure_security_group(spec) end)
      assert.are.same(m[1], r[1])
      assert.are.equal("unchanged", m[2])
    end)

    it("other services: ssh_keys, and instances with an action and its wait", function()
      local r, ticks = in_loop(function()
        local key = assert(c.ssh_keys:create{ name = "laptop", value = KEY })
        return key, assert(c.ssh_keys:get(key.id)), assert(c.ssh_keys:all())
      end)
      assert.is_true(ticks > 0)
      assert.are.same(r[1], r[2])
      assert.are.same(on_main(function() return c.ssh_keys:all() end)[1], r[3])

      assert(emu:configure{ transitions = { instances = { stop = { reads = 2 } } } })
      local box = assert(c.instances:create(BOX))
      assert(c.instances:wait(box.id, { interval = 0.01, timeout = 5 }))
      r, ticks = in_loop(function()
        return c.instances:stop(box.id, { wait = { interval = 0.01, timeout = 5 } })
      end)
      assert.is_true(ticks > 0)
      assert.are.equal("stopped", assert(r[1], r[2]).status)
      local m = on_main(function() return c.instances:get(box.id) end)
      assert.are.equal("stopped", m[1].status)
      r = in_loop(function() return c.instances:actions(box.id) end)
      assert.are.same(on_main(function() return c.instances:actions(box.id) end), r)
    end)

    it("client:request", function()
      assert(c:create_security_group(group("r")))
      local r, ticks = in_loop(function() return c:request("GET", "/security-groups") end)
      assert.is_true(ticks > 0)
      assert.are.same(on_main(function() return c:request("GET", "/security-groups") end), r)
      assert.are.equal(1, #r[1].security_groups)
    end)
  end)

  section("retries", function()
    local function faulted(settings)
      local s = { fault_rate = 1, latency = 0 }
      for k, v in pairs(settings) do s[k] = v end
      assert(emu:configure(s))
    end

    -- The same call, blocking then in the loop: the errors and the number
    -- of requests the emulator saw for each.
    local function both_modes(client, call)
      assert(emu:clear_requests())
      local blocking = on_main(function() return call(client) end)
      local sent_blocking = #assert(emu:requests())
      assert(emu:clear_requests())
      local looped = in_loop(function() return call(client) end, client)
      local sent_loop = #assert(emu:requests())
      return blocking, looped, sent_blocking, sent_loop
    end

    it("make the same attempts and the same error objects as blocking", function()
      local rc = loop_client{ max_retries = 2, retry_base = 0.01, random = function() return 0.5 end }
      local cases = {
        { { faults = { "status" }, fault_status = 503, fault_methods = { "GET" } },
          function(x) return x:get_security_group("sg-1") end, "api", 3 },
        -- libcurl itself sends a request again once when a reused
        -- connection closes before any answer: the requests may differ
        { { faults = { "close_before_body" }, fault_methods = { "GET" } },
          function(x) return x:list_security_groups() end, "transport", 3, "libcurl retries" },
        { { faults = { "status" }, fault_status = 429, fault_methods = { "POST" } },
          function(x) return x:create_security_group(group("p")) end, "api", 3 },
        { { faults = { "invalid_json" }, fault_methods = { "DELETE" } },
          function(x) return x:delete_security_group("sg-1") end, nil, nil },
      }
      for i, case in ipairs(cases) do
        faulted(case[1])
        local blocking, looped, sent_b, sent_l = both_modes(rc, case[2])
        assert.is_nil(blocking[1], i)
        assert.are.same(error_fields(blocking[2]), error_fields(looped[2]), i)
        if case[5] then
          assert.is_true(sent_b >= 3 and sent_l >= 3, i)
        else
          assert.are.equal(sent_b, sent_l, i)
        end
        if case[3] then
          assert.are.same({ case[3], case[4] }, { looped[2].kind, looped[2].attempts }, i)
        end
      end
      rc:close()
    end)

    it("settle a create whose answer was lost the same way: one group each", function()
      faulted{ faults = { "close_after_body" }, fault_methods = { "POST" } }
      local rc = loop_client{ max_retries = 2, retry_base = 0.01 }
      local mode = "main"
      local blocking, looped, sent_b, sent_l = both_modes(rc, function(x)
        local name = "lost-" .. mode
        mode = "loop"
        return x:create_security_group(group(name))
      end)
      assert(emu:configure{ fault_rate = 0 })
      assert.are.same({ "lost-main", "lost-loop" }, { blocking[1].name, looped[1].name })
      assert.are.equal(sent_b, sent_l)
      local names = {}
      for _, sg in ipairs(assert(c.security_groups:all())) do names[#names + 1] = sg.name end
      table.sort(names)
      assert.are.same({ "lost-loop", "lost-main" }, names)
      rc:close()
    end)

    it("a request timeout and a too large answer: the same errors, at the same time", function()
      -- libcurl's own timer ends the transfer: in the loop it comes through
      -- the host's timer
      faulted{ faults = { "stall" }, stall_seconds = 5, fault_methods = { "GET" } }
      local rc = loop_client{ timeout = 0.2 }
      local started = uv.hrtime()
      local blocking, looped = both_modes(rc, function(x) return x:get_security_group("sg-1") end)
      local elapsed = (uv.hrtime() - started) / 1e9
      assert.are.equal("timeout", looped[2].kind)
      local b, l = error_fields(blocking[2]), error_fields(looped[2])
      b.message, l.message = b.message:gsub("%d+", "N"), l.message:gsub("%d+", "N") -- "after 201 ms"
      assert.are.same(b, l)
      assert.is_true(elapsed < 1.5, "both took " .. elapsed)
      rc:close()

      faulted{ faults = { "oversize" }, oversize_bytes = 4096, fault_methods = { "GET" } }
      rc = loop_client{ max_response_bytes = 1024 }
      blocking, looped = both_modes(rc, function(x) return x:list_security_groups() end)
      assert.are.equal("too_large", looped[2].kind)
      assert.are.same(error_fields(blocking[2]), error_fields(looped[2]))
      rc:close()
    end)

    it("sleep through the backoff in the loop", function()
      faulted{ faults = { "status" }, fault_status = 503, fault_methods = { "GET" } }
      local rc, rhost = loop_client{ max_retries = 2, retry_base = 0.1, random = function() return 0.5 end }
      local d = driver_of(rc)
      local sleeping, armed = 0, 0
      local probe = uv.new_timer()
      probe:start(1, 1, function()
        local n = d:counts()
        if n.waiting == 1 and n.in_flight == 0 then
          sleeping = sleeping + 1
          if rhost:counts().timer then armed = armed + 1 end
        end
      end)
      local started = uv.hrtime()
      local r = in_loop(function() return rc:get_security_group("sg-1") end, rc)
      local elapsed = (uv.hrtime() - started) / 1e9
      probe:stop()
      probe:close()
      assert.are.same({ "api", 503, 3 }, { r[2].kind, r[2].status, r[2].attempts })
      -- backoffs of 0.05 and 0.1 s: the loop ran through them, on the host's timer
      assert.is_true(elapsed >= 0.15, "elapsed " .. elapsed)
      assert.is_true(sleeping >= 50, "ticks while sleeping: " .. sleeping)
      assert.is_true(armed >= 50, "ticks while sleeping on the host's timer: " .. armed)
      rc:close()
    end)

    it("honour a deadline, the same way in both modes", function()
      faulted{ faults = { "status" }, fault_status = 503, fault_methods = { "GET" }, latency = LATENCY }
      -- waits 0.1 then 0.2 s: the second would end past the deadline
      local rc = loop_client{ max_retries = 4, retry_base = 0.2, random = function() return 0.5 end,
        deadline = 0.25 }
      local started = uv.hrtime()
      local blocking, looped, sent_b, sent_l = both_modes(rc, function(x) return x:get_security_group("sg-1") end)
      local elapsed = (uv.hrtime() - started) / 1e9
      for _, r in ipairs{ blocking, looped } do
        assert.are.same({ "api", 503, 2, true }, { r[2].kind, r[2].status, r[2].attempts, r[2].deadline_exceeded })
      end
      assert.are.same(error_fields(blocking[2]), error_fields(looped[2]))
      assert.are.same({ 2, 2 }, { sent_b, sent_l })
      assert.is_true(elapsed < 0.5, "both calls took " .. elapsed)
      rc:close()
    end)
  end)

  section("concurrency", function()
    -- Peak of driver counts()[field] sampled every millisecond while `fn` runs.
    local function peak_while(field, fn)
      local d, peak = driver_of(c), 0
      local probe = uv.new_timer()
      probe:start(1, 1, function()
        local n = d:counts()[field]
        if n > peak then peak = n end
      end)
      fn()
      probe:stop()
      probe:close()
      return peak
    end

    it("several coroutines share one client and its connections", function()
      local ids = {}
      for i = 1, 4 do ids[i] = assert(c:create_security_group(group("s" .. i))).id end
      local before = c:transfer_stats()
      local order = {}
      local tasks = {}
      local peak = peak_while("in_flight", function()
        for t = 1, 4 do
          tasks[t] = c:spawn(function()
            for _ = 1, 5 do
              local sg = assert(c:get_security_group(ids[t]))
              assert.are.equal("s" .. t, sg.name)
              order[#order + 1] = t
            end
            return t
          end)
        end
        assert.is_true(host:run_until(function()
          for _, t in ipairs(tasks) do if t:status() == "running" then return false end end
          return true
        end))
      end)
      for t = 1, 4 do assert.are.same({ "done", t }, { tasks[t]:status(), (tasks[t]:wait()) }) end
      assert.are.equal(20, #order)
      assert.are.equal(4, peak)
      local seen = {}
      for i = 1, 4 do seen[order[i]] = true end
      assert.are.equal(4, #seen, "the first four answers came from four coroutines")
      local after = c:transfer_stats()
      assert.are.equal(20, after.requests - before.requests)
      local opened = after.new_connections - before.new_connections
      assert.is_true(opened <= 4, opened .. " connections opened for 20 requests")
      -- a second round opens none: the four connections are reused
      local again = c:spawn(function()
        for _, id in ipairs(ids) do assert(c:get_security_group(id)) end
      end)
      settle(again)
      assert.are.equal(after.new_connections, c:transfer_stats().new_connections)
    end)

    it("a main-thread call while a coroutine's transfer is in flight: both end right", function()
      local ids = {}
      for i = 1, 4 do ids[i] = assert(c:create_security_group(group("m" .. i))).id end
      assert(emu:configure{ latency = 0.05 })
      local d = driver_of(c)
      local t = c:spawn(function() return c:get_security_group(ids[1]) end)
      assert.is_true(host:run_until(function() return d:counts().in_flight == 1 end))
      -- a blocking pipeline and a blocking single call on the same client
      local all = on_main(function() return c.security_groups:all{ per_page = 1, concurrency = 4 } end)
      assert.are.equal(4, #all[1])
      assert.are.equal("m2", on_main(function() return c:get_security_group(ids[2]) end)[1].name)
      settle(t)
      assert.are.equal("m1", (t:wait()).name)
      assert.are.same({ 0, 0 }, { d:counts().in_flight, d:counts().waiting })
    end)

    it("concurrency limits hold, per call and for two calls at once", function()
      for i = 1, 12 do assert(c:create_security_group(group("c" .. i))) end
      local peak = peak_while("in_flight", function()
        local r = in_loop(function() return c.security_groups:all{ per_page = 1, concurrency = 3 } end)
        assert.are.equal(12, #r[1])
      end)
      assert.are.equal(3, peak)
      assert.is_true(host.max_watchers <= 3, "watchers: " .. host.max_watchers)

      local ids = {}
      for i, sg in ipairs(assert(c.security_groups:all())) do ids[i] = sg.id end
      peak = peak_while("in_flight", function()
        local a = c:spawn(function() return c.security_groups:get_many(ids, { concurrency = 2 }) end)
        local b = c:spawn(function() return c.security_groups:all{ per_page = 2, concurrency = 3 } end)
        assert.is_true(host:run_until(function()
          return a:status() ~= "running" and b:status() ~= "running"
        end))
        assert.are.equal(12, #a:wait())
        assert.are.equal(12, #b:wait())
      end)
      assert.are.equal(5, peak)
    end)
  end)

  section("tasks", function()
    local id
    before_each(function() id = assert(c:create_security_group(group("t"))).id end)

    it("spawn returns a task; another coroutine waits for it", function()
      local t1 = c:spawn(function() return c:get_security_group(id) end)
      assert.are.equal("running", t1:status())
      assert.matches("^genesiscloud task %(running%)$", tostring(t1))
      local t2 = c:spawn(function()
        local sg = assert(t1:wait())
        return sg.id, t1:status()
      end)
      settle(t2)
      assert.are.same({ id, "done" }, { t2:wait() })
      assert.are.equal("done", t1:status())
    end)

    it("wait from the main thread runs the loop (run_once)", function()
      local t = c:spawn(function() return c:get_security_group(id), "second" end)
      local sg, second = t:wait()
      assert.are.same({ id, "second", "done" }, { sg.id, second, t:status() })
      -- again, when it has ended: the same results
      assert.are.equal(id, (t:wait()).id)
    end)

    it("on_done gets (true, results) or (false, err)", function()
      local got = {}
      local t = c:spawn(function() return c:get_security_group(id), 2 end)
      t:on_done(function(...) got[#got + 1] = pack(...) end)
      assert.are.equal(0, #got)
      settle(t)
      assert.are.equal(1, #got)
      assert.are.same({ true, id, 2 }, { got[1][1], got[1][2].id, got[1][3] })
      -- on a task that has ended: at once
      t:on_done(function(...) got[#got + 1] = pack(...) end)
      assert.are.equal(2, #got)

      local failing = c:spawn(function()
        assert(c:get_security_group(id))
        error("boom", 0)
      end)
      local err_seen
      failing:on_done(function(ok, err) err_seen = { ok, err } end)
      settle(failing)
      assert.are.same({ false, "boom" }, err_seen)
      assert.are.equal("failed", failing:status())
      assert.are.same({ n = 2, nil, "boom" }, pack(failing:wait()))
    end)

    it("an error raised in fn, before or after it waits, ends it failed", function()
      local early = c:spawn(function() error({ kind = "mine" }) end)
      assert.are.equal("failed", early:status())
      local _, err = early:wait()
      assert.are.equal("mine", err.kind)
      local raising = loop_client{ errors = "raise" }
      local late = raising:spawn(function() return raising:get_security_group("sg-missing") end)
      settle(late)
      local r, lerr = late:wait()
      assert.is_nil(r)
      if PUC51 then
        assert.matches("404", lerr) -- the error object's line
      else
        assert.are.same({ "api", 404 }, { lerr.kind, lerr.status })
      end
      raising:close()
    end)

    it("spawn passes its arguments, nils too; a task may start from a loop callback", function()
      local t = c:spawn(function(...) return select("#", ...), ... end, "a", nil, 3, nil)
      assert.are.same({ n = 5, 4, "a", nil, 3, nil }, pack(t:wait()))
      local from_callback
      local timer = uv.new_timer()
      timer:start(1, 0, function()
        from_callback = c:spawn(function() return c:get_security_group(id) end)
      end)
      assert.is_true(host:run_until(function() return from_callback ~= nil end))
      timer:close()
      settle(from_callback)
      assert.are.equal(id, (from_callback:wait()).id)
    end)

    it("a plain coroutine that fails after waiting: the host's error gets it", function()
      local co = coroutine.create(function()
        assert(c:get_security_group(id))
        error("after the wait", 0)
      end)
      assert.is_true(coroutine.resume(co))
      assert.is_true(host:run_until(function() return coroutine.status(co) == "dead" end))
      assert.are.same({ "after the wait" }, host.errors)
      host.errors = {}
    end)

    it("cancel ends the transfer in flight at once", function()
      assert(emu:configure{ latency = 2 })
      local d = driver_of(c)
      local done
      local t = c:spawn(function() return c:get_security_group(id) end)
      t:on_done(function(ok, err) done = { ok, err } end)
      assert.is_true(host:run_until(function() return d:counts().in_flight == 1 and host:counts().watchers > 0 end))
      local started = uv.hrtime()
      assert.is_true(t:cancel())
      local n = d:counts()
      assert.are.same({ 0, 0 }, { n.in_flight, n.watched })
      assert.are.equal(0, host:counts().watchers)
      assert.are.equal("cancelled", t:status())
      local r, err = t:wait()
      assert.is_nil(r)
      assert.are.same({ "cancelled", "cancelled" }, { err.kind, done[2].kind })
      assert.is_false(done[1])
      assert.is_false(t:cancel()) -- once
      host:spin(3) -- its coroutine stops on the next turn, with nothing left
      assert.are.same({ 0, 0, false }, { d:counts().waiting, host:counts().watchers, host:counts().timer })
      assert.is_true((uv.hrtime() - started) / 1e9 < 1)
      assert.are.equal("cancelled", t:status())
    end)

    it("a task cancelled while it runs sends nothing more", function()
      local d = driver_of(c)
      local t
      assert(emu:clear_requests())
      t = c:spawn(function()
        assert(c:get_security_group(id)) -- waits once: t is set by then
        assert.is_true(t:cancel())
        local seen = {}
        for _, call in ipairs{
          function() return c:get_security_group(id) end,
          function() return c.security_groups:get_many({ id, id }) end,
        } do
          local ok, err = pcall(call)
          seen[#seen + 1] = { ok, err.kind }
        end
        return seen
      end)
      settle(t)
      assert.are.equal("cancelled", t:status())
      assert.are.equal(0, d:counts().in_flight)
      host:spin(2)
      assert.are.equal(1, #assert(emu:requests())) -- the get before the cancel
    end)

    it("cancel stops a task that sleeps between polls", function()
      assert(emu:configure{ transitions = { security_groups = { create = { reads = 1000 } } } })
      local sg = assert(c:create_security_group(group("slow")))
      local d = driver_of(c)
      local t = c:spawn(function() return c:wait_for_security_group(sg.id, { interval = 0.5, timeout = 30 }) end)
      assert.is_true(host:run_until(function()
        local n = d:counts()
        return n.waiting == 1 and n.in_flight == 0
      end))
      assert.is_true(host:counts().timer)
      assert.is_true(t:cancel())
      host:spin(3)
      assert.are.same({ 0, 0, false }, { d:counts().waiting, d:counts().in_flight, host:counts().timer })
      assert.are.equal("cancelled", select(2, t:wait()).kind)
    end)
  end)

  section("close", function()
    it("ends a call waiting for its transfer with a usage error", function()
      local id = assert(c:create_security_group(group("x"))).id
      assert(emu:configure{ latency = 2 })
      local d = driver_of(c)
      local t = c:spawn(function() return c:get_security_group(id) end)
      assert.is_true(host:run_until(function() return d:counts().in_flight == 1 end))
      c:close()
      settle(t, 1)
      local r, err = t:wait()
      assert.is_nil(r)
      assert.are.same({ "usage", "the client is closed" }, { err.kind, err.message })
      assert.are.same({ watchers = 0, timer = false }, host:counts())
      assert.are.same({ 0, 0, 0 }, { d:counts().in_flight, d:counts().waiting, d:counts().watched })
    end)

    it("ends a pipeline (all with concurrency) with a usage error, without a hang", function()
      for i = 1, 12 do assert(c:create_security_group(group("p" .. i))) end
      assert(emu:configure{ latency = 0.05 })
      local d = driver_of(c)
      local t = c:spawn(function() return c.security_groups:all{ per_page = 1, concurrency = 4 } end)
      assert.is_true(host:run_until(function() return d:counts().in_flight >= 2 end))
      c:close()
      settle(t, 2)
      local r, err = t:wait()
      assert.is_nil(r)
      assert.are.same({ "usage", "the client is closed" }, { err.kind, err.message })
      assert.are.same({ watchers = 0, timer = false }, host:counts())
    end)

    it("ends a call sleeping in a backoff", function()
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503, latency = 0 })
      -- one retry: had the woken call gone on, its second attempt would
      -- have ended it with the 503, not "the client is closed"
      local rc, rhost = loop_client{ max_retries = 1, retry_base = 20, random = function() return 0.5 end }
      local d = driver_of(rc)
      local t = rc:spawn(function() return rc:get_security_group("sg-1") end)
      assert.is_true(host:run_until(function()
        local n = d:counts()
        return n.waiting == 1 and n.in_flight == 0 and rhost:counts().timer
      end))
      rc:close()
      settle(t, 1)
      local _, err = t:wait()
      assert.are.same({ "usage", "the client is closed" }, { err.kind, err.message })
      assert.are.equal(2, err.attempts) -- the second found the client closed
      assert.are.same({ watchers = 0, timer = false }, rhost:counts())
    end)
  end)

  section("abandon", function()
    if not coroutine.close then
      pending("coroutine.close needs Lua 5.4")
      return
    end

    it("closing a coroutine waiting in a call leaves nothing in flight, watched or armed", function()
      local id = assert(c:create_security_group(group("x"))).id
      assert(emu:configure{ latency = 2 })
      local d = driver_of(c)
      local co = coroutine.create(function() return c:get_security_group(id) end)
      assert.is_true(coroutine.resume(co))
      assert.are.equal("suspended", coroutine.status(co))
      assert.is_true(host:run_until(function() return d:counts().in_flight == 1 and host:counts().watchers > 0 end))
      assert.is_true(coroutine.close(co))
      assert.are.same({ in_flight = 0, watched = 0, waiting = 0, timer = false }, d:counts())
      assert.are.same({ watchers = 0, timer = false }, host:counts())
      host:spin(3)
      assert.are.same({ watchers = 0, timer = false }, host:counts())
      -- the client goes on working
      assert(emu:configure{ latency = 0 })
      local t = c:spawn(function() return c:get_security_group(id) end)
      settle(t)
      assert.are.equal(id, (t:wait()).id)
    end)

    it("closing a coroutine sleeping in a backoff drops its timer", function()
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 503, latency = 0 })
      local rc, rhost = loop_client{ max_retries = 3, retry_base = 20, random = function() return 0.5 end }
      local d = driver_of(rc)
      local co = coroutine.create(function() return rc:get_security_group("sg-1") end)
      assert.is_true(coroutine.resume(co))
      assert.is_true(host:run_until(function()
        local n = d:counts()
        return n.waiting == 1 and n.in_flight == 0 and rhost:counts().timer
      end))
      assert.is_true(coroutine.close(co))
      assert.are.same({ in_flight = 0, watched = 0, waiting = 0, timer = false }, d:counts())
      assert.are.same({ watchers = 0, timer = false }, rhost:counts())
      rc:close()
    end)
  end)
end)
end

loop_mode("loop mode", nil)
if PUC51 then
  -- a task on a host that resumes coroutines runs under pcall
  pending("loop mode on hosts that resume coroutines: PUC Lua 5.1 cannot yield across pcall")
else
  loop_mode("loop mode, on a host that runs its own coroutines", { spawn = true, park = true })
  -- a host that resumes the coroutines but lets the driver start them
  loop_mode("loop mode, on a host that only resumes coroutines", { park = true,
    only = { tasks = true, close = true, abandon = true } })
  -- the adapter the module ships, when it is there, with Neovim's way of
  -- resuming (a schedule function)
  if test_host.real() then
    loop_mode("loop mode, on genesiscloud.loop.luv with a schedule", { real = true, schedule = true })
  end
end

describe("the C core's loop functions", function()
  local core = require "genesiscloud.core"
  local emu, h

  setup(function() emu = helper.start_emulator() end)
  teardown(function() emu:stop() end)
  before_each(function()
    h = assert(core.new(helper.core_options{ token = emu.token, endpoint = emu.endpoint }))
  end)
  after_each(function() h:close() end)

  -- A minimal driver on luv polls: applies multi_changes, records them.
  local function mini_driver()
    local m = { polls = {}, log = {}, timer = uv.new_timer() }
    function m.apply()
      local ch = pack(h:multi_changes())
      m.log[#m.log + 1] = ch
      if ch[1] then
        m.timer:stop()
        m.timer:start(ch[1], 0, function() h:multi_action() m.apply() end)
      elseif ch[1] == false then
        m.timer:stop()
      end
      for i = 2, ch.n, 2 do
        local fd, ev = ch[i], ch[i + 1]
        if ev then
          local p = m.polls[fd] or uv.new_poll(fd)
          m.polls[fd] = p
          p:start(ev, function(err, e)
            h:multi_action(fd, err ~= nil or e:find("r") ~= nil, err ~= nil or e:find("w") ~= nil)
            m.apply()
          end)
        elseif m.polls[fd] then
          m.polls[fd]:stop()
          m.polls[fd]:close()
          m.polls[fd] = nil
        end
      end
    end
    -- Runs until multi_take gives a transfer: -> it, packed
    function m.take()
      local got
      local guard = uv.new_timer()
      guard:start(5, 5, function() end)
      local stop_at = uv.hrtime() + 5e9
      while not got and uv.hrtime() < stop_at do
        uv.run("once")
        local g = pack(h:multi_take())
        if g.n > 0 then got = g end
      end
      guard:stop()
      guard:close()
      return got
    end
    function m.close()
      for fd, p in pairs(m.polls) do p:stop() p:close() m.polls[fd] = nil end
      m.timer:stop()
      m.timer:close()
      uv.run("nowait")
    end
    return m
  end

  it("multi_watch, multi_add: a timer; multi_action(nil): a socket to watch", function()
    assert.is_true(h:multi_watch())
    assert.is_true(h:multi_watch()) -- twice is fine
    assert.are.same({ n = 1 }, pack(h:multi_changes())) -- nothing asked yet
    assert.is_true(h:multi_add(1, "GET", "/security-groups", nil, false, 200, "security_groups"))
    local ch = pack(h:multi_changes())
    assert.are.equal(1, ch.n)
    assert.are.equal("number", type(ch[1]))
    assert.is_true(ch[1] >= 0)
    assert.are.same({ n = 1 }, pack(h:multi_changes())) -- taken: nothing new
    assert.are.equal(0, h:multi_action()) -- the timer fired: libcurl connects
    ch = pack(h:multi_changes())
    assert.is_true(ch.n >= 3)
    assert.are.equal("number", type(ch[2]))
    assert.is_true(ch[3] == "w" or ch[3] == "r", tostring(ch[3]))
    assert.has_error(function() h:multi_action(-1, true, false) end)
    assert.is_true(h:multi_cancel(1))
  end)

  it("multi_take gives the finished transfer in perform's shape; the socket's removal is reported", function()
    assert(h:perform("POST", "/security-groups", '{"name":"w","rules":[{"protocol":"icmp","direction":"ingress"}]}',
      true, 201, "security_group"))
    assert.is_true(h:multi_watch())
    local m = mini_driver()
    assert.is_true(h:multi_add(7, "GET", "/security-groups", nil, false, 200, "security_groups"))
    assert.are.same({ n = 0 }, pack(h:multi_take())) -- nothing finished yet
    m.apply()
    local got = m.take()
    local single = pack(h:perform("GET", "/security-groups", nil, false, 200, "security_groups"))
    assert.are.equal(7, got[1])
    assert.are.same(single, pack(unpack(got, 2, got.n)))
    assert.are.equal(1, #got[3])
    -- every socket watched was reported removed: the connection went back
    -- to the cache or closed
    local watched = {}
    for _, ch in ipairs(m.log) do
      for i = 2, ch.n, 2 do watched[ch[i]] = ch[i + 1] or nil end
    end
    assert.are.same({}, watched)
    assert.are.same({}, m.polls)
    -- a failure has perform's failure shape too
    assert.is_true(h:multi_add(8, "GET", "/security-groups/nope", nil, false, 200, "security_group"))
    m.apply()
    got = m.take()
    single = pack(h:perform("GET", "/security-groups/nope", nil, false, 200, "security_group"))
    assert.are.equal(8, got[1])
    assert.are.equal(404, got[2])
    assert.are.same(single[1], got[2])
    assert.are.same(single[2], got[3])
    m.close()
  end)

  it("multi_changes reports the removal when the connection closes under a transfer", function()
    assert(emu:configure{ latency = 2 })
    assert.is_true(h:multi_watch())
    local m = mini_driver()
    assert.is_true(h:multi_add(3, "GET", "/security-groups", nil, false, 200, false))
    m.apply()
    -- until the request is sent and the socket waits for the answer
    local fd
    local guard = uv.new_timer()
    guard:start(5, 5, function() end)
    local stop_at = uv.hrtime() + 5e9
    while not fd and uv.hrtime() < stop_at do
      uv.run("once")
      local last = m.log[#m.log]
      for i = 2, last.n, 2 do
        if last[i + 1] == "r" then fd = last[i] end
      end
    end
    guard:stop()
    guard:close()
    assert.is_number(fd, "no socket waited for the answer")
    assert.is_true(h:multi_cancel(3)) -- libcurl closes the connection mid-transfer
    local ch = pack(h:multi_changes())
    local removed = false
    for i = 2, ch.n, 2 do
      if ch[i] == fd and ch[i + 1] == false then removed = true end
    end
    assert.is_true(removed, "the closed socket was not reported")
    m.apply()
    m.close()
    assert(emu:configure{ latency = 0 })
  end)

  it("a closed client: multi_action does nothing, multi_take gives nothing", function()
    assert.is_true(h:multi_watch())
    assert.is_true(h:multi_add(1, "GET", "/security-groups", nil, false, 200, false))
    h:multi_changes()
    h:close()
    assert.are.equal(0, h:multi_action())
    assert.are.equal(0, h:multi_action(3, true, true))
    assert.are.same({ n = 0 }, pack(h:multi_take()))
    local ok, kind, message = h:multi_watch()
    assert.are.same({ nil, "usage", "the client is closed" }, { ok, kind, message })
  end)
end)
