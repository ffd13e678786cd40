-- A canned loopback server (lua-http) for a test-only resource "gadgets"
-- whose statuses the spec scripts, shaped like the API's instances:
--   GET    /gadgets[?page&per_page]    { gadgets = [...], total_count, page, per_page }
--   GET    /gadgets/{id}               { gadget = obj }; its status is the next one of the
--                                      id's script (the last one stays), 404 when unknown
--   POST   /gadgets                    201 { gadget = obj }, id "g-<n>", status "creating"
--   PUT|PATCH /gadgets/{id}            200 { gadget = obj } with the body merged in
--   DELETE /gadgets/{id}               204
--   POST   /gadgets/{id}/actions       204 (404 when unknown, 409 for the id "conflict")
-- What the server keeps is what the API echoes: `password` is never kept;
-- `image` (an id) comes back as an object { id, name } and
-- `security_groups` (ids) as a list of such objects.
-- Control routes (not logged): POST /_put (an object, stored as given),
-- POST /_script/{id} { statuses = [...] }, POST /_reset, GET /_log (the
-- requests seen, "METHOD path body" each). Prints its root URL, then serves
-- until killed.
package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local http_server = require "http.server"
local http_headers = require "http.headers"
local cjson = require "cjson"

local log, store, order, scripts, next_id

local function reset()
  log, store, order, scripts, next_id = {}, {}, {}, {}, 1
end
reset()

local function answer(status, value) return status, value ~= nil and cjson.encode(value) or "" end

local function not_found(id)
  return answer(404, { code = "not_found", message = "gadget " .. tostring(id) .. " not found" })
end

-- The body as the server keeps it (and echoes it).
local function kept(body, obj)
  for k, v in pairs(body) do
    if k == "image" then
      obj.image = { id = v, name = "image " .. tostring(v) }
    elseif k == "security_groups" then
      local refs = {}
      for i, sg in ipairs(v) do refs[i] = { id = sg, name = "group " .. tostring(sg) } end
      obj.security_groups = setmetatable(refs, cjson.array_mt)
    elseif k ~= "password" then
      obj[k] = v
    end
  end
  return obj
end

local function read(id)
  local obj = store[id]
  if not obj then return nil end
  local script = scripts[id]
  if script and #script > 0 then
    obj.status = script[1]
    if #script > 1 then table.remove(script, 1) end
  end
  return obj
end

local function list(query)
  local page, per_page = tonumber(query.page) or 1, tonumber(query.per_page) or 50
  local items = {}
  for i = (page - 1) * per_page + 1, math.min(page * per_page, #order) do items[#items + 1] = store[order[i]] end
  return answer(200, { gadgets = setmetatable(items, cjson.array_mt), total_count = #order,
    page = page, per_page = per_page })
end

local function one(method, id, body)
  if method == "GET" then
    local obj = read(id)
    if not obj then return not_found(id) end
    return answer(200, { gadget = obj })
  end
  local obj = store[id]
  if not obj then return not_found(id) end
  if method == "DELETE" then
    store[id] = nil
    for i, v in ipairs(order) do if v == id then table.remove(order, i) break end end
    return answer(204)
  end
  return answer(200, { gadget = kept(body, obj) })
end

local function control(method, rest, body)
  if rest == "/_log" then return answer(200, setmetatable(log, cjson.array_mt)) end
  if rest == "/_reset" then reset() return answer(204) end
  if rest == "/_put" and method == "POST" then
    store[body.id] = body
    order[#order + 1] = body.id
    return answer(201, body)
  end
  local id = rest:match("^/_script/([^/]+)$")
  if id then scripts[id] = body.statuses return answer(204) end
end

local function route(method, rest, body, query)
  local status, out = control(method, rest, body)
  if status then return status, out end
  if rest == "/gadgets" then
    if method == "GET" then return list(query) end
    local id = "g-" .. next_id
    next_id = next_id + 1
    store[id] = kept(body, { id = id, status = "creating" })
    order[#order + 1] = id
    return answer(201, { gadget = store[id] })
  end
  local id = rest:match("^/gadgets/([^/]+)/actions$")
  if id then
    if id == "conflict" then return answer(409, { code = "conflict", message = "gadget is busy" }) end
    if not store[id] then return not_found(id) end
    return answer(204)
  end
  id = rest:match("^/gadgets/([^/]+)$")
  if id then return one(method, id, body) end
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
    local rest = path:match("^/compute/v1(/.*)$") or path
    if not rest:match("^/_") then
      log[#log + 1] = method .. " " .. full .. (text ~= "" and " " .. text or "")
    end
    local status, out = route(method, rest, text ~= "" and cjson.decode(text) or {}, query)
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
