--- Creating an object, recovering from a lost answer. POST is not
-- idempotent: it is sent again only when it provably did not take effect,
-- so one create never leaves two objects behind, and an object that
-- existed before is never taken for the one it created. Recovery looks
-- objects up by the definition's `identity`; without one an ambiguous
-- failure is an `unknown_outcome`.
-- @module genesiscloud.service.create
local errors = require "genesiscloud.errors"
local request = require "genesiscloud.request"
local retry = require "genesiscloud.retry"
local paginate = require "genesiscloud.service.paginate"
local wait = require "genesiscloud.service.wait"

local create = {}

local function label(def) return (def.name:gsub("_", " ")) end

--- The ids in a create's `existing` option: the objects (or their ids)
-- the caller listed just before, so the create need not list them itself.
-- -> set of ids | nil, err (usage)
function create.given_ids(existing, fname)
  local function bad(what)
    return errors.fail{ kind = "usage",
      message = fname .. ": option 'existing' must be a list of objects or ids (" .. what .. ")" }
  end
  if type(existing) ~= "table" then return bad("got " .. type(existing)) end
  local ids = {}
  for i, v in ipairs(existing) do
    local id = v
    if type(v) == "table" then id = v.id end
    if type(id) ~= "string" and type(id) ~= "number" then return bad("entry " .. i .. " has no id") end
    ids[id] = true
  end
  return ids
end

--- Ids of the objects whose identity is one of `values` (a set), taken
-- before a POST: the recovery of a create whose answer was lost never
-- claims one of them. -> set of ids | nil, err
function create.existing_ids(svc, values)
  local def = svc.def
  local key, ids = def.identity, {}
  if not key or next(values) == nil or not svc.ops.list then return ids end
  local ok, err = paginate.each(svc, function(obj)
    if values[obj[key]] and obj.id ~= nil then ids[obj.id] = true end
  end, { per_page = 100 })
  if not ok then
    err.message = "nothing was sent: listing the existing " .. label(def) .. "s first failed: " .. err.message
    err.created = false -- provably: the POST was never sent
    return nil, err
  end
  return ids
end

-- The error for a create whose outcome is unknown: what happened, and
-- what to check before sending it again.
local function unknown_outcome(def, spec, cause, why, ids)
  local key = def.identity
  local name = key and spec[key]
  local check = name ~= nil
    and ("check the %ss with %s %q before creating it again"):format(label(def), key, tostring(name))
    or ("check the %ss before creating it again"):format(label(def))
  return errors.new{
    kind = "unknown_outcome", method = "POST", path = def.path, cause = cause, ids = ids,
    attempts = cause and cause.attempts, retryable = false,
    message = ("the outcome of the create is unknown (%s): %s; %s"):format(
      cause and cause.message or "no answer", why, check),
  }
end

-- Sorts the objects listed after a lost answer: -> matches, ids, unreadable
local function matches_of(def, all, spec, before, exclude)
  local key = def.identity
  local found, ids, unreadable = {}, {}, nil
  for i = #all, 1, -1 do
    local obj = all[i]
    if obj[key] == spec[key] and not wait.is_leaving(def, obj)
        and not (exclude and exclude[obj.id]) and not (before and before[obj.id]) then
      -- compare -> true (differs), false (matches), nil (cannot be read)
      local differs = false
      if def.compare then differs = def.compare(obj, spec) end
      if differs == nil then
        unreadable = "a " .. label(def) .. " with this " .. key .. " that cannot be compared is listed"
      elseif not differs then
        found[#found + 1] = obj
        ids[#ids + 1] = tostring(obj.id)
        if type(obj.id) ~= "string" then unreadable = "a matching " .. label(def) .. " without an id is listed" end
      end
    end
  end
  return found, ids, unreadable
end

-- After a create whose answer was lost the object may exist: one with the
-- same identity whose fields match the spec, that was not there before the
-- first POST (`before`) and is not accounted for by another create of the
-- same batch (`exclude`). `peers`: how many unresolved creates of the batch
-- send this very spec; that many new matches can all be theirs.
-- -> obj | false (provably not created) | nil, why, ids (unknown)
local function find_created(svc, spec, before, exclude, peers)
  local def = svc.def
  local key = def.identity
  if not key or spec[key] == nil or not svc.ops.list then
    return nil, "there is no " .. (key or "key") .. " to look it up by"
  end
  local all, err = paginate.all(svc, { per_page = 100 })
  if not all then return nil, "looking for it failed: " .. err.message end
  local found, ids, unreadable = matches_of(def, all, spec, before, exclude)
  if unreadable then return nil, unreadable, ids end
  if #found == 0 then return false end
  if #found > (peers or 1) then
    return nil, #found .. " new matching " .. label(def) .. "s exist (ids " .. table.concat(ids, ", ")
      .. "): someone else created one too", ids
  end
  return found[1] -- the newest
end

--- Sends the POST of `spec` until it is known to have worked or not.
-- `err`: an ambiguous failure of a POST already sent (by a bulk create), to
-- be sorted out first. `before`: existing_ids() from before the POST.
-- -> obj | nil, err
function create.send(svc, spec, err, exclude, before, peers)
  local def, op = svc.def, svc.ops.create
  local policy = svc.st.policy
  local attempts = 0
  while true do
    if err == nil then
      local obj
      obj, err = request.run(svc.st, op, op.path, spec)
      if obj or not err.ambiguous then return obj, err end
    end
    attempts = attempts + err.attempts
    err.attempts = attempts
    local found, why, ids = find_created(svc, spec, before, exclude, peers)
    if found then return found end
    if found == nil then return nil, unknown_outcome(def, spec, err, why, ids) end
    if attempts > policy.max_retries then
      err.message = err.message .. " (the " .. label(def) .. " was not created: none was found after the failure)"
      err.created = false
      return nil, err
    end
    policy.sleep(retry.delay(attempts, policy, err))
    err = nil
  end
end

return create
