-- A client inside a cqueues controller: a task lists the groups while
-- another coroutine of the same controller keeps ticking every 5 ms.
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/loop_cqueues.lua
local genesiscloud = require "genesiscloud"
local cqueues = require "cqueues"

local controller = cqueues.new()
local client = assert(genesiscloud.new{ loop = require("genesiscloud.loop.cqueues").new(controller) })

local ticks, done = 0, false
controller:wrap(function()
  while not done do
    cqueues.sleep(0.005)
    ticks = ticks + 1
  end
end)

local task = client:spawn(function()
  local sg = assert(client:create_security_group{ name = "cqueues-example",
    rules = { genesiscloud.rules.ssh() } })
  local all = assert(client.security_groups:all{ concurrency = 4 })
  assert(client:delete_security_group(sg.id))
  return #all
end)
task:on_done(function() done = true end)

assert(controller:loop())
local count, err = task:wait()
client:close()
if not count then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print(("listed %d group(s) while the controller ticked %s"):format(count, ticks > 0 and "on" or "NOT"))
