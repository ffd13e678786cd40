--- The commands of any resource of the registry, made from its definition
-- (lua/genesiscloud/resources/): `list` (its `query` filters as flags, and
-- --page/--per-page/--all), `get`, `create` and `update` (flags from its
-- `fields`), `delete`, each only when the resource has that operation. A
-- resource with no list whose `get` takes path parameters is one command:
-- `genesiscloud availability REGION`. get, update and delete take an id or,
-- when the resource has an identity key, that key's value (a name).
-- Each handler takes the context from main and returns an exit code;
-- failures are raised (see fail.lua).
-- @module genesiscloud.cli.commands.resource
local fail = require "genesiscloud.cli.fail"
local flags = require "genesiscloud.cli.flags"
local output = require "genesiscloud.cli.output"

local resource = {}

local MODULE = "genesiscloud.cli.commands.resource"
local check = fail.check

-- A file given as @FILE is a key or a text, not a disk image.
local FILE_MAX = 1024 * 1024

-- "ssh key", "ssh keys": a definition's names as words for messages.
local function singular(def) return (def.name:gsub("_", " ")) end
local function plural(def) return (def.plural:gsub("_", " ")) end

local function flag_name(key)
  return "--" .. key:gsub("_", "-")
end

function resource.sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The positional parameters of `get`: the operation's path parameters, or
-- the id.
local function get_params(def)
  local get = def.operations.get
  return (type(get) == "table" and get.params) or { "id" }
end

-- The value of a string flag: "@FILE" reads FILE ("@-": standard input;
-- one final line end dropped, as a key file ends), "@@..." is "@...".
local function string_value(flag)
  return function(text)
    if text:sub(1, 2) == "@@" then return text:sub(2) end
    if text:sub(1, 1) ~= "@" then return text end
    local path = text:sub(2)
    local f, err = io.stdin, nil
    if path ~= "-" then f, err = io.open(path, "r") end
    if not f then return nil, ("%s: cannot read %s"):format(flag, tostring(err)) end
    local content, read_err = f:read(FILE_MAX + 1)
    if f ~= io.stdin then f:close() end
    if content == nil and read_err then
      return nil, ("%s: cannot read %s: %s"):format(flag, path, tostring(read_err))
    end
    content = content or ""
    if #content > FILE_MAX then
      return nil, ("%s: %s is larger than %d bytes"):format(flag, path, FILE_MAX)
    end
    return (content:gsub("\r?\n$", ""))
  end
end

-- A number flag checked against the field's min/max (when given).
local function number_value(flag, spec)
  flags.numeric[flag] = true
  return function(text)
    local n = tonumber(text)
    if n and spec.type == "integer" then n = math.tointeger(n) end
    if not n or n ~= n or (spec.min and n < spec.min) or (spec.max and n > spec.max) then
      local range = (spec.min or spec.max) and (" from %s to %s"):format(tostring(spec.min or "-inf"),
        tostring(spec.max or "inf")) or ""
      return nil, ("%s must be a %s%s, got '%s'"):format(flag,
        spec.type == "integer" and "whole number" or "number", range, text)
    end
    return n
  end
end

-- An object field given as KEY=VALUE (the value as a string flag's: @FILE
-- reads a file), once per key.
local function pair_value(flag)
  local text_value = string_value(flag)
  return function(text)
    local key, value = text:match("^([%w_]+)=(.*)$")
    if not key then return nil, ("%s takes KEY=VALUE, got '%s'"):format(flag, text) end
    local v, err = text_value(value)
    if v == nil then return nil, err end
    return { key, v }
  end
end

-- The flag of one field or query key on `cmd` (target `prefix .. key`):
-- a list is one flag per element, named in the singular (--ssh-key ID,
-- repeated); an object one KEY=VALUE per key (--metadata startup_script=@FILE).
function resource.value_flag(cmd, key, spec, prefix, required)
  local kind = spec.type or "string"
  local flag = flag_name(kind == "array" and key:gsub("s$", "") or key)
  local help = (spec.doc or key) .. "."
  local option
  if spec.enum then
    option = cmd:option(flag, help):choices(spec.enum)
  elseif kind == "string" then
    option = cmd:option(flag, help):convert(string_value(flag))
  elseif kind == "integer" or kind == "number" then
    option = cmd:option(flag, help):convert(number_value(flag, spec))
  elseif kind == "boolean" then
    option = cmd:option(flag, help):choices{ "true", "false" }
  elseif kind == "array" then
    option = cmd:option(flag, help .. " Repeat for more."):count("*")
  elseif kind == "object" then
    option = cmd:option(flag, help .. " As KEY=VALUE (VALUE: text or @FILE); repeat for more keys.")
      :count("*"):convert(pair_value(flag))
  else
    return nil
  end
  option:target(prefix .. key):argname(kind == "object" and "KEY=VALUE" or (flag:sub(3):gsub("-", "_"):upper()))
  if required then option:count(1) end
  return option
end

-- The values given for `specs` (fields or query) from the parsed flags.
function resource.given(args, specs, prefix)
  local values = {}
  for key, spec in pairs(specs or {}) do
    local v = args[prefix .. key]
    if spec.type == "boolean" and v ~= nil then v = v == "true" end
    if type(v) == "table" and #v == 0 then v = nil end -- a repeatable flag not given
    if v and spec.type == "object" then
      local object = {}
      for _, pair in ipairs(v) do object[pair[1]] = pair[2] end
      v = object
    end
    values[key] = v
  end
  return values
end

local function add_list(build, group, name, def)
  local list = build.leaf(group, "list", "List " .. plural(def)
    .. (def.operations.list.paginated == false and "." or ": one page, or every page with --all."))
  for _, key in ipairs(resource.sorted_keys(def.query)) do resource.value_flag(list, key, def.query[key], "q_") end
  if def.operations.list.paginated ~= false then
    flags.pages(list, plural(def))
  end
  build.route(name .. " list", MODULE, "list", def)
end

local function add_get(build, parent, path, def, standalone)
  local id_doc = def.identity and ("The %s's id, or its %s."):format(singular(def), def.identity)
    or ("The %s's id."):format(singular(def))
  local cmd = build.leaf(parent, standalone and path or "get", "Show " .. (standalone
    and plural(def) .. " for one " .. table.concat(get_params(def), ", ") or "one " .. singular(def)) .. ".")
  for _, param in ipairs(get_params(def)) do
    if param == "id" then
      cmd:argument("id", id_doc):argname(def.identity and "ID|" .. def.identity:upper() or "ID")
    else
      cmd:argument(param, "The " .. param:gsub("_", " ") .. "."):argname(param:upper())
    end
  end
  build.route(standalone and path or path .. " get", MODULE, "get", def)
end

local FILE_NOTE = " A text value @FILE is read from FILE (@- standard input; @@ for a leading @)."

-- The id argument of update and delete: "ID|NAME" with an identity key.
function resource.id_argname(def)
  return def.identity and "ID|" .. def.identity:upper() or "ID"
end

local function add_writes(build, group, name, def)
  local ops = def.operations
  if ops.create then
    local create = build.leaf(group, "create", "Create a new " .. singular(def) .. "." .. FILE_NOTE)
    for _, key in ipairs(resource.sorted_keys(def.fields)) do
      local spec = def.fields[key]
      if not spec.update_only then resource.value_flag(create, key, spec, "f_", spec.required) end
    end
    if def.statuses then flags.wait(create, "it is ready") end
    build.route(name .. " create", MODULE, "create", def)
  end
  if ops.update then
    local update = build.leaf(group, "update", "Change " .. singular(def) .. " fields: only those given"
      .. " are sent." .. FILE_NOTE)
    update:argument("id", "Its id" .. (def.identity and ", or its " .. def.identity or "") .. ".")
      :argname(resource.id_argname(def))
    for _, key in ipairs(resource.sorted_keys(def.fields)) do
      local spec = def.fields[key]
      if not spec.create_only then resource.value_flag(update, key, spec, "f_") end
    end
    if def.statuses then flags.wait(update, "it is ready again") end
    build.route(name .. " update", MODULE, "update", def)
  end
  if ops.delete then
    local delete = build.leaf(group, "delete", "Delete one or more " .. plural(def) .. ".")
    delete:argument("ids", "Ids" .. (def.identity and " or " .. def.identity .. "s" or "") .. ".")
      :args("+"):argname(resource.id_argname(def))
    if def.statuses then flags.wait(delete, "each is gone") end
    build.route(name .. " delete", MODULE, "delete", def)
  end
end

--- Declares the commands of resource `def` under `name` (its `cli` name or
-- `cli_short`) with the parser builder `build` (see parser.lua).
function resource.add(build, parent, name, def)
  local ops = def.operations or {}
  if not ops.list and ops.get and get_params(def)[1] ~= "id" then
    return add_get(build, parent, name, def, true)
  end
  local names = {}
  for _, op in ipairs{ "list", "get", "create", "update", "delete" } do
    if ops[op] then names[#names + 1] = op end
  end
  local more = require "genesiscloud.cli.commands.resource_calls"
  for _, command in ipairs(more.names(def)) do names[#names + 1] = command end
  local group = build.group(parent, name, "Manage " .. plural(def) .. ": "
    .. table.concat(names, ", ") .. (name == def.cli_short and " (short for " .. def.cli .. ")" or "") .. ".")
  if ops.list then add_list(build, group, name, def) end
  if ops.get then add_get(build, group, name, def) end
  add_writes(build, group, name, def)
  more.add(build, group, name, def)
end

-- Handlers ---------------------------------------------------------------

function resource.service_of(ctx)
  local def = ctx.definition
  local client = ctx.client()
  return assert(client[def.plural], "no service " .. def.plural), def
end

function resource.is_404(err)
  return type(err) == "table" and err.kind == "api" and err.status == 404
end

-- Columns and lines shown first: the id, the identity key, the status.
local function first_keys(def)
  return { "id", def.identity or "name", def.statuses and "status" or nil }
end

function resource.show(ctx, def, object)
  if ctx.format == "json" then
    ctx.out:write(output.json(object), "\n")
  else
    ctx.out:write(output.object_detail(object, first_keys(def)))
  end
end

--- The objects whose identity key is `ref`, when `not_found` (the 404 of
-- `ref` taken as an id) says no object has that id: one -> it; none ->
-- raises `not_found` with a note (exit 1); several -> a usage error
-- listing their ids (exit 2). `cache` keeps each lookup for the run.
function resource.by_identity(service, def, ref, not_found, cache)
  if not (resource.is_404(not_found) and def.identity and service.find) then error(not_found, 0) end
  cache = cache or {}
  cache[ref] = cache[ref] or check(service:find(ref))
  local found = cache[ref]
  if #found == 1 then return found[1] end
  if #found == 0 then
    not_found.message = ("%s; no %s has %s %s either"):format(tostring(not_found.message),
      singular(def), def.identity, output.quote(ref))
    error(not_found, 0)
  end
  local ids = {}
  for i, object in ipairs(found) do ids[i] = tostring(object.id) end
  fail.usage(("%d %s have %s %s (ids %s): give the id of one"):format(#found, plural(def),
    def.identity, output.quote(ref), table.concat(ids, ", ")))
end

--- Runs `call(service, id)` with `ref` as the id, and again with the id of
-- the object whose identity key is `ref` when there is no such id.
-- -> what `call` returns; raises its error.
function resource.on_ref(service, def, ref, call, cache)
  local result, err = call(service, ref)
  if result ~= nil then return result end
  local object = resource.by_identity(service, def, ref, err, cache)
  return check(call(service, object.id))
end

function resource.list_text(ctx, def, items, page)
  local total = page and (math.tointeger(page.total_count) or page.total_count)
  if #items == 0 then
    if type(total) == "number" and total > 0 then
      return ("no %s on page %d (%d in all)\n"):format(plural(def), ctx.args.page or 1, total)
    end
    return "no " .. plural(def) .. "\n"
  end
  local text = output.objects_table(items, first_keys(def))
  if page and type(total) == "number" and total > #items then
    return text .. ("page %d: %d of %d %s; --page N for another page, --all for every page\n")
      :format(ctx.args.page or 1, #items, total, plural(def))
  end
  return text .. ("%d %s\n"):format(#items, #items == 1 and singular(def) or plural(def))
end

function resource.list(ctx)
  local service, def = resource.service_of(ctx)
  local args = ctx.args
  local query = resource.given(args, def.query, "q_")
  local items, page
  query.per_page = args.per_page
  if def.operations.list.paginated == false then
    -- answered whole: one request, with no page in it
    items = check(service:list(next(query) and { query = query } or nil))[def.list_key]
  elseif args.all then
    items = check(service:all(query))
  else
    query.page = args.page or 1
    page = check(service:list(query))
    items = page[def.list_key] or {}
  end
  if ctx.format == "json" then
    ctx.out:write(output.json{ [def.list_key] = items, total_count = page and page.total_count or #items,
      page = page and page.page or nil, per_page = page and page.per_page or nil }, "\n")
  else
    ctx.out:write(resource.list_text(ctx, def, items, page))
  end
  return fail.OK
end

function resource.get(ctx)
  local service, def = resource.service_of(ctx)
  local params = get_params(def)
  local object
  if #params == 1 and params[1] == "id" then
    local err
    object, err = service:get(ctx.args.id)
    if object == nil then object = resource.by_identity(service, def, ctx.args.id, err) end
  else
    local values = {}
    for i, param in ipairs(params) do values[i] = ctx.args[param] end
    object = check(service:get(table.unpack(values, 1, #params)))
  end
  resource.show(ctx, def, object)
  return fail.OK
end

-- After a write: with --wait, wait until it is ready; the object is
-- printed either way. A wait that runs out prints the object as written,
-- the reason on stderr, and exits WAIT.
local function written(ctx, service, def, object)
  if not ctx.args.wait then
    resource.show(ctx, def, object)
    return fail.OK
  end
  local ready, err = service:wait(object.id, { timeout = ctx.args.wait_timeout })
  if ready then
    resource.show(ctx, def, ready)
    return fail.OK
  end
  if not fail.wait_ran_out(err) then error(err, 0) end
  resource.show(ctx, def, object)
  ctx.err:write(fail.redact(tostring(err)), "\n")
  return fail.WAIT
end

function resource.create(ctx)
  local service, def = resource.service_of(ctx)
  local object = check(service:create(resource.given(ctx.args, def.fields, "f_")))
  return written(ctx, service, def, object)
end

function resource.update(ctx)
  local def = ctx.definition
  local body = resource.given(ctx.args, def.fields, "f_")
  if next(body) == nil then
    local names = {}
    for _, key in ipairs(resource.sorted_keys(def.fields)) do
      if not def.fields[key].create_only then names[#names + 1] = flag_name(key) end
    end
    fail.usage(("%s: nothing to change: give %s"):format(ctx.command, table.concat(names, ", ")))
  end
  local service = resource.service_of(ctx)
  local object = resource.on_ref(service, def, ctx.args.id, function(s, id) return s:update(id, body) end)
  return written(ctx, service, def, object)
end

-- Deletes `ref` (an id or a name) -> the id deleted | nil, err
local function delete_one(service, def, ref, cache)
  local ok, err = service:delete(ref)
  if ok then return ref end
  local found, object = pcall(resource.by_identity, service, def, ref, err, cache)
  if not found then return nil, object end
  ok, err = service:delete(object.id)
  if ok then return object.id end
  return nil, err
end

-- Sends every delete, then waits for each (with --wait). A failure on one
-- id or name is reported on stderr and the others go on; the exit code is
-- then the worst (fail.worse).
function resource.delete(ctx)
  local service, def = resource.service_of(ctx)
  local deleted, failed, pending, code, cache = {}, {}, {}, fail.OK, {}
  local function failure(ref, err)
    local line = fail.redact(tostring(err))
    ctx.err:write(line, "\n")
    failed[#failed + 1] = { id = ref, error = line }
    code = fail.worse(code, fail.exit_code(err))
  end
  local sent = {}
  for _, ref in ipairs(ctx.args.ids) do
    local id, err = delete_one(service, def, ref, cache)
    if id then sent[#sent + 1] = id else failure(ref, err) end
  end
  for _, id in ipairs(sent) do
    local ok, err = true, nil
    if ctx.args.wait then ok, err = service:wait_deleted(id, { timeout = ctx.args.wait_timeout }) end
    if ok then
      deleted[#deleted + 1] = id
    elseif fail.wait_ran_out(err) then
      pending[#pending + 1] = id
      ctx.err:write(fail.redact(tostring(err)), "\n")
      code = fail.worse(code, fail.WAIT)
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

return resource
