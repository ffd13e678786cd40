-- The emulator without I/O: configuration, the store, the request log, and
-- `handle`, which turns one HTTP request into one response. The server
-- (server.lua) only moves bytes; the specs drive `handle` directly. The
-- resources are the kinds of kinds.lua (the client's definitions joined
-- with the emulator's behaviours), served by collection.lua; the control
-- routes are in control.lua.
--
--   local app = require("genesiscloud.emulator.app").new{ token = "t", create_delay = 0, seed = 1, clock = fn }
--   local status, body, headers, action =
--     app:handle("GET", "/compute/v1/security-groups?page=2", nil, nil, { ["x-auth-token"] = "t" })

local json = require "genesiscloud.emulator.wire_json"
local router = require "genesiscloud.emulator.router"
local store = require "genesiscloud.emulator.store"
local reply = require "genesiscloud.emulator.reply"
local faults = require "genesiscloud.emulator.faults"
local hostile = require "genesiscloud.emulator.hostile"
local request_log = require "genesiscloud.emulator.request_log"
local checks = require "genesiscloud.emulator.request_checks"
local registry = require("genesiscloud.emulator.kinds").all()
local collection = require "genesiscloud.emulator.collection"
local control = require "genesiscloud.emulator.control"
local transitions = require "genesiscloud.emulator.transitions"
local api_version = require "genesiscloud.emulator.api_version"

local app = {}

app.PREFIX = "/compute/v1"
app.CONTROL_PREFIX = "/_emulator"
app.DEFAULT_TOKEN = "emulator-token"
app.registry = registry

-- Runtime settings and how to check them (for new{} and /_emulator/config).
local CONFIG = {
  create_delay = { default = 1, check = "delay" },
  update_delay = { default = 1, check = "delay" },
  delete_delay = { default = 0, check = "delay" },
  put_405 = { default = false, check = "put_405" },
  api_version = { default = api_version.DEFAULT, check = "api_version" },
  transitions = { check = "transitions" }, -- default: {} (no override)
  fault_seed = { check = "fault" }, -- default: `seed`, else from the time
}
for key, default in pairs(faults.DEFAULTS) do CONFIG[key] = { default = default, check = "fault" } end
app.CONFIG = CONFIG

local LOG_LIMIT = 10000 -- oldest entries are dropped past this

local App = {}
App.__index = App

-- The plurals of the kinds that take PUT.
local function put_kinds()
  local out = {}
  for _, def in ipairs(registry) do
    local update = def.operations.update
    for _, method in ipairs(update and update.methods or {}) do
      if method == "PUT" then out[#out + 1] = def.plural end
    end
  end
  return out
end

-- put_405: true (every kind), false, or a list of the kinds whose PUT is refused.
local function check_put_405(value)
  if type(value) == "boolean" then return value end
  local kinds = put_kinds()
  local message = "put_405 must be a boolean or a list of: " .. table.concat(kinds, ", ")
  if type(value) == "string" then value = { value } end
  if not json.is_list(value) then return nil, message end
  local known, out = {}, json.array()
  for _, plural in ipairs(kinds) do known[plural] = true end
  for i, plural in ipairs(value) do
    if not known[plural] then return nil, message end
    out[i] = plural
  end
  return out
end

-- Returns the value to store (normalised), or nil and a message.
local function check_config(key, value)
  local spec = CONFIG[key]
  if not spec then return nil, "unknown setting '" .. tostring(key) .. "'" end
  if spec.check == "fault" then
    return faults.check(key, value, json.null)
  elseif spec.check == "transitions" then
    return transitions.check(value, registry)
  elseif spec.check == "put_405" then
    return check_put_405(value)
  elseif spec.check == "api_version" then
    return api_version.check(value)
  elseif type(value) ~= "number" or value ~= value or value < 0 or value == math.huge then
    return nil, key .. " must be a number of seconds >= 0"
  end
  return value
end
app.check_config = check_config

-- Whole seconds; the server passes a clock with sub-second resolution and
-- the specs a fake one they can move.
local function default_clock()
  return os.time()
end

local function api_routes()
  local routes = {}
  for _, def in ipairs(registry) do
    for _, route in ipairs(collection.routes(def)) do routes[#routes + 1] = route end
  end
  return routes
end

function app.new(opts)
  opts = opts or {}
  local token = opts.token or app.DEFAULT_TOKEN
  if type(token) ~= "string" or token == "" then
    return nil, "token must be a non-empty string"
  end
  local self = setmetatable({
    token = token,
    config = { transitions = {} },
    log = request_log.new(LOG_LIMIT),
    store = store.new{ clock = opts.clock or default_clock, seed = opts.seed },
    api = router.new(api_routes()),
    control = router.new(control.routes(registry)),
  }, App)
  for key, spec in pairs(CONFIG) do
    if spec.default ~= nil then self.config[key] = spec.default end
  end
  local settings = {}
  for key in pairs(CONFIG) do settings[key] = opts[key] end
  -- the fault sequence is seeded like the ids unless told otherwise; the
  -- seed in use shows in the config, so a random run can be repeated
  if settings.fault_seed == nil then
    settings.fault_seed = math.tointeger(opts.seed) or faults.random_seed()
  end
  local ok, err = self:configure(settings)
  if not ok then return nil, err end
  return self
end

-- Changes settings; all or nothing. Returns true, or nil and a message.
-- Setting fault_seed (even to the same value) restarts the fault sequence;
-- `transitions` changes only the kinds and steps it names.
function App:configure(settings)
  local checked = {}
  for key, value in pairs(settings) do
    local v, err = check_config(key, value)
    if v == nil then return nil, err end
    checked[key] = v
  end
  if checked.transitions then
    checked.transitions = transitions.merge(self.config.transitions, checked.transitions)
  end
  for key, value in pairs(checked) do self.config[key] = value end
  if checked.fault_seed ~= nil then self.fault_draw = faults.rng(checked.fault_seed) end
  return true
end

-- Is this target under /compute/v1 (an API request, logged and faultable)?
function app.is_api(target)
  local path = router.split_target(target)
  local prefix = app.PREFIX
  return path == prefix or path:sub(1, #prefix + 1) == prefix .. "/"
end

-- The fault for a request that has just arrived (before its body is read),
-- or nil. Only API requests are faulted, never control routes, and never
-- HEAD. Each call may advance the seeded fault sequence.
function App:choose_fault(method, target)
  if not app.is_api(target) then return nil end
  return faults.choose(self.config, self.fault_draw, method)
end

-- Drops every record and the request log; settings, token and the seeded
-- catalogs stay.
function App:reset()
  self.store:clear()
  self:clear_requests()
end

-- The log entries, oldest first (a new array).
function App:requests()
  return self.log:entries()
end

function App:clear_requests()
  self.log = request_log.new(LOG_LIMIT)
end

-- The definition of a kind that keeps records, by plural ("ssh_keys") or
-- name ("ssh_key"); security groups when nil.
local function stored_kind(kind)
  kind = kind or "security_groups"
  local def = registry[kind]
  if not def then
    for _, d in ipairs(registry) do
      if d.name == kind then def = d end
    end
  end
  if def and def.operations.create then return def end
  return nil
end

-- Forces a record's status (e.g. "error"); it sticks until the next write.
-- kind: a plural or name (default: security groups). Returns the record,
-- or nil and a message ("not found" when there is no such record).
function App:set_status(id, status, kind)
  local def = stored_kind(kind)
  if not def then return nil, "unknown kind '" .. tostring(kind) .. "'" end
  if type(status) ~= "string" or status == "" then
    return nil, "status must be a non-empty string"
  end
  if not self.store:get(def.name, id) then return nil, "not found" end
  if not def.transitions then return nil, def.title .. "s have no status" end
  return self.store:force_status(def.name, id, status)
end

-- Which auth header was used ("x-auth-token", "bearer" or nil) and whether
-- it carried the right token. The token itself never leaves this function.
local function check_auth(headers, token)
  local x = headers["x-auth-token"]
  if x ~= nil then return "x-auth-token", x == token end
  local authorization = headers["authorization"]
  if authorization then
    local given = authorization:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +(.-) *$")
    if given then return "bearer", given == token end
  end
  return nil, false
end

local function dispatch(self, routes, method, path, req)
  local handler, params, allow = routes:match(method, path)
  if not handler then
    if params == "method" then
      return reply.error("method_not_allowed", nil, { allow = allow })
    end
    return reply.error("invalid_route")
  end
  -- a route or method the API version in play does not have
  local status, body, headers = api_version.refuse(self.config.api_version, allow, method)
  if status then return status, body, headers end
  req.params = params
  return handler(self, req)
end

-- Encodes a handler's answer into status, body string or nil, headers.
local function finish(status, body, headers)
  local out = {}
  for k, v in pairs(headers or {}) do out[k] = v end
  if body == nil then return status, nil, out end
  local text, err = json.encode(body)
  if not text then
    status, body = reply.error("internal", "cannot encode response: " .. tostring(err))
    text = json.encode(body)
  end
  out["content-type"] = "application/json"
  return status, text, out
end

-- What a fault does to an answer the state can still shape (the rest is on
-- the wire, in server.lua): invalid_json keeps the status and framing but
-- drops the body's last character; invalid_json and oversize answer 200
-- where the API would answer 204, so that there is a body to spoil.
local function spoil(kind, status, text, headers)
  if kind == "invalid_json" then
    if status == 204 then status = 200 end
    text = (text and #text > 1) and text:sub(1, -2) or "{"
    headers["content-type"] = "application/json"
  elseif kind == "oversize" then
    if status == 204 then status = 200 end
    headers["content-type"] = "application/json"
  end
  return status, text, headers
end

-- Logs an API request the server refused before reading it whole (a
-- body over the limit, a bad Content-Length, a body that did not arrive in
-- time): it never reached the API.
function App:log_refused(method, target, headers, status)
  local path, query_string = router.split_target(target)
  local relative = path:sub(#app.PREFIX + 1)
  self.log:add{
    method = method,
    path = router.decode(relative ~= "" and relative or "/"),
    raw_path = target,
    query = router.parse_query(query_string),
    auth = (check_auth(headers or {}, self.token)),
    applied = false,
    status = status,
  }
end

-- What the hostile fault needs to know of the route a request took: is it
-- a list page, and the keys of lists and objects (nil when objects are
-- bare). Requests that match no route are taken as security groups'.
function App:hostile_route(method, relative)
  local _, _, route = self.api:match(method, relative)
  local groups = registry.security_groups.operations
  if not route then
    return { list = false, list_key = groups.list.list_key, envelope = groups.get.envelope }
  end
  local def = route.resource
  return {
    list = route.list == true and method == "GET",
    list_key = route.list_key or def.list_key or groups.list.list_key,
    envelope = route.envelopes[method],
  }
end

-- The answer to an API request that reached the API (auth, routing, the
-- handler), before any fault: status, body table, headers.
function App:answer_api(method, relative, req, headers, fault)
  local kind = fault and fault.kind
  if kind == "status" then
    local retry_after = faults.retry_after(self.config.retry_after, self.store:now())
    local status, body = reply.fault(fault.status)
    return status, body, { ["retry-after"] = retry_after }
  end
  local _, ok = check_auth(headers, self.token)
  if not ok then return reply.error("unauthorized") end
  local okcall, s, b, h = pcall(dispatch, self, self.api, method, relative, req)
  if okcall then return s, b, h end
  return reply.error("internal", tostring(s))
end

-- An API request: logged, answered, then spoiled by its fault if it has one.
function App:handle_api(method, target, path, req, headers, fault)
  local relative = path:sub(#app.PREFIX + 1)
  local kind = fault and fault.kind
  local entry = {
    method = method,
    path = router.decode(relative ~= "" and relative or "/"),
    raw_path = target,
    query = req.query,
    body = req.body,
    auth = (check_auth(headers, self.token)),
    applied = kind ~= "status" and kind ~= "close_before_body",
    fault = kind,
  }
  self.log:add(entry)
  if kind == "close_before_body" then
    -- the body was never read and nothing happened
    entry.body = nil
    return nil, nil, {}
  end
  local s, text, h = finish(self:answer_api(method, relative, req, headers, fault))
  if kind == "hostile" then
    s, text, h, entry.shape = hostile.apply(self, self:hostile_route(method, relative), s, text, h)
  elseif kind then
    s, text, h = spoil(kind, s, text, h)
  end
  entry.status = s
  return s, text, h
end

-- method: "GET", ...; target: the request path as received, possibly with a
-- "?query"; query: table of decoded query values (parsed from target when
-- nil); body: raw string or nil; headers: table keyed by lower-case name;
-- fault: nil, or what choose_fault returned for this request.
-- Returns status, body string or nil, headers table, and an action for the
-- server ("shutdown") or nil. For a close_before_body fault the request is
-- only logged and the status is nil.
function App:handle(method, target, query, body, headers, fault)
  headers = headers or {}
  if body == "" then body = nil end
  local path, query_string = router.split_target(target)
  query = query or router.parse_query(query_string)
  local req = { method = method, query = query, body = body }
  if app.is_api(path) then return self:handle_api(method, target, path, req, headers, fault) end

  local cprefix = app.CONTROL_PREFIX
  if path:sub(1, #cprefix + 1) == cprefix .. "/" then
    if body and not checks.utf8(body) then
      return finish(reply.error("bad_request", "request body is not valid UTF-8"))
    end
    local status, out_body, out_headers, action = dispatch(self, self.control, method, path:sub(#cprefix + 1), req)
    local s, b, h = finish(status, out_body, out_headers)
    return s, b, h, action
  end

  return finish(reply.error("invalid_route"))
end

return app
