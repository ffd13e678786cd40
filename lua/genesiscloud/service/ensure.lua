--- Declarative create/update/delete: make the object named in `desired`
-- exist as described (present) or not exist (absent), writing only when
-- something differs. Works on a service (`svc.def` and its list, create,
-- update, delete).
--
-- Hooks read from the definition `def`:
--   def.identity         field that identifies an object (default "name")
--   def.validate.create(spec) -> true | nil, err   checked before any request
--   def.compare(current_or_nil, desired) -> changed, details
--                        details is merged into the plan (e.g. changes, rules)
--   def.update_body(current, desired) -> body for update (default: desired)
-- @module genesiscloud.service.ensure

local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.validate"
local paginate = require "genesiscloud.service.paginate"
local wait = require "genesiscloud.service.wait"
local options = require "genesiscloud.options"

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
  local key = def.identity or "name"
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
  local leaving = def.statuses and def.statuses.deleting or "deleting"
  local ok, err = paginate.each(svc, function(obj)
    if type(obj) == "table" and obj[key] == value and obj.status ~= leaving then found[#found + 1] = obj end
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

-- Used when a resource has no compare hook: every field given in desired.
local function default_compare(current, desired)
  local changes, changed = {}, false
  for k, v in pairs(desired) do
    local from = current and current[k]
    if not deep_equal(from, v) then
      changes[k] = { from = from, to = v }
      changed = true
    end
  end
  return changed, { changes = changes }
end

local function wait_opts(o)
  return type(o.wait) == "table" and o.wait or {}
end

-- opts (or the same keys inside desired): dry_run, wait (true or wait options).
-- -> obj, action, plan   action "created" | "updated" | "unchanged"
-- -> plan, action        with dry_run (nothing written)
-- -> nil, err
function ensure.present(svc, desired, opts, fname)
  local def = svc.def
  if type(desired) ~= "table" then
    return usage("ensure needs a table describing the wanted " .. def.name)
  end
  local spec, o = split(desired, opts, fname or ("ensure_" .. def.name))
  if not spec then return nil, o end
  local check = def.validate and def.validate.create
  if check then
    local ok, err = check(spec)
    if not ok then return nil, err end
  end
  local key, key_err = key_of(def, spec)
  if not key then return nil, key_err end

  local current, err = find_one(svc, key, spec[key])
  if current == nil then return nil, err end
  local changed, details = (def.compare or default_compare)(current or nil, spec)
  if changed == nil then return nil, details end -- the current object cannot be read
  local action = (not current and "created") or (changed and "updated") or "unchanged"
  local plan = { action = action, id = current and current.id or nil, [key] = spec[key],
                 changes = {}, dry_run = o.dry_run and true or nil }
  for k, v in pairs(details or {}) do plan[k] = v end
  if o.dry_run then return plan, action end

  local obj = current
  if action == "created" then
    -- The walk above found no live object with this key: the create need
    -- not list again to know what existed before it.
    obj, err = svc:create(spec, { existing = {} })
  elseif action == "updated" then
    local body = def.update_body and def.update_body(current, spec) or spec
    obj, err = svc:update(current.id, body)
  end
  if not obj then return nil, err end
  if o.wait then
    local ok, id_err = check_id(def, obj)
    if not ok then return nil, id_err end
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
