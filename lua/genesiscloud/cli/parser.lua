--- The command line, described with argparse (Debian's lua-argparse):
-- commands, flags, help texts. Parse errors become usage errors (exit 2,
-- one line) instead of argparse's usage dump and exit 1.
-- @module genesiscloud.cli.parser
local argparse = require "argparse"
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"

local parser = {}

local GLOBAL_EPILOG = [[
Global options (before or after the command; see `genesiscloud --help`):
  --endpoint URL, --token-file FILE, --output table|json, --timeout S,
  --retries N, --debug. The token comes from GENESISCLOUD_TOKEN or --token-file.]]

local WAIT_DEFAULT = 300

local EXIT_CODES = "Exit codes: 0 success, 1 API or network error, 2 usage error,\n"
  .. "3 written but --wait ran out (the ids are printed), 70 internal error.\n"
  .. "sg apply --detailed-exitcode: 0 no changes, 2 changes made or planned, 1 error."

-- Options whose value is a number: "-1" after them is their value (argparse
-- would take it for an option), so that the range check can answer.
local NUMERIC = { ["--page"] = true, ["--per-page"] = true, ["--retries"] = true, ["--timeout"] = true,
  ["--wait-timeout"] = true }

local function whole(min, max, what)
  return function(text)
    local n = math.tointeger(tonumber(text))
    if not n or n < min or (max and n > max) then
      return nil, ("%s must be a whole number %s, got '%s'"):format(what,
        max and ("from " .. min .. " to " .. max) or ("of at least " .. min), text)
    end
    return n
  end
end

local function seconds(what)
  return function(text)
    local n = tonumber(text)
    if not n or n ~= n or n < 0 or n == math.huge then
      return nil, ("%s must be a number of seconds, got '%s'"):format(what, text)
    end
    return n
  end
end

local function wait_flags(cmd, what)
  cmd:flag("--wait", "Wait until " .. what .. ".")
  cmd:option("--wait-timeout", "Seconds to wait at most (with --wait).", tostring(WAIT_DEFAULT))
    :argname("S"):convert(seconds("--wait-timeout"))
end

-- --help prints through main (fail.finish), so a failed write is seen.
local function help_flag(cmd)
  cmd:add_help{ action = function() fail.finish(cmd:get_help() .. "\n") end }
  return cmd
end

local function leaf(parent, name, description, fullnames)
  local cmd = help_flag(parent:command(name, description):epilog(GLOBAL_EPILOG))
  fullnames[cmd] = fullnames[parent] .. " " .. name
  return cmd
end

local function version_line()
  local ok, genesiscloud = pcall(require, "genesiscloud")
  return ("genesiscloud %s (lua-genesiscloud, %s)"):format(ok and genesiscloud._VERSION or "unknown", _VERSION)
end

--- Builds the parser. -> parser, fullnames (parser object -> "genesiscloud sg list")
function parser.build()
  local fullnames = {}
  local p = argparse("genesiscloud", "Manage Genesis Cloud security groups from the shell.")
    :command_target("command"):help_max_width(80)
    :epilog(EXIT_CODES .. "\n"
      .. "Environment: GENESISCLOUD_TOKEN, GENESISCLOUD_ENDPOINT. See docs/cli.md.")
  fullnames[p] = "genesiscloud"
  help_flag(p)

  p:option("--endpoint", "API base URL (default: $GENESISCLOUD_ENDPOINT, else the public API).")
    :argname("URL")
  p:option("--token-file", "Read the API token from FILE ('-': standard input) instead of $GENESISCLOUD_TOKEN.")
    :argname("FILE")
  p:option("--output -o", "Output format (default: table on a terminal, json otherwise).")
    :choices{ "table", "json" }:argname("FORMAT")
  p:option("--timeout", "Seconds allowed for each request (default 30).")
    :argname("S"):convert(function(text)
      local n = tonumber(text)
      if not n or not (n >= 0.001 and n <= 86400) then
        return nil, "--timeout must be a number of seconds from 0.001 to 86400, got '" .. text .. "'"
      end
      return n
    end)
  p:option("--retries", "Retries of a failed request that is safe to repeat (default 4).")
    :argname("N"):convert(whole(0, 100, "--retries"))
  p:flag("--debug", "Print one line per request on stderr (never the token).")
  -- Refused as soon as it is seen, without repeating its value.
  p:option("--token"):hidden(true):args("?"):action(function() fail.usage(config.TOKEN_ON_COMMAND_LINE) end)
  p:flag("--version", "Print the version and exit."):action(function()
    fail.finish(version_line() .. "\n")
  end)

  local sg = help_flag(p:command("sg", "Security groups: list, get, create, update, delete, apply.")
    :command_target("sg_command"):epilog(GLOBAL_EPILOG))
  fullnames[sg] = "genesiscloud sg"

  local list = leaf(sg, "list", "List security groups: one page, or every page with --all.", fullnames)
  list:option("--per-page", "Groups per page, 1..100.", "50"):argname("N"):convert(whole(1, 100, "--per-page"))
  list:mutex(
    list:option("--page", "Page to show (default 1)."):argname("N"):convert(whole(1, nil, "--page")),
    list:flag("--all", "Walk every page (a request per page)."))

  local get = leaf(sg, "get", "Show one security group.", fullnames)
  get:argument("id", "The group's id, or its name."):argname("ID|NAME")

  local create = leaf(sg, "create", "Create a security group.", fullnames)
  create:option("--name", "Name of the group."):argname("NAME"):count(1)
  create:option("--description", "Description."):argname("TEXT")
  create:option("--rule", "A rule as text, e.g. \"ingress tcp 443\", \"ingress tcp 8000-8080\", "
    .. "\"ingress icmp\", \"egress all\". Repeat for more rules."):argname("RULE"):count("*")
  wait_flags(create, "the group's status is created")

  local update = leaf(sg, "update", "Change a group: fetches it and sends name, description and rules, "
    .. "with what you give replacing what is there. --rule replaces ALL the rules.", fullnames)
  update:argument("id", "The group's id, or its name."):argname("ID|NAME")
  update:option("--name", "New name."):argname("NAME")
  update:option("--description", "New description."):argname("TEXT")
  update:option("--rule", "A rule as text; the rules given replace all the current ones. Repeat for more.")
    :argname("RULE"):count("*")
  wait_flags(update, "the group's status is created again")

  local delete = leaf(sg, "delete", "Delete one or more security groups.", fullnames)
  delete:argument("ids", "Ids or names of the groups."):args("+"):argname("ID|NAME")
  wait_flags(delete, "each group is gone")

  local apply = leaf(sg, "apply", "Make the groups described in FILE (JSON, or Lua returning a table) exist "
    .. "as described: prints the plan, then creates or updates what differs.", fullnames)
  apply:argument("file", "The desired groups: .lua for a Lua file, anything else is JSON; '-' reads JSON "
    .. "from standard input."):argname("FILE")
  apply:flag("--dry-run", "Print the plan and write nothing.")
  apply:flag("--detailed-exitcode", "Exit 0 when nothing changed, 2 when something changed (or would, with "
    .. "--dry-run), 1 on any error (usage errors too).")
  wait_flags(apply, "every group written is created")

  local emulator = help_flag(p:command("emulator", "Run the local emulator of the API in this process "
    .. "(the flags are those of genesiscloud-emulator; see `genesiscloud emulator --help`).")
    :handle_options(false))
  fullnames[emulator] = "genesiscloud emulator"
  emulator:argument("flags", "Flags for the emulator, e.g. --port 8080."):args("*"):argname("FLAG")

  p.error = function(active, message)
    local name = fullnames[active] or "genesiscloud"
    message = message:gsub("\n", "; ")
    fail.usage(("%s: %s (see '%s --help')"):format(name:gsub("^genesiscloud ?", ""), message, name)
      :gsub("^: ", ""))
  end
  return p, fullnames
end

--- Parses `argv` (a list of strings). -> the arguments table; raises a
-- usage error for anything wrong; --help and --version print and exit 0.
function parser.parse(argv)
  local p = parser.build()
  local list, passing = {}, false
  for i = 1, #argv do
    local a = argv[i]
    -- the emulator's flags pass through untouched
    if (a == "emulator" and list[#list] ~= "apply") or a == "--" then passing = true end
    if not passing and NUMERIC[list[#list]] and a:match("^%-[%d.]") then
      list[#list] = list[#list] .. "=" .. a
    else
      list[#list + 1] = a
    end
  end
  return p:parse(list)
end

return parser
