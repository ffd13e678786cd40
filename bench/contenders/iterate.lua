-- Walks every group of the emulator once and prints how many it saw; run
-- under /usr/bin/time by bench/run.lua for the peak RSS, and for the walk's
-- time and CPU (elapsed=, cpu=, around the walk only).
--   lua5.4 iterate.lua ENDPOINT TOKEN CONCURRENCY iterate|all|none|loop
-- loop: the same walk as iterate, by a client in loop mode, inside a
-- coroutine on luv (genesiscloud.loop.luv).
local genesiscloud = require "genesiscloud"
local endpoint, token, conc, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local uv, host
if mode == "loop" then
  uv = require "luv"
  host = require("genesiscloud.loop.luv").new(uv)
end
local client = assert(genesiscloud.new{ token = token, endpoint = endpoint, loop = host })
local now = require("genesiscloud.core").now
local count = 0
local function walk()
  for _ in client:security_groups{ per_page = 100, concurrency = conc } do count = count + 1 end
end
local t0, c0 = now(), os.clock()
if mode == "iterate" then
  walk()
elseif mode == "loop" then
  local task = client:spawn(walk)
  uv.run()
  if task:status() ~= "done" then error("the walk did not end: " .. tostring(select(2, task:wait()))) end
elseif mode == "all" then
  count = #assert(client:all_security_groups{ per_page = 100, concurrency = conc })
else   -- baseline: the interpreter, the module and one request
  count = #assert(client:list_security_groups{ page = 1, per_page = 1 }).security_groups
end
print(("count=%d elapsed=%.6f cpu=%.6f"):format(count, now() - t0, os.clock() - c0))
client:close()
if host then host:close(); uv.run("nowait") end
