-- Opens SSH and HTTPS for a web tier, declaratively: the first run creates
-- the group, a second run finds nothing to change and sends no write. Then
-- lists every security group, a page at a time.
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/web_tier.lua
local genesiscloud = require "genesiscloud"
local rules = genesiscloud.rules

local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })

local sg, action, plan = assert(client:ensure_security_group{
  name = "web-tier",
  description = "web tier: SSH and HTTPS in, everything out",
  rules = { rules.ssh(), rules.https(), rules.egress.all() },
})
print(("%s %s (%s)"):format(action, sg.name, sg.id))
for _, rule in ipairs(plan.rules.add) do print("  + " .. tostring(rule)) end
for _, rule in ipairs(plan.rules.remove) do print("  - " .. tostring(rule)) end

-- A failure inside the loop raises the error object; pcall catches it intact.
local ok, err = pcall(function()
  local count = 0
  print(("%-36s  %-16s  %-9s  %s"):format("ID", "NAME", "STATUS", "RULES"))
  for group in client:security_groups{ per_page = 100 } do
    local texts = {}
    for i, rule in ipairs(rules.normalize(group.rules or {})) do texts[i] = tostring(rule) end
    print(("%-36s  %-16s  %-9s  %s"):format(group.id, group.name, tostring(group.status),
      table.concat(texts, ", ")))
    count = count + 1
  end
  print(("%d group(s)"):format(count))
end)
client:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
