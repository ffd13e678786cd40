-- Walks every group of the emulator once and prints how many it saw; run
-- under /usr/bin/time by bench/run.lua for the peak RSS, and for the walk's
-- time (elapsed=, around the walk only).
--   lua5.4 iterate.lua ENDPOINT TOKEN CONCURRENCY iterate|all|none
local genesiscloud = require "genesiscloud"
local endpoint, token, conc, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local client = assert(genesiscloud.new{ token = token, endpoint = endpoint })
local now = require("genesiscloud.core").now
local count = 0
local t0 = now()
if mode == "iterate" then
  for _ in client:security_groups{ per_page = 100, concurrency = conc } do count = count + 1 end
elseif mode == "all" then
  count = #assert(client:all_security_groups{ per_page = 100, concurrency = conc })
else   -- baseline: the interpreter, the module and one request
  count = #assert(client:list_security_groups{ page = 1, per_page = 1 }).security_groups
end
print(("count=%d elapsed=%.6f"):format(count, now() - t0))
client:close()
