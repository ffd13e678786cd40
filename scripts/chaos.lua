-- `make chaos`: the chaos runs on their own, at 30% faults.
-- 1. Security groups (2,000 operations, the figures the CHANGELOG quotes):
--    the groups failed writes left uncertain, one a line, then its figures.
-- 2. The mixed workload over every resource that can be written (2,500
--    operations): the writes failures left open per kind, then one line of
--    figures per kind and a total line.
-- 3. Loop mode beside blocking mode (2,000 group operations each, one at a
--    time, against the same seeded faults): the same log, retries and
--    errors per kind, 0 duplicates, nothing left in the driver or the luv
--    loop (spec/support/chaos_loop.lua); its line is the last.
-- Exits 1 when a rule is broken (the message says which).
--   lua5.4 scripts/chaos.lua [GROUP_OPERATIONS [MIXED_OPERATIONS [LOOP_OPERATIONS]]]
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
  .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
package.cpath = (os.getenv("GENESISCLOUD_CPATH") or "build/?.so") .. ";" .. package.cpath
local chaos = require "support.chaos"
local mixed = require "support.chaos_mixed"
local chaos_loop = require "support.chaos_loop"

local seed = tonumber(os.getenv("CHAOS_SEED")) or 11

local function run(label, fn, opts)
  local started = os.time()
  local ok, figures = pcall(fn, opts)
  if not ok then
    io.stderr:write("chaos: ", label, ": FAILED: ", tostring(figures), "\n")
    os.exit(1)
  end
  return figures, os.time() - started
end

local operations = tonumber(arg[1]) or 2000
local figures, took = run("security groups", chaos.run, { operations = operations, fault_rate = 0.3, seed = seed })
-- the groups to reconcile, then the one-line summary
local report = chaos.report(figures)
if report ~= "" then print(report) end
print(chaos.summary(figures))
print(("chaos: security groups: %d operations in %d s"):format(operations, took))

local mixed_operations = tonumber(arg[2]) or 2500
figures, took = run("mixed", mixed.run, { operations = mixed_operations, fault_rate = 0.3, seed = seed })
report = mixed.report(figures)
if report ~= "" then print(report) end
print(("chaos mixed: %d operations over %s in %d s, at 30%% faults"):format(mixed_operations,
  table.concat(mixed.KINDS, ", "), took))
print(mixed.summary(figures))

local loop_operations = tonumber(arg[3]) or 2000
if not chaos_loop.luv() then
  io.stderr:write("chaos: loop mode: FAILED: ", select(2, chaos_loop.luv()), " (Debian: lua-luv)\n")
  os.exit(1)
end
local blocking, loop, broken
figures, took = run("loop mode", function()
  blocking, loop, broken = chaos_loop.run{ operations = loop_operations, fault_rate = 0.3, seed = seed }
  return true
end)
for _, message in ipairs(broken) do print("chaos loop: differs: " .. message) end
print(("chaos loop: %d group operations blocking, then in a coroutine on luv (%s), in %d s, at 30%% faults")
  :format(loop_operations, loop.host, took))
print(chaos_loop.summary(blocking, loop, broken))
if #broken > 0 then os.exit(1) end
