-- Table-driven routing for the emulator: a route is a path pattern such as
-- "/security-groups/{id}" and a table of handlers keyed by HTTP method.
-- Matching works on the raw (percent-encoded) path split at "/", and each
-- segment is decoded afterwards, so an id containing "%2F" stays one segment.

local router = {}

function router.decode(s)
  return (s:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

-- "/a/b?x=1" -> "/a/b", "x=1" (query nil when there is no "?").
function router.split_target(target)
  local path, query = target:match("^([^?]*)%?(.*)$")
  if path then return path, query end
  return target, nil
end

-- "a=1&b=x+y" -> { a = "1", b = "x y" }; the last of repeated names wins.
function router.parse_query(query)
  local t = {}
  if not query then return t end
  for pair in query:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=?(.*)$")
    name = router.decode((name:gsub("%+", " ")))
    if name ~= "" then
      t[name] = router.decode((value:gsub("%+", " ")))
    end
  end
  return t
end

-- "/a/b%20c" -> { "a", "b%20c" } (raw); "" and "/" give an empty list.
local function split(path)
  local segments = {}
  for segment in (path .. "/"):gmatch("([^/]*)/") do
    segments[#segments + 1] = segment
  end
  -- the leading "/" yields an empty first segment: drop it
  if segments[1] == "" then table.remove(segments, 1) end
  -- a path of "/" alone leaves one empty segment
  if #segments == 1 and segments[1] == "" then segments[1] = nil end
  return segments
end
router.split = split

local Router = {}
Router.__index = Router

-- routes: array of { pattern = "/things/{id}", methods = { GET = fn, ... } }
function router.new(routes)
  local compiled = {}
  for i, route in ipairs(routes) do
    local parts = {}
    for j, segment in ipairs(split(route.pattern)) do
      local param = segment:match("^{([%w_]+)}$")
      parts[j] = param and { param = param } or { literal = segment }
    end
    local allow = {}
    for method in pairs(route.methods) do allow[#allow + 1] = method end
    table.sort(allow)
    compiled[i] = { parts = parts, methods = route.methods, allow = table.concat(allow, ", "), route = route }
  end
  return setmetatable({ routes = compiled }, Router)
end

local function match_parts(parts, segments)
  if #parts ~= #segments then return nil end
  local params = {}
  for i, part in ipairs(parts) do
    local segment = segments[i]
    if part.literal then
      if router.decode(segment) ~= part.literal then return nil end
    else
      local value = router.decode(segment)
      if value == "" then return nil end -- "/things/" is not "/things/{id}"
      params[part.param] = value
    end
  end
  return params
end

-- Returns handler, params, route on a match; nil, "no_route" when no pattern
-- fits; nil, "method", allow_header when the path fits but the method not.
function Router:match(method, path)
  local segments = split(path)
  for _, c in ipairs(self.routes) do
    local params = match_parts(c.parts, segments)
    if params then
      local handler = c.methods[method]
      if handler then return handler, params, c.route end
      return nil, "method", c.allow
    end
  end
  return nil, "no_route"
end

return router
