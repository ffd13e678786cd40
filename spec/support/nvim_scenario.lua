-- Run by spec/loop_hosts_spec.lua inside Neovim (LuaJIT, vim.loop):
--   nvim --headless -u NONE -i NONE -n -c "luafile spec/support/nvim_scenario.lua"
-- Environment: GC_ROOT (the checkout), GC_CPATH (the core built for
-- LuaJIT, a package.cpath entry), GC_OUT (the result file),
-- GENESISCLOUD_TOKEN and GENESISCLOUD_ENDPOINT (the emulator).
-- 1. The loop scenario (support/loop_scenario.lua) on vim.loop, the ticker a
--    5 ms vim.loop timer. 2. :GenesisGroups (examples/nvim), with the ticker
--    running again, until its buffer is filled. Writes the figures to GC_OUT
--    (scenario.encode) and quits: 0, or 1 with `error=` written on a failure.
local root = assert(os.getenv("GC_ROOT"), "GC_ROOT is not set")
local out_path = assert(os.getenv("GC_OUT"), "GC_OUT is not set")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
package.cpath = assert(os.getenv("GC_CPATH"), "GC_CPATH is not set") .. ";" .. package.cpath

local scenario = require "support.loop_scenario"
local uv = vim.loop
local results = {}
local quitting = false

local function quit(code)
  if quitting then return end
  quitting = true
  local file = assert(io.open(out_path, "w"))
  file:write(scenario.encode(results))
  file:close()
  vim.cmd(code == 0 and "qall!" or "cquit! " .. code)
end

local function fail(err)
  results.error = tostring(err)
  quit(1)
end

-- Runs fn, a step of this script, quitting with its error.
local function guarded(fn)
  return function(...)
    local ok, err = xpcall(fn, debug.traceback, ...)
    if not ok then fail(err) end
  end
end

local start_ticker = scenario.luv_ticker(uv)

-- 2. :GenesisGroups, the editor's plugin, until its buffer is filled.
local function plugin_step()
  vim.opt.runtimepath:prepend(root .. "/examples/nvim")
  vim.cmd("runtime plugin/genesiscloud.lua")
  local stop = start_ticker(scenario.TICK)
  local t0 = uv.hrtime()
  local buf
  vim.api.nvim_create_autocmd("User", { pattern = "GenesisGroupsDone", once = true, callback = guarded(function()
    local max_gap, ticks, gap_cpu = stop()
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    local ids, prefix = {}, scenario.SEED_PREFIX
    for i = 2, #lines do
      local id, name = lines[i]:match("^(%S+)  (%S+)")
      if name and name:sub(1, #prefix) == prefix then ids[#ids + 1] = id end
    end
    table.sort(ids)
    results.buffer = { header = lines[1], second = lines[2] or "", lines = #lines, count = #ids,
      digest = scenario.digest(ids), done = tostring(vim.b[buf].genesiscloud_done),
      max_gap = max_gap, ticks = ticks, gap_cpu = gap_cpu, elapsed = (uv.hrtime() - t0) / 1e9 }
    quit(vim.b[buf].genesiscloud_done and 0 or 1)
  end) })
  vim.cmd("GenesisGroups")
  buf = vim.api.nvim_get_current_buf()
end

-- 1. The scenario on vim.loop.
local function scenario_step()
  local client = assert(require("genesiscloud").new{
    loop = require("genesiscloud.loop.luv").new(uv, { schedule = vim.schedule }), timeout = 60 })
  scenario.start(client, start_ticker, guarded(function(result)
    results.scenario = result
    client:close()
    if result.error then return fail(result.error) end
    vim.schedule(guarded(plugin_step))
  end))
end

vim.defer_fn(function() fail("timed out after 120 s") end, 120000)
guarded(scenario_step)()
