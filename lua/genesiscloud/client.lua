--- The client: `genesiscloud.new(opts)` and the methods every client has.
-- A client is the C core's userdata; the Lua methods are added to the
-- same methods table, so `client:get_security_group(id)` and
-- `client:close()` sit side by side.
-- @module genesiscloud.client
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local options = require "genesiscloud.options"
local request = require "genesiscloud.request"
local state = require "genesiscloud.state"

local client = {}

--- The methods table of every client (shared with the C core).
client.methods = core.client_methods

--- The Lua-side state of a client: `options`, the retry `policy` and
-- learned facts (see state.lua). A handle made with `core.new` directly
-- gets the defaults: no retries, auto update method.
function client.state(self)
  local st = state.get(self)
  if not st then
    st = { options = { update_method = "auto" },
      policy = { max_retries = 0, retry_base = 0, retry_max_wait = 0, now = core.now,
        sleep = core.sleep, random = math.random, wall_clock = os.time } }
    state.set(self, st)
  end
  return st
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
  resolved.token = nil -- the C core has it; no copy stays in Lua
  state.set(handle, { options = resolved, policy = {
    max_retries = resolved.max_retries, retry_base = resolved.retry_base,
    retry_max_wait = resolved.retry_max_wait, deadline = resolved.deadline,
    debug = resolved.debug, now = resolved.now, wall_clock = resolved.wall_clock,
    sleep = resolved.sleep, random = resolved.random,
  } })
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
