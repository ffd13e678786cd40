--- Host adapter for luv (libuv), e.g. `require "luv"` or Neovim's `vim.loop`.
-- `require("genesiscloud.loop.luv").new(uv [, opts])`; `opts.schedule`
-- (e.g. `vim.schedule`) makes `resume` run outside luv's callbacks.
-- See the loop interface in the driver: watch/unwatch/timer/run_once.
-- @module genesiscloud.loop.luv

local Host = {}
Host.__index = Host

local M = {}

--- The adapter over the luv module `uv`.
function M.new(uv, opts)
  assert(type(uv) == "table" and uv.new_poll and uv.new_timer, "luv adapter: luv module expected")
  opts = opts or {}
  local self = setmetatable({ uv = uv, polls = {}, npolls = 0 }, Host)
  if opts.schedule then
    -- Neovim forbids most of its API in luv's fast callbacks (where the
    -- driver learns a transfer is done), so a waiter is resumed later,
    -- from the main loop, through schedule.
    local schedule = opts.schedule
    self.suspend = function() return coroutine.yield() end
    self.resume = function(_, waiter)
      schedule(function()
        -- through the driver (waiter.resume), so a task that raises ends
        -- failed, its on_done called, rather than left running
        if waiter.resume then return waiter.resume(waiter) end
        local ok, err = coroutine.resume(waiter.co)
        if not ok then error(err, 0) end
      end)
    end
  end
  return self
end

--- Starts or changes watching `fd`: one poll handle per fd, restarted in place.
function Host:watch(fd, events, on_ready)
  local w = self.polls[fd]
  if not w then
    w = { handle = assert(self.uv.new_poll(fd)) }
    self.polls[fd] = w
    self.npolls = self.npolls + 1
  end
  w.on_ready = on_ready
  -- A poll error counts as both, so libcurl looks and finds it (libuv
  -- stops the handle after one; the next watch() starts it again).
  assert(w.handle:start(events, function(err, ready)
    if err then return w.on_ready(true, true) end
    w.on_ready(ready:find("r", 1, true) ~= nil, ready:find("w", 1, true) ~= nil)
  end))
end

local function release(handle)
  handle:stop()
  if not handle:is_closing() then handle:close() end
end

--- Stops watching `fd`. The handle is closed now, not reused: libuv drops
-- its registration at stop (even if libcurl already closed the fd), so a
-- later watch of the same number, a new socket, starts from a new handle.
function Host:unwatch(fd)
  local w = self.polls[fd]
  if not w then return end
  self.polls[fd] = nil
  self.npolls = self.npolls - 1
  release(w.handle)
end

--- The one timer: `on_fire()` once after `seconds` (0: next turn); nil stops.
function Host:timer(seconds, on_fire)
  local uv = self.uv
  if seconds == nil then
    if self.timer_handle then self.timer_handle:stop() end
    self.timer_armed = false
    return
  end
  self.timer_handle = self.timer_handle or uv.new_timer()
  -- libuv counts from its cached loop time, which may be stale when the
  -- driver arms the timer outside a callback: refresh it, or it fires early.
  uv.update_time()
  self.timer_armed = true
  self.timer_handle:start(math.ceil(seconds * 1000), 0, function()
    self.timer_armed = false
    on_fire()
  end)
end

--- One turn of the loop (blocks until something happens), for `task:wait()`.
function Host:run_once()
  return self.uv.run("once")
end

--- Stops and closes every handle this adapter made.
function Host:close()
  for fd, w in pairs(self.polls) do
    self.polls[fd] = nil
    release(w.handle)
  end
  self.npolls = 0
  if self.timer_handle then release(self.timer_handle) end
  self.timer_handle, self.timer_armed = nil, false
end

--- What is left: { watchers = n, timer_active = bool } (for the specs).
function Host:counts()
  return { watchers = self.npolls, timer_active = self.timer_armed == true }
end

return M
