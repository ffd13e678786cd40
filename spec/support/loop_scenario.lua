--- The event-loop scenario of issue 15, the same on every host (luv,
-- cqueues, Neovim): while a client lists 10,000 groups (`concurrency = 8`)
-- and creates, waits for and deletes 50 more, the host's 5 ms ticker keeps
-- firing. `run_blocking` gives the reference the loop runs must equal.
--
--   scenario.seed(client)                    once, on an emulator without latency
--   scenario.run_blocking(client)            -> summary (a client without a loop)
--   scenario.start(client, start_ticker, on_done)
--       client: made with `loop = adapter`; start_ticker(period) starts the
--       host's repeating timer and returns stop() -> longest gap (s), ticks;
--       on_done(result) once every task ended, from inside the loop:
--       result = { summary = ..., max_gap = s, ticks = n, gap_cpu = s, elapsed = s }
--       or { error = message, ... }.
--
-- Runs on every Lua the library supports (the Neovim host is LuaJIT).
local scenario = {}

scenario.GROUPS = 10000
scenario.CHURN = 50          -- groups created, waited for and deleted
scenario.LANES = 5           -- tasks the loop runs share the churn among
scenario.CONCURRENCY = 8     -- the listing's pages in flight
scenario.LATENCY = 0.02      -- seconds the emulator adds to every answer
scenario.TICK = 0.005        -- the host's timer period
scenario.MAX_GAP = 0.025     -- the bound on the longest gap between two ticks
scenario.SEED_PREFIX = "loop-seed-"
scenario.CHURN_PREFIX = "loop-churn-"

--- The emulator's settings for the scenario: creates and deletes take a
-- little time, so the waits poll (and sleep in the loop) at least once.
scenario.EMULATOR = { create_delay = 0.03, delete_delay = 0.03, update_delay = 0 }

-- Poll quickly: the default interval (2 s) would make 50 waits take minutes.
local WAIT = { interval = 0.01, backoff = 1.5, max_interval = 0.05, timeout = 30 }

local RULES = { { protocol = "all", direction = "egress" } }

-- Raises the error object a call returned (a task then fails with it).
local function check(v, err)
  if v == nil then error(err, 0) end
  return v
end

local function now()
  return require("genesiscloud.core").now()
end

--- Creates the GROUPS groups the listing walks (a client without a loop;
-- a few seconds at latency 0), then reads them once so that each has
-- settled from "creating".
function scenario.seed(client)
  local specs = {}
  for i = 1, scenario.GROUPS do
    specs[i] = { name = ("%s%05d"):format(scenario.SEED_PREFIX, i), rules = RULES }
  end
  local made = check(client:create_security_groups(specs, { concurrency = 16 }))
  for i = 1, scenario.GROUPS do
    if require("genesiscloud").is_error(made[i]) then
      error("seeding group " .. i .. ": " .. tostring(made[i]))
    end
  end
  check(client.security_groups:all{ per_page = 100, concurrency = 8 })
end

-- A 32-bit FNV-1a-like digest in plain arithmetic (5.1 has no bit operators).
local function digest(strings)
  local h = 2166136261
  for _, s in ipairs(strings) do
    for i = 1, #s + 1 do
      local b = s:byte(i) or 10
      h = (h * 31 + b) % 4294967296
    end
  end
  return ("%08x"):format(h)
end
scenario.digest = digest

--- The listing: the seeded groups' ids (the churn's groups, which the walk
-- may meet at the end, are left out).
function scenario.list(client)
  local all = check(client.security_groups:all{ per_page = 100, concurrency = scenario.CONCURRENCY })
  local ids, prefix = {}, scenario.SEED_PREFIX
  for _, g in ipairs(all) do
    if g.name:sub(1, #prefix) == prefix then ids[#ids + 1] = g.id end
  end
  return ids
end

--- Lane `lane` of the churn: its share of the groups, each created (and
-- waited for until "created"), deleted and waited for until gone.
-- -> the names created, the names deleted
function scenario.churn(client, lane)
  local created, deleted = {}, {}
  local groups = client.security_groups
  for i = lane, scenario.CHURN, scenario.LANES do
    local name = ("%s%03d"):format(scenario.CHURN_PREFIX, i)
    local sg = check(groups:create({ name = name, rules = RULES }, { wait = WAIT, existing = {} }))
    if sg.status ~= "created" then error(name .. " came back " .. tostring(sg.status)) end
    created[#created + 1] = sg.name
    check(groups:delete(sg.id))
    check(groups:wait_deleted(sg.id, WAIT))
    deleted[#deleted + 1] = sg.name
  end
  return created, deleted
end

--- What a run is compared by: the listing's count, its sorted ids' digest
-- (and first and last id), the churn's names created and deleted (sorted).
function scenario.summary(ids, lanes)
  local sorted = {}
  for i, id in ipairs(ids) do sorted[i] = id end
  table.sort(sorted)
  local created, deleted = {}, {}
  for _, lane in ipairs(lanes) do
    for _, name in ipairs(lane[1]) do created[#created + 1] = name end
    for _, name in ipairs(lane[2]) do deleted[#deleted + 1] = name end
  end
  table.sort(created)
  table.sort(deleted)
  return { count = #sorted, digest = digest(sorted), first = sorted[1], last = sorted[#sorted],
    created = table.concat(created, ","), deleted = table.concat(deleted, ",") }
end

--- The reference: the same work with no loop, one part after the other.
function scenario.run_blocking(client)
  local ids = scenario.list(client)
  local lanes = {}
  for lane = 1, scenario.LANES do lanes[lane] = { scenario.churn(client, lane) } end
  return scenario.summary(ids, lanes)
end

-- Calls `finish()` once `n` tasks have ended (each ended task calls the
-- function this returns with its `ok, ...`); keeps the first failure.
local function gather(n, finish)
  local left, failure = n, nil
  return function(ok, err)
    if not ok and not failure then failure = tostring(err) end
    left = left - 1
    if left == 0 then finish(failure) end
  end
end

--- A gap meter on the monotonic clock `clock` (seconds): `tick()` at each
-- tick, `finish()` -> the longest gap (the time since the last tick
-- counts too), the number of ticks, and the CPU time this process used
-- during the longest gap (os.clock): about the gap, the process was busy;
-- much less, the machine ran something else.
function scenario.gaps(clock)
  local last, last_cpu, longest, cpu, ticks = clock(), os.clock(), 0, 0, 0
  local function tick()
    local t, c = clock(), os.clock()
    if t - last > longest then longest, cpu = t - last, c - last_cpu end
    last, last_cpu, ticks = t, c, ticks + 1
  end
  local function finish()
    tick()
    return longest, ticks - 1, cpu
  end
  return tick, finish
end

--- The loop run: the listing and LANES churn lanes, each in its own task,
-- all at once, while the host's ticker fires. Returns at once; `on_done`
-- gets the result from inside the loop.
function scenario.start(client, start_ticker, on_done)
  local stop_ticker = start_ticker(scenario.TICK)
  local t0 = now()
  local ids, lanes = nil, {}
  local function finish(failure)
    local max_gap, ticks, gap_cpu = stop_ticker()
    local result = { max_gap = max_gap, ticks = ticks, gap_cpu = gap_cpu, elapsed = now() - t0 }
    if failure then
      result.error = failure
    else
      result.summary = scenario.summary(ids, lanes)
    end
    on_done(result)
  end
  local ended = gather(1 + scenario.LANES, finish)
  client:spawn(scenario.list, client):on_done(function(ok, got)
    if ok then ids = got end
    ended(ok, got)
  end)
  for lane = 1, scenario.LANES do
    client:spawn(scenario.churn, client, lane):on_done(function(ok, created, deleted)
      if ok then lanes[lane] = { created, deleted } end
      ended(ok, created)
    end)
  end
end

--- A result as `key=n:number` / `key=s:string` lines (what the Neovim run writes to a file),
-- and back.
function scenario.encode(result)
  local lines = {}
  local function put(prefix, t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = t[k]
      if type(v) == "table" then
        put(prefix .. k .. ".", v)
      else
        local text = (tostring(v):gsub("\n", " "))
        lines[#lines + 1] = prefix .. k .. "=" .. (type(v) == "number" and "n:" or "s:") .. text
      end
    end
  end
  put("", result)
  return table.concat(lines, "\n") .. "\n"
end

function scenario.decode(text)
  local result = {}
  for key, value in text:gmatch("([^=\n]+)=([^\n]*)") do
    local t = result
    for part, dot in key:gmatch("([^.]+)(%.?)") do
      if dot == "." then
        t[part] = t[part] or {}
        t = t[part]
      else
        t[part] = value:sub(1, 2) == "n:" and tonumber(value:sub(3)) or value:sub(3)
      end
    end
  end
  return result
end

--- A ticker on luv's loop `uv` for scenario.start: start(period) runs a
-- repeating timer and returns the function that stops it and gives the gaps.
function scenario.luv_ticker(uv)
  return function(period)
    local tick, finish = scenario.gaps(function() return uv.hrtime() / 1e9 end)
    local timer = uv.new_timer()
    local ms = math.floor(period * 1000 + 0.5)
    timer:start(ms, ms, tick)
    return function()
      timer:stop()
      timer:close()
      return finish()
    end
  end
end

return scenario
