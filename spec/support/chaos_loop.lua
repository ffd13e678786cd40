-- The chaos run in loop mode beside blocking mode: the security-group
-- workload of spec/support/chaos.lua run twice, each time against a fresh
-- emulator started with the same seed, once by a blocking client and once
-- by a client on a luv loop (inside one coroutine, so its requests go out
-- one at a time in the same order). The emulator's faults come from a
-- seeded sequence drawn once per request as it arrives, so the same
-- requests in the same order meet the same faults: both runs must show the
-- same log (every request, its status and its fault), the same retries and
-- failed attempts, the same errors per kind, 0 duplicates; and the loop run
-- must leave nothing behind: no transfer, watcher or timer in the driver,
-- no coroutine suspended, no handle open in the luv loop.
-- Used by spec/chaos_loop_spec.lua (fast) and `make chaos` (full).
local chaos = require "support.chaos"
local emulator = require "genesiscloud.emulator"

local chaos_loop = {}

-- The luv module, or nil and why not.
function chaos_loop.luv()
  local ok, uv = pcall(require, "luv")
  if not ok then return nil, "luv is not installed for " .. _VERSION end
  return uv
end

-- The host adapter on `uv` the runs use.
function chaos_loop.host(uv)
  return require("genesiscloud.loop.luv").new(uv), "genesiscloud.loop.luv"
end

-- The luv loop's handles still open, by type: { poll = n, timer = n (active
-- timers only), other = n }.
function chaos_loop.open_handles(uv)
  uv.run("nowait") -- lets closed handles finish closing
  local n = { poll = 0, timer = 0, other = 0 }
  uv.walk(function(h)
    local kind = uv.handle_get_type(h)
    if h:is_closing() then return end
    if kind == "poll" then
      n.poll = n.poll + 1
    elseif kind == "timer" then
      if h:is_active() then n.timer = n.timer + 1 end
    elseif h:is_active() then
      n.other = n.other + 1
    end
  end)
  return n
end

-- What the driver of `client` still holds: its counts plus the coroutines
-- it keeps suspended, its sleepers and queued wakes.
function chaos_loop.driver_left(client)
  local d = require("genesiscloud.client").state(client).driver
  local n = d:counts()
  local function size(t)
    local k = 0
    for _ in pairs(t) do k = k + 1 end
    return k
  end
  n.suspended, n.sleepers, n.wakes = size(d.suspended), size(d.sleepers), #d.wakes
  return n
end

local function emulator_for(seed)
  return assert(emulator.start{ token = "chaos-token", create_delay = 0, update_delay = 0,
    delete_delay = 0, seed = seed })
end

local function run_blocking(operations, fault_rate, seed)
  local emu = emulator_for(seed)
  local started = os.time()
  local events = {}
  local ok, figures = pcall(chaos.run_against, emu, operations, fault_rate, seed, { events = events })
  emu:stop()
  if not ok then error("blocking run: " .. tostring(figures), 0) end
  figures.events = events
  figures.seconds = os.time() - started
  return figures
end

-- Runs the loop's turns until coroutine `co` ends; raises when the loop
-- has nothing left that could wake it.
local function drive(uv, co)
  while coroutine.status(co) ~= "dead" do
    if not uv.run("once") and coroutine.status(co) ~= "dead" then
      error("loop run: the coroutine waits, but nothing in the loop can wake it", 0)
    end
  end
end

local function run_loop(uv, operations, fault_rate, seed)
  local host, host_name = chaos_loop.host(uv)
  local emu = emulator_for(seed)
  local started = os.time()
  local ok, figures
  local events = {}
  local co = coroutine.create(function()
    ok, figures = pcall(chaos.run_against, emu, operations, fault_rate, seed, {
      client = { loop = host }, events = events, keep_open = true })
  end)
  local resumed, err = coroutine.resume(co)
  local driven, derr = pcall(drive, uv, co)
  emu:stop()
  if not (resumed and driven and ok) then
    -- leave no luv handle to the specs that run after this one
    host:close()
    uv.run("nowait")
  end
  if not resumed then error("loop run: " .. tostring(err), 0) end
  if not driven then error(derr, 0) end
  if not ok then error("loop run: " .. tostring(figures), 0) end
  figures.events = events
  figures.seconds = os.time() - started
  -- the loop at rest, the client still open; then closed
  local client = figures.client
  figures.client = nil
  figures.driver_left = chaos_loop.driver_left(client)
  figures.handles_left = chaos_loop.open_handles(uv)
  figures.host_left = host:counts()
  client:close()
  figures.driver_closed = chaos_loop.driver_left(client)
  host:close()
  uv.run("nowait") -- the handles it closed finish closing
  figures.host = host_name
  return figures
end

-- The first difference between two lists of lines, or nil.
local function first_difference(a, b, what)
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then
      return ("%s %d: blocking %s, loop %s"):format(what, i, tostring(a[i]), tostring(b[i]))
    end
  end
end

local function kinds_line(by_kind)
  local kinds = {}
  for kind, count in pairs(by_kind) do kinds[#kinds + 1] = kind .. " " .. count end
  table.sort(kinds)
  return table.concat(kinds, ", ")
end

--- The rules broken by a pair of runs, as a list of messages (empty: none).
function chaos_loop.check(b, l)
  local broken = {}
  local function same(what, x, y)
    if x ~= y then broken[#broken + 1] = ("%s: blocking %s, loop %s"):format(what, tostring(x), tostring(y)) end
  end
  for _, lists in ipairs{ { "the emulator's log", "log", "request" }, { "the debug hook", "events", "attempt" } } do
    local difference = first_difference(b[lists[2]], l[lists[2]], lists[3])
    if difference then broken[#broken + 1] = lists[1] .. ": " .. difference end
  end
  for _, key in ipairs{ "requests", "faults", "retries", "attempts", "successes", "failures", "groups",
    "uncertain" } do
    same(key, b[key], l[key])
  end
  same("errors per kind", kinds_line(b.by_kind), kinds_line(l.by_kind))
  same("duplicates (blocking)", 0, b.duplicates)
  same("duplicates (loop)", 0, l.duplicates)
  local d = l.driver_left
  same("driver: transfers, watched sockets, waiting coroutines, timer",
    "0 0 0 false", ("%d %d %d %s"):format(d.in_flight, d.watched, d.waiting, tostring(d.timer)))
  same("driver: coroutines suspended, sleepers, wakes queued", "0 0 0",
    ("%d %d %d"):format(d.suspended, d.sleepers, d.wakes))
  d = l.driver_closed
  same("driver after close: transfers, watched sockets, waiting, timer, suspended, sleepers, wakes",
    "0 0 0 false 0 0 0", ("%d %d %d %s %d %d %d"):format(d.in_flight, d.watched, d.waiting, tostring(d.timer),
    d.suspended, d.sleepers, d.wakes))
  same("host adapter: watchers, timer armed", "0 false", ("%d %s"):format(l.host_left.watchers,
    tostring(l.host_left.timer_active)))
  local h = l.handles_left
  same("luv handles left: polls, active timers, others", "0 0 0", ("%d %d %d"):format(h.poll, h.timer, h.other))
  return broken
end

--- Runs `operations` group operations at `fault_rate` with `seed`, blocking
-- then in loop mode. -> blocking figures, loop figures, broken rules (list)
function chaos_loop.run(opts)
  local uv = assert(chaos_loop.luv())
  local operations, fault_rate, seed = opts.operations or 2000, opts.fault_rate or 0.3, opts.seed or 11
  local b = run_blocking(operations, fault_rate, seed)
  local l = run_loop(uv, operations, fault_rate, seed)
  return b, l, chaos_loop.check(b, l)
end

--- The figures as one line.
function chaos_loop.summary(b, l, broken)
  return ("chaos loop: %d operations, %d requests, %d faults injected, %d retries (loop %d), "
    .. "%d failures surfaced (%s; loop %s), %d failed attempts (loop %d), %d duplicates (loop %d), "
    .. "left after the loop run: %d transfers, %d watchers, %d coroutines, %d luv handles; "
    .. "%d s blocking, %d s loop; %s"):format(
    b.operations, b.requests, b.faults, b.retries, l.retries, b.failures, kinds_line(b.by_kind),
    kinds_line(l.by_kind), b.attempts, l.attempts, b.duplicates, l.duplicates,
    l.driver_left.in_flight, l.driver_left.watched, l.driver_left.waiting + l.driver_left.suspended,
    l.handles_left.poll + l.handles_left.timer + l.handles_left.other, b.seconds, l.seconds,
    #broken == 0 and "same as blocking" or (#broken .. " differences"))
end

return chaos_loop
