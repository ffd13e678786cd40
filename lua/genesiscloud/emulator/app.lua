-- The emulator without I/O: configuration, the store, the request log, and
-- `handle`, which turns one HTTP request into one response. The server
-- (server.lua) only moves bytes; the specs drive `handle` directly.
--
--   local st = state.new{ token = "t", create_delay = 0, seed = 1, clock = fn }
--   local status, body, headers, action =
--     st:handle("GET", "/compute/v1/security-groups?page=2", nil, nil, { ["x-auth-token"] = "t" })

local json = require "genesiscloud.emulator.wire_json"
local router = require "genesiscloud.emulator.router"
local store = require "genesiscloud.emulator.store"
local reply = require "genesiscloud.emulator.reply"
local faults = require "genesiscloud.emulator.faults"
local hostile = require "genesiscloud.emulator.hostile"
local request_log = require "genesiscloud.emulator.request_log"
local validate = require "genesiscloud.emulator.request_checks"

local state = {}

state.PREFIX = "/compute/v1"
state.CONTROL_PREFIX = "/_emulator"
state.DEFAULT_TOKEN = "emulator-token"

-- Each resource module brings its routes (see security_groups.lua).
local RESOURCES = {
  (require "genesiscloud.emulator.resources.security_groups"), -- () keeps one value
}

-- Runtime settings and how to check them (for new{} and /_emulator/config).
local CONFIG = {
  create_delay = { default = 1, check = "delay" },
  update_delay = { default = 1, check = "delay" },
  delete_delay = { default = 0, check = "delay" },
  put_405 = { default = false, check = "boolean" },
  fault_seed = { check = "fault" }, -- default: `seed`, else from the time
}
for key, default in pairs(faults.DEFAULTS) do CONFIG[key] = { default = default, check = "fault" } end
state.CONFIG = CONFIG

local LOG_LIMIT = 10000 -- oldest entries are dropped past this

local State = {}
State.__index = State

-- Returns the value to store (normalised), or nil and a message.
local function check_config(key, value)
  local spec = CONFIG[key]
  if not spec then return nil, "unknown setting '" .. tostring(key) .. "'" end
  if spec.check == "fault" then
    return faults.check(key, value, json.null)
  elseif spec.check == "delay" then
    if type(value) ~= "number" or value ~= value or value < 0 or value == math.huge then
      return nil, key .. " must be a number of seconds >= 0"
    end
  elseif type(value) ~= "boolean" then
    return nil, key .. " must be a boolean"
  end
  return value
end
state.check_config = check_config

-- Whole seconds; the server passes a clock with sub-second resolution and
-- the specs a fake one they can move.
local function default_clock()
  return os.time()
end

function state.new(opts)
  opts = opts or {}
  local token = opts.token or state.DEFAULT_TOKEN
  if type(token) ~= "string" or token == "" then
    return nil, "token must be a non-empty string"
  end
  local self = setmetatable({
    token = token,
    config = {},
    log = request_log.new(LOG_LIMIT),
    store = store.new{ clock = opts.clock or default_clock, seed = opts.seed },
  }, State)
  for key, spec in pairs(CONFIG) do self.config[key] = spec.default end
  local settings = {}
  for key in pairs(CONFIG) do settings[key] = opts[key] end
  -- the fault sequence is seeded like the ids unless told otherwise; the
  -- seed in use shows in the config, so a random run can be repeated
  if settings.fault_seed == nil then
    settings.fault_seed = math.tointeger(opts.seed) or faults.random_seed()
  end
  local ok, err = self:configure(settings)
  if not ok then return nil, err end

  local api_routes, control_routes = {}, {}
  for _, resource in ipairs(RESOURCES) do
    for _, route in ipairs(resource.routes) do api_routes[#api_routes + 1] = route end
    control_routes[#control_routes + 1] = {
      pattern = resource.path .. "/{id}/status",
      methods = { POST = function(st, req) return st:control_status(resource, req) end },
    }
  end
  for _, route in ipairs(state.control_routes) do control_routes[#control_routes + 1] = route end
  self.api = router.new(api_routes)
  self.control = router.new(control_routes)
  return self
end

-- Changes settings; all or nothing. Returns true, or nil and a message.
-- Setting fault_seed (even to the same value) restarts the fault sequence.
function State:configure(settings)
  local checked = {}
  for key, value in pairs(settings) do
    local v, err = check_config(key, value)
    if v == nil then return nil, err end
    checked[key] = v
  end
  for key, value in pairs(checked) do self.config[key] = value end
  if checked.fault_seed ~= nil then self.fault_draw = faults.rng(checked.fault_seed) end
  return true
end

-- Is this target under /compute/v1 (an API request, logged and faultable)?
function state.is_api(target)
  local path = router.split_target(target)
  local prefix = state.PREFIX
  return path == prefix or path:sub(1, #prefix + 1) == prefix .. "/"
end

-- The fault for a request that has just arrived (before its body is read),
-- or nil. Only API requests are faulted, never control routes, and never
-- HEAD. Each call may advance the seeded fault sequence.
function State:choose_fault(method, target)
  if not state.is_api(target) then return nil end
  return faults.choose(self.config, self.fault_draw, method)
end

-- Drops every record and the request log; settings and token stay.
function State:reset()
  self.store:clear()
  self:clear_requests()
end

-- The log entries, oldest first (a new array).
function State:requests()
  return self.log:entries()
end

function State:clear_requests()
  self.log = request_log.new(LOG_LIMIT)
end

-- Forces a record's status (e.g. "error"); it sticks until the next write.
function State:set_status(id, status, kind)
  if type(status) ~= "string" or status == "" then
    return nil, "status must be a non-empty string"
  end
  local record = self.store:force_status(kind or RESOURCES[1].kind, id, status)
  if not record then return nil, "not found" end
  return record
end

function State:control_status(resource, req)
  local body = json.decode(req.body)
  if not json.is_object(body) then
    return reply.error("bad_request", "request body must be a JSON object like {\"status\": \"error\"}")
  end
  local record, err = self:set_status(req.params.id, body.status, resource.kind)
  if not record then
    if err == "not found" then return reply.error("not_found", "Security group not found") end
    return reply.error("bad_request", err)
  end
  return resource.show(record)
end

local function config_body(self)
  local out = {}
  for k, v in pairs(self.config) do out[k] = v end
  return 200, { config = out }
end

-- A copy of v whose strings (keys too) are well-formed UTF-8, bad bytes
-- replaced by U+FFFD: the log keeps what clients sent, JSON cannot.
local function repaired(v)
  if type(v) == "string" then return validate.utf8_repair(v) end
  if type(v) ~= "table" or v == json.null then return v end
  local out = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do out[repaired(k)] = repaired(x) end
  return out
end

-- Routes under /_emulator: no auth, never logged.
state.control_routes = {
  { pattern = "/requests", methods = {
    GET = function(st)
      local entries = st:requests()
      for i, entry in ipairs(entries) do entries[i] = repaired(entry) end
      return 200, { requests = json.array(entries) }
    end,
    DELETE = function(st) st:clear_requests() return 204 end,
  } },
  { pattern = "/reset", methods = { POST = function(st) st:reset() return 204 end } },
  { pattern = "/config", methods = {
    GET = config_body,
    POST = function(st, req)
      local body = json.decode(req.body)
      if not json.is_object(body) then
        return reply.error("bad_request", "request body must be a JSON object of settings")
      end
      local ok, err = st:configure(body)
      if not ok then return reply.error("bad_request", err) end
      return config_body(st)
    end,
  } },
  { pattern = "/shutdown", methods = {
    POST = function() return 202, { message = "shutting down" }, nil, "shutdown" end,
  } },
}

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
function State:log_refused(method, target, headers, status)
  local path, query_string = router.split_target(target)
  local relative = path:sub(#state.PREFIX + 1)
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

-- method: "GET", ...; target: the request path as received, possibly with a
-- "?query"; query: table of decoded query values (parsed from target when
-- nil); body: raw string or nil; headers: table keyed by lower-case name;
-- fault: nil, or what choose_fault returned for this request.
-- Returns status, body string or nil, headers table, and an action for the
-- server ("shutdown") or nil. For a close_before_body fault the request is
-- only logged and the status is nil.
function State:handle(method, target, query, body, headers, fault)
  headers = headers or {}
  if body == "" then body = nil end
  local path, query_string = router.split_target(target)
  query = query or router.parse_query(query_string)
  local req = { method = method, query = query, body = body }

  local prefix = state.PREFIX
  if path == prefix or path:sub(1, #prefix + 1) == prefix .. "/" then
    local relative = path:sub(#prefix + 1)
    local auth, ok = check_auth(headers, self.token)
    local entry = {
      method = method,
      path = router.decode(relative ~= "" and relative or "/"),
      raw_path = target,
      query = query,
      body = body,
      auth = auth,
      applied = true,
      fault = fault and fault.kind,
    }
    self.log:add(entry)
    local kind = fault and fault.kind
    if kind == "close_before_body" then
      -- the body was never read and nothing happened
      entry.applied, entry.body = false, nil
      return nil, nil, {}
    end
    local status, out_body, out_headers
    if kind == "status" then
      entry.applied = false
      status, out_body = reply.fault(fault.status)
      local retry_after = faults.retry_after(self.config.retry_after, self.store:now())
      out_headers = { ["retry-after"] = retry_after }
    elseif not ok then
      status, out_body, out_headers = reply.error("unauthorized")
    else
      local okcall, s, b, h = pcall(dispatch, self, self.api, method, relative, req)
      if okcall then
        status, out_body, out_headers = s, b, h
      else
        status, out_body = reply.error("internal", tostring(s))
      end
    end
    local s, text, h = finish(status, out_body, out_headers)
    if kind == "hostile" then
      s, text, h, entry.shape = hostile.apply(self, method, relative, s, text, h)
    elseif kind then
      s, text, h = spoil(kind, s, text, h)
    end
    entry.status = s
    return s, text, h
  end

  local cprefix = state.CONTROL_PREFIX
  if path:sub(1, #cprefix + 1) == cprefix .. "/" then
    if body and not validate.utf8(body) then
      return finish(reply.error("bad_request", "request body is not valid UTF-8"))
    end
    local status, out_body, out_headers, action = dispatch(self, self.control, method, path:sub(#cprefix + 1), req)
    local s, b, h = finish(status, out_body, out_headers)
    return s, b, h, action
  end

  return finish(reply.error("invalid_route"))
end

return state
