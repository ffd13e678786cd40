--- `sg apply FILE`: the plan for every group in the file, made from one
-- walk of the group list (the same comparison as the library's ensure:
-- found by name, description as text, rules as sets), printed; then,
-- unless --dry-run, the groups that differ written (and, with --wait,
-- waited for). A second run over the same file writes nothing and says
-- "No changes.". With --detailed-exitcode the exit code tells whether
-- anything changed: 0 no, 2 yes (see docs/cli.md).
-- @module genesiscloud.cli.commands.sg_apply
local apply_file = require "genesiscloud.cli.commands.sg_apply_file"
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"
local output = require "genesiscloud.cli.output"
local sg = require "genesiscloud.cli.commands.sg"

local apply = {}

local VERB = { created = "create", updated = "update", unchanged = "unchanged" }

local function texts(rules, list)
  local out = {}
  for i, rule in ipairs(list or {}) do out[i] = rules.format(rule) end
  return out
end

-- A plan of ensure as plain data: rule changes as text.
local function plan_entry(rules, plan, action)
  local entry = { action = action, name = plan.name, id = plan.id,
                  rules = { add = texts(rules, plan.rules and plan.rules.add),
                            remove = texts(rules, plan.rules and plan.rules.remove) } }
  local change = plan.changes and plan.changes.description
  if change then entry.description = { from = change.from or "", to = change.to } end
  return entry
end

--- The plan as lines for people.
function apply.plan_text(entries)
  local lines, counts = {}, { created = 0, updated = 0, unchanged = 0 }
  for _, e in ipairs(entries) do
    counts[e.action] = (counts[e.action] or 0) + 1
    lines[#lines + 1] = VERB[e.action] .. " " .. e.name .. (e.id and (" (" .. e.id .. ")") or "")
    if e.description and e.action == "created" then
      lines[#lines + 1] = "  description: " .. output.quote(e.description.to)
    elseif e.description then
      lines[#lines + 1] = ("  description: %s -> %s"):format(output.quote(e.description.from),
        output.quote(e.description.to))
    end
    for _, t in ipairs(e.rules.add) do lines[#lines + 1] = "  + " .. t end
    for _, t in ipairs(e.rules.remove) do lines[#lines + 1] = "  - " .. t end
  end
  lines[#lines + 1] = ("plan: %d to create, %d to update, %d unchanged"):format(counts.created,
    counts.updated, counts.unchanged)
  return table.concat(lines, "\n") .. "\n"
end

--- The plan of every spec against `groups` (the whole list, read once):
-- -> list of { action, current, spec, details } in file order. Several
-- groups with one name is an error (exit 1), as in ensure: never a guess.
function apply.plan(res, specs, groups)
  local by_name, any_status = {}, {}
  for _, g in ipairs(groups) do
    if type(g.name) == "string" then
      any_status[g.name] = any_status[g.name] or {}
      table.insert(any_status[g.name], g)
    end
    if g.status ~= (res.deleting_status or "deleting") and type(g.name) == "string" then
      local list = by_name[g.name] or {}
      list[#list + 1] = g
      by_name[g.name] = list
    end
  end
  local plans = {}
  for i, spec in ipairs(specs) do
    local found = by_name[spec.name] or {}
    if #found > 1 then
      local ids = {}
      for j, g in ipairs(found) do ids[j] = tostring(g.id) end
      fail.raise(("sg apply: %d security groups are named %s (ids %s): rename or delete all but one,"
        .. " apply will not guess"):format(#found, output.quote(spec.name), table.concat(ids, ", ")))
    end
    local current = found[1]
    local changed, details = res.compare(current, spec)
    local action = (not current and "created") or (changed and "updated") or "unchanged"
    -- `existing`: what a create must not take for its own after a lost
    -- answer; given here, so the create needs no list walk of its own.
    plans[i] = { action = action, current = current, spec = spec, details = details or {},
                 existing = any_status[spec.name] or {} }
  end
  return plans
end

-- Writes one planned change. -> group | nil, err
local function write(client, res, p)
  if p.action == "created" then
    return client:create_security_group(p.spec, { existing = p.existing })
  end
  return client:update_security_group(p.current.id, res.update_body(p.current, p.spec))
end

-- The exit code of a failure that stops the run, its line on stderr.
local function stopped(ctx, what, name, err)
  ctx.err:write(fail.redact(("genesiscloud: sg apply: %s %s: %s"):format(what, output.quote(name),
    tostring(err):gsub("^genesiscloud: ", ""))), "\n")
  return ctx.args.detailed_exitcode and fail.API or fail.code_of(err)
end

-- Every write, in file order; each written group is added to `applied`.
-- -> nil, or the exit code of the write that failed (the run stops there)
local function write_all(ctx, client, res, plans, applied)
  local json = ctx.format == "json"
  for _, p in ipairs(plans) do
    if p.action ~= "unchanged" then
      local group, err = write(client, res, p)
      if not group then return stopped(ctx, "stopped at", p.spec.name, err) end
      applied[#applied + 1] = { action = p.action, name = group.name, id = group.id, status = group.status }
      if not json and not ctx.args.wait then
        ctx.out:write(("%s %s (%s)\n"):format(p.action, tostring(group.name), tostring(group.id)))
      end
    end
  end
end

-- --wait for every group written. -> fail.OK, fail.WAIT when a wait ran
-- out, or the exit code of the wait that failed (and true: stop)
local function wait_all(ctx, client, applied)
  local code = fail.OK
  for _, entry in ipairs(applied) do
    local group, err = sg.wait(ctx, client, entry.id)
    if group then
      entry.status = group.status
    elseif sg.wait_ran_out(err) then
      ctx.err:write(fail.redact(tostring(err)), "\n")
      code = fail.WAIT
    else
      return stopped(ctx, "waiting for", entry.name, err), true
    end
    if ctx.format ~= "json" then
      ctx.out:write(("%s %s (%s)%s\n"):format(entry.action, tostring(entry.name), tostring(entry.id),
        group and "" or " (still " .. tostring(err.last_status) .. " when --wait-timeout ran out)"))
    end
  end
  return code
end

-- The plan of every group of the file, from one walk of the list at the
-- largest page the API allows. -> plans, their entries, how many change
local function make_plan(client, rules, res, specs)
  local groups = fail.check(client:all_security_groups{ per_page = 100 })
  local plans = apply.plan(res, specs, groups)
  local entries, changes = {}, 0
  for i, p in ipairs(plans) do
    local plan = { name = p.spec.name, id = p.current and p.current.id or nil,
                   changes = p.details.changes, rules = p.details.rules }
    entries[i] = plan_entry(rules, plan, p.action)
    if p.action ~= "unchanged" then changes = changes + 1 end
  end
  return plans, entries, changes
end

function apply.run(ctx)
  local args = ctx.args
  local genesiscloud = config.library()
  local res = genesiscloud.resources.security_groups
  local specs = apply_file.load(args.file, genesiscloud)
  local client = config.client(args, ctx.err)
  local json = ctx.format == "json"
  local plans, entries, changes = make_plan(client, genesiscloud.rules, res, specs)
  if not json then ctx.out:write(apply.plan_text(entries)) end
  local changed_code = args.detailed_exitcode and changes > 0 and fail.CHANGED or fail.OK
  local applied = {}
  local function finish(code)
    if json then
      ctx.out:write(output.json{ dry_run = args.dry_run and true or false, changed = changes > 0,
        plan = entries, applied = applied }, "\n")
    end
    return code
  end
  if changes == 0 then
    if not json then ctx.out:write("No changes.\n") end
    return finish(fail.OK)
  end
  if args.dry_run then
    if not json then ctx.out:write("dry run: nothing written\n") end
    return finish(changed_code)
  end
  -- Every write first (in file order), then every wait.
  local failed = write_all(ctx, client, res, plans, applied)
  if failed then return finish(failed) end
  local code = fail.OK
  if args.wait then
    local stop
    code, stop = wait_all(ctx, client, applied)
    if stop then return finish(code) end
  end
  finish()
  if code ~= fail.OK then return code end
  return changed_code
end

return apply
