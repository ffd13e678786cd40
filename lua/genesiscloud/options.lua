--- The options of `genesiscloud.new`: their defaults and their checks.
-- Every check returns a message naming the option and the value, and an
-- unknown option name is an error, so a typo is never silently ignored.
-- @module genesiscloud.options
local core = require "genesiscloud.core"

local options = {}

options.DEFAULT_ENDPOINT = "https://api.genesiscloud.com/compute/v1"

-- Below a millisecond libcurl has no bound to set: 0 ms means "never".
local function positive_seconds(name, v)
  if type(v) ~= "number" or not (v >= 0.001 and v <= 86400) then
    return "option '" .. name .. "' must be a number of seconds from 0.001 to 86400, got "
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

-- name -> check(name, value) returning an error message or nil; the
-- string "function" for options that take a function.
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
    -- What libcurl will read, by libcurl's own parser: a '?' or '#' would
    -- swallow every path appended, and user information is a credential
    -- (not repeated here) that would show wherever the endpoint does.
    if v:find("?", 1, true) then
      return "option 'endpoint' must not have a query (?...), got " .. v
    elseif v:find("#", 1, true) then
      return "option 'endpoint' must not have a fragment (#...), got " .. v
    end
    local url, why = core.parse_url(v)
    if not url then
      return "option 'endpoint' is not a URL libcurl can use (" .. why .. ")"
    elseif url.user or url.password or url.options then
      return "option 'endpoint' must not hold user information (user:password@):"
        .. " give the token with the 'token' option"
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
  -- "raise": client methods raise the error object instead of returning nil, err
  errors = one_of{ "return", "raise" },
  max_response_bytes = function(name, v)
    if type(v) ~= "number" or v % 1 ~= 0 or v < 1 or v > 2^30 then
      return "option '" .. name .. "' must be a whole number of bytes from 1 to 2^30, got "
        .. tostring(v)
    end
  end,
  max_retries = function(name, v)
    if type(v) ~= "number" or v % 1 ~= 0 or v < 0 or v > 100 then
      return "option '" .. name .. "' must be a whole number from 0 to 100, got " .. tostring(v)
    end
  end,
  retry_base = function(name, v)
    if type(v) ~= "number" or not (v >= 0 and v <= 3600) then
      return "option '" .. name .. "' must be a number of seconds from 0 to 3600, got " .. tostring(v)
    end
  end,
  retry_max_wait = function(name, v)
    if type(v) ~= "number" or not (v >= 0 and v <= 86400) then
      return "option '" .. name .. "' must be a number of seconds from 0 to 86400, got " .. tostring(v)
    end
  end,
  deadline = positive_seconds,
  debug = function(name, v)
    if type(v) ~= "boolean" and type(v) ~= "function" then
      return "option '" .. name .. "' must be true, false or a function"
    end
  end,
  -- Clock and randomness, replaceable so tests run retries instantly and
  -- exactly: now() monotonic seconds, wall_clock() epoch seconds,
  -- sleep(seconds), random() in [0, 1).
  now = "function", wall_clock = "function", sleep = "function", random = "function",
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

-- `candidates`: the names to suggest from (a set), `checks` by default.
local function suggestion(name, candidates)
  local best, best_d
  for known in pairs(candidates or checks) do
    local d = distance(name, known)
    if not best_d or d < best_d or (d == best_d and known < best) then best, best_d = known, d end
  end
  if best_d and best_d <= 3 then return " (did you mean '" .. best .. "'?)" end
  return ""
end

-- Whether libcurl will connect to this machine: the host as libcurl's own
-- parser reads it (IPv4 in any form normalised to a dotted quad, IPv6
-- compressed in brackets, %-escapes decoded) is in 127.0.0.0/8, or ::1, or
-- "localhost" (any case). Not "localhost." (an absolute name that
-- /etc/hosts does not match, so it goes to DNS), not "*.localhost", not
-- ::ffff:127.0.0.1 (mapped IPv4 needs a dual-stack socket to mean loopback).
local function is_loopback(endpoint)
  local url = core.parse_url(endpoint)
  local host = url and url.host and url.host:lower()
  if host == "localhost" or host == "[::1]" then return true end
  local a, b, c, d = (host or ""):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a == "127" and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255
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
    max_retries = opts.max_retries or 4,
    retry_base = opts.retry_base or 0.5,
    retry_max_wait = opts.retry_max_wait or 30,
    deadline = opts.deadline,
    debug = opts.debug or false,
    now = opts.now or core.now,
    wall_clock = opts.wall_clock or os.time,
    sleep = opts.sleep or core.sleep,
    random = opts.random or math.random,
    errors = opts.errors or "return",
  }
  if type(resolved.update_method) == "string" and resolved.update_method ~= "auto" then
    resolved.update_method = resolved.update_method:upper()
  end
  -- Checked in a fixed order so the first message is always the same one.
  for _, name in ipairs{ "token", "endpoint", "timeout", "connect_timeout", "user_agent",
      "auth", "update_method", "max_response_bytes", "allow_insecure_http", "cafile", "capath",
      "max_retries", "retry_base", "retry_max_wait", "deadline", "debug",
      "now", "wall_clock", "sleep", "random", "errors" } do
    local check, value, err = checks[name], resolved[name], nil
    if check == "function" then
      if type(value) ~= "function" then err = "option '" .. name .. "' must be a function" end
    elseif not (value == nil and (name == "cafile" or name == "capath" or name == "deadline")) then
      err = check(name, value)
    end
    if err then return nil, err end
  end
  -- What the C core reads, in its units; rounded up, since libcurl takes
  -- 0 ms for "no timeout". (Interim: the option schema will make these.)
  resolved.timeout_ms = math.ceil(resolved.timeout * 1000)
  resolved.connect_timeout_ms = math.ceil(resolved.connect_timeout * 1000)
  -- The token travels in a header: never send it in clear over a network.
  if resolved.endpoint:match("^http://") and not resolved.allow_insecure_http
      and not is_loopback(resolved.endpoint) then
    return nil, "refusing the plain http:// endpoint " .. resolved.endpoint
      .. ": the token would travel in clear (use https://, a loopback address,"
      .. " or allow_insecure_http = true)"
  end
  return resolved
end

-- Per-call options ---------------------------------------------------------

--- The error for an unknown key of a per-call options table, with the same
-- "did you mean" as `new`.
-- @tparam string fname the public function, e.g. `"security_groups"`
-- @param name the unknown key
-- @tparam table known the accepted keys (a set: name -> true)
-- @treturn string the message
function options.unknown_message(fname, name, known)
  local text = tostring(name)
  return fname .. ": unknown option '" .. text .. "'"
    .. (type(name) == "string" and suggestion(text, known) or "")
end

--- Checks the keys of the options table of one call (`opts` may be nil).
-- @tparam string fname the public function, for the message
-- @param opts the options table or nil
-- @tparam table known the accepted keys (a set: name -> true)
-- @return `true`, or `nil, err` (an error object, kind `"usage"`)
function options.check_keys(fname, opts, known)
  if opts == nil then return true end
  -- Sorted, so that the same table always gives the same message.
  local unknown
  for k in pairs(opts) do
    if not known[k] and (unknown == nil or tostring(k) < tostring(unknown)) then unknown = k end
  end
  if unknown == nil then return true end
  local errors = require "genesiscloud.errors"
  return nil, errors.new{ kind = "usage", option = tostring(unknown),
    message = options.unknown_message(fname, unknown, known) }
end

--- A set from a list of names, for `check_keys`.
function options.set(list)
  local set = {}
  for _, name in ipairs(list) do set[name] = true end
  return set
end

return options
