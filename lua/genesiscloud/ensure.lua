-- Declarative create/update/delete: make the object named in `desired`
-- exist as described (present) or not exist (absent), writing only when
-- something differs.
--
-- Hooks read from the resource description `res`:
--   res.key              field that identifies an object (default "name")
--   res.validate(spec)   -> true | nil, err   checked before any request
--   res.compare(current_or_nil, desired) -> changed, details
--                        details is merged into the plan (e.g. changes, rules)
--   res.update_body(current, desired) -> body for update (default: desired)

local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.validate"
local paginate = require "genesiscloud.paginate"
local wait = require "genesiscloud.wait"

local ensure = {}

-- Keys that steer ensure when given inside `desired`; never sent.
local CONTROL = { dry_run = true, wait = true }

-- The largest page the API allows: fewest requests for a full walk.
local LIST_OPTS = { per_page = 100 }

local function plural_label(res)
  return (res.plural:gsub("_", " "))
end

local function usage(message)
  return nil, errors.new{ kind = "usage", message = message }
end

local function split(desired, opts)
  local spec, o = {}, {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(desired) do
    if CONTROL[k] then
      if o[k] == nil then o[k] = v end
    else
      spec[k] = v
    end
  end
  return spec, o
end

local function key_of(res, spec)
  local key = res.key or "name"
  local ok, err = validate.string(spec[key], key, { non_empty = true })
  if not ok then return nil, err end
  return key
end

-- -> the one object whose `key` equals `value`, false when there is none,
-- nil, err on failure or when several match (never a guess).
-- An object that is being deleted is already on its way out: it neither
-- satisfies "present" nor needs deleting again.
local function find_one(client, res, key, value)
  local found, anonymous = {}, false
  local leaving = res.deleting_status or "deleting"
  local ok, err = paginate.each(client, res, function(obj)
    if obj[key] == value and obj.status ~= leaving then
      found[#found + 1] = obj
      -- the list may hold objects without ids; one that matches cannot be
      -- updated or deleted
      if type(obj.id) ~= "string" or obj.id == "" then anonymous = true end
    end
  end, LIST_OPTS)
  if not ok then return nil, err end
  if anonymous then
    return nil, errors.new{ kind = "decode", status = 200, method = "GET", path = res.path,
      message = string.format("the list holds a %s with %s %q but no id: ensure cannot act on it",
        (res.singular:gsub("_", " ")), key, value) }
  end
  if #found > 1 then
    local ids = {}
    for i, obj in ipairs(found) do ids[i] = tostring(obj.id) end
    return nil, errors.new{
      kind = "conflict", field = key, value = value, ids = ids,
      message = string.format("%d %s have %s %q (ids %s): rename or delete all but one, ensure will not guess",
        #found, plural_label(res), key, value, table.concat(ids, ", ")),
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
function ensure.present(client, res, desired, opts)
  if type(desired) ~= "table" then
    return usage("ensure needs a table describing the wanted " .. res.singular)
  end
  local spec, o = split(desired, opts)
  if res.validate then
    local ok, err = res.validate(spec)
    if not ok then return nil, err end
  end
  local key, key_err = key_of(res, spec)
  if not key then return nil, key_err end

  local current, err = find_one(client, res, key, spec[key])
  if current == nil then return nil, err end
  local changed, details = (res.compare or default_compare)(current or nil, spec)
  local action = (not current and "created") or (changed and "updated") or "unchanged"
  local plan = { action = action, id = current and current.id or nil, [key] = spec[key],
                 changes = {}, dry_run = o.dry_run and true or nil }
  for k, v in pairs(details or {}) do plan[k] = v end
  if o.dry_run then return plan, action end

  local obj = current
  if action == "created" then
    -- The walk above found no live object with this key: the create need
    -- not list again to know what existed before it.
    obj, err = client["create_" .. res.singular](client, spec, { existing = {} })
  elseif action == "updated" then
    local body = res.update_body and res.update_body(current, spec) or spec
    obj, err = client["update_" .. res.singular](client, current.id, body)
  end
  if not obj then return nil, err end
  if o.wait then
    obj, err = wait.for_status(client, res, obj.id, wait_opts(o))
    if not obj then return nil, err end
  end
  return obj, action, plan
end

-- -> true, "deleted" | true, "absent" ; with dry_run: plan, action ; nil, err
function ensure.absent(client, res, desired, opts)
  if type(desired) ~= "table" then
    return usage("ensure_absent needs a table naming the " .. res.singular)
  end
  local spec, o = split(desired, opts)
  local key, key_err = key_of(res, spec)
  if not key then return nil, key_err end

  local current, err = find_one(client, res, key, spec[key])
  if current == nil then return nil, err end
  local action = current and "deleted" or "absent"
  if o.dry_run then
    return { action = action, id = current and current.id or nil, [key] = spec[key], dry_run = true }, action
  end
  if not current then return true, "absent" end

  local ok
  ok, err = client["delete_" .. res.singular](client, current.id)
  if not ok then
    -- Deleted by someone else between the lookup and our request.
    if errors.is(err) and err.kind == "api" and err.status == 404 then return true, "absent" end
    return nil, err
  end
  if o.wait then
    ok, err = wait.for_deleted(client, res, current.id, wait_opts(o))
    if not ok then return nil, err end
  end
  return true, "deleted"
end

return ensure
