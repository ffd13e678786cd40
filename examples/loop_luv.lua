-- A client inside a luv event loop: three tasks create groups at once while
-- a 5 ms timer keeps ticking; the main chunk never blocks on the network.
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/loop_luv.lua
local genesiscloud = require "genesiscloud"
local uv = require "luv"

local client = assert(genesiscloud.new{ loop = require("genesiscloud.loop.luv").new(uv) })
local rules = genesiscloud.rules

local ticks = 0
local ticker = uv.new_timer()
ticker:start(5, 5, function() ticks = ticks + 1 end)

-- Each task runs in its own coroutine; client calls in it yield to the loop.
local tasks = {}
for i = 1, 3 do
  tasks[i] = client:spawn(function()
    return assert(client:create_security_group{ name = "loop-example-" .. i,
      rules = { rules.ssh(), rules.egress.all() } })
  end)
end

-- A task can wait for others; this one lists and cleans up when all are made.
client:spawn(function()
  for _, t in ipairs(tasks) do assert(t:wait()) end
  local names = {}
  for group in client:security_groups{ per_page = 100 } do
    if group.name:match("^loop%-example%-") then
      names[#names + 1] = group.name
      assert(client:delete_security_group(group.id))
    end
  end
  table.sort(names)
  return names
end):on_done(function(ok, names)
  ticker:stop()
  ticker:close()
  if not ok then
    io.stderr:write(tostring(names), "\n")
    os.exit(1)
  end
  print(("created and deleted %s"):format(table.concat(names, ", ")))
  print(("the loop ticked %s while waiting"):format(ticks > 0 and "on" or "NOT"))
end)

uv.run() -- returns when nothing is left: no watcher, no timer
client:close()
