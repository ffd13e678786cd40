--- The client: `genesiscloud.new(opts)` and the methods every client has.
-- A client is the C core's userdata; the Lua methods are added to the
-- same methods table, so `client:get_security_group(id)` and
-- `client:close()` sit side by side.
-- @module genesiscloud.client
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local options = require "genesiscloud.options"
local request = require "genesiscloud.request"

local client = {}

--- The methods table of every client (shared with the C core).
client.methods = core.client_methods

-- Per-client Lua state (resolved options, what the client has learned),
-- keyed weakly so it goes away with the client.
local states = setmetatable({}, { __mode = "k" })

--- The Lua-side state of a client: `options` and learned facts.
function client.state(self)
  return states[self]
end

--- Creates a client. See the README for the options.
-- @return the client, or `nil, err` (kind "usage")
function client.new(opts)
  local resolved, message = options.resolve(opts, os.getenv)
  if not resolved then
    return errors.fail{ kind = "usage", message = message }
  end
  local handle, err = core.new(resolved)
  if not handle then
    return errors.fail{ kind = "usage", message = err }
  end
  states[handle] = { options = resolved }
  return handle
end

--- Sends any request below the endpoint: the generic building block the
-- resource methods use, open to callers for API paths this module does not
-- cover yet.
-- @param method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @param path path below the endpoint, e.g. "/instances" (ids escaped)
-- @param spec optional `query`, `body`, `expect`, `unwrap` (see request.send)
function client.methods:request(method, path, spec)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    return errors.fail{ kind = "usage", message = "the path must be a string starting with /" }
  end
  return request.send(self, method, path, spec)
end

return client
