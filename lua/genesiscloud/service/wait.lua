--- Polls a service's `get` until an object reaches a status or is gone.
-- Intervals grow (x1.5 up to a cap) so a long wait does not hammer the API.
-- opts.now / opts.sleep replace the clock in tests. The statuses come from
-- the definition (`statuses.ready`, `statuses.failed`); a resource without
-- statuses has no wait methods.
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
  if opts.now == nil or opts.sleep == nil then
    local clock = require "genesiscloud.clock"
    s.now, s.sleep = opts.now or clock.now, opts.sleep or clock.sleep
  else
    s.now, s.sleep = opts.now, opts.sleep
  end
  -- Statuses that mean the object will never get there.
  s.failed = {}
  local failed = opts.error_statuses or (def.statuses and def.statuses.failed) or { "error" }
  for _, status in ipairs(type(failed) == "table" and failed or { failed }) do
    s.failed[status] = true
  end
  return s
end

-- Calls poll() until it returns a result (`done` true) or time runs out.
-- poll() -> done, result, err ; `last` keeps the last status for the message.
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

local function wanted_set(status)
  local set, list = {}, type(status) == "table" and status or { status }
  for _, v in ipairs(list) do set[v] = true end
  return set, table.concat(list, " or ")
end

local function resource_error(def, id, obj, wanted_text)
  return errors.new{
    kind = "resource_error", id = id, last_status = obj.status, resource = obj,
    message = string.format("%s %s went into status %q while waiting for %s",
      label(def), id, tostring(obj.status), wanted_text),
  }
end

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
    status = def.statuses and def.statuses.ready or "created"
    if type(status) == "table" and #status == 1 then status = status[1] end -- reported as given
  end
  local wanted, wanted_text = wanted_set(status)
  local last
  local function poll()
    local obj, get_err = svc:get(id)
    if not obj then return true, nil, get_err end
    last = obj.status
    if wanted[last] then return true, obj end
    if s.failed[last] then return true, nil, resource_error(def, id, obj, wanted_text) end
    return false
  end
  local function timed_out()
    return errors.new{
      kind = "timeout", id = id, last_status = last, wanted = status, timeout = s.timeout,
      message = string.format("%s %s did not reach status %s within %g s (last status %q)",
        label(def), id, wanted_text, s.timeout, tostring(last)),
    }
  end
  return loop(s, poll, timed_out)
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
    if s.failed[last] then return true, nil, resource_error(def, id, obj, "deletion") end
    return false
  end
  local function timed_out()
    return errors.new{
      kind = "timeout", id = id, last_status = last, timeout = s.timeout,
      message = string.format("%s %s was not deleted within %g s (last status %q)",
        label(def), id, s.timeout, tostring(last)),
    }
  end
  return loop(s, poll, timed_out)
end

return wait
