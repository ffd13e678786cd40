-- The first script: create a security group, read it back, update it,
-- list, delete. Runs against the real API or the emulator (`make demo`):
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/quickstart.lua
local genesiscloud = require "genesiscloud"

local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })
print("client: " .. tostring(client))

local sg = assert(client:create_security_group{ name = "web", description = "web tier",
  rules = { { protocol = "tcp", direction = "ingress", port_range_min = 443, port_range_max = 443 } } })
print(("created %s (%s), status %s"):format(sg.name, sg.id, sg.status))

sg = assert(client:get_security_group(sg.id))
print(("read back %s: %d rule(s), status %s"):format(sg.id, #sg.rules, sg.status))

sg = assert(client:update_security_group(sg.id, { name = "web", rules = sg.rules }))
print(("updated %s, status %s"):format(sg.id, sg.status))

local page = assert(client:list_security_groups{ page = 1, per_page = 50 })
print(("listed page %d: %d of %d group(s)"):format(page.page, #page.security_groups, page.total_count))

assert(client:delete_security_group(sg.id))   -- true
print("deleted " .. sg.id)

local _, err = client:get_security_group(sg.id)
print("reading it again fails as it should: " .. tostring(err))

client:close()
