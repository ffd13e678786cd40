--- Genesis Cloud compute API client.
--
--     local genesiscloud = require "genesiscloud"
--     local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })
--     local sg = assert(client:get_security_group(id))
--
-- @module genesiscloud
local core = require "genesiscloud.core"
local client = require "genesiscloud.client"
local errors = require "genesiscloud.errors"
local resource = require "genesiscloud.resource"
local security_groups = require "genesiscloud.security_groups"
local validate = require "genesiscloud.validate"

resource.install(security_groups)

return {
  _VERSION = core._VERSION,
  new = client.new,
  errors = errors,
  is_error = errors.is,
  rules = require "genesiscloud.rules",
  validate_security_group = validate.security_group,
  --- The resource descriptions, for code that works on any resource.
  resources = { security_groups = security_groups },
}
