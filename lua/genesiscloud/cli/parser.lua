--- The command line, described with argparse (Debian's lua-argparse):
-- commands, flags, help texts. Parse errors become usage errors (exit 2,
-- one line) instead of argparse's usage dump and exit 1.
-- @module genesiscloud.cli.parser
local argparse = require "argparse"
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"
local flags = require "genesiscloud.cli.flags"
local options = require "genesiscloud.options"

local parser = {}

-- The flags of genesiscloud.new's options come from their rows in
-- options.schema: name, value name, check, doc and default are written there.
local OPTION_ROWS = {}
for _, row in ipairs(options.schema) do
  if row.cli then OPTION_ROWS[#OPTION_ROWS + 1] = row end
end

--- The first (main) flag of a row: "--retries" for "--retries --max-retries".
function parser.flag_of(row)
  return (row.cli:match("^%S+"))
end

local function is_number(row)
  return row.type == "number" or row.type == "integer"
end

local function takes_value(row)
  return row.type ~= "boolean" and row.type ~= "boolean|function"
end

-- "--endpoint URL, --token-file FILE, ...": the global flags, wrapped.
local function global_epilog()
  local items = { "--endpoint URL", "--token-file FILE", "--output table|json" }
  for _, row in ipairs(OPTION_ROWS) do
    if row.name ~= "endpoint" then
      items[#items + 1] = parser.flag_of(row) .. (takes_value(row) and " " .. row.arg or "")
    end
  end
  local lines, line = {}, "  "
  for i, item in ipairs(items) do
    item = item .. (i < #items and "," or ".")
    if #line + #item + 1 > 78 then lines[#lines + 1], line = line, "  " end
    line = line .. (line == "  " and "" or " ") .. item
  end
  lines[#lines + 1] = line
  return "Global options (before or after the command; see `genesiscloud --help`):\n"
    .. table.concat(lines, "\n") .. "\nThe token comes from GENESISCLOUD_TOKEN or --token-file."
end

local GLOBAL_EPILOG = global_epilog()

local EXIT_CODES = "Exit codes: 0 success, 1 API or network error, 2 usage error,\n"
  .. "3 written but --wait ran out (the ids are printed), 70 internal error.\n"
  .. "sg apply --detailed-exitcode: 0 no changes, 2 changes made or planned, 1 error."

for _, row in ipairs(OPTION_ROWS) do
  if is_number(row) then
    for flag in row.cli:gmatch("%S+") do flags.numeric[flag] = true end
  end
end

-- --help prints through main (fail.finish), so a failed write is seen.
local function help_flag(cmd)
  cmd:add_help{ action = function() fail.finish(cmd:get_help() .. "\n") end }
  return cmd
end

local function version_line()
  local ok, genesiscloud = pcall(require, "genesiscloud")
  return ("genesiscloud %s (lua-genesiscloud, %s)"):format(ok and genesiscloud._VERSION or "unknown", _VERSION)
end

-- The value of a flag of a row, from its text, checked by the row: the
-- same range and message as genesiscloud.new, with the flag as subject.
local function row_converter(row)
  local flag = parser.flag_of(row)
  return function(text)
    local value = text
    if is_number(row) then
      value = tonumber(text)
      if value and row.type == "integer" then value = math.tointeger(value) or value end
    end
    local err = options.check(row, value, flag, "'" .. text .. "'")
    if err then return nil, err end
    return value
  end
end

-- "(default: $GENESISCLOUD_ENDPOINT, else https://...)", "(0.001 to 86400; default 30)"
local function help_default(row)
  local parts = {}
  if is_number(row) then
    parts[1] = options.number_text(row.min) .. " to " .. options.number_text(row.max)
  end
  local default = row.default ~= nil and tostring(math.tointeger(row.default) or row.default)
  if row.env then
    parts[#parts + 1] = "default: $" .. row.env .. (default and ", else " .. default or "")
  elseif default and takes_value(row) then
    parts[#parts + 1] = "default " .. default
  end
  if #parts == 0 then return "" end
  return " (" .. table.concat(parts, "; ") .. ")"
end

-- The flag of one option row of genesiscloud.new on parser `p`.
local function option_flag(p, row)
  local help = row.doc:gsub("%.$", "") .. help_default(row) .. "."
  if not takes_value(row) then
    return p:flag(row.cli, help):target(row.name)
  end
  return p:option(row.cli, help):argname(row.arg):target(row.name):convert(row_converter(row))
end

-- The command modules: a resource with its own (security groups) or the
-- generic ones for any resource of the registry.
local SPECIFIC = { security_groups = "genesiscloud.cli.commands.sg" }
local GENERIC = "genesiscloud.cli.commands.resource"

-- What a command module gets to declare its commands: `group` (a command
-- with subcommands), `leaf` (one that runs) and `route` (what runs it),
-- each keeping the full name for messages ("genesiscloud sg list").
local function builder(fullnames, routes)
  local build = { epilog = GLOBAL_EPILOG, help_flag = help_flag }
  function build.group(parent, name, description)
    local cmd = help_flag(parent:command(name, description):command_target("subcommand")
      :epilog(GLOBAL_EPILOG))
    fullnames[cmd] = fullnames[parent] .. " " .. name
    return cmd
  end
  function build.leaf(parent, name, description)
    local cmd = help_flag(parent:command(name, description):epilog(GLOBAL_EPILOG))
    fullnames[cmd] = fullnames[parent] .. " " .. name
    return cmd
  end
  -- `path`: the command as typed ("sg list"); `module`, `fn`: what runs it;
  -- `detail`: what else it needs (which action, call or nested collection)
  function build.route(path, module, fn, definition, detail)
    routes[path] = { module = module, fn = fn, definition = definition, detail = detail }
  end
  return build
end

-- The commands of every resource of `registry` with a `cli` name, and of
-- its short name too (`sg` for `security-groups`).
local function add_resources(p, build, registry)
  for _, definition in ipairs(registry) do
    local module = SPECIFIC[definition.plural] or GENERIC
    for _, name in ipairs{ definition.cli, definition.cli_short } do
      require(module).add(build, p, name, definition)
    end
  end
end

local function resource_names(registry)
  local names = {}
  for _, definition in ipairs(registry) do
    if definition.cli then names[#names + 1] = definition.cli end
  end
  return table.concat(names, ", ")
end

--- Builds the parser for the resources of `registry` (a list of resource
-- definitions; those without a `cli` name have no command).
-- -> parser, fullnames (parser object -> "genesiscloud sg list"), routes
-- ("sg list" -> { module, fn, definition })
function parser.build(registry)
  local fullnames, routes = {}, {}
  local p = argparse("genesiscloud", "Manage Genesis Cloud resources from the shell: "
      .. resource_names(registry) .. ".")
    :command_target("command"):help_max_width(80)
    :epilog(EXIT_CODES .. "\n"
      .. "Environment: GENESISCLOUD_TOKEN, GENESISCLOUD_ENDPOINT. See docs/cli.md.")
  fullnames[p] = "genesiscloud"
  help_flag(p)

  p:option("--token-file", "Read the API token from FILE ('-': standard input) instead of $GENESISCLOUD_TOKEN.")
    :argname("FILE")
  p:option("--output -o", "Output format (default: table on a terminal, json otherwise).")
    :choices{ "table", "json" }:argname("FORMAT")
  for _, row in ipairs(OPTION_ROWS) do option_flag(p, row) end
  -- Refused as soon as it is seen, without repeating its value.
  p:option("--token"):hidden(true):args("?"):action(function() fail.usage(config.TOKEN_ON_COMMAND_LINE) end)
  p:flag("--version", "Print the version and exit."):action(function()
    fail.finish(version_line() .. "\n")
  end)

  local build = builder(fullnames, routes)
  add_resources(p, build, registry)

  local emulator = help_flag(p:command("emulator", "Run the local emulator of the API in this process "
    .. "(the flags are those of genesiscloud-emulator; see `genesiscloud emulator --help`).")
    :handle_options(false))
  fullnames[emulator] = "genesiscloud emulator"
  emulator:argument("flags", "Flags for the emulator, e.g. --port 8080."):args("*"):argname("FLAG")
  build.route("emulator", "genesiscloud.cli.commands.emulator_passthrough", "run")

  p.error = function(active, message)
    local name = fullnames[active] or "genesiscloud"
    message = message:gsub("\n", "; ")
    fail.usage(("%s: %s (see '%s --help')"):format(name:gsub("^genesiscloud ?", ""), message, name)
      :gsub("^: ", ""))
  end
  return p, fullnames, routes
end

--- Parses `argv` (a list of strings) for the resources of `registry`.
-- -> the arguments table, the route of the command (see `build`); raises
-- a usage error for anything wrong; --help and --version print and exit 0.
function parser.parse(argv, registry)
  local p, _, routes = parser.build(registry)
  local list, passing = {}, false
  for i = 1, #argv do
    local a = argv[i]
    -- the emulator's flags pass through untouched
    if (a == "emulator" and list[#list] ~= "apply") or a == "--" then passing = true end
    if not passing and flags.numeric[list[#list]] and a:match("^%-[%d.]") then
      list[#list] = list[#list] .. "=" .. a
    else
      list[#list + 1] = a
    end
  end
  local args = p:parse(list)
  local path = args.command .. (args.subcommand and " " .. args.subcommand or "")
  return args, assert(routes[path], "no route for " .. path)
end

return parser
