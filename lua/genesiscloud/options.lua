--- The options of `genesiscloud.new`, as one table of rows: each option's
-- type, range, default, environment variable, command-line flag, one-line
-- doc and the field the C core receives. `resolve` checks and defaults from
-- the rows, the CLI builds its flags and help from them, and a default is
-- written nowhere else. Every check returns a message naming the option and
-- the value, and an unknown option name is an error, so a typo is never
-- silently ignored.
-- @module genesiscloud.options

local options = {}

-- Lua 5.1 and 5.2 have no integer subtype: there a whole number is already
-- what the core reads.
local tointeger = math.tointeger or function(x)
  if type(x) == "number" and x % 1 == 0 then return x end
end

-- The C core is loaded when a check or a default needs it, not with this
-- module: the CLI builds its help from the rows, and the emulator borrows
-- `unknown_message`, without it.
local function core()
  return require "genesiscloud.core"
end

local function nonempty_string(subject, v)
  if type(v) ~= "string" or v == "" then
    return subject .. " must be a non-empty string"
  end
end

local function check_token(_, v)
  if v == nil or v == "" then
    return "no token: pass the 'token' option or set GENESISCLOUD_TOKEN"
  end
  if type(v) ~= "string" then return "option 'token' must be a string" end
  if v:find("[%c]") then return "the token contains control characters (CR, LF, ...)" end
end

local function check_endpoint(subject, v)
  local err = nonempty_string(subject, v)
  if err then return err end
  if not v:match("^https?://[^/%s]+") or v:find("[%c%s]") then
    return subject .. " must be an http:// or https:// URL, got " .. v
  end
  -- What libcurl will read, by libcurl's own parser: a '?' or '#' would
  -- swallow every path appended, and user information is a credential
  -- (not repeated here) that would show wherever the endpoint does.
  if v:find("?", 1, true) then
    return subject .. " must not have a query (?...), got " .. v
  elseif v:find("#", 1, true) then
    return subject .. " must not have a fragment (#...), got " .. v
  end
  local url, why = core().parse_url(v)
  if not url then
    return subject .. " is not a URL libcurl can use (" .. why .. ")"
  elseif url.user or url.password or url.options then
    return subject .. " must not hold user information (user:password@):"
      .. " give the token with the 'token' option"
  end
end

local function check_user_agent(subject, v)
  local err = nonempty_string(subject, v)
  if err then return err end
  if v:find("[%c]") then return subject .. " contains control characters" end
end

local function check_cafile(subject, v)
  local err = nonempty_string(subject, v)
  if err then return err end
  local f = io.open(v, "r")
  if not f then return subject .. ": cannot read " .. v end
  f:close()
end

local function default_user_agent()
  local c = core()
  return "lua-genesiscloud/" .. c._VERSION .. " libcurl/" .. c.curl_version .. " "
    .. _VERSION:gsub(" ", "/")
end

local function upper_method(v)
  if type(v) == "string" and v ~= "auto" then return v:upper() end
  return v
end

--- The rows, in the order they are checked (so the first message for a
-- table with several mistakes is always the same one). Fields: `name`;
-- `type` (as the reference writes it); `min`, `max` (inclusive) and `what`
-- (the unit a user writes: "seconds", "bytes") for numbers; `one_of`;
-- `default`, or `default_of` (a function computing it) with `default_doc`;
-- `env` (read when the option is not given); `required`; `check` (replaces
-- the check by type); `normalize`; `cli` (flag names, as argparse takes
-- them) with `arg` (the value's name in --help); `doc` (one line); `core`
-- (the field the C core reads) and `unit` (its unit there: "ms", "bytes").
options.schema = {
  { name = "token", type = "string", required = true, env = "GENESISCLOUD_TOKEN", core = "token",
    check = check_token, doc = "API token." },
  { name = "endpoint", type = "string", default = "https://api.genesiscloud.com/compute/v1",
    env = "GENESISCLOUD_ENDPOINT", check = check_endpoint, core = "endpoint",
    cli = "--endpoint", arg = "URL", doc = "API base URL." },
  { name = "timeout", type = "number", what = "seconds", min = 0.001, max = 86400, default = 30,
    core = "timeout_ms", unit = "ms", cli = "--timeout", arg = "S",
    doc = "Seconds allowed for each request." },
  { name = "connect_timeout", type = "number", what = "seconds", min = 0.001, max = 86400,
    default = 10, core = "connect_timeout_ms", unit = "ms", cli = "--connect-timeout", arg = "S",
    doc = "Seconds allowed to connect." },
  { name = "user_agent", type = "string", default_of = default_user_agent,
    default_doc = "lua-genesiscloud/<version> libcurl/<version> Lua/<version>",
    check = check_user_agent, core = "user_agent", doc = "The User-Agent header." },
  { name = "auth", type = "string", one_of = { "x-auth-token", "bearer" }, default = "x-auth-token",
    core = "auth", doc = "How the token is sent: X-Auth-Token or Authorization: Bearer." },
  { name = "update_method", type = "string", one_of = { "auto", "PUT", "PATCH" }, default = "auto",
    normalize = upper_method, doc = "PUT, PATCH, or auto (PUT, PATCH after a 405)." },
  { name = "max_response_bytes", type = "integer", what = "bytes", min = 1, max = 2^30,
    default = 16 * 1024 * 1024, core = "max_response_bytes", unit = "bytes",
    cli = "--max-response-bytes", arg = "N", doc = "Bytes an answer may have at most (more: too_large)." },
  { name = "allow_insecure_http", type = "boolean", default = false, core = "allow_insecure_http",
    doc = "Allow a plain http:// endpoint that is not loopback." },
  { name = "cafile", type = "string", check = check_cafile, core = "cafile",
    cli = "--cafile", arg = "FILE", doc = "CA bundle to verify the server with." },
  { name = "capath", type = "string", check = nonempty_string, core = "capath",
    cli = "--capath", arg = "DIR", doc = "Directory of CA certificates." },
  { name = "max_retries", type = "integer", min = 0, max = 100, default = 4,
    cli = "--retries --max-retries", arg = "N",
    doc = "Retries of a failed request that is safe to repeat." },
  { name = "retry_base", type = "number", what = "seconds", min = 0, max = 3600, default = 0.5,
    doc = "First backoff ceiling, doubled per attempt." },
  { name = "retry_max_wait", type = "number", what = "seconds", min = 0, max = 86400, default = 30,
    doc = "Longest single wait between attempts." },
  { name = "deadline", type = "number", what = "seconds", min = 0.001, max = 86400,
    cli = "--deadline", arg = "S", doc = "Seconds for one call including its retries." },
  { name = "debug", type = "boolean|function", default = false, cli = "--debug",
    doc = "One line per request on stderr (never the token)." },
  -- Clock and randomness, replaceable so tests run retries instantly and
  -- exactly: now() monotonic seconds, wall_clock() epoch seconds,
  -- sleep(seconds), random() in [0, 1).
  { name = "now", type = "function", default_of = function() return core().now end,
    default_doc = "core.now", doc = "Monotonic seconds." },
  { name = "wall_clock", type = "function", default_of = function() return os.time end,
    default_doc = "os.time", doc = "Epoch seconds, for Retry-After dates." },
  { name = "sleep", type = "function", default_of = function() return core().sleep end,
    default_doc = "core.sleep", doc = "sleep(seconds) between attempts." },
  { name = "random", type = "function", default_of = function() return math.random end,
    default_doc = "math.random", doc = "Jitter source in [0, 1)." },
  -- An event-loop adapter: genesiscloud.loop.luv / .cqueues, or a host's own.
  { name = "loop", type = "adapter", check = function(subject, v)
      local message = require("genesiscloud.loop.driver").check_host(v)
      return message and (message:gsub("^option 'loop'", subject))
    end,
    doc = "Event-loop adapter: calls made in a coroutine yield to it (docs/event-loop.md)." },
  -- "raise": client methods raise the error object instead of returning nil, err
  { name = "errors", type = "string", one_of = { "return", "raise" }, default = "return",
    doc = "return nil, err, or raise the error object." },
}

local by_name = {}
for _, row in ipairs(options.schema) do by_name[row.name] = row end

--- The row of option `name`, or nil.
function options.row(name)
  return by_name[name]
end

--- The default of a row: its `default`, or what `default_of` computes.
function options.default(row)
  if row.default_of then return row.default_of() end
  return row.default
end

--- A number as a message writes it: 2^30 rather than 1073741824.
function options.number_text(n)
  local whole = tointeger(n)
  if whole and whole >= 2^20 then
    local log = math.floor(math.log(whole) / math.log(2) + 0.5) -- 5.1's log has no base
    if 2^log == whole then return ("2^%d"):format(log) end
  end
  return tostring(whole or n)
end

--- What a number row accepts, for messages and --help: "a whole number
-- of bytes from 1 to 2^30".
function options.range_text(row)
  local text = row.type == "integer" and "a whole number" or "a number"
  if row.what then text = text .. " of " .. row.what end
  return text .. " from " .. options.number_text(row.min) .. " to " .. options.number_text(row.max)
end

local function check_by_type(row, v, subject, shown)
  local kind = row.type
  if kind == "number" or kind == "integer" then
    if type(v) ~= "number" or not (v >= row.min and v <= row.max)
        or (kind == "integer" and v % 1 ~= 0) then
      return subject .. " must be " .. options.range_text(row) .. ", got " .. (shown or tostring(v))
    end
  elseif row.one_of then
    for _, allowed in ipairs(row.one_of) do
      if v == allowed then return end
    end
    return subject .. " must be one of " .. table.concat(row.one_of, ", ") .. ", got "
      .. (shown or tostring(v))
  elseif kind == "boolean" then
    if type(v) ~= "boolean" then return subject .. " must be true or false" end
  elseif kind == "boolean|function" then
    if type(v) ~= "boolean" and type(v) ~= "function" then
      return subject .. " must be true, false or a function"
    end
  elseif kind == "function" then
    if type(v) ~= "function" then return subject .. " must be a function" end
  else
    return nonempty_string(subject, v)
  end
end

--- Checks one value against its row. `subject` names it in the message
-- (default "option 'NAME'"; the CLI passes its flag), `shown` is how the
-- value is written there (default tostring). -> message, or nil when fine
function options.check(row, value, subject, shown)
  subject = subject or ("option '" .. row.name .. "'")
  if row.check then return row.check(subject, value) end
  return check_by_type(row, value, subject, shown)
end

-- Seconds to the whole milliseconds libcurl takes, rounded up and never 0:
-- 0 ms is "no timeout at all" to libcurl, so 0.0004 s must not become 0.
local function to_ms(seconds)
  local ms = seconds * 1000
  local whole = math.floor(ms)
  if whole < ms then whole = whole + 1 end
  return tointeger(math.max(whole, 1))
end

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

-- `candidates`: the names to suggest from (a set), the options of `new` by default.
local function suggestion(name, candidates)
  local best, best_d
  for known in pairs(candidates or by_name) do
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
  local url = core().parse_url(endpoint)
  local host = url and url.host and url.host:lower()
  if host == "localhost" or host == "[::1]" then return true end
  local a, b, c, d = (host or ""):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a == "127" and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255
end

-- The value of one row: given, else from the environment, else the default.
local function value_of(row, opts, getenv)
  local value = opts[row.name]
  if value == nil and row.env then value = getenv(row.env) end
  if value == nil then value = options.default(row) end
  if row.normalize then value = row.normalize(value) end
  return value
end

-- Adds what the C core reads, in its units (the value is checked already).
local function add_core_field(resolved, row, value)
  if row.unit == "ms" then
    resolved[row.core] = to_ms(value)
  elseif row.unit == "bytes" then
    resolved[row.core] = tointeger(value)
  end
end

--- Fills in the defaults and checks every option, in the order of the
-- rows. The result also holds the fields the C core reads, in its units:
-- `timeout_ms`, `connect_timeout_ms` (whole ms, rounded up) and
-- `max_response_bytes`.
-- @param opts the table given to `new` (may be nil)
-- @param getenv function used to read the environment (os.getenv)
-- @return the complete option table, or `nil, message`
function options.resolve(opts, getenv)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 3)
  end
  opts = opts or {}
  for name in pairs(opts) do
    if type(name) ~= "string" or not by_name[name] then
      return nil, "unknown option '" .. tostring(name) .. "'" .. suggestion(tostring(name))
    end
  end
  local resolved = {}
  for _, row in ipairs(options.schema) do
    local value = value_of(row, opts, getenv)
    resolved[row.name] = value
    if value ~= nil or row.required then
      local err = options.check(row, value)
      if err then return nil, err end
      add_core_field(resolved, row, value)
    end
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
