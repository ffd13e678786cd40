--- `sg apply FILE`: the plan for every group in the file (through the
-- library's ensure with dry_run), printed; then, unless --dry-run, each
-- group ensured for real. A second run over the same file writes nothing.
-- @module genesiscloud.cli.apply
local apply_file = require "genesiscloud.cli.apply_file"
local config = require "genesiscloud.cli.config"
local fail = require "genesiscloud.cli.fail"
local output = require "genesiscloud.cli.output"
local sg = require "genesiscloud.cli.sg"

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

function apply.run(ctx)
  local args = ctx.args
  local genesiscloud = config.library()
  local rules = genesiscloud.rules
  local specs = apply_file.load(args.file, genesiscloud)
  local client = config.client(args)

  local entries = {}
  for i, spec in ipairs(specs) do
    local plan, action = client:ensure_security_group(spec, { dry_run = true })
    if not plan then error(action, 0) end
    entries[i] = plan_entry(rules, plan, action)
  end
  local json = ctx.format == "json"
  if not json then ctx.out:write(apply.plan_text(entries)) end

  local applied = {}
  if not args.dry_run then
    local wait = sg.wait_opts(args)
    for i, spec in ipairs(specs) do
      local group, action = client:ensure_security_group(spec, { wait = wait })
      if not group then
        ctx.err:write(("genesiscloud: sg apply: stopped at %q: %s\n"):format(spec.name,
          tostring(action):gsub("^genesiscloud: ", "")))
        return fail.code_of(action)
      end
      applied[i] = { action = action, name = group.name, id = group.id, status = group.status }
      if not json then ctx.out:write(("%s %s (%s)\n"):format(action, group.name, tostring(group.id))) end
    end
  elseif not json then
    ctx.out:write("dry run: nothing written\n")
  end
  if json then
    ctx.out:write(output.json{ dry_run = args.dry_run and true or false, plan = entries, applied = applied }, "\n")
  end
  return fail.OK
end

return apply
