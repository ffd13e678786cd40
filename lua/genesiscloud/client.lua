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

-- Argument errors ----------------------------------------------------------

--- Raises `message` as an error at the first caller outside this module
-- (its `lua/genesiscloud/*.lua` files), so that "bad argument" points at
-- the line that made the mistake however deep inside the check ran.
function client.arg_error(message)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info or not info.source:find("genesiscloud/[%w_]+%.lua$") then break end
    level = level + 1
  end
  error(message, level)
end
local arg_error = client.arg_error

-- Public methods ------------------------------------------------------------
--
-- Every Lua method goes through `client.export`, which is where the two
-- things every method needs are done once: the check that it was called on
-- a client (`c.get_security_group(id)` instead of `c:...`), and raise mode
-- (`new{ errors = "raise" }`), which turns a `nil, err` return into
-- raising `err`. The layer's own code calls the unwrapped functions
-- (`client.unwrap`), so that inside it a failure is always a value.

local unwrapped = {} -- public method -> the function it wraps

local client_mt -- the metatable of clients, learned from the first one seen

local function is_client(x)
  local mt = getmetatable(x)
  if mt ~= nil and mt == client_mt then return true end
  if type(x) == "userdata" and type(mt) == "table" and rawget(mt, "__index") == client.methods then
    client_mt = mt
    return true
  end
  return false
end

-- A failure of a client in raise mode is raised; anything else passes.
local function deliver(self, v, ...)
  if v == nil then
    local st = state.get(self)
    local err = ...
    if st and st.raise and errors.is(err) then errors.raise(err) end
  end
  return v, ...
end

--- Adds `fn` to every client as the method `name`.
-- @tparam string name
-- @tparam function fn `fn(client, ...)`, returning values or `nil, err`
function client.export(name, fn)
  local function method(self, ...)
    if not is_client(self) then
      arg_error(("bad argument #1 to '%s' (client expected, got %s; call it as client:%s(...))")
        :format(name, type(self), name))
    end
    return deliver(self, fn(self, ...))
  end
  client.methods[name] = method
  unwrapped[method] = fn
end

--- `client.exports[name] = fn` is `client.export(name, fn)`.
client.exports = setmetatable({}, { __newindex = function(_, name, fn) client.export(name, fn) end })

--- The function behind a public method (any other function unchanged):
-- what the layer calls, so that a failure stays a `nil, err` value inside
-- it whatever the client's `errors` option.
function client.unwrap(f)
  return unwrapped[f] or f
end

--- Whether `x` is a client made by this module.
client.is_client = is_client

--- Creates a client. See the README for the options.
-- @return the client, or `nil, err` (kind "usage"); with
-- `errors = "raise"` a failure is raised
function client.new(opts)
  local raising = type(opts) == "table" and rawget(opts, "errors") == "raise"
  local resolved, message = options.resolve(opts, os.getenv)
  if not resolved then
    local err = errors.new{ kind = "usage", message = message }
    if raising then errors.raise(err) end
    return nil, err
  end
  local handle, err = core.new(resolved)
  if not handle then
    err = errors.new{ kind = "usage", message = err }
    if raising then errors.raise(err) end
    return nil, err
  end
  resolved.token = nil -- the C core has it; no copy stays in Lua
  state.set(handle, { raise = resolved.errors == "raise", options = resolved, policy = {
    max_retries = resolved.max_retries, retry_base = resolved.retry_base,
    retry_max_wait = resolved.retry_max_wait, deadline = resolved.deadline,
    debug = resolved.debug, now = resolved.now, wall_clock = resolved.wall_clock,
    sleep = resolved.sleep, random = resolved.random,
  } })
  return handle
end

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true }
local MAX_PATH = 8192 -- bytes; far beyond any API path, well within every server's limit
local REQUEST_OPTIONS = options.set{ "query", "body", "expect", "unwrap" }

-- A query is a table of names to strings, numbers or booleans.
local function check_query(query, fname)
  if type(query) ~= "table" then
    arg_error(("bad argument to '%s' (option 'query' must be a table, got %s)"):format(fname, type(query)))
  end
  for k, v in pairs(query) do
    local tv = type(v)
    if type(k) ~= "string" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
      arg_error(("bad argument to '%s' (query parameters must be names with string, number or boolean"
        .. " values, got %s = %s)"):format(fname, type(k), tv))
    end
  end
end
client.check_query = check_query

--- Sends any request below the endpoint: the generic building block the
-- resource methods use, open to callers for API paths this module does not
-- cover yet.
-- @param method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @param path path below the endpoint, e.g. "/instances" (ids escaped)
-- @param spec optional `query`, `body`, `expect`, `unwrap` (see request.send)
client.exports.request = function(self, method, path, spec)
  if not METHODS[method] then
    arg_error(("bad argument #1 to 'request' (GET, POST, PUT, PATCH or DELETE expected, got %s)")
      :format(type(method) == "string" and ("%q"):format(method:sub(1, 40)) or type(method)))
  end
  if type(path) ~= "string" then
    arg_error(("bad argument #2 to 'request' (string expected, got %s)"):format(type(path)))
  end
  if spec ~= nil and type(spec) ~= "table" then
    arg_error(("bad argument #3 to 'request' (table expected, got %s)"):format(type(spec)))
  end
  if path:sub(1, 1) ~= "/" then
    return errors.fail{ kind = "usage", message = "request: the path must start with /" }
  end
  if #path > MAX_PATH then
    return errors.fail{ kind = "usage", message = ("request: the path is %d bytes long, more than %d")
      :format(#path, MAX_PATH) }
  end
  if path:find("[%c ]") then
    return errors.fail{ kind = "usage", message = "request: the path contains spaces or control characters" }
  end
  local ok, err = options.check_keys("request", spec, REQUEST_OPTIONS)
  if not ok then return nil, err end
  if spec then
    if spec.query ~= nil then check_query(spec.query, "request") end
    if spec.expect ~= nil and (type(spec.expect) ~= "number" or spec.expect % 1 ~= 0
        or spec.expect < 100 or spec.expect > 599) then
      arg_error("bad argument #3 to 'request' (option 'expect' must be an HTTP status 100-599)")
    end
    if spec.unwrap ~= nil and type(spec.unwrap) ~= "string" then
      arg_error("bad argument #3 to 'request' (option 'unwrap' must be a string)")
    end
  end
  return request.send(self, method, path, spec)
end

return client
