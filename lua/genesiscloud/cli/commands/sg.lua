--- The security-group commands (`security-groups`, short `sg`): their
-- flags, and those that map onto one API call each: list, get, create,
-- update, delete. (`sg apply` runs in sg_apply.lua.) Each takes the context
-- from main and returns an exit code; failures are raised (see fail.lua).
-- @module genesiscloud.cli.commands.sg
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"
local flags = require "genesiscloud.cli.flags"
local output = require "genesiscloud.cli.output"

local sg = {}

local MODULE, APPLY = "genesiscloud.cli.commands.sg", "genesiscloud.cli.commands.sg_apply"

local function add_list(build, group)
  local list = build.leaf(group, "list", "List security groups: one page, or every page with --all.")
  flags.pages(list, "groups")
end

local function add_writes(build, group)
  local create = build.leaf(group, "create", "Create a security group.")
  create:option("--name", "Name of the group."):argname("NAME"):count(1)
  create:option("--description", "Description."):argname("TEXT")
  create:option("--rule", "A rule as text, e.g. \"ingress tcp 443\", \"ingress tcp 8000-8080\", "
    .. "\"ingress icmp\", \"egress all\". Repeat for more rules."):argname("RULE"):count("*")
  flags.wait(create, "the group's status is created")

  local update = build.leaf(group, "update", "Change a group: fetches it and sends name, description "
    .. "and rules, with what you give replacing what is there. --rule replaces ALL the rules.")
  update:argument("id", "The group's id, or its name."):argname("ID|NAME")
  update:option("--name", "New name."):argname("NAME")
  update:option("--description", "New description."):argname("TEXT")
  update:option("--rule", "A rule as text; the rules given replace all the current ones. Repeat for more.")
    :argname("RULE"):count("*")
  flags.wait(update, "the group's status is created again")

  local delete = build.leaf(group, "delete", "Delete one or more security groups.")
  delete:argument("ids", "Ids or names of the groups."):args("+"):argname("ID|NAME")
  flags.wait(delete, "each group is gone")
end

local function add_apply(build, group)
  local apply = build.leaf(group, "apply", "Make the groups described in FILE (JSON, or Lua returning a "
    .. "table) exist as described: prints the plan, then creates or updates what differs.")
  apply:argument("file", "The desired groups: .lua for a Lua file, anything else is JSON; '-' reads "
    .. "JSON from standard input."):argname("FILE")
  apply:flag("--dry-run", "Print the plan and write nothing.")
  apply:flag("--detailed-exitcode", "Exit 0 when nothing changed, 2 when something changed (or would, "
    .. "with --dry-run), 1 on any error (usage errors too).")
  flags.wait(apply, "every group written is created")
end

--- Declares the commands of security groups under `name` ("security-groups"
-- or its short name "sg") with the parser builder `build` (see parser.lua).
function sg.add(build, parent, name, definition)
  local short = name == definition.cli_short
  local group = build.group(parent, name, "Security groups" .. (short and " (short for "
    .. definition.cli .. ")" or "") .. ": list, get, create, update, delete, apply.")
  add_list(build, group)
  local get = build.leaf(group, "get", "Show one security group.")
  get:argument("id", "The group's id, or its name."):argname("ID|NAME")
  add_writes(build, group)
  add_apply(build, group)
  for _, command in ipairs{ "list", "get", "create", "update", "delete" } do
    build.route(name .. " " .. command, MODULE, command, definition)
  end
  build.route(name .. " apply", APPLY, "run", definition)
end

local check = fail.check

-- Polls for --wait start every half second and grow to 10 s.
local FIRST_INTERVAL, BACKOFF, MAX_INTERVAL = 0.5, 1.5, 10

--- True when standard error is a terminal (`test -t 2` in a child that
-- shares it), so that progress can be shown there.
function sg.stderr_is_tty()
  local ok = os.execute("test -t 2")
  return ok == true or ok == 0
end

-- The progress line of a wait on a terminal, rewritten in place:
-- -> show(id, status, elapsed), done()  (both do nothing off a terminal)
local function progress(ctx)
  if ctx.progress == nil then
    ctx.progress = ctx.err == io.stderr and sg.stderr_is_tty() or false
  end
  if not ctx.progress then return function() end, function() end end
  local shown = false
  return function(id, status, elapsed)
    ctx.err:write(("\rwaiting for %s: %s, %ds\027[K"):format(id, tostring(status or "?"), math.floor(elapsed)))
    ctx.err:flush()
    shown = true
  end, function()
    if shown then ctx.err:write("\r\027[K") ctx.err:flush() end
  end
end

--- True for the error of a wait whose own time ran out (not a request's).
sg.wait_ran_out = fail.wait_ran_out

--- --wait for one group: until it reads created (or, with `deleted`,
-- until it is gone), at most --wait-timeout seconds. Each poll is the
-- library's wait looking once; between polls a terminal stderr shows the
-- status and the seconds waited. -> the group (or true) | nil, err
-- (sg.wait_ran_out(err) when the time ran out).
function sg.wait(ctx, client, id, deleted)
  local genesiscloud = config.library()
  local clock = require "genesiscloud.clock"
  local show, done = progress(ctx)
  local look = deleted and client.wait_for_security_group_deleted or client.wait_for_security_group
  local start = clock.now()
  local deadline = start + ctx.args.wait_timeout
  local interval = FIRST_INTERVAL
  while true do
    local result, err = look(client, id, { timeout = 0 })
    if result or not sg.wait_ran_out(err) then
      done()
      return result, err
    end
    local now = clock.now()
    if now >= deadline then
      done()
      return nil, genesiscloud.errors.new{ kind = "timeout", id = id, last_status = err.last_status,
        timeout = ctx.args.wait_timeout,
        message = ("security group %s %s within %g s (--wait-timeout; last status %q)"):format(id,
          deleted and "was not deleted" or "did not reach status created", ctx.args.wait_timeout,
          tostring(err.last_status)) }
    end
    show(id, err.last_status, now - start)
    clock.sleep(math.min(interval, deadline - now))
    interval = math.min(interval * BACKOFF, MAX_INTERVAL)
  end
end

--- The stronger of two exit codes (fail.worse).
sg.worse = fail.worse

--- The exit code of a failure (fail.exit_code).
sg.code_of = fail.exit_code

-- Groups found by name need the whole list: read once per run.
local function all_groups(client, cache)
  if not cache.all then cache.all = check(client:all_security_groups{ per_page = 100 }) end
  return cache.all
end

--- The group named `ref` when `not_found` (the 404 of `ref` taken as an id)
-- says there is no group with that id. One match -> the group; none ->
-- raises `not_found` with a note (exit 1); several -> a usage error
-- listing their ids (exit 2). Groups being deleted count only for `get`.
function sg.by_name(client, ref, not_found, cache, with_deleting)
  local found, ids = {}, {}
  for _, g in ipairs(all_groups(client, cache)) do
    if g.name == ref and (with_deleting or g.status ~= "deleting") then
      found[#found + 1] = g
      ids[#ids + 1] = tostring(g.id)
    end
  end
  if #found == 1 then return found[1] end
  if #found == 0 then
    not_found.message = tostring(not_found.message) .. "; no security group is named " .. output.quote(ref) .. " either"
    error(not_found, 0)
  end
  fail.usage(("%d security groups are named %s (ids %s): give the id of one"):format(#found, output.quote(ref),
    table.concat(ids, ", ")))
end

local function is_404(err)
  return type(err) == "table" and err.kind == "api" and err.status == 404
end

--- `ref` (an id, or else a name) -> the group; raises when there is none.
function sg.resolve(client, ref, cache, with_deleting)
  local group, err = client:get_security_group(ref)
  if group then return group end
  if not is_404(err) then error(err, 0) end
  return sg.by_name(client, ref, err, cache, with_deleting)
end

--- The rules of repeated --rule flags, parsed. Raises a usage error naming
-- the flag when one cannot be read.
function sg.parse_rules(rules, texts, command)
  local list = {}
  for i, text in ipairs(texts) do
    local rule, err = rules.parse(text)
    if not rule then fail.usage(("sg %s: --rule #%d: %s"):format(command, i, err.message)) end
    list[i] = rule
  end
  return list
end

local function show_group(ctx, rules, group)
  if ctx.format == "json" then
    ctx.out:write(output.json(group), "\n")
  else
    ctx.out:write(output.group_detail(rules, group))
  end
end

function sg.list(ctx)
  local args = ctx.args
  local client, genesiscloud = config.client(args, ctx.err)
  local groups, page
  if args.all then
    groups = check(client:all_security_groups{ per_page = args.per_page })
  else
    page = check(client:list_security_groups{ page = args.page or 1, per_page = args.per_page })
    groups = page.security_groups
  end
  if ctx.format == "json" then
    ctx.out:write(output.json{
      security_groups = groups,
      total_count = page and page.total_count or #groups,
      page = page and page.page or nil,
      per_page = page and page.per_page or nil,
    }, "\n")
    return fail.OK
  end
  local total = page and (math.tointeger(page.total_count) or page.total_count)
  if #groups == 0 then
    if type(total) == "number" and total > 0 then
      ctx.out:write(("no security groups on page %d (%d in all)\n"):format(args.page or 1, total))
    else
      ctx.out:write("no security groups\n")
    end
    return fail.OK
  end
  ctx.out:write(output.groups_table(genesiscloud.rules, groups))
  if page then
    if type(total) == "number" and total > #groups then
      ctx.out:write(("page %d: %d of %d group(s); --page N for another page, --all for every page\n")
        :format(args.page or 1, #groups, total))
    else
      ctx.out:write(("%d group(s)\n"):format(#groups))
    end
  else
    ctx.out:write(("%d group(s)\n"):format(#groups))
  end
  return fail.OK
end

function sg.get(ctx)
  local client, genesiscloud = config.client(ctx.args, ctx.err)
  show_group(ctx, genesiscloud.rules, sg.resolve(client, ctx.args.id, {}, true))
  return fail.OK
end

-- After a write: with --wait, wait; the group is printed either way. A
-- wait that runs out prints the group as written (its id), the reason on
-- stderr, and exits WAIT.
local function written(ctx, client, rules, group)
  if not ctx.args.wait then
    show_group(ctx, rules, group)
    return fail.OK
  end
  local ready, err = sg.wait(ctx, client, group.id)
  if ready then
    show_group(ctx, rules, ready)
    return fail.OK
  end
  if not sg.wait_ran_out(err) then error(err, 0) end
  show_group(ctx, rules, group)
  ctx.err:write(fail.redact(tostring(err)), "\n")
  return fail.WAIT
end

function sg.create(ctx)
  local args = ctx.args
  local genesiscloud = config.library()
  local list = sg.parse_rules(genesiscloud.rules, args.rule, "create")
  if #list == 0 then fail.usage("sg create: give at least one --rule, e.g. --rule \"ingress tcp 22\"") end
  local spec = { name = args.name, description = args.description, rules = list }
  check(genesiscloud.validate_security_group(spec))
  local client = config.client(args, ctx.err)
  local group = check(client:create_security_group(spec))
  return written(ctx, client, genesiscloud.rules, group)
end

-- The rules of a fetched group as the API takes them back: only the four
-- rule keys (a server may add others, which validation would refuse).
local function plain_rules(list)
  local out = {}
  for i, rule in ipairs(list or {}) do out[i] = output.plain_rule(rule) end
  return out
end

-- Fetch, merge, send the whole group: a server that only knows PUT needs
-- name and rules every time, and description is kept unless given.
function sg.update(ctx)
  local args = ctx.args
  local genesiscloud = config.library()
  local list = sg.parse_rules(genesiscloud.rules, args.rule, "update")
  if args.name == nil and args.description == nil and #list == 0 then
    fail.usage("sg update: nothing to change: give --name, --description or --rule")
  end
  local client = config.client(args, ctx.err)
  local current = sg.resolve(client, args.id, {})
  local spec = {
    name = args.name or current.name,
    description = args.description or current.description,
    rules = #list > 0 and list or plain_rules(current.rules),
  }
  check(genesiscloud.validate_security_group(spec))
  local group = check(client:update_security_group(current.id, spec))
  return written(ctx, client, genesiscloud.rules, group)
end

-- Sends every delete first, then waits for each (with --wait). A failure
-- on one id or name is reported on stderr and the others go on; the exit
-- code is then that failure's (the worst one, see sg.worse). A name is
-- looked up (one list walk for all of them) when no group has it as id.
function sg.delete(ctx)
  local args = ctx.args
  local client = config.client(args, ctx.err)
  local deleted, failed, pending, code = {}, {}, {}, fail.OK
  local function failure(ref, err)
    local line = fail.redact(tostring(err))
    ctx.err:write(line, "\n")
    failed[#failed + 1] = { id = ref, error = line }
    code = sg.worse(code, sg.code_of(err))
  end
  local sent, cache = {}, {}
  for _, ref in ipairs(args.ids) do
    local ok, err = client:delete_security_group(ref)
    local id = ref
    if not ok and is_404(err) then
      local found, lookup_err = pcall(sg.by_name, client, ref, err, cache)
      if found then
        id = lookup_err.id
        ok, err = client:delete_security_group(id)
      else
        err = lookup_err
      end
    end
    if ok then sent[#sent + 1] = id else failure(ref, err) end
  end
  for _, id in ipairs(sent) do
    local ok, err = true, nil
    if args.wait then ok, err = sg.wait(ctx, client, id, true) end
    if ok then
      deleted[#deleted + 1] = id
    elseif sg.wait_ran_out(err) then
      pending[#pending + 1] = id
      ctx.err:write(fail.redact(tostring(err)), "\n")
      code = sg.worse(code, fail.WAIT)
    else
      failure(id, err)
    end
  end
  if ctx.format == "json" then
    ctx.out:write(output.json{ deleted = deleted, failed = failed, pending = pending }, "\n")
  else
    for _, id in ipairs(deleted) do ctx.out:write("deleted ", id, "\n") end
    for _, id in ipairs(pending) do ctx.out:write("deleting ", id, " (still there when --wait-timeout ran out)\n") end
  end
  return code
end

return sg
