--- The options of `genesiscloud.new`: their defaults and their checks.
-- Every check returns a message naming the option and the value, and an
-- unknown option name is an error, so a typo is never silently ignored.
-- @module genesiscloud.options
local core = require "genesiscloud.core"

local options = {}

options.DEFAULT_ENDPOINT = "https://api.genesiscloud.com/compute/v1"

local function positive_seconds(name, v)
  if type(v) ~= "number" or not (v > 0 and v <= 86400) then
    return "option '" .. name .. "' must be a number of seconds between 0 and 86400, got "
      .. tostring(v)
  end
end

local function one_of(allowed)
  return function(name, v)
    for _, a in ipairs(allowed) do
      if v == a then return end
    end
    return "option '" .. name .. "' must be one of " .. table.concat(allowed, ", ")
      .. ", got " .. tostring(v)
  end
end

local function nonempty_string(name, v)
  if type(v) ~= "string" or v == "" then
    return "option '" .. name .. "' must be a non-empty string"
  end
end

-- name -> check(name, value) returning an error message or nil.
local checks = {
  token = function(name, v)
    if v == nil or v == "" then
      return "no token: pass the 'token' option or set GENESISCLOUD_TOKEN"
    end
    if type(v) ~= "string" then return "option '" .. name .. "' must be a string" end
    if v:find("[%c]") then return "the token contains control characters (CR, LF, ...)" end
  end,
  endpoint = function(name, v)
    local err = nonempty_string(name, v)
    if err then return err end
    if not v:match("^https?://[^/%s]+") or v:find("[%c%s]") then
      return "option 'endpoint' must be an http:// or https:// URL, got " .. v
    end
  end,
  timeout = positive_seconds,
  connect_timeout = positive_seconds,
  user_agent = function(name, v)
    local err = nonempty_string(name, v)
    if err then return err end
    if v:find("[%c]") then return "option 'user_agent' contains control characters" end
  end,
  auth = one_of{ "x-auth-token", "bearer" },
  update_method = one_of{ "auto", "PUT", "PATCH" },
  max_response_bytes = function(name, v)
    if type(v) ~= "number" or v % 1 ~= 0 or v < 1 or v > 2^30 then
      return "option '" .. name .. "' must be a whole number of bytes from 1 to 2^30, got "
        .. tostring(v)
    end
  end,
  cafile = function(name, v)
    local err = nonempty_string(name, v)
    if err then return err end
    local f = io.open(v, "r")
    if not f then return "option 'cafile': cannot read " .. v end
    f:close()
  end,
  capath = nonempty_string,
  allow_insecure_http = function(name, v)
    if type(v) ~= "boolean" then return "option '" .. name .. "' must be true or false" end
  end,
}

-- Levenshtein distance, to suggest the option a typo meant.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggestion(name)
  local best, best_d
  for known in pairs(checks) do
    local d = distance(name, known)
    if not best_d or d < best_d or (d == best_d and known < best) then best, best_d = known, d end
  end
  if best_d and best_d <= 3 then return " (did you mean '" .. best .. "'?)" end
  return ""
end

local LOOPBACK = { ["127.0.0.1"] = true, ["localhost"] = true, ["[::1]"] = true }

local function is_loopback(endpoint)
  local host = endpoint:match("^https?://([^/]+)")
  host = host and host:gsub("^.*@", "")
  host = host and (host:match("^(%b[])") or host:gsub(":%d+$", ""))
  return host ~= nil and (LOOPBACK[host:lower()] or host:match("^127%.%d+%.%d+%.%d+$") ~= nil)
end

--- Fills in the defaults and checks every option.
-- @param opts the table given to `new` (may be nil)
-- @param getenv function used to read the environment (os.getenv)
-- @return the complete option table, or `nil, message`
function options.resolve(opts, getenv)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 3)
  end
  opts = opts or {}
  for name in pairs(opts) do
    if type(name) ~= "string" or not checks[name] then
      return nil, "unknown option '" .. tostring(name) .. "'" .. suggestion(tostring(name))
    end
  end
  local resolved = {
    token = opts.token or getenv("GENESISCLOUD_TOKEN"),
    endpoint = opts.endpoint or getenv("GENESISCLOUD_ENDPOINT") or options.DEFAULT_ENDPOINT,
    timeout = opts.timeout or 30,
    connect_timeout = opts.connect_timeout or 10,
    user_agent = opts.user_agent or ("lua-genesiscloud/" .. core._VERSION
      .. " libcurl/" .. core.curl_version .. " " .. _VERSION:gsub(" ", "/")),
    auth = opts.auth or "x-auth-token",
    update_method = opts.update_method or "auto",
    max_response_bytes = opts.max_response_bytes or 16 * 1024 * 1024,
    allow_insecure_http = opts.allow_insecure_http or false,
    cafile = opts.cafile,
    capath = opts.capath,
  }
  if type(resolved.update_method) == "string" and resolved.update_method ~= "auto" then
    resolved.update_method = resolved.update_method:upper()
  end
  -- Checked in a fixed order so the first message is always the same one.
  for _, name in ipairs{ "token", "endpoint", "timeout", "connect_timeout", "user_agent",
      "auth", "update_method", "max_response_bytes", "allow_insecure_http", "cafile", "capath" } do
    local optional = name == "cafile" or name == "capath"
    local err = not (optional and resolved[name] == nil) and checks[name](name, resolved[name])
    if err then return nil, err end
  end
  -- The token travels in a header: never send it in clear over a network.
  if resolved.endpoint:match("^http://") and not resolved.allow_insecure_http
      and not is_loopback(resolved.endpoint) then
    return nil, "refusing the plain http:// endpoint " .. resolved.endpoint
      .. ": the token would travel in clear (use https://, a loopback address,"
      .. " or allow_insecure_http = true)"
  end
  return resolved
end

return options
