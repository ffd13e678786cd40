--- Security groups, described for the generic resource machinery.
-- @module genesiscloud.security_groups
local validate = require "genesiscloud.validate"
local plan = require "genesiscloud.security_group_plan"

return {
  singular = "security_group",
  plural = "security_groups",
  path = "/security-groups",
  -- Statuses a group passes through; unknown ones are kept as opaque strings.
  ready_status = "created",
  error_status = "error",
  deleting_status = "deleting",
  validate = validate.security_group,
  validate_query = validate.list_query,
  -- ensure: groups are found by name, compared by description and rules as sets
  key = "name",
  compare = plan.compare,
  update_body = plan.update_body,
  -- PUT needs every required field; anything less must go as PATCH.
  is_complete = function(spec)
    return spec.name ~= nil and spec.rules ~= nil
  end,
}
