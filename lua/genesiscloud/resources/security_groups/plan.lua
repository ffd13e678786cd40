-- The security-group hooks of ensure: what counts as a difference between
-- the group that exists and the one wanted, and what an update sends.
-- Set on the definition (resources/security_groups/init.lua) as `compare`
-- and `update_body`.

local rules = require "genesiscloud.rules"
local errors = require "genesiscloud.errors"

local plan = {}

-- The rules of a group as the API returned it: a list of tables, or nil.
-- -> true | nil, err (kind "decode": the answer cannot be compared)
local function check_current(current)
  local list = current.rules
  local bad
  if list ~= nil and type(list) ~= "table" then
    bad = "its rules are a " .. type(list) .. ", not a list"
  elseif list ~= nil then
    for k, rule in pairs(list) do
      if type(k) ~= "number" or type(rule) ~= "table" then
        bad = "its rules hold a " .. type(rule) .. " at " .. tostring(k)
        break
      end
    end
  end
  if current.description ~= nil and type(current.description) ~= "string" then
    bad = "its description is a " .. type(current.description)
  end
  if not bad then return true end
  return nil, errors.new{ kind = "decode", method = "GET", path = "/security-groups",
    message = string.format("security group %s in the response cannot be compared: %s",
      tostring(current.id), bad) }
end

-- current is nil when the group does not exist yet.
-- -> changed (boolean), details { changes = { description = { from, to } }?,
--                                 rules = { add = {...}, remove = {...} } }
-- -> nil, err (kind "decode") when `current` is not a group's shape
-- A description left out of `desired` is not managed; the API's missing
-- description and "" are the same. Rules compare as sets (rules.diff).
function plan.compare(current, desired)
  if current then
    local ok, err = check_current(current)
    if not ok then return nil, err end
  end
  local changes, changed = {}, false
  local from, to = current and current.description, desired.description
  if to ~= nil and (from or "") ~= to then
    changes.description = { from = from, to = to }
    changed = true
  end
  local diff = { add = {}, remove = {} }
  if desired.rules ~= nil then
    diff = rules.diff(current and current.rules or {}, desired.rules)
  end
  if #diff.add > 0 or #diff.remove > 0 then changed = true end
  return changed, { changes = changes, rules = diff }
end

-- The documented update is a PUT of name, description and rules, so all
-- three are sent even when only one differs; a description not managed
-- keeps its current value instead of being cleared.
function plan.update_body(current, desired)
  local description = desired.description
  if description == nil then description = current.description end
  return { name = desired.name, description = description, rules = desired.rules }
end

return plan
