-- #timing: the event-loop scenario of issue 15 (spec/support/loop_scenario.lua)
-- in three real hosts: luv and cqueues in this process, and Neovim headless
-- (vim.loop, LuaJIT) as a child process with the core built for LuaJIT
-- (`make build-luajit`, which `make test` runs). While the client lists
-- 10,000 groups (20 ms added to every answer, `concurrency = 8`) and
-- creates, waits for and deletes 50 more, the host's 5 ms timer keeps
-- firing: the longest gap between two ticks stays under 25 ms, and the
-- results equal those of the blocking run. A run whose longest gap went
-- over the bound is repeated once (see busy_machine), and the repeat must
-- meet it. LOOP_HOSTS_FIGURES=1 prints each host's figures to stderr.
local helper = require "helper"
local scenario = require "support.loop_scenario"

local ROOT = assert(helper.run("pwd"):match("^(.-)\n?$"))
local LUAJIT_CORE_DIR = os.getenv("GC_LUAJIT_BUILD") or ROOT .. "/build/luajit"

local function optional(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function figures(host, result)
  if os.getenv("LOOP_HOSTS_FIGURES") then
    io.stderr:write(("\n[loop hosts] %-8s max gap %.1f ms (CPU in it %.1f ms), %d ticks, elapsed %.2f s\n")
      :format(host, result.max_gap * 1000, (result.gap_cpu or 0) * 1000, result.ticks, result.elapsed))
  end
end

-- The bound, and ticks all along: a ticker that stopped would have no gap.
local function assert_ticking(host, r)
  assert.is_true(r.max_gap < scenario.MAX_GAP, ("%s: longest gap between ticks %.1f ms (bound %.0f ms; "
    .. "this process used %.1f ms of CPU in it)"):format(host, r.max_gap * 1000, scenario.MAX_GAP * 1000,
    r.gap_cpu * 1000))
  assert.is_true(r.ticks >= r.elapsed / scenario.MAX_GAP,
    ("%s: %d ticks in %.2f s"):format(host, r.ticks, r.elapsed))
end

-- Runs `fn` (a host's loop run) under the incremental collector, with the
-- set-up's garbage (seeding, the blocking run) collected first. Lua 5.4's
-- stand-alone interpreter, which runs busted, switches to the generational
-- collector, whose major collections stop the world: 30 to 100 ms here,
-- with the 10,000 groups and the set-up's garbage, longer than the bound.
-- A host that cares about latency runs the incremental collector (LuaJIT,
-- Neovim's Lua, has no other). On 5.1 and 5.3 the option does not exist.
local function incremental_gc(fn)
  local switched, previous = pcall(collectgarbage, "incremental")
  collectgarbage("collect")
  local result = fn()
  if switched and previous == "generational" then collectgarbage("generational") end
  return result
end

-- A gap over the bound: the gap is wall time on a machine the suite shares
-- (2 cores, the emulator, busted, Neovim's own work, a collector's pause in
-- the host), so such a run is repeated once and the repeat is checked. A
-- loop the library really holds up fails both (a planted 40 ms block gives
-- 46-49 ms every time).
local function busy_machine(r)
  return type(r) == "table" and r.max_gap ~= nil and r.max_gap >= scenario.MAX_GAP
end

-- run() -> result; timings(result) -> the gap measurements in it.
local function once_more_if_busy(host, run, timings)
  local result = run()
  for _, r in ipairs(timings(result)) do
    if busy_machine(r) then
      figures(host .. " (longest gap over the bound: run once more)", r)
      return run()
    end
  end
  return result
end

local function check_result(host, result, reference)
  assert.is_nil(result.error, host .. ": " .. tostring(result.error))
  figures(host, result)
  assert.are.same(reference, result.summary)
  assert_ticking(host, result)
end

-- The scenario on luv: a 5 ms repeating timer, the loop run until the
-- scenario ends (or a watchdog gives up).
local function run_luv(uv, client)
  local result
  local watchdog = uv.new_timer()
  watchdog:start(120000, 0, function() result = result or { error = "timed out after 120 s" } end)
  scenario.start(client, scenario.luv_ticker(uv), function(r) result = result or r end)
  while not result do uv.run("once") end
  watchdog:stop()
  watchdog:close()
  return result
end

-- The scenario on cqueues: a coroutine sleeping 5 ms at a time, the
-- controller stepped until the scenario ends.
local function run_cqueues(cqueues, cq, client)
  local result
  local deadline = cqueues.monotime() + 120
  scenario.start(client, function(period)
    local tick, finish = scenario.gaps(cqueues.monotime)
    local running = true
    cq:wrap(function()
      while running do
        cqueues.sleep(period)
        if running then tick() end
      end
    end)
    return function()
      running = false
      return finish()
    end
  end, function(r) result = result or r end)
  while not result do
    assert(cq:step(1))
    if cqueues.monotime() > deadline then result = { error = "timed out after 120 s" } end
  end
  return result
end

-- The scenario and :GenesisGroups in Neovim headless (nvim_scenario.lua),
-- against `emu`: -> what it wrote (scenario.decode), its status checked.
local function run_nvim(emu)
  local out = os.tmpname()
  local command = table.concat({
    "cd", shell_quote(ROOT), "&&", "env",
    "GC_ROOT=" .. shell_quote(ROOT), "GC_OUT=" .. shell_quote(out),
    "GC_CPATH=" .. shell_quote(LUAJIT_CORE_DIR .. "/?.so"),
    "GENESISCLOUD_TOKEN=" .. shell_quote(emu.token),
    "GENESISCLOUD_ENDPOINT=" .. shell_quote(emu.endpoint),
    "NVIM_LOG_FILE=/dev/null",
    "timeout 150 nvim --headless -u NONE -i NONE -n",
    "-c", shell_quote("luafile spec/support/nvim_scenario.lua"), "</dev/null",
  }, " ")
  local output, ok, status = helper.run(command)
  local file = io.open(out)
  local text = file and file:read("*a") or ""
  if file then file:close() end
  os.remove(out)
  local got = scenario.decode(text)
  assert.is_true(ok, "nvim ended with " .. tostring(status) .. ": " .. tostring(got.error) .. "\n" .. output)
  assert.is_nil(got.error)
  return got
end

describe("loop hosts #timing", function()
  local emu, reference

  setup(function()
    local opts = {}
    for k, v in pairs(scenario.EMULATOR) do opts[k] = v end
    emu = helper.start_emulator(opts)
    local client = helper.client(emu, { timeout = 120 })
    scenario.seed(client)
    assert(emu:configure{ latency = scenario.LATENCY })
    local t0 = require("genesiscloud.core").now()
    reference = scenario.run_blocking(client)
    figures("blocking", { max_gap = 0, ticks = 0, elapsed = require("genesiscloud.core").now() - t0 })
    client:close()
  end)

  teardown(function()
    if emu then emu:stop() end
    emu = nil
  end)

  it("the blocking reference saw every group and the whole churn", function()
    assert.are.equal(scenario.GROUPS, reference.count)
    local names = {}
    for i = 1, scenario.CHURN do names[i] = ("%s%03d"):format(scenario.CHURN_PREFIX, i) end
    assert.are.equal(table.concat(names, ","), reference.created)
    assert.are.equal(reference.created, reference.deleted)
  end)

  it("luv: the ticker keeps firing and the results are the blocking run's", function()
    local uv = optional "luv"
    if not uv then pending("luv is not installed for " .. _VERSION .. " (Debian: lua-luv)") return end
    local result = once_more_if_busy("luv", function()
      local loop = require("genesiscloud.loop.luv").new(uv)
      local client = helper.client(emu, { loop = loop, timeout = 60 })
      local r = incremental_gc(function() return run_luv(uv, client) end)
      client:close()
      -- every handle closed: luv 1.44 (Debian 12) may crash in lua_close
      -- on one left open (luvit/luv#437)
      loop:close()
      uv.run("nowait")
      return r
    end, function(r) return { r } end)
    check_result("luv", result, reference)
  end)

  it("cqueues: the ticker keeps firing and the results are the blocking run's", function()
    local cqueues = optional "cqueues"
    if not cqueues then pending("cqueues is not installed for " .. _VERSION .. " (Debian: lua-cqueues)") return end
    if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
      pending("the cqueues adapter needs Lua 5.2+ or LuaJIT (yield across pcall)")
      return
    end
    local result = once_more_if_busy("cqueues", function()
      local cq = cqueues.new()
      local loop = require("genesiscloud.loop.cqueues").new(cq)
      local client = helper.client(emu, { loop = loop, timeout = 60 })
      local r = incremental_gc(function() return run_cqueues(cqueues, cq, client) end)
      client:close()
      loop:close()
      return r
    end, function(r) return { r } end)
    check_result("cqueues", result, reference)
  end)

  it("Neovim headless: the scenario, and :GenesisGroups fills its buffer without freezing", function()
    if not helper.run("command -v nvim"):find("nvim") then
      pending("Neovim is not installed (Debian: neovim)")
      return
    end
    local core = io.open(LUAJIT_CORE_DIR .. "/genesiscloud/core.so")
    if not core then
      pending("no C core built for LuaJIT in " .. LUAJIT_CORE_DIR .. " (`make build-luajit`; `make test` builds it)")
      return
    end
    core:close()
    local got = once_more_if_busy("nvim", function() return run_nvim(emu) end,
      function(r) return { r.scenario, r.buffer } end)
    check_result("nvim", got.scenario, reference)

    -- :GenesisGroups: a header, then one line per group, the seeded ones
    -- (the churn's are gone by then) the reference's
    local buffer = got.buffer
    assert.are.equal(("# %d security groups"):format(scenario.GROUPS), buffer.header)
    assert.are.equal(scenario.GROUPS + 1, buffer.lines)
    assert.are.same({ count = reference.count, digest = reference.digest },
      { count = buffer.count, digest = buffer.digest })
    assert.matches("^%S+  " .. scenario.SEED_PREFIX:gsub("%p", "%%%0") .. "%d+  created$", buffer.second)
    figures("nvim cmd", buffer)
    assert_ticking("nvim :GenesisGroups", buffer)
  end)
end)
