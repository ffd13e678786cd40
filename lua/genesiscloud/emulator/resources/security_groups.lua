-- The security-groups resource of the emulator: its routes, handlers and the
-- JSON shape of a group. Handlers get (state, request) and return
-- `status, body_table_or_nil, extra_headers`; the state module does auth,
-- logging and encoding around them. Another resource (instances, volumes)
-- is another module of this shape, listed in state.lua.

local json = require "genesiscloud.emulator.wire_json"
local validate = require "genesiscloud.emulator.request_checks"
local reply = require "genesiscloud.emulator.reply"

local KIND = "security_group"
local DEFAULT_REGION = "ARC-IS-HAF-1"
local NOT_FOUND = "Security group not found"

local M = { kind = KIND, path = "/security-groups", singular = "security_group" }

-- ISO 8601 UTC with milliseconds, e.g. 2026-11-27T12:00:00.000Z
local function iso8601(t)
  local seconds = math.floor(t)
  local ms = math.floor((t - seconds) * 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", ms)
end
M.iso8601 = iso8601

local function represent_rule(rule)
  local out = {}
  for k, v in pairs(rule) do out[k] = v end
  -- absent ports are sent as null, exactly like the documentation's examples
  out.port_range_min = rule.port_range_min or json.null
  out.port_range_max = rule.port_range_max or json.null
  return out
end

-- The group as the API shows it: passed-through fields first, so the
-- server-owned ones always win.
function M.represent(record)
  local out = {}
  for k, v in pairs(record.extra) do out[k] = v end
  local rules = json.array()
  for i, rule in ipairs(record.rules) do rules[i] = represent_rule(rule) end
  out.id = record.id
  out.name = record.name
  out.description = record.description
  out.status = record.status
  out.rules = rules
  out.region = record.region
  out.is_internal = false
  out.created_at = iso8601(record.created_at)
  out.updated_at = iso8601(record.updated_at)
  return out
end

-- The group's JSON, cached on the record as three parts: the text before
-- the status, the status, the text after it. A status change re-encodes
-- only the status; any other write must drop the cache (record._json = nil).
-- A group that cannot be encoded is returned as a table, uncached, so the
-- usual encoding error answers the request.
local STATUS_MARK = json.raw{ "\0" } -- encoded strings never hold a raw NUL
local STATUS_JSON = {}
for _, status in ipairs{ "creating", "created", "updating", "deleting" } do
  STATUS_JSON[status] = json.encode(status)
end
function M.encoded(record)
  local parts = record._json
  if not parts then
    local shape = M.represent(record)
    shape.status = STATUS_MARK
    local text, depth = json.encode_with_depth(shape)
    if not text then return M.represent(record) end
    local at = text:find("\0", 1, true)
    parts = json.raw({ text:sub(1, at - 1), "", text:sub(at + 1) }, depth)
    record._json = parts
  end
  if parts.status ~= record.status then
    parts.status, parts[2] = record.status, STATUS_JSON[record.status] or json.encode(record.status)
  end
  return parts
end

local function one(record, status)
  return status or 200, { security_group = M.encoded(record) }
end

local function decode_body(req, mode)
  local body, err = json.decode(req.body)
  if body == nil then
    return nil, "request body must be a JSON object (" .. tostring(err) .. ")"
  end
  return validate.security_group(body, mode)
end

local function list(st, req)
  local page, per_page = validate.page_params(req.query)
  if not page then return reply.error("bad_request", per_page) end
  local total = st.store:count(KIND)
  local items = json.array()
  -- compare before multiplying: a huge page number must not overflow
  if page - 1 <= total // per_page then
    for i, record in ipairs(st.store:slice(KIND, (page - 1) * per_page + 1, per_page)) do
      items[i] = M.encoded(record)
    end
  end
  return 200, { security_groups = items, total_count = total, page = page, per_page = per_page }
end

local function create(st, req)
  local fields, err = decode_body(req, "create")
  if not fields then return reply.error("bad_request", err) end
  local now = st.store:now()
  local region = fields.extra.region
  fields.extra.region = nil
  if region == nil or region == json.null then region = DEFAULT_REGION end
  local record = st.store:insert(KIND, {
    name = fields.name,
    description = fields.description or "",
    rules = fields.rules,
    region = region,
    extra = fields.extra,
    created_at = now,
    updated_at = now,
  })
  st.store:transition(KIND, record.id, "creating", st.config.create_delay, "created")
  return one(record, 201)
end

local function get(st, req)
  local record = st.store:get(KIND, req.params.id)
  if not record then return reply.error("not_found", NOT_FOUND) end
  return one(record)
end

local function update(st, req, mode)
  local record = st.store:get(KIND, req.params.id)
  if not record then return reply.error("not_found", NOT_FOUND) end
  local fields, err = decode_body(req, mode)
  if not fields then return reply.error("bad_request", err) end
  if record._transition and record._transition.to == nil then
    return reply.error("conflict", "Security group is being deleted")
  end
  record.name = fields.name or record.name
  record.description = fields.description or record.description
  record.rules = fields.rules or record.rules
  if fields.extra.region ~= nil and fields.extra.region ~= json.null then
    record.region = fields.extra.region
  end
  fields.extra.region = nil
  for k, v in pairs(fields.extra) do record.extra[k] = v end
  record.updated_at = st.store:now()
  record._json = nil
  st.store:transition(KIND, record.id, "updating", st.config.update_delay, "created")
  return one(record)
end

local function put(st, req)
  if st.config.put_405 then
    -- like the live API since September 2023: update is PATCH only
    return reply.error("method_not_allowed", "Method not allowed: use PATCH", { allow = "DELETE, GET, PATCH" })
  end
  return update(st, req, "replace")
end

local function patch(st, req)
  return update(st, req, "patch")
end

local function delete(st, req)
  local record = st.store:get(KIND, req.params.id)
  if not record then return reply.error("not_found", NOT_FOUND) end
  -- deleting twice while the first delete is pending changes nothing
  if not (record._transition and record._transition.to == nil) then
    st.store:transition(KIND, record.id, "deleting", st.config.delete_delay, nil)
  end
  return 204
end

M.routes = {
  { pattern = "/security-groups", methods = { GET = list, POST = create } },
  { pattern = "/security-groups/{id}", methods = { GET = get, PUT = put, PATCH = patch, DELETE = delete } },
}

-- For the control route that forces a status.
function M.show(record)
  return one(record)
end

return M
