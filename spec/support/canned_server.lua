-- A tiny HTTP server (lua-http) that answers fixed, misbehaving responses,
-- for the client's error paths the emulator never produces: HTML error
-- pages, empty bodies, wrong status codes, bodies that are not JSON, huge
-- bodies and a response that never comes. Prints its root URL, then serves
-- until killed.
package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local cqueues = require "cqueues"
local http_server = require "http.server"
local http_headers = require "http.headers"

local SG = '{"security_group":{"id":"x","name":"n","rules":[],"status":"created"}}'

-- "METHOD path" -> { status, content type, body [, seconds to stall [, headers]] }
local routes = {
  ["GET /compute/v1/security-groups/html-404"] = { 404, "text/html",
    "<html><body><h1>404 Not Found</h1>\n<p>nginx</p></body></html>" },
  ["GET /compute/v1/security-groups/empty-500"] = { 500, "text/plain", "" },
  ["GET /compute/v1/security-groups/numeric-code"] = { 400, "application/json",
    '{"code": 2001, "message": "Bad thing"}' },
  ["GET /compute/v1/security-groups/problem"] = { 405, "application/problem+json",
    '{"title": "Method not allowed", "detail": "PUT is not supported here"}' },
  ["GET /compute/v1/security-groups/not-json"] = { 200, "application/json", "this is not json" },
  ["GET /compute/v1/security-groups/no-wrapper"] = { 200, "application/json", '{"id":"x"}' },
  -- Envelopes with more than the member: other members, duplicates (the
  -- last wins, as in any JSON decode), a null that clears the member.
  ["GET /compute/v1/security-groups/extra-members"] = { 200, "application/json",
    '{"meta":{"n":[1,null,{"security_group":{}}]},"security_group":{"id":"x"},"other":"y"}' },
  ["GET /compute/v1/security-groups/dup-wrapper"] = { 200, "application/json",
    '{"security_group":{"id":"first"},"security_group":{"id":"second"}}' },
  ["GET /compute/v1/security-groups/null-wrapper"] = { 200, "application/json",
    '{"security_group":{"id":"x"},"security_group":null}' },
  ["GET /compute/v1/security-groups/bad-after-wrapper"] = { 200, "application/json",
    '{"security_group":{"id":"x"},}' },
  ["GET /compute/v1/security-groups/empty-200"] = { 200, "application/json", "" },
  ["GET /compute/v1/security-groups/big"] = { 200, "application/json",
    '{"security_group":{"id":"' .. string.rep("x", 100000) .. '"}}' },
  ["GET /compute/v1/security-groups/stall"] = { 200, "application/json", SG, 30 },
  -- A redirect to an answer that would succeed if it were followed.
  ["GET /compute/v1/security-groups/redirect"] = { 302, "application/json", "{}", nil,
    { location = "/compute/v1/security-groups/ok-target" } },
  ["GET /compute/v1/security-groups/ok-target"] = { 200, "application/json", SG },
  ["GET /compute/v1/security-groups/deep"] = { 200, "application/json",
    '{"security_group":' .. string.rep("[", 5000) .. string.rep("]", 5000) .. "}" },
  ["POST /compute/v1/security-groups"] = { 200, "application/json", SG },
  ["DELETE /compute/v1/security-groups/x"] = { 200, "application/json", "{}" },
  ["GET /compute/v1/security-groups"] = { 200, "application/json", '{"total_count": 0}' },
  -- what a create reads before its POST: no groups yet
  ["GET /compute/v1/security-groups?page=1&per_page=100"] = { 200, "application/json",
    '{"security_groups": [], "total_count": 0}' },
}

-- A failure whose headers the client must hand over: a repeated header
-- (joined with ", "), names in mixed case (lower-cased), Retry-After.
-- route[5] may be a list of { name, value } pairs, kept in order.
routes["GET /compute/v1/security-groups/many-headers"] = { 503, "application/json",
  '{"code":"busy","message":"try later"}', nil,
  { { "x-repeated", "one" }, { "Retry-After", "7" }, { "x-repeated", "two" },
    { "X-Mixed-Case", "  padded value  " } } }

-- The same group, gzip-compressed as a server would send it.
local gzip = assert(io.popen("printf '%s' '" .. SG .. "' | gzip -c", "r"))
local SG_GZIP = gzip:read("a")
gzip:close()
routes["GET /compute/v1/security-groups/gzip"] = { 200, "application/json", SG_GZIP, nil,
  { ["content-encoding"] = "gzip" } }

-- A server that ignores `page`: pages 1 and 2 (two per page) hold the same
-- two groups while total_count promises ten, so a naive walk never ends.
local REPEATED_PAGE = '{"security_groups":['
  .. '{"id":"rep-1","name":"a","rules":[],"status":"created"},'
  .. '{"id":"rep-2","name":"b","rules":[],"status":"created"}'
  .. '],"total_count":10,"page":1,"per_page":2}'
routes["GET /compute/v1/security-groups?page=1&per_page=2"] = { 200, "application/json", REPEATED_PAGE }
routes["GET /compute/v1/security-groups?page=2&per_page=2"] = { 200, "application/json", REPEATED_PAGE }

-- Broken list pages, one shape per endpoint prefix: a client whose
-- endpoint is <root>/walk/<shape>/compute/v1 gets them for every list
-- request, whatever page it asks for. None carries total_count unless
-- the shape says so. Past RUNAWAY requests to one shape the server
-- answers 500, so a walk that does not end fails its spec instead of
-- hanging it.
local RUNAWAY = 60
local function group(id) return '{"id":"' .. id .. '","name":"n","rules":[],"status":"created"}' end
local WALK = {
  -- items without ids; every page the same
  ["no-ids"] = function() return '{"security_groups":[{"name":"a"},{"name":"b"}]}' end,
  -- numbers and strings as items
  ["numbers"] = function() return '{"security_groups":[1,2,3]}' end,
  ["strings"] = function() return '{"security_groups":["a","b"]}' end,
  ["lists"] = function() return '{"security_groups":[[1],[2]]}' end,
  ["id-objects"] = function() return '{"security_groups":[{"id":{"x":1}},{"id":{"x":2}}]}' end,
  -- an object where the list should be
  ["object-list"] = function() return '{"security_groups":{"a":' .. group("a") .. '}}' end,
  -- null before items, between them, in place of the list
  ["null-first"] = function() return '{"security_groups":[null,' .. group("a") .. ',' .. group("b") .. ']}' end,
  ["null-middle"] = function() return '{"security_groups":[' .. group("a") .. ',null,' .. group("b") .. ']}' end,
  ["null-list"] = function() return '{"security_groups":null}' end,
  -- nulls that leave no hole: the only item, the last one
  ["null-only"] = function() return '{"security_groups":[null]}' end,
  ["null-last"] = function() return '{"security_groups":[' .. group("a") .. ',null]}' end,
  -- full pages of new groups for ever (ids from the page number)
  ["endless"] = function(page)
    return '{"security_groups":[' .. group("e" .. page .. "a") .. ',' .. group("e" .. page .. "b") .. ']}'
  end,
  -- pages 1, 2, 1, 2, ...: not the previous page, an earlier one
  ["cycle"] = function(page)
    local k = (page - 1) % 2 + 1
    return '{"security_groups":[' .. group("c" .. k .. "a") .. ',' .. group("c" .. k .. "b") .. ']}'
  end,
  -- a total far past the real end, then empty pages; and id-less pages
  -- with a total, which the concurrent walk fetches ahead
  ["huge-total"] = function(page)
    if page > 2 then return '{"security_groups":[],"total_count":1000000,"per_page":2}' end
    return '{"security_groups":[' .. group("h" .. page .. "a") .. ',' .. group("h" .. page .. "b")
      .. '],"total_count":1000000,"per_page":2}'
  end,
  ["no-ids-total"] = function()
    return '{"security_groups":[{"name":"a"},{"name":"b"}],"total_count":1000000,"per_page":2}'
  end,
  -- id-less pages that differ: only the page count can end them
  ["no-ids-endless"] = function(page)
    return '{"security_groups":[{"name":"a' .. page .. '"},{"name":"b' .. page .. '"}]}'
  end,
}
local walk_count = {}
local function walk_route(method, path)
  local shape, rest = path:match("^/walk/([%w-]+)(/.*)$")
  if not shape or not WALK[shape] then return nil end
  -- /walk/<shape>/_count: list requests since the last /walk/<shape>/_reset
  if rest == "/_count" then
    return { 200, "application/json", '{"count":' .. (walk_count[shape] or 0) .. '}' }
  elseif rest == "/_reset" then
    walk_count[shape] = 0
    return { 200, "application/json", '{"count":0}' }
  end
  walk_count[shape] = (walk_count[shape] or 0) + 1
  if walk_count[shape] > RUNAWAY then
    return { 500, "application/json", '{"code":"runaway","message":"runaway walk"}' }
  end
  if method ~= "GET" or not rest:match("^/compute/v1/security%-groups%f[?\0]") then return nil end
  local page = tonumber(rest:match("[?&]page=(%d+)")) or 1
  return { 200, "application/json", WALK[shape](page) }
end

-- Answers made from the request (core helper's routes): a server that
-- reflects the request's credentials into its error (as JSON, JSON with
-- every character \u-escaped, plain text, response headers, a 200 that
-- is not JSON), and a response whose headers are 10 MB.
local function credentials(req)
  return "X-Auth-Token=" .. (req:get("x-auth-token") or "") .. " Authorization="
    .. (req:get("authorization") or "")
end
local function json_escaped(s)
  return (s:gsub(".", function(ch) return ("\\u%04x"):format(ch:byte()) end))
end
local dynamic = {
  ["GET /compute/v1/security-groups/reflect-json"] = function(req)
    return { 401, "application/json", '{"code":"' .. credentials(req) .. '","message":"bad '
      .. credentials(req) .. '"}' }
  end,
  ["GET /compute/v1/security-groups/reflect-escaped"] = function(req)
    return { 403, "application/json", '{"code":"x","message":"' .. json_escaped(credentials(req))
      .. '"}' }
  end,
  ["GET /compute/v1/security-groups/reflect-text"] = function(req)
    return { 500, "text/plain", "you sent " .. credentials(req) }
  end,
  ["GET /compute/v1/security-groups/reflect-200"] = function(req)
    return { 200, "text/plain", "you sent " .. credentials(req) }
  end,
  ["GET /compute/v1/security-groups/reflect-headers"] = function(req)
    return { 503, "application/json", '{"message":"busy"}', nil,
      { { "retry-after", credentials(req) }, { "x-echo", credentials(req) } } }
  end,
  ["GET /compute/v1/security-groups/many-big-headers"] = function()
    local extra = {}
    for i = 1, 100 do extra[i] = { "x-filler-" .. i, string.rep("f", 1000) } end
    return { 200, "application/json", SG, nil, extra }
  end,
  ["GET /compute/v1/security-groups/huge-header"] = function()
    return { 200, "application/json", SG, nil, { ["x-huge"] = string.rep("h", 10 * 1024 * 1024) } }
  end,
}

local server = assert(http_server.listen{
  host = "127.0.0.1",
  port = 0,
  onstream = function(_, stream)
    local req = assert(stream:get_headers())
    stream:get_body_as_string(5)
    local key = req:get(":method") .. " " .. req:get(":path")
    local route = routes[key] or walk_route(req:get(":method"), req:get(":path"))
      or { 404, "application/json", '{"code":"1","message":"no canned route"}' }
    if key == "GET /compute/v1/security-groups/echo-headers" then
      -- The request headers the specs look at, sent back as the group.
      local function quoted(name) return string.format("%q", req:get(name) or "") end
      route = { 200, "application/json", '{"security_group":{"id":"echo","user_agent":'
        .. quoted("user-agent") .. ',"accept_encoding":' .. quoted("accept-encoding")
        .. ',"accept":' .. quoted("accept") .. "}}" }
    end
    if dynamic[key] then route = dynamic[key](req) end
    if route[4] then cqueues.sleep(route[4]) end
    local headers = http_headers.new()
    headers:append(":status", tostring(route[1]))
    headers:append("content-type", route[2])
    local extra = route[5] or {}
    if extra[1] then
      for _, pair in ipairs(extra) do headers:append(pair[1], pair[2]) end
    else
      for name, value in pairs(extra) do headers:append(name, value) end
    end
    stream:write_headers(headers, route[3] == "")
    if route[3] ~= "" then stream:write_chunk(route[3], true) end
  end,
})
assert(server:listen())
local _, host, port = server:localname()
io.stdout:write(("http://%s:%d\n"):format(host, port))
io.stdout:flush()
assert(server:loop())
