--- The loop driver: runs one client's transfers inside a host's event loop.
-- libcurl's socket interface says which sockets to watch and when its
-- timer is due; the C core only records that (`multi_changes`), and this
-- driver tells the host (`watch`, `unwatch`, `timer`). When the host calls
-- back, the driver lets libcurl act (`multi_action`), hands each finished
-- transfer to the one waiting for it, and resumes the waiting coroutines.
--
-- Coroutines wait here in `wait`: for a transfer (its owner's inbox), for a
-- retry backoff or a poll interval (a deadline), or both. The host's one
-- timer serves libcurl's timer and every deadline at once.
--
-- The host interface is documented in docs/event-loop.md.
-- @module genesiscloud.loop.driver
local errors = require "genesiscloud.errors"

local driver = {}

local unpack = table.unpack or unpack -- luacheck: ignore 143
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local EARLY = 0.0005 -- seconds: a timer this close to its time counts as due

--- Whether the running code can wait in the loop: inside a coroutine that
-- may yield (not the main thread, not across a C call on 5.1).
local isyieldable = coroutine.isyieldable
function driver.in_coroutine()
  if isyieldable then return isyieldable() end
  local co, main = coroutine.running()
  return co ~= nil and not main
end

local Driver = {}
Driver.__index = Driver

local function check_host(host)
  if type(host) ~= "table" and type(host) ~= "userdata" then
    return "option 'loop' must be a loop adapter (a table), got " .. type(host)
  end
  for _, name in ipairs{ "watch", "unwatch", "timer" } do
    if type(host[name]) ~= "function" then
      return ("option 'loop' must be a loop adapter: its '%s' is a %s, not a function")
        :format(name, type(host[name]))
    end
  end
end
--- Why `host` is not a loop adapter (a message), or nil when it is one.
driver.check_host = check_host

-- host -> the driver of the open client it serves. An adapter has one
-- timer, which a second client's driver would take from the first (whose
-- transfers and sleeps would then never wake): one adapter per client.
-- Weak both ways: a client collected unclosed frees its adapter.
local serving = setmetatable({}, { __mode = "kv" })

--- A driver for the client core `handle`, on `host`.
-- @param router the client's tags and their owners (request.lua's)
-- @param now the client's monotonic clock
-- @return the driver, or nil, err
function driver.new(handle, host, router, now)
  local other = serving[host]
  if other and not other.closed then
    return nil, errors.new{ kind = "usage", message = "option 'loop': this adapter already serves "
      .. "another open client (an adapter has one timer); make one adapter per client" }
  end
  local ok, kind, message = handle:multi_watch()
  if not ok then return nil, errors.new{ kind = kind, message = message } end
  local d = setmetatable({
    core = handle, host = host, router = router, now = now,
    watched = {}, callbacks = {}, -- fd -> events; fd -> on_ready
    curl_at = nil, armed_at = nil, -- libcurl's timer; what the host's timer is set to
    sleepers = {},   -- waiter -> true, for waiters with a deadline
    suspended = {},  -- waiter -> true while a plain coroutine waits (keeps it alive)
    waiting = {},    -- coroutine -> its waiter
    owner_co = {},   -- tag -> the coroutine that started it
    tasks = setmetatable({}, { __mode = "k" }), -- coroutine -> task
    wakes = {}, closed = false,
  }, Driver)
  d.on_timer = function() d:fire() end
  -- waiter.resume(waiter): resumes a plain coroutine as flush would, its
  -- failure going to its task; for an adapter that resumes later (luv
  -- with `schedule`), so a task that raises after a wait still ends.
  d.resume_waiter = function(w) d:run(w.co) end
  serving[host] = d
  return d
end

-- Host side ------------------------------------------------------------------

function Driver:callback(fd)
  local cb = self.callbacks[fd]
  if not cb then
    cb = function(readable, writable) self:ready(fd, readable, writable) end
    self.callbacks[fd] = cb
  end
  return cb
end

-- Applies what libcurl asked for since the last call: sockets, timer.
function Driver:sync()
  self:apply()
  self:arm()
end

-- The sockets libcurl asked for since the last call go to the host; its
-- timer is noted (`arm` sets the host's).
function Driver:apply()
  local changes = pack(self.core:multi_changes())
  local timer = changes[1]
  if timer ~= nil then self.curl_at = timer and self.now() + timer / 1000 or nil end
  local host = self.host
  for i = 2, changes.n, 2 do
    local fd, events = changes[i], changes[i + 1]
    if events then
      self.watched[fd] = events
      host:watch(fd, events, self:callback(fd))
    elseif self.watched[fd] then
      self.watched[fd], self.callbacks[fd] = nil, nil
      host:unwatch(fd)
    end
  end
end

-- Sets the host's one timer to the earliest of libcurl's timer and the
-- waiters' deadlines (now, when a wake is queued).
function Driver:arm()
  if self.closed then return end
  local at = self.curl_at
  for w in pairs(self.sleepers) do
    if not at or w.at < at then at = w.at end
  end
  if #self.wakes > 0 then at = self.now() end
  if at == self.armed_at then return end
  self.armed_at = at
  if at then
    self.host:timer(math.max(0, at - self.now()), self.on_timer)
  else
    self.host:timer(nil)
  end
end

-- The host's timer fired.
function Driver:fire()
  self.armed_at = nil
  local now = self.now()
  if self.curl_at and self.curl_at <= now + EARLY then
    self.curl_at = nil
    self.core:multi_action()
  end
  for w in pairs(self.sleepers) do
    if w.at <= now + EARLY then
      self.sleepers[w], w.expired = nil, true
      self:wake(w)
    end
  end
  self:after()
end

-- A watched socket is ready.
function Driver:ready(fd, readable, writable)
  if self.closed or not self.watched[fd] then return end
  self.core:multi_action(fd, readable, writable)
  self:after()
end

-- After libcurl acted: each finished transfer goes to its owner, the host
-- learns the new sockets, woken coroutines run, and the host's timer is
-- set. The sockets go first, so what the coroutines see of the driver
-- starts from libcurl's latest word (what they change they sync
-- themselves); the timer last, once no wake is left queued.
function Driver:after()
  self:route()
  self:apply()
  self:flush()
  self:arm()
end

function Driver:route()
  local owners = self.router.owners
  while true do
    local got = pack(self.core:multi_take())
    local tag = got[1]
    if tag == nil then return end
    local owner = owners[tag]
    owners[tag], self.owner_co[tag] = nil, nil
    if owner then self:deliver(owner, got) end
  end
end

--- Hands a finished transfer (`tag, <shape>`, packed) to its owner.
function Driver:deliver(owner, got)
  owner.inbox[#owner.inbox + 1] = got
  if owner.waiter then self:wake(owner.waiter) end
end

-- Coroutine side -------------------------------------------------------------

function Driver:wake(w)
  if w.suspended and not w.queued then
    w.queued = true
    self.wakes[#self.wakes + 1] = w
  end
end

--- Resumes a plain coroutine and sees to what its end means: a task's
-- result, or an error that has nobody else to go to.
function Driver:run(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if ok then return end
  local task = self.tasks[co]
  if task then
    task:fail(err)
  elseif self.host.error then
    self.host:error(err)
  else
    io.stderr:write("genesiscloud: a coroutine waiting in the loop failed: ", tostring(err), "\n")
  end
end

-- Resumes the woken coroutines, outside any call into libcurl. A coroutine
-- it resumes may wake others: they run in the same round.
function Driver:flush()
  if self.flushing then return end
  self.flushing = true
  while true do
    local w = table.remove(self.wakes, 1)
    if not w then break end
    w.queued, w.suspended = false, false
    if w.dead then -- luacheck: ignore 542
      -- closed while it waited: nothing to resume
    elseif self.host.resume then
      self.host:resume(w)
    elseif w.co then
      self:run(w.co)
    end
  end
  self.flushing = false
end

-- On 5.4 a coroutine closed while it waits (coroutine.close) runs this
-- guard, which cancels what it left in flight. It wraps the host's suspend
-- too: a host that resumes plain coroutines itself (luv's adapter with a
-- schedule function) leaves closing them to the caller just the same.
local close_guard = _VERSION == "Lua 5.4" and load([[
  local mt = ...
  return function(d, w, park, ...)
    local guard <close> = setmetatable({ d, w }, mt)
    park(...)
    guard[1] = nil
  end]])({ __close = function(g) if g[1] then g[1]:abandon(g[2]) end end })

-- Parks the running coroutine until the driver wakes `w` (or a spurious
-- resume: callers re-check).
function Driver:suspend(w)
  w.suspended = true
  local host = self.host
  if host.suspend then
    if close_guard then close_guard(self, w, host.suspend, host, w) else host:suspend(w) end
  else
    w.co = coroutine.running()
    self.suspended[w] = true
    if close_guard then close_guard(self, w, coroutine.yield) else coroutine.yield() end
    self.suspended[w] = nil
  end
  w.suspended = false
end

local function cancelled_error()
  return errors.new{ kind = "cancelled", message = "the task was cancelled" }
end

-- Raises in a task that was cancelled, so its function stops here.
function Driver:check_cancel(co)
  local task = self.tasks[co]
  if task and task.cancelled then errors.raise(cancelled_error()) end
end

--- Waits inside a coroutine until `owner` (nil: none) has a finished
-- transfer in its inbox, `timeout` seconds pass (nil: no limit), or the
-- client closes.
function Driver:wait(owner, timeout)
  local co = coroutine.running()
  self:check_cancel(co)
  local w = { co = co, resume = self.resume_waiter }
  if owner then owner.waiter = w end
  if timeout then
    w.at = self.now() + timeout
    self.sleepers[w] = true
  end
  self.waiting[co] = w
  self:arm()
  while not (owner and #owner.inbox > 0) and not w.expired and not self.closed
      and not w.cancelled do
    self:suspend(w)
  end
  self.waiting[co], self.sleepers[w] = nil, nil
  if owner then owner.waiter = nil end
  self:check_cancel(co)
end

--- Sleeps `seconds` inside a coroutine; the loop runs meanwhile.
function Driver:sleep(seconds)
  if seconds > 0 then self:wait(nil, seconds) end
end

--- Notes that the running coroutine started transfer `tag`.
function Driver:started(tag)
  self.owner_co[tag] = coroutine.running()
  self:sync()
end

--- Sends one request of operation record `op` and waits for it, from a
-- coroutine. -> one of perform's shapes
function Driver:perform(op, target, body)
  self:check_cancel(coroutine.running()) -- a cancelled task sends nothing more
  local router = self.router
  router.tag = router.tag + 1
  local tag = router.tag
  local ok, kind, message, code, sent = self.core:multi_add(tag, op.method, target, body,
    op.fresh, op.expect, op.envelope)
  if not ok then return nil, kind, message, code, sent end
  local owner = { inbox = {} }
  router.owners[tag] = owner
  self:started(tag)
  self:wait(owner, nil)
  local got = owner.inbox[1]
  if not got then return nil, "usage", "the client is closed", 0, false end
  return unpack(got, 2, got.n)
end

--- Cancels transfer `tag` (a pipeline dropping it).
function Driver:cancel(tag)
  local found = self.core:multi_cancel(tag)
  self.owner_co[tag] = nil
  self:sync()
  return found
end

--- Drops what coroutine `w.co` waits for and has in flight: used when it is
-- closed (5.4) or its task cancelled.
function Driver:abandon(w)
  local co = w.co
  w.dead = true
  self.suspended[w], self.sleepers[w] = nil, nil
  if self.waiting[co] == w then self.waiting[co] = nil end
  local owners = self.router.owners
  for tag, owner_co in pairs(self.owner_co) do
    if owner_co == co then
      self.core:multi_cancel(tag)
      self.owner_co[tag], owners[tag] = nil, nil
    end
  end
  if not self.closed then self:sync() end
end

--- Cancels the task whose coroutine is `co`: its transfers end now, and it
-- raises a `cancelled` error where it waits, on the loop's next turn.
function Driver:cancel_task(co)
  local w = self.waiting[co]
  if not w then return end
  self:abandon(w)
  w.dead, w.cancelled = false, true
  w.suspended = true
  self:wake(w)
  self:arm()
end

--- Ends every wait: transfers in flight fail with a `usage` error, sleeps
-- end, the host's watchers and timer go. The woken coroutines run at the
-- next `flush` (the client's close calls it once the core is closed).
function Driver:close()
  if self.closed then return end
  local owners = self.router.owners
  for tag, owner in pairs(owners) do
    owners[tag] = nil
    self:deliver(owner, pack(tag, nil, "usage", "the client is closed", 0, false))
  end
  for _, w in pairs(self.waiting) do self:wake(w) end -- sleeps, task waits
  self.closed = true
  if serving[self.host] == self then serving[self.host] = nil end
  for fd in pairs(self.watched) do self.host:unwatch(fd) end
  self.watched, self.callbacks, self.owner_co = {}, {}, {}
  self.host:timer(nil)
  self.armed_at, self.curl_at = nil, nil
end

--- What the driver holds, for specs and leak checks.
function Driver:counts()
  local n = { watched = 0, waiting = 0, in_flight = 0 }
  for _ in pairs(self.watched) do n.watched = n.watched + 1 end
  for _ in pairs(self.waiting) do n.waiting = n.waiting + 1 end
  for _ in pairs(self.owner_co) do n.in_flight = n.in_flight + 1 end
  n.timer = self.armed_at ~= nil
  return n
end

return driver
