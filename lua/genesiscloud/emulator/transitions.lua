-- How a record's status moves on, per kind and step, like moto's state
-- transitions. A resource definition names the statuses of each step
-- (security groups: create "creating" -> "created", update "updating" ->
-- "created", delete "deleting" -> gone); the configuration says how each
-- step progresses:
--
--   { seconds = S }  after S seconds (0: at the next read: "immediate")
--   { reads = N }    after N reads of the record with GET (its own path);
--                    list pages show the status without counting
--
-- `create_delay`, `update_delay` and `delete_delay` are the seconds of
-- every kind's steps (an action's: `update_delay`); the `transitions`
-- setting overrides them per kind:
--   { security_groups = { create = { reads = 2 }, delete = "immediate" } }

local json = require "genesiscloud.emulator.wire_json"

local transitions = {}

local STEP_DELAY = { create = "create_delay", update = "update_delay", delete = "delete_delay" }

local function describe(where)
  return where .. ' must be "immediate", {"seconds": S} (S >= 0) or {"reads": N} (an integer >= 0)'
end

-- One step's progression, normalised to { seconds = S } or { reads = N };
-- nil and a message when it is neither.
function transitions.check_step(value, where)
  if value == "immediate" then return { seconds = 0 } end
  if type(value) ~= "table" or not json.is_object(value) then return nil, describe(where) end
  local n = 0
  for _ in pairs(value) do n = n + 1 end
  local seconds, reads = value.seconds, value.reads
  if n ~= 1 then return nil, describe(where) end
  if seconds ~= nil then
    if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == math.huge then
      return nil, describe(where)
    end
    return { seconds = seconds }
  end
  local count = type(reads) == "number" and math.tointeger(reads)
  if not count or count < 0 then return nil, describe(where) end
  -- no read needed: the same as no time needed
  if count == 0 then return { seconds = 0 } end
  return { reads = count }
end

-- The steps of a kind, sorted, for messages.
local function steps_of(def)
  local out = {}
  for step in pairs(def.transitions) do out[#out + 1] = step end
  table.sort(out)
  return table.concat(out, ", ")
end

-- The `transitions` setting: { <plural> = { <step> = progression or
-- null } } for the kinds of `registry` that have statuses. Returns the
-- normalised table (null kept: it clears an override), or nil and a message.
function transitions.check(value, registry)
  if not json.is_object(value) then
    return nil, "transitions must be an object like {\"security_groups\": {\"create\": {\"reads\": 2}}}"
  end
  local out = {}
  for plural, steps in pairs(value) do
    local def = registry[plural]
    if not (def and def.transitions) then
      return nil, "transitions: '" .. tostring(plural) .. "' is not a kind with statuses (known: "
        .. table.concat(transitions.kinds(registry), ", ") .. ")"
    end
    if not json.is_object(steps) then return nil, "transitions." .. plural .. " must be an object" end
    out[plural] = {}
    for step, progression in pairs(steps) do
      local where = "transitions." .. plural .. "." .. tostring(step)
      if not def.transitions[step] then return nil, where .. ": no such step (" .. steps_of(def) .. ")" end
      if progression == json.null or progression == false then
        out[plural][step] = json.null
      else
        local p, err = transitions.check_step(progression, where)
        if not p then return nil, err end
        out[plural][step] = p
      end
    end
  end
  return out
end

-- The plural names of the kinds that have statuses, sorted.
function transitions.kinds(registry)
  local out = {}
  for _, def in ipairs(registry) do
    if def.transitions then out[#out + 1] = def.plural end
  end
  table.sort(out)
  return out
end

-- `current` with the checked `changes` applied (null removes an override):
-- a new table, so a failed configure leaves the old one untouched.
function transitions.merge(current, changes)
  local out = {}
  for plural, steps in pairs(current) do
    out[plural] = {}
    for step, p in pairs(steps) do out[plural][step] = p end
  end
  for plural, steps in pairs(changes) do
    out[plural] = out[plural] or {}
    for step, p in pairs(steps) do
      if p == json.null then p = nil end
      out[plural][step] = p
    end
    if next(out[plural]) == nil then out[plural] = nil end
  end
  return out
end

-- How `step` of kind `def` progresses under `config`.
function transitions.progression(config, def, step)
  local steps = config.transitions[def.plural]
  local p = steps and steps[step]
  if p then return p end
  -- an action (start, stop, reset) takes as long as an update
  return { seconds = config[STEP_DELAY[step] or "update_delay"] }
end

return transitions
