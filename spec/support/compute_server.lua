-- A small in-memory loopback server (lua-http) for the compute resources
-- the emulator does not serve yet: instances (actions, snapshots below
-- them, user metadata), volumes, snapshots (import, clone), floating IPs,
-- filesystems, quotas and reservations. Objects are stored as sent plus an
-- id and a status; it checks nothing, so the client's own checks are what
-- keeps bad bodies away (a spec reads /_log to see nothing was sent).
--   GET /_log    the requests seen, "METHOD path body" each
--   an id "missing" answers 404; "protected" refuses DELETE with 409
-- Prints its root URL, then serves until killed.
package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local http_server = require "http.server"
local http_headers = require "http.headers"
local cjson = require "cjson"

local log, next_id = {}, 1
local KINDS = { instances = "instance", volumes = "volume", snapshots = "snapshot",
  ["floating-ips"] = "floating_ip", filesystems = "filesystem" }
local READY = { instances = "active" }
local store, order = {}, {}
for kind in pairs(KINDS) do store[kind], order[kind] = {}, {} end

local function answer(status, value) return status, value ~= nil and cjson.encode(value) or "" end
local function not_found(what) return answer(404, { code = "not_found", message = what .. " not found" }) end
local function array(t) return setmetatable(t, cjson.array_mt) end

local function page_of(list, query, key)
  local page, per_page = tonumber(query.page) or 1, tonumber(query.per_page) or 50
  local items = {}
  for i = (page - 1) * per_page + 1, math.min(page * per_page, #list) do items[#items + 1] = list[i] end
  return answer(200, { [key] = array(items), total_count = #list, page = page, per_page = per_page })
end

local function add(kind, body, extra)
  local obj = { id = kind:sub(1, 3) .. "-" .. next_id, status = READY[kind] or "created" }
  next_id = next_id + 1
  for k, v in pairs(body) do obj[k] = v end
  for k, v in pairs(extra or {}) do obj[k] = v end
  store[kind][obj.id], order[kind][#order[kind] + 1] = obj, obj.id
  return obj
end

local function collection(kind, method, body, query)
  local key = (kind:gsub("%-", "_"))
  if method == "GET" then
    local list = {}
    for i, id in ipairs(order[kind]) do list[i] = store[kind][id] end
    return page_of(list, query, key)
  end
  if method == "POST" then return answer(201, { [KINDS[kind]] = add(kind, body) }) end
  return answer(405, { code = "method", message = "not allowed" })
end

local function item(kind, id, method, body)
  local obj = store[kind][id]
  if not obj then return not_found(KINDS[kind]) end
  if method == "GET" then return answer(200, { [KINDS[kind]] = obj }) end
  if method == "PATCH" or method == "PUT" then
    for k, v in pairs(body) do obj[k] = v end
    return answer(200, { [KINDS[kind]] = obj })
  end
  if method == "DELETE" then
    if obj.is_protected then return answer(409, { code = "protected", message = "instance is protected" }) end
    store[kind][id] = nil
    for i, k in ipairs(order[kind]) do if k == id then table.remove(order[kind], i) break end end
    return answer(204)
  end
end

local ACTION_TO = { start = "active", stop = "stopped", reset = "active" }

local function below(kind, id, what, method, body, query)
  local obj = store[kind][id]
  if not obj then return not_found(KINDS[kind]) end
  if kind == "instances" and what == "actions" then
    if method == "GET" then return answer(200, { actions = array{ "stop", "reset" } }) end
    if not ACTION_TO[body.action] then return answer(400, { code = "bad_action", message = "no such action" }) end
    obj.status = ACTION_TO[body.action]
    return answer(204)
  elseif kind == "instances" and what == "snapshots" then
    if method == "GET" then
      local list = {}
      for _, sid in ipairs(order.snapshots) do
        if store.snapshots[sid].source_instance_id == id then list[#list + 1] = store.snapshots[sid] end
      end
      return page_of(list, query, "snapshots")
    end
    return answer(201, { snapshot = add("snapshots", body, { source_instance_id = id }) })
  elseif kind == "instances" and what == "user-metadata" then
    return answer(200, { startup_script = "#!/bin/sh", instance = id })
  elseif kind == "snapshots" and what == "clone" and method == "POST" then
    return answer(201, { snapshot = add("snapshots", body, { source_snapshot_id = id }) })
  end
  return not_found(what)
end

local function route(method, path, body, query)
  local rest = path:match("^/compute/v1(/.*)$") or path
  if rest == "/_log" then return answer(200, array(log)) end
  if rest == "/quotas" then
    return answer(200, { quotas = array{ { key = "gpu", capacity = 8, used = 2, flavors = array{} } } })
  end
  if rest == "/reservations" then
    return answer(200, { reservations = array{ { id = "res-1", flavor_name = "h100", region = "NORD-NO-KRS-1",
      quota = { capacity = 4, used = 1 } } } })
  end
  local kind, id, what = rest:match("^/([%a%-]+)/?([^/]*)/?([%a%-]*)$")
  if not kind or not KINDS[kind] then return not_found(rest) end
  if id == "" then return collection(kind, method, body, query) end
  if what == "" then return item(kind, id, method, body) end
  return below(kind, id, what, method, body, query)
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
