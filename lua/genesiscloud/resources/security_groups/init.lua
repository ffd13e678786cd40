--- Security groups: the definition the services, the aliases and the CLI
-- are made from (format: docs/guide-lua-layer.md, "Resource definitions").
-- @module genesiscloud.resources.security_groups
local group_checks = require "genesiscloud.resources.security_groups.group_checks"
local plan = require "genesiscloud.resources.security_groups.plan"

return {
  name = "security_group",
  plural = "security_groups",
  cli = "security-groups",
  cli_short = "sg",
  path = "/security-groups",
  list_key = "security_groups",
  envelope = "security_group",
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  -- The 2023-07 contract says PUT (every required field); the live API
  -- takes PATCH (any subset).
  update_method = "auto",
  -- Statuses a group passes through; unknown ones are kept as opaque strings.
  statuses = { ready = { "created" }, failed = { "error" }, deleting = "deleting" },
  identity = "name",
  fields = {
    name = { type = "string", required = true, doc = "Name of the group (not 'default' or 'standard')" },
    description = { type = "string", doc = "Free text" },
    rules = { type = "array", required = true, doc = "Firewall rules (see genesiscloud.rules)" },
  },
  validate = {
    create = group_checks.security_group,
    update = group_checks.security_group, -- (body, { partial = true }) for a PATCH
  },
  -- ensure: groups are found by name, compared by description and rules as sets
  compare = plan.compare,
  update_body = plan.update_body,
  -- PUT needs every required field; anything less must go as PATCH.
  is_complete = function(spec)
    return spec.name ~= nil and spec.rules ~= nil
  end,
}
