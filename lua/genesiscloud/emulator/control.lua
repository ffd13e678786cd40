-- The control routes under /_emulator: no auth, never logged, never
-- faulted (app.lua and server.lua see to that). Handlers get (app,
-- request) and return `status, body_table_or_nil, extra_headers, action`.

local json = require "genesiscloud.emulator.wire_json"
local reply = require "genesiscloud.emulator.reply"
local checks = require "genesiscloud.emulator.request_checks"
local collection = require "genesiscloud.emulator.collection"

local control = {}

local function config_body(app)
  local out = {}
  for k, v in pairs(app.config) do out[k] = v end
  return 200, { config = out }
end

-- A copy of v whose strings (keys too) are well-formed UTF-8, bad bytes
-- replaced by U+FFFD: the log keeps what clients sent, JSON cannot.
local function repaired(v)
  if type(v) == "string" then return checks.utf8_repair(v) end
  if type(v) ~= "table" or v == json.null then return v end
  local out = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do out[repaired(k)] = repaired(x) end
  return out
end

local function requests(app)
  local entries = app:requests()
  for i, entry in ipairs(entries) do entries[i] = repaired(entry) end
  return 200, { requests = json.array(entries) }
end

local function configure(app, req)
  local body = json.decode(req.body)
  if not json.is_object(body) then
    return reply.error("bad_request", "request body must be a JSON object of settings")
  end
  local ok, err = app:configure(body)
  if not ok then return reply.error("bad_request", err) end
  return config_body(app)
end

-- POST /_emulator/<path>/{id}/status for one stored kind.
local function set_status(app, req, def)
  local body = json.decode(req.body)
  if not json.is_object(body) then
    return reply.error("bad_request", "request body must be a JSON object like {\"status\": \"error\"}")
  end
  local record, err = app:set_status(req.params.id, body.status, def.plural)
  if not record then
    if err == "not found" then return reply.error("not_found", def.title .. " not found") end
    return reply.error("bad_request", err)
  end
  return collection.one(def, record, "get", app)
end

-- Every control route, with a status route for each kind of `registry`
-- that keeps records (read-only catalogs have none).
function control.routes(registry)
  local routes = {
    { pattern = "/requests", methods = {
      GET = requests,
      DELETE = function(app) app:clear_requests() return 204 end,
    } },
    { pattern = "/reset", methods = { POST = function(app) app:reset() return 204 end } },
    { pattern = "/config", methods = { GET = config_body, POST = configure } },
    { pattern = "/shutdown", methods = {
      POST = function() return 202, { message = "shutting down" }, nil, "shutdown" end,
    } },
  }
  for _, def in ipairs(registry) do
    if def.operations.create then
      routes[#routes + 1] = {
        pattern = def.path .. "/{id}/status",
        methods = { POST = function(app, req) return set_status(app, req, def) end },
      }
    end
  end
  return routes
end

return control
