--- Where the tool gets its settings: the token (GENESISCLOUD_TOKEN or
-- --token-file, never the command line), the endpoint, the output format
-- (table on a terminal, JSON otherwise), and the client made from them.
-- @module genesiscloud.cli.config
local fail = require "genesiscloud.cli.fail"

local config = {}

config.TOKEN_ON_COMMAND_LINE = "--token is refused: a token on the command line is visible to every"
  .. " user of this machine (ps, /proc/PID/cmdline) and stays in shell history;"
  .. " set GENESISCLOUD_TOKEN or use --token-file FILE (- reads standard input)"

--- True when standard output is a terminal. `test -t 1` runs in a child
-- that shares our stdout, so it answers for it (no C needed).
function config.stdout_is_tty()
  local ok = os.execute("test -t 1")
  return ok == true or ok == 0
end

--- "table" or "json": --output when given, else by what stdout is.
function config.output_format(args, is_tty)
  if args.output then return args.output end
  return (is_tty or config.stdout_is_tty)() and "table" or "json"
end

--- A token file is small: more than this many bytes is not a token file
-- (and /dev/zero or a log file must not be read to the end).
config.TOKEN_FILE_MAX = 4096

local function quote_path(path)
  return "'" .. path:gsub("'", "'\\''") .. "'"
end

-- "regular file 640" for a path (stat from coreutils), or nil.
local function file_mode(path)
  local pipe = io.popen("stat -L -c '%F %a' -- " .. quote_path(path) .. " 2>/dev/null", "r")
  if not pipe then return nil end
  local line = pipe:read("l")
  pipe:close()
  return line
end

--- Warns on `err_out` when the regular file `path` can be read by its
-- group or by others, as ssh does for a private key.
function config.check_permissions(path, err_out)
  local kind, mode = (file_mode(path) or ""):match("^(.-) (%d+)$")
  if kind ~= "regular file" and kind ~= "regular empty file" then return end
  local n = tonumber(mode, 8)
  local group_read, other_read = n and math.floor(n / 32) % 2 == 1, n and math.floor(n / 4) % 2 == 1
  if group_read or other_read then
    err_out:write(("genesiscloud: warning: --token-file %s is readable by others (mode %s):"
      .. " run chmod 600 %s\n"):format(path, mode, path))
  end
end

-- The token from a file (or stdin for "-"): its first line, without the
-- line end and surrounding blanks. At most TOKEN_FILE_MAX bytes are read.
local function read_token_file(path, err_out)
  local label = path == "-" and "- (standard input)" or path
  local f, err
  if path == "-" then
    f = io.stdin
  else
    f, err = io.open(path, "r")
    if not f then fail.usage("cannot read --token-file: " .. tostring(err)) end
    config.check_permissions(path, err_out)
  end
  local text, read_err = f:read(config.TOKEN_FILE_MAX + 1)
  if f ~= io.stdin then f:close() end
  if text == nil and read_err then fail.usage("cannot read --token-file " .. label .. ": " .. tostring(read_err)) end
  text = text or ""
  if #text > config.TOKEN_FILE_MAX then
    fail.usage(("--token-file %s is larger than %d bytes: not a token file"):format(label, config.TOKEN_FILE_MAX))
  end
  local token = (text:match("^[^\r\n]*") or ""):match("^%s*(.-)%s*$")
  if token == "" then
    fail.usage("--token-file " .. label .. " holds no token")
  end
  return token
end

--- The token: --token-file wins over GENESISCLOUD_TOKEN; none is a usage
-- error. Warnings (a token file others can read) go to `err_out`.
function config.token(args, getenv, err_out)
  local token
  if args.token_file then
    token = read_token_file(args.token_file, err_out or io.stderr)
  else
    token = (getenv or os.getenv)("GENESISCLOUD_TOKEN")
    if token == nil or token == "" then
      fail.usage("no API token: set GENESISCLOUD_TOKEN or use --token-file FILE")
    end
  end
  fail.secret(token)
  return token
end

--- Loads the library; a missing C core gives one line, not a trace.
function config.library()
  local ok, genesiscloud = pcall(require, "genesiscloud")
  if not ok then
    fail.raise("cannot load the genesiscloud library (is the C core built? `make build`): "
      .. tostring(genesiscloud):match("^[^\n]*"), fail.INTERNAL)
  end
  return genesiscloud
end

-- The --debug line of one request, redacted like every other line.
local function debug_hook(err_out)
  return function(event)
    err_out:write(fail.redact(("genesiscloud: %s %s -> %s (attempt %d, %.1f ms)%s"):format(event.method,
      event.path, tostring(event.status or event.kind), event.attempt, (event.duration or 0) * 1000,
      event.error and (": " .. tostring(event.error)) or "")), "\n")
  end
end

-- The options of genesiscloud.new given as flags (the rows with one), and
-- each row's flag for messages. --debug prints through `err_out`.
local function flag_options(args, err_out)
  local options = require "genesiscloud.options"
  local opts, flags = {}, {}
  for _, row in ipairs(options.schema) do
    if row.cli then
      opts[row.name] = args[row.name] -- nil: the row's environment variable, else its default
      flags[row.name] = row.cli:match("^%S+")
    end
  end
  if opts.debug then opts.debug = debug_hook(err_out) end
  return opts, flags
end

--- A client from the flags and the environment. A bad option (an
-- http:// endpoint that is not loopback, ...) is the library's usage
-- error, with the flag's name in place of the option's (exit 2).
-- `err_out` takes warnings and --debug lines (default io.stderr).
function config.client(args, err_out)
  err_out = err_out or io.stderr
  local genesiscloud = config.library()
  local opts, flags = flag_options(args, err_out)
  opts.token = config.token(args, nil, err_out)
  local client, err = genesiscloud.new(opts)
  if not client then
    if type(err) == "table" and type(err.message) == "string" then
      local message = err.message:gsub(",? or allow_insecure_http = true", "")
      for name, flag in pairs(flags) do
        message = message:gsub("option '" .. name .. "'", (flag:gsub("%%", "%%%%")))
      end
      err.message = message
    end
    error(err, 0) -- main prints it; its kind gives the exit code
  end
  return client, genesiscloud
end

return config
