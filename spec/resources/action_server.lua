-- A canned loopback server (lua-http) for a test-only resource "widgets"
-- with named actions and a nested collection, shaped like the API's
-- instances (`POST /instances/{id}/actions` -> 204, `GET .../actions`,
-- `/instances/{id}/snapshots`). The id says how to answer:
--   missing    404           conflict  409 with an API error body
--   busy       503 (a POST must not be re-sent)
--   throttled  429 on the first action, 204 after (429: refused, safe to retry)
--   bare       answers without their list key or envelope
--   any other  success
-- GET /_log answers the requests seen, "METHOD path body" each. Prints its
-- root URL, then serves until killed.
package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local http_server = require "http.server"
local http_headers = require "http.headers"
local cjson = require "cjson"

local log, throttled = {}, 0

local function answer(status, value) return status, value ~= nil and cjson.encode(value) or "" end

local function failure(id)
  if id == "missing" then return answer(404, { code = "not_found", message = "widget not found" }) end
  if id == "conflict" then return answer(409, { code = "conflict", message = "widget is busy" }) end
  if id == "busy" then return answer(503, { code = "unavailable", message = "try later" }) end
end

local function actions(method, id, body)
  if method == "GET" then
    if id == "bare" then return answer(200, { other = true }) end
    return answer(200, { actions = { "stop", "reset" } })
  end
  if id == "throttled" then
    throttled = throttled + 1
    if throttled == 1 then return answer(429, { code = "rate", message = "slow down" }) end
  end
  if body.action ~= "start" and body.action ~= "stop" and body.action ~= "reset" then
    return answer(400, { code = "bad_action", message = "no such action" })
  end
  return answer(204)
end

local function snapshots(method, id, body, query)
  if method == "GET" then
    if id == "bare" then return answer(200, { total_count = 0 }) end
    return answer(200, { snapshots = { { id = "s-1", name = "first", resource_id = id } },
      total_count = 1, page = tonumber(query.page) or 1, per_page = tonumber(query.per_page) or 50 })
  end
  local snapshot = { id = "s-2", name = body.name, resource_id = id, status = "creating" }
  if id == "bare" then return answer(201, snapshot) end
  return answer(201, { snapshot = snapshot })
end

local function route(method, path, body, query)
  local rest = path:match("^/compute/v1(/.*)$") or path
  if rest == "/_log" then return answer(200, setmetatable(log, cjson.array_mt)) end
  local id, what = rest:match("^/widgets/([^/]+)/(%a+)$")
  if id then
    local status, out = failure(id)
    if status then return status, out end
  end
  if what == "actions" then return actions(method, id, body) end
  if what == "snapshots" then return snapshots(method, id, body, query) end
  return answer(404, { code = "not_found", message = rest .. " not found" })
end

local server = assert(http_server.listen{
  host = "127.0.0.1",
  port = 0,
  onstream = function(_, stream)
    local req = assert(stream:get_headers())
    local text = stream:get_body_as_string(5) or ""
    local method, full = req:get(":method"), req:get(":path")
    local path, qs = full:match("^([^?]*)%??(.*)$")
    local query = {}
    for k, v in qs:gmatch("([^&=]+)=([^&]*)") do query[k] = v end
    if path ~= "/compute/v1/_log" then
      log[#log + 1] = method .. " " .. full .. (text ~= "" and " " .. text or "")
    end
    local status, out = route(method, path, text ~= "" and cjson.decode(text) or {}, query)
    local headers = http_headers.new()
    headers:append(":status", tostring(status))
    headers:append("content-type", "application/json")
    stream:write_headers(headers, out == "")
    if out ~= "" then stream:write_chunk(out, true) end
  end,
})
assert(server:listen())
local _, host, port = server:localname()
io.stdout:write(("http://%s:%d\n"):format(host, port))
io.stdout:flush()
assert(server:loop())
