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

-- The token from a file (or stdin for "-"): its first line, without the
-- line end and surrounding blanks.
local function read_token_file(path)
  local f, err
  if path == "-" then
    f = io.stdin
  else
    f, err = io.open(path, "r")
    if not f then fail.usage("cannot read --token-file: " .. tostring(err)) end
  end
  local line = f:read("l")
  if f ~= io.stdin then f:close() end
  local token = line and line:match("^%s*(.-)%s*$") or ""
  if token == "" then
    fail.usage("--token-file " .. (path == "-" and "- (standard input)" or path) .. " holds no token")
  end
  return token
end

--- The token: --token-file wins over GENESISCLOUD_TOKEN; none is a usage error.
function config.token(args, getenv)
  if args.token_file then return read_token_file(args.token_file) end
  local token = (getenv or os.getenv)("GENESISCLOUD_TOKEN")
  if token == nil or token == "" then
    fail.usage("no API token: set GENESISCLOUD_TOKEN or use --token-file FILE")
  end
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

--- A client from the flags and the environment. A bad option (an
-- http:// endpoint that is not loopback, ...) is a usage error.
function config.client(args)
  local genesiscloud = config.library()
  local client, err = genesiscloud.new{
    token = config.token(args),
    endpoint = args.endpoint, -- nil: GENESISCLOUD_ENDPOINT, else the public API
    timeout = args.timeout,
    max_retries = args.retries,
    debug = args.debug or nil,
  }
  if not client then
    local message = err.message:gsub("option 'endpoint'", "--endpoint"):gsub("option 'timeout'", "--timeout")
      :gsub("option 'max_retries'", "--retries"):gsub(",? or allow_insecure_http = true", "")
    fail.usage(message)
  end
  return client, genesiscloud
end

return config
