-- `make chaos`: the chaos run on its own: the groups failed writes left
-- uncertain, one a line, then its figures as the last line.
-- Exits 1 when a rule is broken (the message says which).
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
  .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
package.cpath = (os.getenv("GENESISCLOUD_CPATH") or "build/?.so") .. ";" .. package.cpath
local chaos = require "support.chaos"

local operations = tonumber(arg[1]) or 2000
local ok, figures = pcall(chaos.run, { operations = operations, fault_rate = 0.3,
  seed = tonumber(os.getenv("CHAOS_SEED")) or 11 })
if not ok then
  io.stderr:write("chaos: FAILED: ", tostring(figures), "\n")
  os.exit(1)
end
-- the groups to reconcile, then the one-line summary (last, as before)
local report = chaos.report(figures)
if report ~= "" then print(report) end
print(chaos.summary(figures))
