--- Tasks: a function run in its own coroutine on a loop client, started
-- from anywhere (a callback, the main chunk), whose result a callback or
-- another coroutine waits for. `client:spawn(fn, ...)` makes one.
--
--   task:wait()        -> fn's results | nil, err (fn raised, or cancelled)
--   task:on_done(cb)   cb(true, results...) | cb(false, err), once
--   task:cancel()      -> true when it was still running
--   task:status()      -> "running", "done", "failed" or "cancelled"
-- @module genesiscloud.loop.task
local errors = require "genesiscloud.errors"
local driver = require "genesiscloud.loop.driver"

local task = {}

local unpack = table.unpack or unpack -- luacheck: ignore 143
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local Task = { __name = "genesiscloud task" }
Task.__index = Task

-- Ends the task once: its result, its callbacks, the coroutines waiting.
function Task:settle(state, results)
  if self.state ~= "running" then return end
  self.state, self.results = state, results
  for _, owner in ipairs(self.waiters) do self.driver:deliver(owner, results) end
  self.waiters = {}
  self.driver:arm()
  local callbacks = self.callbacks
  self.callbacks = {}
  for _, cb in ipairs(callbacks) do self:call(cb) end
end

-- What `wait` returns and what a callback gets after its `ok`.
function Task:outcome()
  local r = self.results
  if self.state == "done" then return true, unpack(r, 1, r.n) end
  return false, r[2]
end

function Task:call(cb)
  local result = pack(self:outcome())
  local ok, err = pcall(cb, unpack(result, 1, result.n))
  if not ok then
    io.stderr:write("genesiscloud: a task's on_done callback failed: ", tostring(err), "\n")
  end
end

--- The task's function raised `err` (or was stopped with it).
function Task:fail(err)
  self:settle(self.cancelled and "cancelled" or "failed", pack(nil, err))
end

--- Waits for the task: inside a coroutine the loop runs meanwhile; on the
-- main thread it runs the loop itself, when the adapter can (`run_once`).
-- @return the function's results, or nil and the error it raised
function Task:wait()
  local d = self.driver
  if self.state == "running" and driver.in_coroutine() then
    local owner = { inbox = {} }
    self.waiters[#self.waiters + 1] = owner
    while self.state == "running" and not d.closed do d:wait(owner, nil) end
  elseif self.state == "running" then
    local host = d.host
    if type(host.run_once) ~= "function" then
      return errors.fail{ kind = "usage",
        message = "task:wait() on the main thread needs an adapter with run_once" }
    end
    while self.state == "running" and not d.closed do
      if host:run_once() == false then break end
    end
  end
  if self.state == "running" then
    return errors.fail{ kind = "usage", message = d.closed and "the client is closed"
      or "the loop stopped before the task ended" }
  end
  local result = pack(self:outcome())
  if result[1] then return unpack(result, 2, result.n) end
  return nil, result[2]
end

--- Calls `cb(true, results...)` or `cb(false, err)` when the task ends (at
-- once when it has).
function Task:on_done(cb)
  if type(cb) ~= "function" then
    error("bad argument #1 to 'on_done' (function expected, got " .. type(cb) .. ")", 2)
  end
  if self.state == "running" then
    self.callbacks[#self.callbacks + 1] = cb
  else
    self:call(cb)
  end
  return self
end

--- Cancels the task: its transfers end now and its function stops with a
-- `cancelled` error where it waits. -> true when it was still running
function Task:cancel()
  if self.state ~= "running" then return false end
  self.cancelled = true
  self:settle("cancelled", pack(nil, errors.new{ kind = "cancelled",
    message = "the task was cancelled" }))
  if self.co then self.driver:cancel_task(self.co) end
  return true
end

function Task:status()
  return self.state
end

function Task.__tostring(self)
  return "genesiscloud task (" .. self.state .. ")"
end

--- Starts `fn(...)` in a new coroutine of driver `d`'s host.
function task.spawn(d, fn, ...)
  local t = setmetatable({ driver = d, state = "running", waiters = {}, callbacks = {} }, Task)
  local args = pack(...)
  local function body()
    t.co = coroutine.running()
    d.tasks[t.co] = t
    local results = pack(true, fn(unpack(args, 1, args.n)))
    t:settle("done", pack(unpack(results, 2, results.n)))
  end
  if d.host.spawn then
    -- the host runs its own coroutines: catch the error here (5.2+ and
    -- LuaJIT can yield across pcall)
    d.host:spawn(function()
      local ok, err = pcall(body)
      if not ok then t:fail(err) end
    end)
  else
    d:run(coroutine.create(body))
  end
  return t
end

return task
