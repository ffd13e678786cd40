--- Host adapter for cqueues: `require("genesiscloud.loop.cqueues").new(controller)`
-- where controller is a `cqueues.new()` the host steps (or loops). Needs
-- Lua 5.2+ or LuaJIT (a coroutine yields inside pcall, see pump).
-- See the loop interface in the driver: watch/unwatch/timer/suspend/resume.
-- @module genesiscloud.loop.cqueues

local cqueues = require "cqueues"
local condition = require "cqueues.condition"

local Host = {}
Host.__index = Host

local M = {}

--- The adapter over `controller`.
function M.new(controller)
  assert(cqueues.type(controller) == "controller", "cqueues adapter: a cqueues controller expected")
  return setmetatable({ cq = controller, watchers = {}, nwatchers = 0, timer_cond = condition.new() }, Host)
end

-- cqueues polls any object with these methods. One per direction, so the
-- object cqueues.poll returns tells readable from writable.
local Pollable = {}
Pollable.__index = Pollable
function Pollable:pollfd() return self.fd end
function Pollable:events() return self.mode end
function Pollable.timeout() return nil end

-- Which of the watch's objects cqueues.poll returned.
local function classify(w, ...)
  local readable, writable, changed = false, false, false
  for i = 1, select("#", ...) do
    local x = select(i, ...)
    readable = readable or x == w.rd
    writable = writable or x == w.wr
    changed = changed or x == w.changed
  end
  return readable, writable, changed
end

-- Runs in the watch's own controller: polls the fd with the current events.
-- Woken with neither direction (an error or hang-up outside "r"/"w"): both.
local function watch_loop(w)
  while true do
    local r, wr = w.events:find("r", 1, true), w.events:find("w", 1, true)
    local readable, writable, changed = classify(w, cqueues.poll(r and w.rd or nil, wr and w.wr or nil, w.changed))
    local woken = readable or writable
    -- A direction dropped by a watch() since this poll began is not reported.
    readable = readable and w.events:find("r", 1, true) ~= nil
    writable = writable and w.events:find("w", 1, true) ~= nil
    -- Once dead, it polls again with the same events (no epoll_ctl on a fd
    -- that may be closed) until pump closes the controller.
    if not w.dead then
      if readable or writable then
        w.on_ready(readable, writable)
      elseif not (woken or changed) then
        w.on_ready(true, true)
      end
    end
  end
end

local function close_inner(w)
  if w.inner then w.inner:close() end
  w.inner = nil
end

-- Runs in the host's controller. Inside a coroutine, step() first polls
-- w.inner (cqueues' protocol for nested controllers), then steps it. When
-- unwatch closed w.inner meanwhile, step raises "cqueue closed": ignored.
local function pump(w)
  while not w.dead do
    local ok, stepped, err = pcall(w.inner.step, w.inner)
    if w.dead then break end
    if not ok then error(stepped, 0) end
    if not stepped then error(err, 0) end
  end
  close_inner(w)
end

--- Starts or changes watching `fd`. Each watch has its own controller, so
-- unwatch closes it and the kernel forgets the fd with it: cqueues' own
-- registration of a fd libcurl closed first cannot be undone (epoll_ctl
-- fails with EBADF, and a reused number with the same events never fires).
function Host:watch(fd, events, on_ready)
  local w = self.watchers[fd]
  if w then
    w.on_ready = on_ready
    if w.events ~= events then w.events = events; w.changed:signal() end
    return
  end
  w = { fd = fd, events = events, on_ready = on_ready, changed = condition.new(), inner = cqueues.new() }
  w.rd = setmetatable({ fd = fd, mode = "r" }, Pollable)
  w.wr = setmetatable({ fd = fd, mode = "w" }, Pollable)
  self.watchers[fd] = w
  self.nwatchers = self.nwatchers + 1
  w.inner:wrap(watch_loop, w)
  self.cq:wrap(pump, w)
end

local function kill(w)
  w.dead = true
  -- Not from inside its own step (cqueues refuses): pump closes it after.
  if cqueues.running() ~= w.inner then close_inner(w) end
end

--- Stops watching `fd` (which may be closed already) and forgets it.
function Host:unwatch(fd)
  local w = self.watchers[fd]
  if not w then return end
  self.watchers[fd] = nil
  self.nwatchers = self.nwatchers - 1
  -- No cqueues.cancel(fd): the fd is only ever registered in w.inner,
  -- which kill closes; cancel would only wake another controller's poller
  -- of a reused number for nothing.
  kill(w)
end

-- The one timer coroutine: sleeps until the deadline or a change.
local function timer_loop(self)
  while self.timer_fn do
    local left = self.deadline - cqueues.monotime()
    if left <= 0 then
      local fn = self.timer_fn
      self.timer_fn = nil
      fn()
    else
      cqueues.poll(self.timer_cond, left)
    end
  end
  self.timer_running = false
end

--- The one timer: `on_fire()` once after `seconds` (0: next turn); nil stops.
function Host:timer(seconds, on_fire)
  self.timer_fn = seconds ~= nil and on_fire or nil
  self.deadline = cqueues.monotime() + (seconds or 0)
  if self.timer_running then
    self.timer_cond:signal()
  elseif self.timer_fn then
    self.timer_running = true
    self.cq:wrap(timer_loop, self)
  end
end

--- Parks the running coroutine (of this controller) until resume(waiter).
function Host.suspend(_, waiter)
  waiter.cond = waiter.cond or condition.new()
  return waiter.cond:wait()
end

function Host.resume(_, waiter)
  if waiter.cond then waiter.cond:signal() end
end

--- Runs `fn()` in a new coroutine of the controller.
function Host:spawn(fn)
  assert(self.cq:wrap(fn))
end

--- One turn of the controller, for `task:wait()` from the main thread.
function Host:run_once()
  local ok, err = self.cq:step()
  if not ok then error(err, 0) end
  return true
end

--- Stops every watch and the timer; their coroutines end on the next turn.
function Host:close()
  for fd, w in pairs(self.watchers) do
    self.watchers[fd] = nil
    kill(w)
  end
  self.nwatchers = 0
  self:timer(nil)
end

--- What is left: { watchers = n, timer_active = bool } (for the specs).
function Host:counts()
  return { watchers = self.nwatchers, timer_active = self.timer_fn ~= nil }
end

return M
