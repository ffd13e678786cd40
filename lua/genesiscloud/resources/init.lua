--- The registry: every resource definition, in order, each also under its
-- plural (`registry[1] == registry.security_groups`). A new resource is a
-- definition file plus one line here. `require("genesiscloud").resources`.
-- @module genesiscloud.resources
local registry = {
  require "genesiscloud.resources.security_groups",
  require "genesiscloud.resources.ssh_keys",
  require "genesiscloud.resources.images",
  require "genesiscloud.resources.instances",
  require "genesiscloud.resources.volumes",
  require "genesiscloud.resources.snapshots",
  require "genesiscloud.resources.floating_ips",
  require "genesiscloud.resources.filesystems",
  require "genesiscloud.resources.quotas",
  require "genesiscloud.resources.reservations",
  (require "genesiscloud.resources.availability"), -- () keeps require's 2nd value out
}
for _, definition in ipairs(registry) do registry[definition.plural] = definition end
return registry
