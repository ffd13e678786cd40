--- Genesis Cloud compute API client.
--
--     local genesiscloud = require "genesiscloud"
--     local check = genesiscloud.check
--     local client = check(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })
--     local sg = check(client.security_groups:get(id))  -- or client:get_security_group(id)
--
-- @module genesiscloud
local core = require "genesiscloud.core"
local client = require "genesiscloud.client"
local errors = require "genesiscloud.errors"
local sg_validate = require "genesiscloud.resources.security_groups.group_checks"

return {
  _VERSION = core._VERSION,
  new = client.new,
  errors = errors,
  is_error = errors.is,
  --- Like `assert` for `nil, err` returns: the arguments when the first is
  -- not nil/false, else raises the error object (on PUC Lua 5.1 its one
  -- line). See errors.check.
  check = errors.check,
  rules = require "genesiscloud.rules",
  validate_security_group = sg_validate.security_group,
  --- The registry of resource definitions, in order and by plural, for
  -- code that works on any resource (genesiscloud.resources).
  resources = require "genesiscloud.resources",
}
