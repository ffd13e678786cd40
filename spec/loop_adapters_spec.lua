-- One conformance spec for the host adapters (genesiscloud.loop.luv and
-- genesiscloud.loop.cqueues): the loop interface the driver relies on, on
-- real socket pairs. Each half is pending when its library does not load.
-- No exact timing: bounds are generous, and "nothing happens" is checked by
-- running the loop for a while, never by sleeping.

local ok_luv, uv = pcall(require, "luv")
local ok_cq, cqueues = pcall(require, "cqueues")

-- Socket pairs as raw fds. With luv, the fds are closed behind the
-- adapter's back, as libcurl does; else through cqueues' sockets.
local fds = {}
if ok_luv then
  function fds.pair()
    local p = assert(uv.socketpair(nil, nil, { nonblock = true }, { nonblock = true }))
    return p[1], p[2]
  end
  function fds.write(fd, s) assert(uv.fs_write(fd, s)) end
  function fds.drain(fd) uv.fs_read(fd, 4096) end
  function fds.close(fd) uv.fs_close(fd) end
  -- How many fds the process has open (Linux), to show none is left behind.
  if uv.fs_stat("/proc/self/fd") then
    function fds.count()
      local n, req = 0, assert(uv.fs_scandir("/proc/self/fd"))
      while uv.fs_scandir_next(req) do n = n + 1 end
      return n
    end
  end
elseif ok_cq then
  local socket = require "cqueues.socket"
  local objects = {}
  function fds.pair()
    local a, b = socket.pair()
    objects[a:pollfd()], objects[b:pollfd()] = a, b
    return a:pollfd(), b:pollfd()
  end
  function fds.write(fd, s) assert(objects[fd]:write(s)); assert(objects[fd]:flush()) end
  function fds.drain(fd) objects[fd]:recv(-4096) end
  function fds.close(fd) objects[fd]:close(); objects[fd] = nil end
end

-- What the spec needs of each loop: a fresh adapter, a few non-blocking
-- turns, and running until a condition holds or `seconds` have passed.
local function luv_harness()
  local H = { name = "luv" }
  function H.new(opts) return require("genesiscloud.loop.luv").new(uv, opts) end
  function H.clock() return uv.hrtime() / 1e9 end
  function H.turns(n) for _ = 1, n or 10 do uv.run("nowait") end end
  function H.run_until(pred, seconds)
    local guard, expired = uv.new_timer(), false
    guard:start(math.ceil(seconds * 1000), 0, function() expired = true end)
    while not pred() and not expired do uv.run("once") end
    guard:close()
    uv.run("nowait")
    return pred()
  end
  -- No handle left in the loop, active or not (every spec closes its adapter).
  function H.empty()
    uv.run("nowait")
    local n = 0
    uv.walk(function(handle) if not handle:is_closing() then n = n + 1 end end)
    return n == 0 and not uv.loop_alive()
  end
  return H
end

local function cqueues_harness()
  local H = { name = "cqueues" }
  function H.new()
    if H.cq then H.cq:close() end
    H.cq = cqueues.new()
    return require("genesiscloud.loop.cqueues").new(H.cq)
  end
  H.clock = cqueues.monotime
  function H.turns(n) for _ = 1, n or 10 do assert(H.cq:step(0)) end end
  function H.run_until(pred, seconds)
    local deadline = cqueues.monotime() + seconds
    while not pred() do
      local left = deadline - cqueues.monotime()
      if left <= 0 then break end
      assert(H.cq:step(left))
    end
    return pred()
  end
  function H.empty() H.turns(3); return H.cq:count() == 0 end
  return H
end

local function recorder()
  local calls = {}
  return calls, function(r, w) calls[#calls + 1] = { r, w } end
end

local function never() return false end

local function watch_specs(H)
  local host, opened
  before_each(function() host, opened = H.new(), {} end)
  after_each(function()
    host:close()
    for fd in pairs(opened) do fds.close(fd) end
  end)
  local function pair()
    local a, b = fds.pair()
    opened[a], opened[b] = true, true
    return a, b
  end
  local function close(fd) opened[fd] = nil; fds.close(fd) end

  it("reports readable once data is there, not before, and again while unread", function()
    local a, b = pair()
    local calls, cb = recorder()
    host:watch(a, "r", cb)
    H.turns(20)
    assert.same({}, calls)
    fds.write(b, "x")
    assert.is_true(H.run_until(function() return #calls >= 2 end, 2))
    assert.same({ true, false }, calls[1])
    fds.drain(a)
    H.turns(10)
    local n = #calls
    H.turns(20)
    assert.equal(n, #calls)
  end)

  it("reports writable for \"w\", and both for \"rw\" when both hold", function()
    local a, b = pair()
    local calls, cb = recorder()
    host:watch(a, "w", cb)
    assert.is_true(H.run_until(function() return #calls >= 1 end, 2))
    assert.same({ false, true }, calls[1])
    fds.write(b, "x")
    local both, cb2 = recorder()
    host:watch(a, "rw", cb2)
    -- (a poll begun under "w" may still report writable alone first)
    assert.is_true(H.run_until(function() return #both >= 1 and both[#both][1] end, 2))
    assert.same({ true, true }, both[#both])
  end)

  it("a second watch of the fd replaces its events and callback", function()
    local a, b = pair()
    local old, cb1 = recorder()
    host:watch(a, "r", cb1)
    H.turns(20)
    local new, cb2 = recorder()
    host:watch(a, "w", cb2)
    assert.is_true(H.run_until(function() return #new >= 2 end, 2))
    assert.same({}, old)
    assert.same({ false, true }, new[1])
    assert.equal(1, host:counts().watchers)
    -- Readable while watched for "r" only: not reported once "w" replaced it.
    host:watch(a, "r", cb1)
    fds.write(b, "x")
    assert.is_true(H.run_until(function() return #old >= 1 end, 2))
    local later, cb3 = recorder()
    host:watch(a, "w", cb3)
    assert.is_true(H.run_until(function() return #later >= 3 end, 2))
    for _, call in ipairs(later) do assert.same({ false, true }, call) end
  end)

  it("unwatch stops the callbacks and releases the watch, also from inside one", function()
    local a = pair()
    local before = fds.count and fds.count()
    local calls, cb = recorder()
    host:watch(a, "w", cb)
    assert.is_true(H.run_until(function() return #calls >= 1 end, 2))
    host:unwatch(a)
    assert.equal(0, host:counts().watchers)
    local n = #calls
    H.turns(20)
    assert.equal(n, #calls)
    local inside = 0
    host:watch(a, "w", function() inside = inside + 1; host:unwatch(a) end)
    assert.is_true(H.run_until(function() return inside >= 1 end, 2))
    H.turns(20)
    assert.equal(1, inside)
    assert.equal(0, host:counts().watchers)
    if before then assert.equal(before, fds.count()) end
    assert.is_true(H.empty())
    host:unwatch(a) -- unknown fd: nothing
  end)

  it("a fd closed before its unwatch, its number then reused, is watched afresh", function()
    -- As libcurl may do: the socket is gone when the driver unwatches it,
    -- and the next socket gets the same number. Same events both times.
    local a, b = pair()
    host:watch(a, "r", function() end)
    H.turns(20)
    close(a); close(b)
    local a2, b2 = pair()
    assert.equal(a, a2) -- the lowest free number: the spec means this case
    host:unwatch(a)
    local calls, cb = recorder()
    host:watch(a2, "r", cb)
    H.turns(20)
    assert.same({}, calls)
    fds.write(b2, "y")
    assert.is_true(H.run_until(function() return #calls >= 1 end, 2))
    assert.same({ true, false }, calls[1])
    -- and closed, unwatched, then reused
    close(a2); close(b2)
    host:unwatch(a2)
    local a3, b3 = pair()
    assert.equal(a, a3)
    local again, cb3 = recorder()
    host:watch(a3, "r", cb3)
    fds.write(b3, "z")
    assert.is_true(H.run_until(function() return #again >= 1 end, 2))
  end)
end

local function timer_specs(H)
  local host
  before_each(function() host = H.new() end)
  after_each(function() host:close() end)

  it("fires once, after about the time asked, also after the loop sat idle", function()
    local fired, at = 0, nil
    H.turns(1)
    -- The loop does not run for 0.1 s (luv's cached time goes stale).
    local idle = H.clock() + 0.1
    repeat until H.clock() >= idle
    local t0 = H.clock()
    host:timer(0.05, function() fired = fired + 1; at = H.clock() end)
    assert.is_true(host:counts().timer_active)
    assert.is_true(H.run_until(function() return fired > 0 end, 3))
    assert.is_true(at - t0 >= 0.045, "fired after " .. (at - t0))
    assert.is_false(host:counts().timer_active)
    H.run_until(never, 0.1)
    assert.equal(1, fired)
  end)

  it("0 fires on the next turn, never inside timer()", function()
    local fired = 0
    host:timer(0, function() fired = fired + 1 end)
    assert.equal(0, fired)
    H.turns(1)
    assert.equal(1, fired)
  end)

  it("a new timer replaces the old one", function()
    local a, b = 0, 0
    host:timer(0.02, function() a = a + 1 end)
    host:timer(0.08, function() b = b + 1 end)
    assert.is_true(H.run_until(function() return b > 0 end, 3))
    assert.equal(0, a) -- its time had passed before b's
  end)

  it("nil stops it; a timer armed from its own callback fires too", function()
    local a = 0
    host:timer(0.02, function() a = a + 1 end)
    host:timer(nil)
    assert.is_false(host:counts().timer_active)
    H.run_until(never, 0.15)
    assert.equal(0, a)
    local chain = 0
    host:timer(0, function()
      chain = chain + 1
      host:timer(0.01, function() chain = chain + 1 end)
    end)
    assert.is_true(H.run_until(function() return chain == 2 end, 3))
  end)

  it("run_once runs a turn", function()
    local fired = false
    host:timer(0, function() fired = true end)
    host:run_once()
    assert.is_true(fired)
  end)
end

local function close_specs(H)
  it("close stops every watch and the timer, leaving nothing behind", function()
    local host = H.new()
    local a, b = fds.pair()
    local before = fds.count and fds.count()
    local calls, cb = recorder()
    host:watch(a, "w", cb)
    host:watch(b, "r", cb)
    host:timer(0.01, function() calls[#calls + 1] = "timer" end)
    H.turns(5)
    host:close()
    assert.same({ watchers = 0, timer_active = false }, host:counts())
    local n = #calls
    H.run_until(never, 0.05)
    assert.equal(n, #calls)
    assert.is_true(H.empty())
    if before then assert.equal(before, fds.count()) end
    fds.close(a); fds.close(b)
  end)
end

local function conformance(H)
  describe("watch", function() watch_specs(H) end)
  describe("timer", function() timer_specs(H) end)
  close_specs(H)
end

describe("loop adapter luv", function()
  if not ok_luv then
    pending("luv does not load in " .. _VERSION .. " (" .. tostring(uv):match("[^\n]*") .. ")")
    return
  end
  conformance(luv_harness())

  it("gives no suspend/resume without opts.schedule (the driver's default)", function()
    local host = require("genesiscloud.loop.luv").new(uv)
    assert.is_nil(host.suspend)
    assert.is_nil(host.resume)
    host:close()
  end)

  it("with opts.schedule, resume runs the right coroutine through it, later", function()
    local queue = {}
    local host = require("genesiscloud.loop.luv").new(uv, { schedule = function(f) queue[#queue + 1] = f end })
    local done, waiters = {}, {}
    for i = 1, 2 do
      local waiter = {}
      waiter.co = coroutine.create(function() host:suspend(waiter); done[i] = true end)
      waiters[i] = waiter
      assert(coroutine.resume(waiter.co))
    end
    host:resume(waiters[2])
    assert.same({}, done) -- not from inside resume: queued
    assert.equal(1, #queue)
    table.remove(queue, 1)()
    assert.same({ [2] = true }, done)
    host:resume(waiters[1])
    table.remove(queue, 1)()
    assert.same({ true, true }, done)
    host:close()
  end)
end)

describe("loop adapter cqueues", function()
  if not ok_cq then
    pending("cqueues does not load in " .. _VERSION .. " (" .. tostring(cqueues):match("[^\n]*") .. ")")
    return
  end
  if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
    pending("the cqueues adapter needs Lua 5.2+ or LuaJIT (yield across pcall)")
    return
  end
  local H = cqueues_harness()
  conformance(H)

  it("suspend/resume park and wake the right coroutine; spawn runs in the controller", function()
    local host = H.new()
    local done, waiters = {}, { {}, {} }
    for i = 1, 2 do
      host:spawn(function() host:suspend(waiters[i]); done[i] = true end)
    end
    H.turns(5)
    assert.same({}, done)
    host:resume(waiters[2])
    assert.same({}, done) -- not from inside resume
    assert.is_true(H.run_until(function() return done[2] end, 2))
    H.turns(5)
    assert.is_nil(done[1])
    host:resume(waiters[1])
    assert.is_true(H.run_until(function() return done[1] end, 2))
    host:close()
    assert.is_true(H.empty())
  end)
end)
