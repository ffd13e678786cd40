--- Declarative create/update/delete: make the object named in `desired`
-- exist as described (present) or not exist (absent), writing only when
-- something differs. Works on a service (`svc.def` and its list, create,
-- update, delete) of any definition with an `identity`.
--
-- What it reads from the definition `def`:
--   def.identity         field that identifies an object (required)
--   def.fields / def.validate.create   checked before any request
--   def.immutable        fields that cannot change after create; fields
--                        marked `create_only` cannot either. A difference
--                        in one is a `conflict` error: nothing is sent,
--                        the object is never replaced
--   def.compare(current_or_nil, desired) -> changed, details
--                        details is merged into the plan (e.g. changes,
--                        rules); without it, ensure.compare (below)
--   def.update_body(current, desired) -> body for update (default: the
--                        desired fields that can be changed)
--   def.statuses.deleting  objects on their way out are not "present"
-- Per field (`def.fields[name]`): `write_only = true` (the server never
-- echoes it, e.g. a password: not compared, sent on create only) and
-- `reference = true | key | {keys}` (given as an id, echoed as an object
-- or a list of objects holding it under `id`, or under one of the keys:
-- compared by that, lists as sets).
-- @module genesiscloud.service.ensure

local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.validate"
local paginate = require "genesiscloud.service.paginate"
local wait = require "genesiscloud.service.wait"
local options = require "genesiscloud.options"
local fields = require "genesiscloud.service.fields"
local json = require "genesiscloud.json"

local ensure = {}

-- Keys that steer ensure when given inside `desired`; never sent.
local CONTROL = { dry_run = true, wait = true }
local OPTIONS = options.set{ "dry_run", "wait" }

-- The largest page the API allows: fewest requests for a full walk.
local LIST_OPTS = { per_page = 100 }

local function plural_label(def)
  return (def.plural:gsub("_", " "))
end

local function usage(message)
  return nil, errors.new{ kind = "usage", message = message }
end

-- desired (a plain copy: what is validated is what is sent) and opts ->
-- spec, options | nil, err
local function split(desired, opts, fname)
  local ok, err = options.check_keys(fname, opts, OPTIONS)
  if not ok then return nil, err end
  desired, err = validate.plain(desired)
  if not desired then return nil, err end
  local spec, o = {}, {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(desired) do
    if CONTROL[k] then
      if o[k] == nil then o[k] = v end
    else
      spec[k] = v
    end
  end
  if o.dry_run ~= nil and type(o.dry_run) ~= "boolean" then
    return usage(fname .. ": option 'dry_run' must be true or false, got " .. validate.describe(o.dry_run))
  end
  ok, err = wait.check_flag(o.wait, fname)
  if not ok then return nil, err end
  return spec, o
end

-- A server answer ensure cannot act on.
local function bad_answer(def, message)
  return nil, errors.new{ kind = "decode", method = "GET", path = def.path, message = message }
end

-- The object found must carry an id to be updated, deleted or waited for.
-- `key`: the field the object was found by, when it came from the list.
local function check_id(def, obj, key)
  if type(obj.id) ~= "string" or obj.id == "" then
    local what = (def.name:gsub("_", " "))
    if key then
      return bad_answer(def, string.format("the list holds a %s with %s %q but no id (got %s):"
        .. " ensure cannot act on it", what, key, tostring(obj[key]), validate.describe(obj.id)))
    end
    return bad_answer(def, string.format("a %s in the response has no id (got %s)",
      what, validate.describe(obj.id)))
  end
  return true
end

local function key_of(def, spec)
  local key = def.identity
  if key == nil then
    return usage(("ensure: the %s has no identity, so an object cannot be found again"):format(
      (def.name:gsub("_", " "))))
  end
  local ok, err = validate.string(spec[key], key, { non_empty = true })
  if not ok then return nil, err end
  return key
end

-- -> the one object whose `key` equals `value`, false when there is none,
-- nil, err on failure or when several match (never a guess).
-- An object that is being deleted is already on its way out: it neither
-- satisfies "present" nor needs deleting again.
local function find_one(svc, key, value)
  local def = svc.def
  local found = {}
  local ok, err = paginate.each(svc, function(obj)
    if type(obj) == "table" and obj[key] == value and not wait.is_leaving(def, obj) then
      found[#found + 1] = obj
    end
  end, LIST_OPTS)
  if not ok then return nil, err end
  for _, obj in ipairs(found) do
    ok, err = check_id(def, obj, key)
    if not ok then return nil, err end
  end
  if #found > 1 then
    local ids = {}
    for i, obj in ipairs(found) do ids[i] = tostring(obj.id) end
    return nil, errors.new{
      kind = "conflict", field = key, value = value, ids = ids,
      message = string.format("%d %s have %s %q (ids %s): rename or delete all but one, ensure will not guess",
        #found, plural_label(def), key, value, table.concat(ids, ", ")),
    }
  end
  return found[1] or false
end

local function deep_equal(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Comparing fields -----------------------------------------------------------------

local function field_of(def, name)
  local f = def.fields and def.fields[name]
  return type(f) == "table" and f or nil
end

-- The keys an echoed reference holds the given value under, or nil.
local function reference_keys(field)
  local r = field and field.reference
  if r == true then return { "id" } end
  if type(r) == "string" then return { r } end
  if type(r) == "table" then return r end
end

-- Whether `echoed` (an object, or the bare value) refers to `given`.
local function refers(keys, echoed, given)
  if type(echoed) ~= "table" then return echoed == given end
  for _, k in ipairs(keys) do
    if echoed[k] ~= nil and echoed[k] == given then return true end
  end
  return false
end

-- Every item of `a` is referred to by (or refers to) one of `b`.
local function covered(keys, a, b, a_echoed)
  for _, x in ipairs(a) do
    local hit = false
    for _, y in ipairs(b) do
      if (a_echoed and refers(keys, x, y)) or (not a_echoed and refers(keys, y, x)) then hit = true break end
    end
    if not hit then return false end
  end
  return true
end

-- A reference (one id) or a list of them, compared as a set.
local function same_reference(keys, echoed, given)
  if type(given) ~= "table" then return refers(keys, echoed, given) end
  if type(echoed) ~= "table" then echoed = {} end -- none attached
  return covered(keys, given, echoed, false) and covered(keys, echoed, given, true)
end

local function same(field, echoed, given)
  local keys = reference_keys(field)
  if keys then return same_reference(keys, echoed, given) end
  return deep_equal(echoed, given)
end

-- Fields that cannot change once the object exists: `immutable` and the
-- `create_only` ones.
local function fixed_fields(def)
  local set = {}
  for _, k in ipairs(def.immutable or {}) do set[k] = true end
  for k, f in pairs(def.fields or {}) do
    if type(f) == "table" and f.create_only then set[k] = true end
  end
  return set
end

--- The generic compare of `def` (used when it has no `compare` hook):
-- every field given in `desired` that the server echoes (not
-- `write_only`) and that differs on the server is a change. Fields that
-- cannot change are ensure.conflict's, once the object exists.
-- @return changed, { changes = { field = { from, to } } }
function ensure.compare(def, current, desired)
  local changes, changed = {}, false
  local fixed = current and fixed_fields(def) or {}
  for k, v in pairs(desired) do
    local field = field_of(def, k)
    if not (field and field.write_only) and not fixed[k] then
      local from = current and current[k]
      if not same(field, from, v) then
        changes[k] = { from = from, to = v }
        changed = true
      end
    end
  end
  return changed, { changes = changes }
end

local function shown(value)
  local ok, text = pcall(json.encode, value)
  return ok and text or tostring(value)
end

--- The `conflict` error when `desired` differs from `current` in a field
-- that cannot change (compared as ensure.compare; a field the server does
-- not echo cannot be compared, so it is no conflict), or nil.
function ensure.conflict(def, current, desired, key)
  local names, changes = {}, {}
  for k in pairs(fixed_fields(def)) do
    local field, want, have = field_of(def, k), desired[k], current[k]
    if want ~= nil and have ~= nil and not (field and field.write_only) and not same(field, have, want) then
      names[#names + 1], changes[k] = k, { from = have, to = want }
    end
  end
  if #names == 0 then return nil end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do
    parts[i] = ("%s is %s, wanted %s"):format(k, shown(changes[k].from), shown(changes[k].to))
  end
  return errors.new{
    kind = "conflict", id = current.id, field = names[1], fields = names, changes = changes,
    message = ("%s %s %q (id %s) cannot be changed where it differs (%s): ensure will not replace it;"
      .. " delete it and ensure again, or ensure another %s"):format((def.name:gsub("_", " ")), key,
      tostring(desired[key]), tostring(current.id), table.concat(parts, "; "), key),
  }
end

-- What an update sends: the desired fields that can change and are echoed.
local function update_body(def, current, desired)
  if def.update_body then return def.update_body(current, desired) end
  local fixed, body = fixed_fields(def), {}
  for k, v in pairs(desired) do
    local field = field_of(def, k)
    if not fixed[k] and not (field and field.write_only) then body[k] = v end
  end
  return body
end

--- The plan of ensuring `spec` given `current` (the object found, or nil).
-- -> plan, action | nil, err (a conflict, or an object that cannot be read)
function ensure.plan(def, current, spec, key)
  if current then
    local conflict = ensure.conflict(def, current, spec, key)
    if conflict then return nil, conflict end
  end
  local changed, details
  if def.compare then
    changed, details = def.compare(current, spec)
  else
    changed, details = ensure.compare(def, current, spec)
  end
  if changed == nil then return nil, details end -- the current object cannot be read
  local action = (not current and "created") or (changed and "updated") or "unchanged"
  local plan = { action = action, id = current and current.id or nil, [key] = spec[key], changes = {} }
  for k, v in pairs(details or {}) do plan[k] = v end
  return plan, action
end

local function wait_opts(o)
  return type(o.wait) == "table" and o.wait or {}
end

-- Writes what `action` says. -> the object | nil, err
local function write(svc, current, spec, action)
  if action == "created" then
    -- The walk found no live object with this key: the create need not
    -- list again to know what existed before it.
    return svc:create(spec, { existing = {} })
  elseif action == "updated" then
    return svc:update(current.id, update_body(svc.def, current, spec))
  end
  return current
end

-- opts (or the same keys inside desired): dry_run, wait (true or wait options).
-- -> obj, action, plan   action "created" | "updated" | "unchanged"
-- -> plan, action        with dry_run (nothing written)
-- -> nil, err            (kind "conflict": a field that cannot change differs)
function ensure.present(svc, desired, opts, fname)
  local def = svc.def
  if type(desired) ~= "table" then
    return usage("ensure needs a table describing the wanted " .. def.name)
  end
  local spec, o = split(desired, opts, fname or ("ensure_" .. def.name))
  if not spec then return nil, o end
  local ok, err = fields.check(def, spec, "create")
  if not ok then return nil, err end
  local key, key_err = key_of(def, spec)
  if not key then return nil, key_err end

  local current
  current, err = find_one(svc, key, spec[key])
  if current == nil then return nil, err end
  local plan, action = ensure.plan(def, current or nil, spec, key)
  if not plan then return nil, action end
  if o.dry_run then
    plan.dry_run = true
    return plan, action
  end

  local obj
  obj, err = write(svc, current, spec, action)
  if not obj then return nil, err end
  if o.wait then
    ok, err = check_id(def, obj)
    if not ok then return nil, err end
    obj, err = wait.for_status(svc, obj.id, wait_opts(o))
    if not obj then return nil, err end
  end
  return obj, action, plan
end

-- -> true, "deleted" | true, "absent" ; with dry_run: plan, action ; nil, err
function ensure.absent(svc, desired, opts, fname)
  local def = svc.def
  if type(desired) ~= "table" then
    return usage("ensure_absent needs a table naming the " .. def.name)
  end
  local spec, o = split(desired, opts, fname or ("ensure_" .. def.name .. "_absent"))
  if not spec then return nil, o end
  local key, key_err = key_of(def, spec)
  if not key then return nil, key_err end

  local current, err = find_one(svc, key, spec[key])
  if current == nil then return nil, err end
  local action = current and "deleted" or "absent"
  if o.dry_run then
    return { action = action, id = current and current.id or nil, [key] = spec[key], dry_run = true }, action
  end
  if not current then return true, "absent" end

  local ok
  ok, err = svc:delete(current.id)
  if not ok then
    -- Deleted by someone else between the lookup and our request.
    if errors.is(err) and err.kind == "api" and err.status == 404 then return true, "absent" end
    return nil, err
  end
  if o.wait then
    ok, err = wait.for_deleted(svc, current.id, wait_opts(o))
    if not ok then return nil, err end
  end
  return true, "deleted"
end

return ensure
