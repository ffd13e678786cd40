--- The `sg` commands that map onto one API call each: list, get, create,
-- update, delete. (`sg apply` is in apply.lua.) Each takes the context
-- from main and returns an exit code; failures are raised (see fail.lua).
-- @module genesiscloud.cli.sg
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"
local output = require "genesiscloud.cli.output"

local sg = {}

local check = fail.check

--- Wait options for --wait: polls start at half a second and grow.
function sg.wait_opts(args)
  if not args.wait then return nil end
  return { timeout = args.wait_timeout, interval = 0.5, max_interval = 10 }
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
  local client, genesiscloud = config.client(args)
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
  local client, genesiscloud = config.client(ctx.args)
  show_group(ctx, genesiscloud.rules, check(client:get_security_group(ctx.args.id)))
  return fail.OK
end

function sg.create(ctx)
  local args = ctx.args
  local genesiscloud = config.library()
  local list = sg.parse_rules(genesiscloud.rules, args.rule, "create")
  if #list == 0 then fail.usage("sg create: give at least one --rule, e.g. --rule \"ingress tcp 22\"") end
  local spec = { name = args.name, description = args.description, rules = list }
  check(genesiscloud.validate_security_group(spec))
  local client = config.client(args)
  local group = check(client:create_security_group(spec, { wait = sg.wait_opts(args) }))
  show_group(ctx, genesiscloud.rules, group)
  return fail.OK
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
  local client = config.client(args)
  local current = check(client:get_security_group(args.id))
  local spec = {
    name = args.name or current.name,
    description = args.description or current.description,
    rules = #list > 0 and list or plain_rules(current.rules),
  }
  check(genesiscloud.validate_security_group(spec))
  local group = check(client:update_security_group(args.id, spec, { wait = sg.wait_opts(args) }))
  show_group(ctx, genesiscloud.rules, group)
  return fail.OK
end

-- Sends every delete first, then waits for each (with --wait). A failure
-- on one id is reported on stderr and the others go on; the exit code
-- is then that failure's.
function sg.delete(ctx)
  local args = ctx.args
  local client = config.client(args)
  local deleted, failed, code = {}, {}, fail.OK
  local function failure(id, err)
    ctx.err:write(tostring(err), "\n")
    failed[#failed + 1] = { id = id, error = tostring(err) }
    code = math.max(code, fail.code_of(err))
  end
  local sent = {}
  for _, id in ipairs(args.ids) do
    local ok, err = client:delete_security_group(id)
    if ok then sent[#sent + 1] = id else failure(id, err) end
  end
  local wait = sg.wait_opts(args)
  for _, id in ipairs(sent) do
    local ok, err = true, nil
    if wait then ok, err = client:wait_for_security_group_deleted(id, wait) end
    if ok then deleted[#deleted + 1] = id else failure(id, err) end
  end
  if ctx.format == "json" then
    ctx.out:write(output.json{ deleted = deleted, failed = failed }, "\n")
  else
    for _, id in ipairs(deleted) do ctx.out:write("deleted ", id, "\n") end
  end
  return code
end

return sg
