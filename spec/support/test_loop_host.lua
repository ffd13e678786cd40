-- A host adapter for the loop-mode specs (the interface is in
-- docs/event-loop.md and genesiscloud/loop/driver.lua), on luv. Kept apart
-- from genesiscloud.loop.luv on purpose: it is small enough to read in one
-- go, it counts what it holds (live socket watchers, whether its timer is
-- armed) so a spec can assert that nothing is left, it records what the
-- driver asked of it, and it runs the loop in bounded steps (`run_until`)
-- so a spec waits for a condition, never for a fixed time.
--
--   local test_host = require "support.test_loop_host"
--   if not test_host.available then ... skip ... end
--   local host = test_host.new()
--   local c = genesiscloud.new{ ..., loop = host }
--   local task = c:spawn(fn)
--   assert(host:run_until(function() return task:status() ~= "running" end))
--   assert.are.same({ watchers = 0, timer = false }, host:counts())
--
-- luv is optional (Debian packages it for 5.4 only): `available` is false
-- without it, and the specs that need it are skipped.
local ok, uv = pcall(require, "luv")

local test_host = { available = ok, uv = ok and uv or nil,
  why = not ok and ("luv is not installed: " .. tostring(uv)) or nil }

local Host = {}
Host.__index = Host

local GUARD_MS = 5 -- run_until never blocks in the loop longer than this

local function resume(self, co)
  local fine, err = coroutine.resume(co)
  if not fine then self.errors[#self.errors + 1] = err end
end

-- Optional methods, for hosts that run their own coroutines (as cqueues
-- does): `spawn` starts fn in a coroutine of the host; `suspend` parks
-- the running coroutine and `resume` wakes it on a later turn of the loop
-- (never inside the driver's call), through a zero timer, with the
-- waiter's own resume (docs/event-loop.md).
local function host_spawn(self, fn)
  self.calls.spawn = self.calls.spawn + 1
  resume(self, coroutine.create(fn))
end

local function host_suspend(self, waiter)
  self.calls.suspend = self.calls.suspend + 1
  waiter.host_co = coroutine.running()
  coroutine.yield()
end

local function host_resume(self, waiter)
  local co = assert(waiter.host_co, "resume: a waiter that was never suspended")
  local t = uv.new_timer()
  self.pending_resumes = self.pending_resumes + 1
  t:start(0, 0, function()
    t:close()
    self.pending_resumes = self.pending_resumes - 1
    if coroutine.status(co) ~= "suspended" then return end
    -- as the interface asks of an adapter that resumes later: through the
    -- driver (waiter.resume), so an error ends the coroutine's task
    if waiter.resume then return waiter.resume(waiter) end
    resume(self, co)
  end)
end

--- A new host on the default luv loop. `opts.spawn`: the host has its own
-- `spawn`; `opts.park`: its own `suspend` and `resume`.
function test_host.new(opts)
  assert(ok, test_host.why)
  opts = opts or {}
  local host = setmetatable({
    polls = {},     -- fd -> luv poll handle (live watchers)
    events = {},    -- fd -> the events watched
    timer_handle = uv.new_timer(),
    armed = false,  -- whether the driver's one timer is set
    errors = {},    -- what host:error got (coroutines that failed outside a task)
    calls = { watch = 0, unwatch = 0, timer = 0, fired = 0, ready = 0, spawn = 0, suspend = 0 },
    max_watchers = 0,
    pending_resumes = 0,
  }, Host)
  if opts.spawn then host.spawn = host_spawn end
  if opts.park then host.suspend, host.resume = host_suspend, host_resume end
  return host
end

-- The interface ---------------------------------------------------------------

function Host:watch(fd, events, on_ready)
  assert(math.type == nil or math.type(fd) == "integer", "watch: fd must be an integer")
  assert(events == "r" or events == "w" or events == "rw", "watch: bad events " .. tostring(events))
  self.calls.watch = self.calls.watch + 1
  local poll = self.polls[fd]
  if not poll then
    poll = assert(uv.new_poll(fd))
    self.polls[fd] = poll
  end
  self.events[fd] = events
  local calls = self.calls
  poll:start(events, function(err, got)
    calls.ready = calls.ready + 1
    if err then return on_ready(true, true) end
    got = got or ""
    -- a hang-up ("d") counts as both, like an error
    local hup = got:find("d", 1, true) ~= nil
    on_ready(hup or got:find("r", 1, true) ~= nil, hup or got:find("w", 1, true) ~= nil)
  end)
  local n = self:counts().watchers
  if n > self.max_watchers then self.max_watchers = n end
end

function Host:unwatch(fd)
  self.calls.unwatch = self.calls.unwatch + 1
  local poll = self.polls[fd]
  if not poll then return end
  self.polls[fd], self.events[fd] = nil, nil
  poll:stop()
  poll:close()
end

function Host:timer(seconds, on_fire)
  self.calls.timer = self.calls.timer + 1
  local t = self.timer_handle
  self.armed = false
  if not t then -- closed (a client collected after its host): nothing to arm
    assert(seconds == nil, "timer: the host is closed")
    return
  end
  t:stop()
  if seconds == nil then return end
  assert(type(seconds) == "number" and seconds >= 0, "timer: bad seconds " .. tostring(seconds))
  self.armed = true
  local calls = self.calls
  -- the loop's cached time may be old (armed outside a callback, after a
  -- blocking call): refresh it, or the timer fires early
  uv.update_time()
  t:start(math.ceil(seconds * 1000), 0, function()
    self.armed = false
    calls.fired = calls.fired + 1
    on_fire()
  end)
end

function Host.run_once(_)
  return uv.run("once")
end

function Host:error(err)
  self.errors[#self.errors + 1] = err
end

-- For the specs -----------------------------------------------------------------

--- What the host holds for the driver: `{ watchers = n, timer = armed }`.
function Host:counts()
  local n = 0
  for _ in pairs(self.polls) do n = n + 1 end
  return { watchers = n, timer = self.armed }
end

--- Runs the loop until `cond()` is true or `limit` seconds (default 5)
-- pass. A guard timer wakes the loop every few milliseconds, so a loop with
-- nothing to do still comes back to check. -> cond()'s value, or false
function Host.run_until(_, cond, limit)
  local stop_at = uv.hrtime() + (limit or 5) * 1e9
  local guard = uv.new_timer()
  guard:start(GUARD_MS, GUARD_MS, function() end)
  local result = cond()
  while not result and uv.hrtime() < stop_at do
    uv.run("once")
    result = cond()
  end
  guard:stop()
  guard:close()
  uv.run("nowait") -- lets the guard's close finish
  return result or false
end

--- Runs the loop for `turns` more turns with nothing expected (to see that
-- nothing happens: no callback left to fire).
function Host:spin(turns)
  local n = 0
  self:run_until(function() n = n + 1 return n > (turns or 3) end, 1)
end

--- A repeating luv timer every `ms` milliseconds that counts its ticks:
-- proof that the loop ran while a coroutine waited. Not counted as the
-- host's. `ticker.n`, `ticker:stop()`.
function test_host.ticker(ms)
  local t = { n = 0, handle = uv.new_timer() }
  t.handle:start(ms or 2, ms or 2, function() t.n = t.n + 1 end)
  function t.stop()
    if t.handle then
      t.handle:stop()
      t.handle:close()
      t.handle = nil
    end
  end
  return t
end

-- A real adapter, counted the same way -------------------------------------------

-- Forwards the interface to `adapter` (genesiscloud.loop.luv's), counting
-- the calls and callbacks as a test host does; `run_until` and `spin` are
-- the test host's (all run luv's default loop).
local Wrap = setmetatable({}, { __index = Host })
Wrap.__index = Wrap

function Wrap:watch(fd, events, on_ready)
  local calls = self.calls
  calls.watch = calls.watch + 1
  self.watched[fd] = events
  self.adapter:watch(fd, events, function(readable, writable)
    calls.ready = calls.ready + 1
    on_ready(readable, writable)
  end)
  local n = self:counts().watchers
  if n > self.max_watchers then self.max_watchers = n end
end

function Wrap:unwatch(fd)
  self.calls.unwatch = self.calls.unwatch + 1
  self.watched[fd] = nil
  self.adapter:unwatch(fd)
end

function Wrap:timer(seconds, on_fire)
  self.calls.timer = self.calls.timer + 1
  self.armed = seconds ~= nil
  if seconds == nil then return self.adapter:timer(nil) end
  local calls = self.calls
  self.adapter:timer(seconds, function()
    self.armed = false
    calls.fired = calls.fired + 1
    on_fire()
  end)
end

function Wrap:run_once()
  return self.adapter:run_once()
end

-- What the adapter itself says it holds, when it says (else what the
-- wrapper saw): the two must agree, so the adapter's own count is used.
function Wrap:counts()
  local n = self.adapter.counts and self.adapter:counts()
  if n then return { watchers = n.watchers, timer = n.timer_active == true } end
  local watchers = 0
  for _ in pairs(self.watched) do watchers = watchers + 1 end
  return { watchers = watchers, timer = self.armed }
end

function Wrap:close()
  if self.adapter.close then self.adapter:close() end
  uv.run("nowait")
end

--- A host on genesiscloud.loop.luv, or nil when that module is missing.
-- `opts.schedule`: the adapter resumes coroutines through a schedule
-- function (as in Neovim), here a zero timer whose errors are recorded.
function test_host.real(opts)
  assert(ok, test_host.why)
  local found, luv_adapter = pcall(require, "genesiscloud.loop.luv")
  if not found then return nil end
  local w = setmetatable({ watched = {}, armed = false, errors = {}, max_watchers = 0, pending_resumes = 0,
    calls = { watch = 0, unwatch = 0, timer = 0, fired = 0, ready = 0, spawn = 0, suspend = 0 } }, Wrap)
  local adapter_opts
  if opts and opts.schedule then
    adapter_opts = { schedule = function(fn)
      local t = uv.new_timer()
      w.pending_resumes = w.pending_resumes + 1
      t:start(0, 0, function()
        t:close()
        w.pending_resumes = w.pending_resumes - 1
        local fine, err = pcall(fn)
        if not fine then w.errors[#w.errors + 1] = err end
      end)
    end }
  end
  local adapter = luv_adapter.new(uv, adapter_opts)
  w.adapter = adapter
  for _, name in ipairs{ "suspend", "resume", "spawn" } do
    if adapter[name] then
      w[name] = function(_, ...) return adapter[name](adapter, ...) end
    end
  end
  return w
end

--- Stops and closes what the host holds (after a spec; the driver should
-- have left nothing).
function Host:close()
  for fd in pairs(self.polls) do self:unwatch(fd) end
  if self.timer_handle then
    self.timer_handle:stop()
    self.timer_handle:close()
    self.timer_handle = nil
  end
  uv.run("nowait")
end

return test_host
