--- Polls a service's `get` until an object reaches a status, is gone, or
-- has gone through an action (left its old status, then reached the
-- action's target). One poll loop serves them all. Intervals grow (x1.5 up
-- to a cap) so a long wait does not hammer the API; the clock and sleep are
-- the client's (`now`, `sleep` options), or opts.now / opts.sleep.
--
-- Statuses come from the definition only: `statuses = { ready = {...},
-- failed = {...}, deleting = "...", aliases = { old = "new" } }`. A status
-- is read through `aliases` (a status renamed between API versions counts
-- as its new name) wherever it is compared; the object keeps the raw one.
-- A status the definition does not know is passed through: never an error
-- by itself (a wait keeps polling and its timeout names it). A resource
-- without statuses has no wait methods.
-- @module genesiscloud.service.wait

local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.validate"
local options = require "genesiscloud.options"

local wait = {}

wait.DEFAULTS = { timeout = 300, interval = 2, backoff = 1.5, max_interval = 30 }

-- The options of a wait; `status` only when waiting for a status.
local OPTIONS = options.set{ "timeout", "interval", "backoff", "max_interval", "now", "sleep",
  "error_statuses", "status" }
local DELETED_OPTIONS = options.set{ "timeout", "interval", "backoff", "max_interval", "now", "sleep",
  "error_statuses" }

local function label(def)
  return (def.name:gsub("_", " "))
end

local function usage(message)
  return nil, errors.new{ kind = "usage", message = message }
end

-- A timeout of 0 means "look once"; intervals must move time forward.
local function check_number(value, field)
  local min = field == "timeout" and 0 or nil
  if type(value) == "number" and value < math.huge and (value > 0 or value == min) then return true end
  return usage(string.format("%s must be a number %s, got %s",
    field, min and "of at least 0" or "above 0", validate.describe(value)))
end

-- A status, or a non-empty list of them.
local function check_statuses(value, field)
  if type(value) == "string" and value ~= "" then return true end
  if type(value) == "table" and value[1] ~= nil then
    local ok = true
    for k, v in pairs(value) do
      if type(k) ~= "number" or type(v) ~= "string" or v == "" then ok = false end
    end
    if ok then return true end
  end
  return usage(string.format("%s must be a status or a list of statuses (strings), got %s",
    field, validate.describe(value)))
end

--- Checks the keys and values of wait options (`opts` may be nil) before
-- anything is sent. `for_status`: the options of a wait for a status (with
-- `status`), else of a wait for deletion.
-- @return `true`, or `nil, err` (kind `"usage"`)
function wait.check_options(opts, fname, for_status)
  if opts == nil then return true end
  if type(opts) ~= "table" then
    return usage(fname .. ": the wait options must be a table, got " .. validate.describe(opts))
  end
  local ok, err = options.check_keys(fname, opts, for_status and OPTIONS or DELETED_OPTIONS)
  if not ok then return nil, err end
  for key in pairs(wait.DEFAULTS) do
    if opts[key] ~= nil then
      ok, err = check_number(opts[key], key)
      if not ok then return nil, err end
    end
  end
  if opts.backoff ~= nil and opts.backoff < 1 then
    return usage("backoff must be at least 1, got " .. validate.describe(opts.backoff))
  end
  for _, key in ipairs{ "now", "sleep" } do
    if opts[key] ~= nil and type(opts[key]) ~= "function" then
      return usage(string.format("%s must be a function, got %s", key, validate.describe(opts[key])))
    end
  end
  if opts.status ~= nil then
    ok, err = check_statuses(opts.status, "status")
    if not ok then return nil, err end
  end
  if opts.error_statuses ~= nil then
    ok, err = check_statuses(opts.error_statuses, "error_statuses")
    if not ok then return nil, err end
  end
  return true
end

--- Checks the `wait` option of a write (create, update, ensure): nil,
-- true, false or wait options. -> `true` | `nil, err`
function wait.check_flag(value, fname)
  if value == nil or type(value) == "boolean" then return true end
  if type(value) ~= "table" then
    return usage(fname .. ": option 'wait' must be true, false or a table of wait options, got "
      .. validate.describe(value))
  end
  return wait.check_options(value, fname .. " (wait)", true)
end

-- Status vocabularies -----------------------------------------------------------

--- The name `status` stands for in `def`'s vocabulary: the new name of a
-- renamed (aliased) status, else the status itself, unknown ones included.
function wait.normalize(def, status)
  local aliases = def.statuses and def.statuses.aliases
  if aliases and status ~= nil and aliases[status] ~= nil then return aliases[status] end
  return status
end

-- A status or a list of them -> set of their normalized names, the list.
local function status_set(def, value)
  local set, list = {}, type(value) == "table" and value or { value }
  for _, v in ipairs(list) do set[wait.normalize(def, v)] = true end
  return set, list
end

--- Whether `obj` is on its way out (its status is the definition's
-- `statuses.deleting`, a status or a list). Without one, nothing is.
function wait.is_leaving(def, obj)
  local deleting = def.statuses and def.statuses.deleting
  if deleting == nil or type(obj) ~= "table" or obj.status == nil then return false end
  return status_set(def, deleting)[wait.normalize(def, obj.status)] == true
end

-- Settings ------------------------------------------------------------------------

-- The clock and sleep of one wait: the options', else the client's
-- (a bare service, as in unit specs, has none), else the core's.
local function clock_of(svc, opts)
  local policy = svc.st and svc.st.policy or {}
  local now, sleep = opts.now or policy.now, opts.sleep or policy.sleep
  if now == nil or sleep == nil then
    local clock = require "genesiscloud.clock"
    now, sleep = now or clock.now, sleep or clock.sleep
  end
  return now, sleep
end

-- Checks options once and returns the settings of one wait.
local function settings(svc, id, opts, for_status, fname)
  local def = svc.def
  local ok, err = wait.check_options(opts, fname or ("wait_for_" .. def.name
    .. (for_status and "" or "_deleted")), for_status)
  if not ok then return nil, err end
  opts = opts or {}
  if type(id) ~= "string" or id == "" then
    return usage(string.format("the %s id must be a non-empty string, got %s", label(def), validate.describe(id)))
  end
  local s = {}
  for key, default in pairs(wait.DEFAULTS) do
    local value = opts[key]
    if value == nil then value = default end
    s[key] = value
  end
  s.now, s.sleep = clock_of(svc, opts)
  -- Statuses that mean the object will never get there: the caller's,
  -- else the definition's (none when it names none).
  s.failed = status_set(def, opts.error_statuses or (def.statuses and def.statuses.failed) or {})
  return s
end

-- The loop ------------------------------------------------------------------------

-- Calls poll() until it returns a result (`done` true) or time runs out.
-- The first poll is immediate. poll() -> done, result, err
local function loop(s, poll, timed_out)
  local deadline = s.now() + s.timeout
  local interval = s.interval
  while true do
    local done, result, err = poll()
    if done then return result, err end
    local remaining = deadline - s.now()
    if remaining <= 0 then return nil, timed_out() end
    s.sleep(math.min(interval, remaining))
    interval = math.min(interval * s.backoff, s.max_interval)
  end
end

-- " after <action>" for messages, or "".
local function after(w)
  return w.action and (" after " .. w.action) or ""
end

-- The last status as written in messages, with the name it stands for.
local function seen(def, status)
  local name = wait.normalize(def, status)
  if name ~= status then return ("%q (read as %q)"):format(tostring(status), tostring(name)) end
  return ("%q"):format(tostring(status))
end

local function resource_error(def, id, obj, wanted_text, w)
  return errors.new{
    kind = "resource_error", id = id, last_status = obj.status, resource = obj,
    action = w and w.action, from = w and w.from,
    message = string.format("%s %s went into status %s%s while waiting for %s",
      label(def), id, seen(def, obj.status), after(w or {}), wanted_text),
  }
end

local function status_timeout(def, id, s, w, last, left)
  local note = ""
  if not left then
    note = ("; it never left %s, so the %s may not have begun or ended between two polls")
      :format(seen(def, w.from), w.action)
  end
  local left_flag -- said for an action's wait only
  if w.action then left_flag = left end
  return errors.new{
    kind = "timeout", id = id, last_status = last, wanted = w.status, timeout = s.timeout,
    action = w.action, from = w.from, left = left_flag,
    message = string.format("%s %s did not reach status %s%s within %g s (last status %s%s)",
      label(def), id, w.text, after(w), s.timeout, seen(def, last), note),
  }
end

-- Polls until the object's status is one of `w.status`. With `w.from`
-- (an action's wait) a status only counts once the object has left
-- `w.from`: until then neither the target nor a failure status is taken
-- for the action's outcome (a stop from "error" starts in "error").
local function watch(svc, id, s, w)
  local def = svc.def
  local wanted, list = status_set(def, w.status)
  w.text = table.concat(list, " or ")
  local from = w.from ~= nil and wait.normalize(def, w.from) or nil
  local left = not w.action
  local last
  local function poll()
    local obj, get_err = svc:get(id)
    if not obj then return true, nil, get_err end
    last = obj.status
    local name = wait.normalize(def, last)
    if not left then
      if name == from then return false end
      left = true
    end
    if wanted[name] then return true, obj end
    if s.failed[name] then return true, nil, resource_error(def, id, obj, w.text, w) end
    return false
  end
  return loop(s, poll, function() return status_timeout(def, id, s, w, last, left) end)
end

-- Waits ----------------------------------------------------------------------------

--- Waits for a status.
-- @param svc the service (its `def` and `get`)
-- @param id the object's id
-- @param opts status (string or list, default the definition's
-- `statuses.ready`), timeout, interval, backoff, max_interval, now, sleep,
-- error_statuses (list; default `statuses.failed`)
-- @param fname the function called, for messages
-- @return the object, or `nil, err`
function wait.for_status(svc, id, opts, fname)
  local s, err = settings(svc, id, opts, true, fname)
  if not s then return nil, err end
  local def = svc.def
  local status = opts and opts.status
  if status == nil then
    status = def.statuses and def.statuses.ready
    if status == nil then
      return usage(("%s: the %s has no ready status: give the status to wait for"):format(
        fname or ("wait_for_" .. def.name), label(def)))
    end
    if type(status) == "table" and #status == 1 then status = status[1] end -- reported as given
  end
  return watch(svc, id, s, { status = status })
end

--- Sends an action and waits until the object has gone through it: first
-- its status must leave the one read just before the action was sent,
-- then reach the action's target (`op.to`, or `opts.status`). Reading
-- before sending (not taking the first poll) matters: a fast server may
-- be done before the first poll, and the status seen then is the target.
-- When the target is the old status (reset: active -> active), a
-- transition that begins and ends between two polls cannot be seen: the
-- wait then ends in a timeout that says the status never left.
-- @param svc the service
-- @param id the object's id
-- @param op the action's operation record (`name`, `to`)
-- @param opts wait options (as for_status)
-- @param fname the function called, for messages
-- @param send `function()` sending the action: true | nil, err
-- @return the object, or `nil, err` (nothing sent when the first read fails)
function wait.after_action(svc, id, op, opts, fname, send)
  local s, err = settings(svc, id, opts, true, fname)
  if not s then return nil, err end
  local target = opts and opts.status or op.to
  if target == nil then
    return usage(("%s: the action %s has no target status (`to`): give the status to wait for")
      :format(fname, op.name))
  end
  local before, gerr = svc:get(id)
  if not before then
    if errors.is(gerr) then
      gerr.message = ("nothing was sent: reading the %s before the %s failed: %s")
        :format(label(svc.def), op.name, tostring(gerr.message))
    end
    return nil, gerr
  end
  local ok, serr = send()
  if not ok then return nil, serr end
  return watch(svc, id, s, { status = target, from = before.status, action = op.name })
end

--- Waits until GET answers 404: as for_status. -> true | nil, err
function wait.for_deleted(svc, id, opts, fname)
  local s, err = settings(svc, id, opts, false, fname)
  if not s then return nil, err end
  local def = svc.def
  local last
  local function poll()
    local obj, get_err = svc:get(id)
    if not obj then
      if errors.is(get_err) and get_err.kind == "api" and get_err.status == 404 then return true, true end
      return true, nil, get_err
    end
    last = obj.status
    if s.failed[wait.normalize(def, last)] then return true, nil, resource_error(def, id, obj, "deletion") end
    return false
  end
  local function timed_out()
    return errors.new{
      kind = "timeout", id = id, last_status = last, timeout = s.timeout,
      message = string.format("%s %s was not deleted within %g s (last status %s)",
        label(def), id, s.timeout, seen(def, last)),
    }
  end
  return loop(s, poll, timed_out)
end

return wait
