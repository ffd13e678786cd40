--- Turns a short resource description into client methods. Security
-- groups are the first user; instances, volumes and the rest will be new
-- descriptions, not new code.
--
-- A description has:
--   singular  "security_group"   -> create_/get_/update_/delete_security_group
--   plural    "security_groups"  -> list_security_groups and the list key
--   path      "/security-groups"
--   validate(spec, opts)         -> true | nil, err   (before create/update)
--   validate_query(query)        -> true | nil, err   (before list)
--   ready_status, error_status   what waiting waits for / stops on
--   compare, update_body         how ensure compares and updates (ensure.lua)
-- @module genesiscloud.resource
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local request = require "genesiscloud.request"
local client = require "genesiscloud.client"
local paginate = require "genesiscloud.paginate"
local wait = require "genesiscloud.wait"
local ensure = require "genesiscloud.ensure"
local retry = require "genesiscloud.retry"

local resource = {}

local function check_table_arg(value, n, fname)
  if type(value) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(n, fname, type(value)), 3)
  end
end

local function check_id(id, fname)
  if type(id) ~= "string" then
    error(("bad argument #1 to '%s' (string id expected, got %s)"):format(fname, type(id)), 3)
  end
  if id == "" then
    return errors.fail{ kind = "usage", message = fname .. ": the id is empty" }
  end
  return true
end

-- Every method first refuses a closed client: the error, or nil.
local function closed_error(self)
  if self:is_closed() then
    return errors.new{ kind = "usage", message = "the client is closed" }
  end
end

--- The path of one object: the id is percent-encoded, so an id can never
-- reach anything but `<path>/<id>`.
function resource.item_path(res, id)
  return res.path .. "/" .. core.escape(id)
end

--- Adds the CRUD methods for `res` to the client methods table.
function resource.install(res)
  local m = client.methods
  local s, p = res.singular, res.plural
  local create_name, get_name = "create_" .. s, "get_" .. s
  local update_name, delete_name, list_name = "update_" .. s, "delete_" .. s, "list_" .. p

  -- `opts.wait` (true or wait options) waits for the ready status after a
  -- create or update.
  local function then_wait(self, obj, err, opts)
    if obj and opts and opts.wait then
      return wait.for_status(self, res, obj.id, type(opts.wait) == "table" and opts.wait or nil)
    end
    return obj, err
  end

  -- After a create whose answer was lost the object may exist: the newest
  -- one with the same key whose fields match the spec. -> obj | false | nil, err
  local function find_created(self, spec)
    local key = res.key
    if not key or spec[key] == nil then return false end
    local all, err = paginate.all(self, res, { per_page = 100 })
    if not all then return nil, err end
    for i = #all, 1, -1 do
      local obj = all[i]
      if obj[key] == spec[key] and obj.status ~= (res.deleting_status or "deleting")
          and not (res.compare and res.compare(obj, spec)) then
        return obj
      end
    end
    return false
  end

  -- POST is not idempotent: it is sent again only when it provably did not
  -- take effect, so one create never leaves two objects behind.
  local function create(self, spec)
    local policy = client.state(self).policy
    local attempts = 0
    while true do
      local obj, err = request.send(self, "POST", res.path, { body = spec, expect = 201, unwrap = s })
      if obj or not err.ambiguous then return obj, err end
      attempts = attempts + err.attempts
      err.attempts = attempts
      local found, find_err = find_created(self, spec)
      if found then return found end
      if found == nil or attempts > policy.max_retries then
        err.message = err.message .. " (the " .. s:gsub("_", " ") .. " may or may not have been created"
          .. (find_err and ("; looking for it failed: " .. find_err.message) or "") .. ")"
        return nil, err
      end
      policy.sleep(retry.delay(attempts, policy, err))
    end
  end

  m[create_name] = function(self, spec, opts)
    check_table_arg(spec, 1, create_name)
    if opts ~= nil then check_table_arg(opts, 2, create_name) end
    local err = closed_error(self)
    if err then return nil, err end
    if res.validate then
      local ok, verr = res.validate(spec)
      if not ok then return nil, verr end
    end
    local obj, cerr = create(self, spec)
    return then_wait(self, obj, cerr, opts)
  end

  m[get_name] = function(self, id)
    local ok, err = check_id(id, get_name)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    return request.send(self, "GET", resource.item_path(res, id), { unwrap = s })
  end

  m[list_name] = function(self, query)
    if query ~= nil then check_table_arg(query, 1, list_name) end
    local err = closed_error(self)
    if err then return nil, err end
    if query and res.validate_query then
      local ok, verr = res.validate_query(query)
      if not ok then return nil, verr end
    end
    local page, lerr = request.send(self, "GET", res.path, { query = query })
    if not page then return nil, lerr end
    if type(page[p]) ~= "table" then
      return errors.fail{ kind = "decode", status = 200, method = "GET", path = res.path,
        message = "the response has no '" .. p .. "' list" }
    end
    return page
  end

  -- The documentation says PUT (every required field), the live API takes
  -- PATCH (any subset). "auto" sends a complete spec with PUT and, on 405,
  -- the same body with PATCH, and remembers that; a partial spec can only
  -- be a PATCH.
  m[update_name] = function(self, id, spec, opts)
    local ok, err = check_id(id, update_name)
    if not ok then return nil, err end
    check_table_arg(spec, 2, update_name)
    if opts ~= nil then check_table_arg(opts, 3, update_name) end
    err = closed_error(self)
    if err then return nil, err end
    local state = client.state(self)
    local configured = state.options.update_method
    local method = configured
    if configured == "auto" then
      local complete = res.is_complete == nil or res.is_complete(spec)
      method = complete and (state.learned_update_method or "PUT") or "PATCH"
    end
    if res.validate then
      local valid, verr = res.validate(spec, { partial = method == "PATCH" })
      if not valid then return nil, verr end
    end
    local path = resource.item_path(res, id)
    local spec_ = { body = spec, expect = 200, unwrap = s }
    local result, uerr = request.send(self, method, path, spec_)
    if not result and configured == "auto" and method == "PUT"
        and uerr.kind == "api" and uerr.status == 405 then
      state.learned_update_method = "PATCH"
      result, uerr = request.send(self, "PATCH", path, spec_)
    end
    return then_wait(self, result, uerr, opts)
  end

  m[delete_name] = function(self, id)
    local ok, err = check_id(id, delete_name)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    return request.send(self, "DELETE", resource.item_path(res, id), { expect = 204 })
  end

  resource.install_loops(res)
end

-- Iterators raise instead of returning nil, err (a `for` cannot take an
-- error value), so a closed client raises its usage error there too.
local function raise_if_closed(self)
  local err = closed_error(self)
  if err then error(err, 3) end
end

--- Adds iteration, waiting and ensure for `res`. The iterators are tail
-- calls so that Lua 5.4 gets their fourth, to-be-closed value.
function resource.install_loops(res)
  local m = client.methods
  local s, p = res.singular, res.plural

  m[p] = function(self, opts)
    raise_if_closed(self)
    return paginate.items(self, res, opts)
  end
  m[s .. "_pages"] = function(self, opts)
    raise_if_closed(self)
    return paginate.pages(self, res, opts)
  end
  m["all_" .. p] = function(self, opts)
    local err = closed_error(self)
    if err then return nil, err end
    return paginate.all(self, res, opts)
  end
  m["wait_for_" .. s] = function(self, id, opts)
    local ok, err = check_id(id, "wait_for_" .. s)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    return wait.for_status(self, res, id, opts)
  end
  m["wait_for_" .. s .. "_deleted"] = function(self, id, opts)
    local ok, err = check_id(id, "wait_for_" .. s .. "_deleted")
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    return wait.for_deleted(self, res, id, opts)
  end
  m["ensure_" .. s] = function(self, desired, opts)
    local err = closed_error(self)
    if err then return nil, err end
    return ensure.present(self, res, desired, opts)
  end
  m["ensure_" .. s .. "_absent"] = function(self, desired, opts)
    local err = closed_error(self)
    if err then return nil, err end
    return ensure.absent(self, res, desired, opts)
  end
end

return resource
