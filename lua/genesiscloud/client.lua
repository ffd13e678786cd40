--- The client: `genesiscloud.new(opts)` and the methods every client has.
-- A client is a Lua table wrapping the C core's handle (private). It owns
-- its options, retry policy, learned facts (the update method, per
-- resource), its registry of resources and their services. Services
-- (`client.security_groups`) and flat aliases (`client:get_security_group`)
-- are made on first use, for this client only, and kept in its table.
-- @module genesiscloud.client
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local options = require "genesiscloud.options"
local request = require "genesiscloud.request"
local registry = require "genesiscloud.resources"
local calls = require "genesiscloud.service.calls"
local arguments = require "genesiscloud.service.arguments"
local service = require "genesiscloud.service.service"
local aliases = require "genesiscloud.service.aliases"
local transfer = require "genesiscloud.http.transfer"

local client = {}

local arg_error = calls.arg_error
client.arg_error = arg_error

local STATE = {} -- the key of a client's private state in its table
local Client = { __name = "genesiscloud client" }
local methods = {} -- the client's own methods (close, request, register, ...)

local function is_client(x)
  return type(x) == "table" and getmetatable(x) == Client
end
--- Whether `x` is a client made by this module.
client.is_client = is_client

--- The private state of a client: `core` (the C handle), `options`, the
-- retry `policy`, `learned` (plural -> update method), `definitions`, ...
function client.state(self)
  return is_client(self) and rawget(self, STATE) or nil
end

-- A client method: the receiver checked, raise mode applied;
-- `fn(self, st, ...)`.
local function method(name, fn)
  methods[name] = function(self, ...)
    if not is_client(self) then
      arg_error(("bad argument #1 to '%s' (client expected, got %s; call it as client:%s(...))")
        :format(name, type(self), name))
    end
    local st = rawget(self, STATE)
    return calls.deliver(st, fn(self, st, ...))
  end
end

for _, name in ipairs{ "is_closed", "endpoint", "redact", "last_request_info", "transfer_stats" } do
  method(name, function(_, st, ...)
    local handle = st.core
    return handle[name](handle, ...)
  end)
end

--- Closes the client: its connections go, and with a loop every request a
-- coroutine waits for ends with a `usage` error ("the client is closed").
-- Closing twice is fine.
-- The waiting coroutines resume only once the core is closed, so a call
-- they make next fails at once instead of blocking inside close.
local function close(st, resume)
  local d = st.driver
  if d then d:close() end
  local closed = st.core:close()
  if d and resume then d:flush() end
  return closed
end

method("close", function(_, st)
  return close(st, true)
end)

--- Runs `fn(...)` in a new coroutine on the client's loop, where client
-- calls yield instead of blocking (genesiscloud.loop.task).
-- @return the task (`wait`, `on_done`, `cancel`, `status`)
method("spawn", function(_, st, fn, ...)
  if type(fn) ~= "function" then
    arg_error(("bad argument #1 to 'spawn' (function expected, got %s)"):format(type(fn)))
  end
  if not st.driver then
    return errors.fail{ kind = "usage", message = "spawn needs a client made with loop = adapter" }
  end
  if st.driver.closed then
    return errors.fail{ kind = "usage", message = "the client is closed" }
  end
  return require("genesiscloud.loop.task").spawn(st.driver, fn, ...)
end)

-- Services and aliases ---------------------------------------------------------

-- alias name -> { plural, service method }, for this client's registry.
local function alias_index(st)
  local index = st.alias_index
  if index then return index end
  index = {}
  for _, def in ipairs(st.definitions) do
    local have = {}
    for _, m in ipairs(service.methods_of(def)) do have[m] = true end
    local map = aliases.available(def, have)
    for name, m in pairs(map) do index[name] = index[name] or { def.plural, m } end
  end
  st.alias_index = index
  return index
end

local function service_of(self, st, plural)
  local svc = st.services[plural]
  if not svc then
    local raw
    svc, raw = service.new(st, self, st.definitions[plural], is_client)
    st.services[plural], st.collections[plural] = svc, raw
  end
  return svc
end

-- A service or an alias of this client, or nil.
local function lookup(self, st, key)
  if st.definitions[key] then return service_of(self, st, key) end
  local entry = alias_index(st)[key]
  if not entry then return nil end
  service_of(self, st, entry[1])
  local raw = st.collections[entry[1]]
  return calls.method(st, self, key, "client", raw.impl[entry[2]], raw,
    function(other) return is_client(other) and other[key] end)
end

-- Made on first use and kept in the client's own table: the next call
-- finds it there without this function.
function Client.__index(self, key)
  local m = methods[key]
  if m ~= nil or type(key) ~= "string" then return m end
  local v = lookup(self, rawget(self, STATE), key)
  if v ~= nil then rawset(self, key, v) end
  return v
end

function Client.__tostring(self)
  return tostring(rawget(self, STATE).core)
end

-- Closing twice is fine: the core's close is idempotent.
function Client.__close(self)
  close(rawget(self, STATE), true)
end

-- A finalizer must not call the host's loop (at exit the loop may be gone
-- already). A loop client's core stays with its driver, whose requests in
-- flight run to their end; the core's own finalizer frees it after them.
function Client.__gc(self)
  local st = rawget(self, STATE)
  if not st.driver then st.core:close() end
end
--- Checks the fields a definition must have. -> true | nil, err
local function check_definition(st, def)
  local bad
  if type(def) ~= "table" then
    bad = "a definition must be a table"
  elseif type(def.name) ~= "string" or type(def.plural) ~= "string" or type(def.path) ~= "string" then
    bad = "a definition needs the strings name, plural and path"
  elseif type(def.operations) ~= "table" then
    bad = "a definition needs a table of operations"
  elseif st.definitions[def.plural] or methods[def.plural] then
    bad = ("this client already has %q"):format(def.plural)
  else
    local _, message = service.check_definition(def)
    bad = message
  end
  if bad then return errors.fail{ kind = "usage", message = "register: " .. bad } end
  return true
end

--- Adds a resource to this client only: its service and aliases.
-- @tparam table definition (format: docs/guide-lua-layer.md)
-- @return the service, or `nil, err`
method("register", function(self, st, def)
  local ok, err = check_definition(st, def)
  if not ok then return nil, err end
  st.definitions[#st.definitions + 1] = def
  st.definitions[def.plural] = def
  st.alias_index = nil
  return self[def.plural]
end)

-- Construction ---------------------------------------------------------------

local function policy_of(resolved)
  return {
    max_retries = resolved.max_retries, retry_base = resolved.retry_base,
    retry_max_wait = resolved.retry_max_wait, deadline = resolved.deadline,
    debug = resolved.debug, now = resolved.now, wall_clock = resolved.wall_clock,
    sleep = resolved.sleep, random = resolved.random,
  }
end

local function new_state(handle, resolved)
  local definitions = {}
  for i, def in ipairs(registry) do
    definitions[i], definitions[def.plural] = def, def
  end
  return {
    core = handle, options = resolved, policy = policy_of(resolved),
    raise = resolved.errors == "raise", learned = {}, definitions = definitions,
    services = {}, collections = {},
    -- concurrent transfers: tags per client, and which pipeline owns each
    router = { tag = 0, owners = setmetatable({}, { __mode = "v" }) },
    transfer = transfer, -- the step that waits for a transfer (see attach_loop)
  }
end

-- With `loop = adapter`, waiting (for a transfer, a backoff, a poll
-- interval) yields to the host's loop when the caller is a coroutine.
local function attach_loop(st, host)
  local loop_driver = require "genesiscloud.loop.driver"
  local d, err = loop_driver.new(st.core, host, st.router, st.policy.now)
  if not d then return nil, err end
  st.driver = d
  st.transfer = require("genesiscloud.loop.loop_transfer").new(d)
  local blocking_sleep, in_coroutine = st.policy.sleep, loop_driver.in_coroutine
  st.policy.sleep = function(seconds)
    if in_coroutine() and not d.closed then return d:sleep(seconds) end
    return blocking_sleep(seconds)
  end
  return true
end

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
  local st = new_state(handle, resolved)
  if resolved.loop then
    local ok, loop_err = attach_loop(st, resolved.loop)
    if not ok then
      handle:close()
      if raising then errors.raise(loop_err) end
      return nil, loop_err
    end
  end
  return setmetatable({ [STATE] = st }, Client)
end

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true }
local MAX_PATH = 8192 -- bytes; far beyond any API path, well within every server's limit
local REQUEST_OPTIONS = options.set{ "query", "body", "expect", "unwrap" }


--- Sends any request below the endpoint: the generic building block the
-- resource methods use, open to callers for API paths this module does not
-- cover yet.
-- @param method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @param path path below the endpoint, e.g. "/instances" (ids escaped)
-- @param spec optional `query`, `body`, `expect`, `unwrap` (see request.send)
method("request", function(_, st, method_, path, spec)
  if not METHODS[method_] then
    arg_error(("bad argument #1 to 'request' (GET, POST, PUT, PATCH or DELETE expected, got %s)")
      :format(type(method_) == "string" and ("%q"):format(method_:sub(1, 40)) or type(method_)))
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
    if spec.query ~= nil then arguments.query(spec.query, "request") end
    if spec.expect ~= nil and (type(spec.expect) ~= "number" or spec.expect % 1 ~= 0
        or spec.expect < 100 or spec.expect > 599) then
      arg_error("bad argument #3 to 'request' (option 'expect' must be an HTTP status 100-599)")
    end
    if spec.unwrap ~= nil and type(spec.unwrap) ~= "string" then
      arg_error("bad argument #3 to 'request' (option 'unwrap' must be a string)")
    end
  end
  return request.send(st, method_, path, spec)
end)

return client
