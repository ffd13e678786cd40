--- The commands below one object of a resource, made from its definition
-- as resource.lua makes list/get/create/update/delete:
-- - each action (`def.actions.names`): `instances stop ID|NAME [--wait]`,
--   and `instances actions ID|NAME` (the actions available now);
-- - each nested collection (`def.nested`): `instances snapshots ID|NAME`
--   (one page) and `instances create-snapshot ID|NAME --name N` (flags
--   from its `fields`);
-- - each call (`def.calls`): `volumes resize ID|NAME --size N`,
--   `snapshots clone ID --name N --region R`, `instances user-metadata ID`
--   (flags from the call's `fields`).
-- The object is given by id or, when the resource has an identity key, by
-- that key's value (a 404 for it as an id, then a lookup by name).
-- @module genesiscloud.cli.commands.resource_calls
local fail = require "genesiscloud.cli.fail"
local flags = require "genesiscloud.cli.flags"
local output = require "genesiscloud.cli.output"
local resource = require "genesiscloud.cli.commands.resource"

local calls = {}

local MODULE = "genesiscloud.cli.commands.resource_calls"
local check = fail.check

local function words(name) return (tostring(name):gsub("_", " ")) end
local function command_name(name) return (tostring(name):gsub("_", "-")) end

-- The commands this module makes for `def`, in order, as their
-- (command-line) names: [{ name, kind, key }].
local function commands(def)
  local out = {}
  local actions = def.actions or {}
  for _, name in ipairs(resource.sorted_keys(actions.names)) do out[#out + 1] = { name, "action", name } end
  if actions.list_key ~= nil then out[#out + 1] = { "actions", "actions" } end
  for _, plural in ipairs(resource.sorted_keys(def.nested)) do
    local ops = def.nested[plural].operations or {}
    if ops.list then out[#out + 1] = { command_name(plural), "nested_list", plural } end
    if ops.create then
      out[#out + 1] = { "create-" .. command_name(def.nested[plural].name), "nested_create", plural }
    end
  end
  for _, name in ipairs(resource.sorted_keys(def.calls)) do out[#out + 1] = { command_name(name), "call", name } end
  return out
end

--- The names of the commands `add` declares for `def` (for its group's help).
function calls.names(def)
  local names = {}
  for i, c in ipairs(commands(def)) do names[i] = c[1] end
  return names
end

-- What an action ends in, for its help: "active", "stopped or shutoff".
local function target_words(to)
  if type(to) == "table" then return table.concat(to, " or ") end
  return tostring(to)
end

-- The one positional argument: the object's id (or its identity value).
local function object_argument(cmd, def)
  cmd:argument("id", ("The %s's id%s."):format(words(def.name),
    def.identity and ", or its " .. def.identity or "")):argname(resource.id_argname(def))
end

-- The flags of `fields` (a nested collection's or a call's) on `cmd`.
local function field_flags(cmd, fields)
  for _, key in ipairs(resource.sorted_keys(fields)) do
    resource.value_flag(cmd, key, fields[key], "f_", fields[key].required)
  end
end

local DECLARE = {}

function DECLARE.action(build, group, def, name)
  local to = def.actions.names[name].to
  local cmd = build.leaf(group, name, ("Send the %s action to one %s%s."):format(name, words(def.name),
    to and " (it ends " .. target_words(to) .. ")" or ""))
  object_argument(cmd, def)
  if def.statuses and def.operations.get and to then flags.wait(cmd, "it is " .. target_words(to)) end
  return { action = name }
end

function DECLARE.actions(build, group, def)
  object_argument(build.leaf(group, "actions", ("List the actions one %s allows now."):format(words(def.name))), def)
  return {}
end

function DECLARE.nested_list(build, group, def, plural)
  local cmd = build.leaf(group, command_name(plural), ("List the %s of one %s (one page)."):format(words(plural),
    words(def.name)))
  object_argument(cmd, def)
  cmd:option("--per-page", ("How many %s a page, 1..100."):format(words(plural)), tostring(flags.PER_PAGE_DEFAULT))
    :argname("N"):convert(flags.whole(1, 100, "--per-page"))
  cmd:option("--page", "Page to show (default 1)."):argname("N"):convert(flags.whole(1, nil, "--page"))
  return { plural = plural }
end

function DECLARE.nested_create(build, group, def, plural)
  local nested = def.nested[plural]
  local cmd = build.leaf(group, "create-" .. command_name(nested.name), ("Create a %s of one %s."):format(
    words(nested.name), words(def.name)))
  object_argument(cmd, def)
  field_flags(cmd, nested.fields)
  return { plural = plural }
end

function DECLARE.call(build, group, def, name)
  local call = def.calls[name]
  local cmd = build.leaf(group, command_name(name), ("Run %s on one %s (%s %s)."):format(words(name),
    words(def.name), call.method, call.path))
  object_argument(cmd, def)
  field_flags(cmd, call.fields)
  return { call = name }
end

--- Declares the commands of `def`'s actions, nested collections and calls
-- in `group` (its command `name`), with the parser builder `build`.
function calls.add(build, group, name, def)
  for _, c in ipairs(commands(def)) do
    local detail = DECLARE[c[2]](build, group, def, c[3])
    build.route(name .. " " .. c[1], MODULE, c[2], def, detail)
  end
end

-- Handlers ---------------------------------------------------------------

-- `call(service, id)` with `ref` as the id, then with the id of the object
-- whose identity key is `ref` when `ref` is no id (a 404).
-- -> result, err, the id used (a failure is returned, not raised).
local function on_ref(service, def, ref, call)
  local result, err = call(service, ref)
  if result ~= nil or not resource.is_404(err) or not def.identity then return result, err, ref end
  local object = resource.by_identity(service, def, ref, err)
  result, err = call(service, object.id)
  return result, err, object.id
end

function calls.action(ctx)
  local service, def = resource.service_of(ctx)
  local name, args = ctx.detail.action, ctx.args
  local opts = args.wait and { wait = { timeout = args.wait_timeout } } or nil
  local result, err, id = on_ref(service, def, args.id, function(s, ref) return s[name](s, ref, opts) end)
  if result == nil and fail.wait_ran_out(err) then
    -- sent, but not there in time: say which object, and exit WAIT
    if ctx.format == "json" then
      ctx.out:write(output.json{ id = id, action = name, status = err.last_status }, "\n")
    else
      ctx.out:write(("%s sent to %s (still %s when --wait-timeout ran out)\n"):format(name, id,
        tostring(err.last_status)))
    end
    ctx.err:write(fail.redact(tostring(err)), "\n")
    return fail.WAIT
  end
  check(result, err)
  if type(result) == "table" then
    resource.show(ctx, def, result)
  elseif ctx.format == "json" then
    ctx.out:write(output.json{ id = id, action = name }, "\n")
  else
    ctx.out:write(("%s sent to %s\n"):format(name, id))
  end
  return fail.OK
end

function calls.actions(ctx)
  local service, def = resource.service_of(ctx)
  local list = check(on_ref(service, def, ctx.args.id, function(s, ref) return s:actions(ref) end))
  if ctx.format == "json" then
    ctx.out:write(output.json{ actions = list }, "\n")
  elseif #list == 0 then
    ctx.out:write("no actions available now\n")
  else
    for _, action in ipairs(list) do ctx.out:write(tostring(action), "\n") end
  end
  return fail.OK
end

-- The nested collection as a definition for the output of resource.lua.
local function nested_def(def, plural)
  local nested = def.nested[plural]
  return { name = nested.name, plural = plural, list_key = nested.list_key, statuses = true }
end

function calls.nested_list(ctx)
  local service, def = resource.service_of(ctx)
  local plural, args = ctx.detail.plural, ctx.args
  local query = { page = args.page or 1, per_page = args.per_page }
  local page = check(on_ref(service, def, args.id, function(s, ref) return s[plural](s, ref, query) end))
  local shown = nested_def(def, plural)
  local items = page[shown.list_key] or {}
  if ctx.format == "json" then
    ctx.out:write(output.json{ [shown.list_key] = items, total_count = page.total_count or #items,
      page = page.page, per_page = page.per_page }, "\n")
  else
    ctx.out:write(resource.list_text(ctx, shown, items, page))
  end
  return fail.OK
end

function calls.nested_create(ctx)
  local service, def = resource.service_of(ctx)
  local plural = ctx.detail.plural
  local body = resource.given(ctx.args, def.nested[plural].fields, "f_")
  local method = "create_" .. def.nested[plural].name
  local object = check(on_ref(service, def, ctx.args.id, function(s, ref) return s[method](s, ref, body) end))
  resource.show(ctx, nested_def(def, plural), object)
  return fail.OK
end

function calls.call(ctx)
  local service, def = resource.service_of(ctx)
  local name = ctx.detail.call
  local call = def.calls[name]
  local arg
  if call.argument ~= nil then
    arg = ctx.args["f_" .. call.argument]
  elseif call.fields ~= nil then
    arg = resource.given(ctx.args, call.fields, "f_")
  end
  local result, err, id = on_ref(service, def, ctx.args.id, function(s, ref) return s[name](s, ref, arg) end)
  check(result, err)
  if type(result) == "table" then
    resource.show(ctx, def, result)
  elseif ctx.format == "json" then
    ctx.out:write(output.json{ id = id, [name] = true }, "\n")
  else
    ctx.out:write(("%s: done for %s\n"):format(command_name(name), id))
  end
  return fail.OK
end

return calls
