-- A small loopback server (lua-http) for the resources the emulator does
-- not serve yet: SSH keys (bare objects, no status), images (list only,
-- `type` filter) and availability (path parameter), plus a security group
-- to show that what one resource learns stays with it. Started with a mode:
--   put      SSH keys take PUT (the 2023-07 contract) and PATCH
--   patch    SSH-key PUT answers 405 (the API since 2023-09)
-- GET /_log answers the requests seen ("METHOD path" lines); prints its root
-- URL, then serves until killed.
package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local http_server = require "http.server"
local http_headers = require "http.headers"
local cjson = require "cjson"

local mode = arg[1] or "put"
local log = {}
local keys, order, next_id = {}, {}, 1

local IMAGES = {
  { id = "img-1", name = "Ubuntu 22.04", type = "base-os" },
  { id = "img-2", name = "Ubuntu ML", type = "preconfigured" },
  { id = "img-3", name = "Debian 12", type = "cloud-image" },
  { id = "img-4", name = "my snapshot", type = "snapshot" },
}
local SG = { id = "sg-1", name = "web", status = "created",
  rules = { { protocol = "all", direction = "egress" } } }

local function answer(status, value) return status, value ~= nil and cjson.encode(value) or "" end
local function not_found(what) return answer(404, { code = "not_found", message = what .. " not found" }) end

local function page_of(list, query, key)
  local page, per_page = tonumber(query.page) or 1, tonumber(query.per_page) or 50
  local items = {}
  for i = (page - 1) * per_page + 1, math.min(page * per_page, #list) do items[#items + 1] = list[i] end
  return answer(200, { [key] = setmetatable(items, cjson.array_mt), total_count = #list,
    page = page, per_page = per_page })
end

local function ssh_keys(method, id, body, query)
  if not id then
    if method == "GET" then
      local list = {}
      for i, k in ipairs(order) do list[i] = keys[k] end
      return page_of(list, query, "ssh_keys")
    elseif method == "POST" then
      local key = { id = "key-" .. next_id, name = body.name, value = body.value,
        fingerprint = "SHA256:x", type = "ssh-ed25519", size = 256 }
      next_id = next_id + 1
      keys[key.id], order[#order + 1] = key, key.id
      return answer(201, key)
    end
    return answer(405, { code = "method", message = "not allowed" })
  end
  local key = keys[id]
  if not key then return not_found("ssh key") end
  if method == "GET" then return answer(200, key) end
  if method == "PUT" and mode == "patch" then return answer(405, { code = "405", message = "use PATCH" }) end
  if method == "PUT" or method == "PATCH" then
    key.name = body.name or key.name
    return answer(200, key)
  elseif method == "DELETE" then
    keys[id] = nil
    for i, k in ipairs(order) do if k == id then table.remove(order, i) break end end
    return answer(204)
  end
end

local function route(method, path, body, query)
  local rest = path:match("^/compute/v1(/.*)$") or path
  if rest == "/_log" then return answer(200, setmetatable(log, cjson.array_mt)) end
  if rest == "/ssh-keys" then return ssh_keys(method, nil, body, query) end
  local id = rest:match("^/ssh%-keys/([^/]+)$")
  if id then return ssh_keys(method, id, body, query) end
  if rest == "/images" and method == "GET" then
    local list = {}
    for _, image in ipairs(IMAGES) do
      if query.type == nil or image.type == query.type then list[#list + 1] = image end
    end
    return page_of(list, query, "images")
  end
  local region = rest:match("^/availability/([^/]+)/instances$")
  if region and method == "GET" then
    return answer(200, { availability = { type = "instances", region = region,
      instance_types = { { type = "vcpu-4_memory-12g", available = true } } } })
  end
  if rest == "/security-groups/sg-1" and (method == "PUT" or method == "GET") then
    return answer(200, { security_group = SG })
  end
  return not_found(rest)
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
    if path ~= "/compute/v1/_log" then log[#log + 1] = method .. " " .. full end
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
