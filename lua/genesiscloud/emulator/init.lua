--- A local, in-memory emulator of the Genesis Cloud compute API: security
-- groups, SSH keys, images and availability.
--
--   local emulator = require "genesiscloud.emulator"
--   local emu = assert(emulator.start{ token = "t", create_delay = 0 })
--   -- point a client at emu.endpoint with emu.token ...
--   emu:stop()
--
-- `start` runs bin/genesiscloud-emulator as a child process (the client is
-- blocking, the server must run on its own) and talks to its control routes
-- with lua-http's client, so this module does not need the C core.
-- See docs/emulator.md.
-- @module genesiscloud.emulator

local emulator = { _VERSION = "0.1.0" }

-- The project's one place that adds a Debian system tree: Debian 12
-- installs lua-http (with its basexx and fifo) for Lua 5.1-5.3 only, and its
-- files work on 5.4 too. Added to package.path only when lua-http is not
-- found otherwise (a rock tree or a LUA_PATH that has it wins).
local function require_http(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if not package.path:find("/usr/share/lua/5.1/", 1, true) then
    package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
    ok, mod = pcall(require, name)
    if ok then return mod end
  end
  return nil, mod
end

local cjson = require("cjson.safe").new()

-- This launcher runs in the caller's Lua (5.1 to 5.4, LuaJIT); the server
-- it starts always runs on lua5.4. Before 5.3 there are no integers: a
-- whole number counts as one.
local math_type = math.type or function(x)
  if type(x) ~= "number" then return nil end
  return (x == math.floor(x) and x > -2^53 and x < 2^53) and "integer" or "float"
end
local tointeger = math.tointeger or function(x) return x end

local DEFAULT_TIMEOUT = 5
local OPTIONS = { "host", "port", "token", "create_delay", "update_delay", "delete_delay", "put_405", "seed",
  "tls_cert", "tls_key", "request_timeout", "transitions", "api_version" }
-- Fault settings, checked by the server's own rules (app.check_config),
-- and how each becomes a command-line flag.
local FAULT_FLAGS = {
  { "latency", "--latency" }, { "fault_rate", "--fault-rate" }, { "faults", "--faults" },
  { "fault_status", "--fault-status" }, { "retry_after", "--retry-after" },
  { "stall_seconds", "--stall-seconds" }, { "oversize_bytes", "--oversize-bytes" },
  { "fault_seed", "--fault-seed" }, { "fault_methods", "--fault-methods" },
  { "hostile_shapes", "--hostile-shapes" },
}
for _, f in ipairs(FAULT_FLAGS) do OPTIONS[#OPTIONS + 1] = f[1] end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

-- The server program, found from where this file was loaded, so that it
-- needs no PATH: returns its path and whether it is run as it is (true) or
-- given to a Lua interpreter (false).
--  * a checkout: <checkout>/lua/genesiscloud/emulator/init.lua -> the Lua
--    script <checkout>/bin/genesiscloud-emulator;
--  * a LuaRocks tree: <tree>/share/lua/5.x/genesiscloud/emulator/init.lua ->
--    <tree>/bin/genesiscloud-emulator, the wrapper LuaRocks wrote, which
--    sets the tree's paths and runs the tree's Lua;
--  * else `genesiscloud-emulator` on PATH.
local function find_script()
  local source = debug.getinfo(1, "S").source
  local dir = source:match("^@(.-)/?genesiscloud/emulator/init%.lua$")
  if dir then
    local candidate = (dir ~= "" and dir or ".") .. "/../bin/genesiscloud-emulator"
    if file_exists(candidate) then return candidate, false end
    local tree = dir:match("^(.*)/share/lua/[^/]+$")
    candidate = tree and tree .. "/bin/genesiscloud-emulator"
    if candidate and file_exists(candidate) then return candidate, true end
  end
  return "genesiscloud-emulator", true
end

-- Turns cjson's output into plain Lua: null -> absent, 5.0 -> 5.
local function clean(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == cjson.null then
      v[k] = nil
    elseif type(x) == "number" then
      v[k] = tointeger(x) or x
    else
      clean(x)
    end
  end
  return v
end

--- The handle `start` returns: `endpoint`, `token`, `url`, `pid` and the
-- methods below.
-- @type handle
local Handle = {}
Handle.__index = Handle

-- One control call: returns status, decoded body (or nil), or nil, message.
function Handle:_call(method, path, body)
  local request, err = require_http("http.request")
  if not request then return nil, "lua-http is not available: " .. tostring(err) end
  local req = request.new_from_uri(self.control_url .. path)
  req.headers:upsert(":method", method)
  if body ~= nil then
    local text = assert(cjson.encode(body))
    req.headers:upsert("content-type", "application/json")
    req:set_body(text)
  end
  local headers, stream = req:go(self.timeout)
  if not headers then
    return nil, method .. " " .. path .. ": " .. tostring(stream)
  end
  local text, berr = stream:get_body_as_string(self.timeout)
  stream:shutdown()
  if not text then return nil, method .. " " .. path .. ": " .. tostring(berr) end
  local status = tonumber(headers:get(":status"))
  local decoded
  if text ~= "" then
    decoded = cjson.decode(text)
    if decoded == nil then return nil, method .. " " .. path .. ": response is not JSON" end
    clean(decoded)
  end
  return status, decoded
end

-- Calls a control route and checks the status; returns the body or nil, message.
function Handle:_control(method, path, body, want)
  if self.stopped then return nil, "emulator is stopped" end
  local status, decoded = self:_call(method, path, body)
  if not status then return nil, decoded end
  if status ~= want then
    local message = type(decoded) == "table" and decoded.message or "no message"
    return nil, method .. " " .. path .. ": HTTP " .. status .. ": " .. tostring(message)
  end
  return decoded or true
end

--- Request log: an array of `{ method, path, raw_path, query, body, auth, status, applied, fault }`.
function Handle:requests()
  local body, err = self:_control("GET", "/_emulator/requests", nil, 200)
  if not body then return nil, err end
  return body.requests
end

function Handle:clear_requests()
  return self:_control("DELETE", "/_emulator/requests", nil, 204)
end

--- Drops every record (groups, SSH keys) and the request log (settings
-- and the seeded catalogs stay).
function Handle:reset()
  return self:_control("POST", "/_emulator/reset", nil, 204)
end

--- Changes `create_delay`, `update_delay`, `delete_delay`, `put_405` (true,
-- or a list of kinds such as `{ "ssh_keys" }`), `transitions` (per kind and
-- step: `{ security_groups = { create = { reads = 2 } } }`; `false` clears
-- a step) and the fault settings (`latency`, `fault_rate`, `faults`,
-- `fault_status`, `retry_after`, `stall_seconds`, `oversize_bytes`,
-- `fault_seed`, `fault_methods`, `hostile_shapes`) at runtime.
-- Returns the whole configuration.
function Handle:configure(settings)
  if type(settings) ~= "table" then return nil, "configure expects a table" end
  local body, err = self:_control("POST", "/_emulator/config", settings, 200)
  if not body then return nil, err end
  return body.config
end

-- For `kind` (a registry name) if it keeps records (it has a create
-- operation): the path of its status route and the key of the object the
-- route answers, its get operation's envelope (nil: bare). Both from the
-- client's definition, like the server's.
local function stored_kind(kind)
  local def = require("genesiscloud.resources")[kind]
  if not (def and def.operations.create) then return nil end
  local get = require("genesiscloud.service.operation").compile(def).get
  return { path = def.path, envelope = get and get.envelope }
end

--- Forces a record's status (such as `"error"`) until its next write.
-- `kind` is the resource's registry name, `"security_groups"` by default
-- (SSH keys have no status: that is an error). Returns the object as the
-- API shows it.
function Handle:set_status(id, status, kind)
  if type(id) ~= "string" then return nil, "id must be a string" end
  local k = stored_kind(kind or "security_groups")
  if not k then return nil, "set_status: unknown kind '" .. tostring(kind) .. "'" end
  local escaped = id:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)
  local path = "/_emulator" .. k.path .. "/" .. escaped .. "/status"
  local body, err = self:_control("POST", path, { status = status }, 200)
  if not body then return nil, err end
  if k.envelope then return body[k.envelope] end
  return body
end

-- Is the child still running (and not a zombie)?
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local s = f:read("*a") or ""
  f:close()
  local st = s:match("%)%s+(%S)")
  return st ~= nil and st ~= "Z"
end

local function kill_and_wait(pid)
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  local deadline = os.time() + 3
  while alive(pid) and os.time() <= deadline do
    os.execute("sleep 0.05")
  end
  if alive(pid) then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
end

--- Stops the server; safe to call more than once. Returns true, or nil and
-- a message if the server did not shut down when asked (it is killed then).
function Handle:stop()
  if self.stopped then return true end
  local ok, err = self:_control("POST", "/_emulator/shutdown", nil, 202)
  self.stopped = true
  if not ok and self.pid then kill_and_wait(self.pid) end
  -- closing the pipe waits for the process to exit
  if self.pipe then
    self.pipe:close()
    self.pipe = nil
  end
  if not ok then return nil, err end
  return true
end

-- A forgotten handle must not hang the test run: closing a popen pipe waits
-- for the child, and the child only exits when asked, so ask with a signal.
Handle.__gc = function(self)
  if not self.stopped and self.pid then
    self.stopped = true
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  end
end
Handle.__close = function(self) self:stop() end

-- Options the launcher itself takes, besides the server's settings.
local LAUNCHER_OPTIONS = { lua = true, script = true, timeout = true, stderr = true }

local function check_known(opts)
  local known = {}
  for k in pairs(LAUNCHER_OPTIONS) do known[k] = true end
  for _, k in ipairs(OPTIONS) do known[k] = true end
  for k in pairs(opts) do
    if not known[k] then
      -- The same "did you mean" as genesiscloud.new; options.lua needs the
      -- C core, which an emulator installed on its own may lack.
      local ok, options = pcall(require, "genesiscloud.options")
      if ok then return nil, options.unknown_message("emulator.start", k, known) end
      return nil, "emulator.start: unknown option '" .. tostring(k) .. "'"
    end
  end
  return true
end

-- The settings checked by the server's own rules (app.check_config). They
-- need Lua 5.3+ (64-bit integer operators); on older Lua the server checks
-- them and refuses to start.
local function check_server_settings(opts)
  local app = math.type and require "genesiscloud.emulator.app"
  if not app then return true end
  local keys = { "transitions" }
  if type(opts.put_405) == "table" then keys[#keys + 1] = "put_405" end
  for _, f in ipairs(FAULT_FLAGS) do keys[#keys + 1] = f[1] end
  for _, key in ipairs(keys) do
    if opts[key] ~= nil then
      local v, err = app.check_config(key, opts[key])
      if v == nil then return nil, err end
    end
  end
  return true
end

local function check_files(opts)
  if (opts.tls_cert == nil) ~= (opts.tls_key == nil) then
    return nil, "tls_cert and tls_key must be given together"
  end
  for _, k in ipairs{ "tls_cert", "tls_key" } do
    if opts[k] ~= nil then
      if type(opts[k]) ~= "string" or opts[k] == "" then return nil, k .. " must be a file name" end
      if not file_exists(opts[k]) then return nil, k .. ": cannot read " .. opts[k] end
    end
  end
  return true
end

local function check_values(opts)
  for _, k in ipairs{ "create_delay", "update_delay", "delete_delay", "timeout" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 0 or v ~= v) then
      return nil, k .. " must be a number >= 0"
    end
  end
  local rt = opts.request_timeout
  if rt ~= nil and (type(rt) ~= "number" or not (rt > 0 and rt <= 86400)) then
    return nil, "request_timeout must be a number of seconds, more than 0 and at most 86400"
  end
  if opts.token ~= nil and (type(opts.token) ~= "string" or opts.token == "") then
    return nil, "token must be a non-empty string"
  end
  if opts.put_405 ~= nil and type(opts.put_405) ~= "boolean" and type(opts.put_405) ~= "table" then
    return nil, "put_405 must be a boolean or a list of kinds"
  end
  -- the same list as api_version.lua's, which needs Lua 5.3
  local v = opts.api_version
  if v ~= nil and v ~= "any" and v ~= "2023-07" and v ~= "current" then
    return nil, "api_version must be one of any, 2023-07, current"
  end
  for _, k in ipairs{ "lua", "script", "stderr", "host" } do
    if opts[k] ~= nil and (type(opts[k]) ~= "string" or opts[k] == "") then
      return nil, k .. " must be a non-empty string"
    end
  end
  if opts.seed ~= nil and math_type(opts.seed) ~= "integer" then
    return nil, "seed must be an integer"
  end
  if opts.port ~= nil and (math_type(opts.port) ~= "integer" or opts.port < 0 or opts.port > 65535) then
    return nil, "port must be an integer 0..65535"
  end
  return true
end

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then return nil, "options must be a table" end
  for _, check in ipairs{ check_known, check_server_settings, check_files, check_values } do
    local ok, err = check(opts)
    if not ok then return nil, err end
  end
  return opts
end

-- `transitions = { security_groups = { create = { reads = 2 } } }` as
-- `--transition security_groups.create=reads:2` flags, in a stable order.
local function transition_flags(transitions)
  local out = {}
  for plural, steps in pairs(transitions or {}) do
    for step, p in pairs(steps) do
      local spec
      if p == "immediate" then
        spec = "immediate"
      elseif type(p) == "table" and p.reads ~= nil then
        spec = "reads:" .. tostring(p.reads)
      elseif type(p) == "table" and p.seconds ~= nil then
        spec = "seconds:" .. tostring(p.seconds)
      end
      if spec then out[#out + 1] = plural .. "." .. step .. "=" .. spec end
    end
  end
  table.sort(out)
  return out
end

-- The server's command line (a shell command) for `opts`.
local function command_line(opts, token)
  local script, direct = opts.script, false
  if not script then script, direct = find_script() end
  local argv = {}
  if not direct then argv[#argv + 1] = shell_quote(opts.lua or "lua5.4") end
  argv[#argv + 1] = shell_quote(script)
  local function flag(name, value)
    if value ~= nil then
      argv[#argv + 1] = name
      if value ~= true then argv[#argv + 1] = shell_quote(value) end
    end
  end
  flag("--host", opts.host)
  flag("--port", opts.port or 0)
  flag("--create-delay", opts.create_delay)
  flag("--update-delay", opts.update_delay)
  flag("--delete-delay", opts.delete_delay)
  if type(opts.put_405) == "table" then
    argv[#argv + 1] = shell_quote("--put-405=" .. table.concat(opts.put_405, ","))
  else
    flag("--put-405", opts.put_405 or nil)
  end
  for _, t in ipairs(transition_flags(opts.transitions)) do flag("--transition", t) end
  flag("--api-version", opts.api_version)
  flag("--seed", opts.seed)
  flag("--request-timeout", opts.request_timeout)
  for _, f in ipairs(FAULT_FLAGS) do
    local v = opts[f[1]]
    if type(v) == "table" then v = table.concat(v, ",") end
    if v == false then v = nil end
    flag(f[2], v)
  end
  flag("--tls-cert", opts.tls_cert)
  flag("--tls-key", opts.tls_key)
  flag("--exit-with-parent", true)
  -- the token goes through the environment, not argv (which `ps` shows)
  local command = "GENESISCLOUD_TOKEN=" .. shell_quote(token) .. " exec " .. table.concat(argv, " ")
  if opts.stderr then command = command .. " 2>>" .. shell_quote(opts.stderr) end
  return command
end

--- Starting a server process, or running one in this process.
-- @section server

--- Starts an emulator process and returns its handle, or nil and a message.
-- opts: `token` (default: `$GENESISCLOUD_TOKEN` or `"emulator-token"`),
-- `create_delay` (1), `update_delay` (1), `delete_delay` (0), `put_405` (false),
-- `transitions` (see `configure`), `seed`, `host` (`"127.0.0.1"`), `port` (0 = any free port), `script` (path of
-- `bin/genesiscloud-emulator`; default: the checkout's, else the LuaRocks
-- tree's this module was installed in, else the one on PATH), `lua` (the
-- interpreter of `script` or of a checkout's server, `"lua5.4"`; an installed
-- server runs in the tree's Lua), `timeout` (5, for control calls),
-- `stderr` (a file the server's messages are appended to; default: ours),
-- the fault settings (see `configure`), `tls_cert` and `tls_key` (PEM files:
-- serve HTTPS), `request_timeout` (10: seconds a client has to send a
-- whole request).
function emulator.start(opts)
  local err
  opts, err = check_opts(opts)
  if not opts then return nil, err end
  local token = opts.token or os.getenv("GENESISCLOUD_TOKEN") or "emulator-token"
  local pipe, perr = io.popen(command_line(opts, token), "r")
  if not pipe then return nil, "cannot start the emulator: " .. tostring(perr) end
  local url_line = pipe:read("*l")
  local pid_line = pipe:read("*l")
  local endpoint = url_line and url_line:match("^(https?://%S+/compute/v1)$")
  if not endpoint then
    local _, how, code = pipe:close()
    return nil, "the emulator did not start (" .. tostring(how) .. " " .. tostring(code)
      .. "; see " .. (opts.stderr or "stderr") .. " for its message)"
  end
  local url = endpoint:sub(1, -#"/compute/v1" - 1)
  return setmetatable({
    endpoint = endpoint,
    url = url,
    -- An HTTPS emulator takes plain HTTP on the same port for its control
    -- routes (only): no certificate to trust, and no TLS in this process
    -- (cqueues' TLS keeps a one-time allocation valgrind calls lost).
    control_url = (url:gsub("^https:", "http:")),
    token = token,
    pid = pid_line and tonumber(pid_line:match("^pid=(%d+)$")),
    pipe = pipe,
    timeout = opts.timeout or DEFAULT_TIMEOUT,
    stopped = false,
  }, Handle)
end

--- Runs the server in this process until SIGINT/SIGTERM or a shutdown
-- request (blocking). opts: as `start`, plus `exit_with_parent` and
-- `on_ready(info)` called once listening with `{ url, endpoint, host, port, pid }`.
-- Returns true and the reason it stopped, or nil and a message.
function emulator.serve(opts)
  opts = opts or {}
  local ok, err = require_http("http.server")
  if not ok then return nil, "lua-http is not available: " .. tostring(err) end
  local server = require "genesiscloud.emulator.server"
  local srv, serr = server.new(opts)
  if not srv then return nil, serr end
  if opts.on_ready then
    opts.on_ready{ url = srv.url, endpoint = srv.endpoint, host = srv.host, port = srv.port, pid = srv.pid }
  end
  return srv:run()
end

return emulator
