-- The chaos run in loop mode beside blocking mode (spec/support/chaos_loop.lua):
-- the same operations against the same seeded faults, one at a time, once
-- blocking and once in a coroutine on a luv loop, must meet the same faults
-- and end the same way, and the loop run must leave nothing behind. Fast
-- here (250 operations); `make chaos` runs 2,000.
local chaos_loop = require "support.chaos_loop"

local uv, why = chaos_loop.luv()

describe("chaos in loop mode", function()
  if not uv then
    pending("needs luv: " .. why)
    return
  end
  if _VERSION == "Lua 5.1" and rawget(_G, "jit") == nil then
    -- the chaos run wraps each operation in pcall, which PUC 5.1 cannot
    -- yield across (docs/event-loop.md, rule 6)
    pending("PUC Lua 5.1 cannot yield across the chaos run's pcall")
    return
  end

  it("gives the same retries and errors as blocking at 30% faults, 0 duplicates, nothing left", function()
    local b, l, broken = chaos_loop.run{ operations = 250, fault_rate = 0.3, seed = 11 }
    local line = chaos_loop.summary(b, l, broken)
    assert.are.same({}, broken, line)
    assert.are.equal(250, l.operations)
    -- the run met every kind of fault and recovered from some
    assert.is_true(b.faults >= 0.2 * b.requests, line)
    assert.is_true(b.retries > 0 and b.failures > 0, line)
    assert.are.equal(#b.log, b.requests)
    print(line)
  end)

  it("tells a run that differs", function()
    local b = { log = { "GET /a 200 nil", "GET /b 200 nil" }, events = {}, requests = 2, faults = 0, retries = 1,
      attempts = 0, successes = 2, failures = 0, groups = 0, uncertain = 0, by_kind = {}, duplicates = 0 }
    local l = {}
    for k, v in pairs(b) do l[k] = v end
    l.log = { "GET /a 200 nil", "GET /b 503 status" }
    l.retries, l.duplicates, l.by_kind = 2, 1, { api = 1 }
    l.driver_left = { in_flight = 0, watched = 1, waiting = 0, timer = false, suspended = 0, sleepers = 0, wakes = 0 }
    l.driver_closed = { in_flight = 0, watched = 0, waiting = 0, timer = true, suspended = 0, sleepers = 0,
      wakes = 0 }
    l.handles_left = { poll = 1, timer = 0, other = 0 }
    l.host_left = { watchers = 0, timer_active = true }
    local broken = chaos_loop.check(b, l)
    local text = table.concat(broken, "\n")
    assert.matches("request 2: blocking GET /b 200 nil, loop GET /b 503 status", text, 1, true)
    assert.matches("retries: blocking 1, loop 2", text, 1, true)
    assert.matches("errors per kind: blocking , loop api 1", text, 1, true)
    assert.matches("duplicates (loop): blocking 0, loop 1", text, 1, true)
    assert.matches("watched sockets", text, 1, true)
    assert.matches("luv handles left", text, 1, true)
    assert.matches("host adapter: watchers, timer armed: blocking 0 false, loop 0 true", text, 1, true)
    assert.matches("driver after close: .* loop 0 0 0 true 0 0 0", text)
    assert.are.equal(8, #broken)
  end)
end)
