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
local json = require "genesiscloud.json"
local client = require "genesiscloud.client"
local paginate = require "genesiscloud.paginate"
local wait = require "genesiscloud.wait"
local ensure = require "genesiscloud.ensure"
local retry = require "genesiscloud.retry"
local validate = require "genesiscloud.validate"
local options = require "genesiscloud.options"

local resource = {}

-- Raises an argument error at the caller of the public method.
local arg_error = client.arg_error

local function check_table_arg(value, n, fname)
  if type(value) ~= "table" then
    arg_error(("bad argument #%d to '%s' (table expected, got %s)"):format(n, fname, type(value)))
  end
end

-- The longest id accepted. Ids are UUIDs; a path this long would be
-- refused by any server, and a bounded id keeps error messages short.
resource.MAX_ID_LENGTH = 1024

local function check_id(id, fname)
  if type(id) ~= "string" then
    arg_error(("bad argument #1 to '%s' (string id expected, got %s)"):format(fname, type(id)))
  end
  if id == "" then
    return errors.fail{ kind = "usage", message = fname .. ": the id is empty" }
  end
  if #id > resource.MAX_ID_LENGTH then
    return errors.fail{ kind = "usage", message = ("%s: the id is %d bytes long, more than the %d an id"
      .. " may have"):format(fname, #id, resource.MAX_ID_LENGTH) }
  end
  return true
end

-- Per-call options. A key not listed is refused (a typo must not be
-- ignored, nor sent to the API); query parameters this module does not
-- know go in `query`.
local LIST_OPTIONS = options.set{ "page", "per_page", "query" }
local WALK_OPTIONS = options.set{ "page", "per_page", "query", "max_pages", "concurrency" }
local WRITE_OPTIONS = options.set{ "wait" }
local CREATE_OPTIONS = options.set{ "wait", "existing" }
local ENSURE_OPTIONS = options.set{ "dry_run", "wait" }

-- The options of a list or walk: raises on a wrong type, -> true | nil, err
local function check_list_options(opts, fname, known)
  if opts == nil then return true end
  check_table_arg(opts, 1, fname)
  local ok, err = options.check_keys(fname, opts, known)
  if not ok then return nil, err end
  if opts.query ~= nil then
    client.check_query(opts.query, fname)
    for _, k in ipairs{ "page", "per_page" } do
      if opts.query[k] ~= nil then
        return errors.fail{ kind = "usage", message = fname .. ": give '" .. k
          .. "' as an option of its own, not in 'query'" }
      end
    end
  end
  return true
end

-- The query a list call sends: `query` plus page and per_page.
local function list_query(opts)
  if opts == nil then return nil end
  local query = {}
  for k, v in pairs(opts.query or {}) do query[k] = v end
  query.page, query.per_page = opts.page, opts.per_page
  return query
end

-- `wait`: true, false or wait options. -> true | nil, err
local function check_write_options(opts, fname, n, known)
  if opts == nil then return true end
  check_table_arg(opts, n, fname)
  local ok, err = options.check_keys(fname, opts, known or WRITE_OPTIONS)
  if not ok then return nil, err end
  return wait.check_flag(opts.wait, fname)
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

local DELETE_SPEC = { expect = 204 }

--- The ids in a create's `existing` option: the objects (or their ids)
-- the caller listed just before, so the create need not list them itself.
-- -> set of ids | nil, err (usage)
function resource.given_ids(existing, fname)
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

--- Adds the CRUD methods for `res` to the client methods table.
function resource.install(res)
  local m = client.exports
  local s, p = res.singular, res.plural
  local create_name, get_name = "create_" .. s, "get_" .. s
  local get_spec = { unwrap = s } -- request.send never changes a spec
  local update_name, delete_name, list_name = "update_" .. s, "delete_" .. s, "list_" .. p

  -- `opts.wait` (true or wait options) waits for the ready status after a
  -- create or update.
  local function then_wait(self, obj, err, opts)
    if obj and opts and opts.wait then
      if type(obj.id) ~= "string" or obj.id == "" then
        return errors.fail{ kind = "decode", method = "GET", path = res.path, message = "the "
          .. s:gsub("_", " ") .. " in the response has no id, so it cannot be waited for" }
      end
      return wait.for_status(self, res, obj.id, type(opts.wait) == "table" and opts.wait or nil)
    end
    return obj, err
  end

  local label = s:gsub("_", " ")
  local key = res.key
  local leaving = res.deleting_status or "deleting"

  -- Ids of the objects whose key is one of `values` (a set), taken before
  -- a POST: the recovery of a create whose answer was lost never claims
  -- one of them. -> set of ids | nil, err
  local function existing_ids(self, values)
    local ids = {}
    if not key or next(values) == nil then return ids end
    local ok, err = paginate.each(self, res, function(obj)
      if values[obj[key]] and obj.id ~= nil then ids[obj.id] = true end
    end, { per_page = 100 })
    if not ok then
      err.message = "nothing was sent: listing the existing " .. label .. "s first failed: " .. err.message
      err.created = false -- provably: the POST was never sent
      return nil, err
    end
    return ids
  end

  -- The error for a create whose outcome is unknown: what happened, and
  -- what to check before sending it again.
  local function unknown_outcome(spec, cause, why, ids)
    local name = key and spec[key]
    local check = name ~= nil
      and ("check the %ss with %s %q before creating it again"):format(label, key, tostring(name))
      or ("check the %ss before creating it again"):format(label)
    return errors.new{
      kind = "unknown_outcome", method = "POST", path = res.path, cause = cause, ids = ids,
      attempts = cause and cause.attempts, retryable = false,
      message = ("the outcome of the create is unknown (%s): %s; %s"):format(
        cause and cause.message or "no answer", why, check),
    }
  end

  -- After a create whose answer was lost the object may exist: one with the
  -- same key whose fields match the spec, that was not there before the
  -- first POST (`before`) and is not
  -- accounted for by another create of the same batch (`exclude`).
  -- `peers`: how many unresolved creates of the batch send this very spec;
  -- that many new matches can all be theirs.
  -- -> obj | false (provably not created) | nil, why, ids (unknown)
  local function find_created(self, spec, before, exclude, peers)
    if not key or spec[key] == nil then return nil, "there is no " .. (key or "key") .. " to look it up by" end
    local all, err = paginate.all(self, res, { per_page = 100 })
    if not all then return nil, "looking for it failed: " .. err.message end
    local found, ids, unreadable = {}, {}, nil
    for i = #all, 1, -1 do
      local obj = all[i]
      if obj[key] == spec[key] and obj.status ~= leaving
          and not (exclude and exclude[obj.id])
          and not (before and before[obj.id]) then
        -- compare -> true (differs), false (matches), nil (cannot be read)
        local differs = false
        if res.compare then differs = res.compare(obj, spec) end
        if differs == nil then
          unreadable = "a " .. label .. " with this " .. key .. " that cannot be compared is listed"
        elseif not differs then
          found[#found + 1] = obj
          ids[#ids + 1] = tostring(obj.id)
          if type(obj.id) ~= "string" then unreadable = "a matching " .. label .. " without an id is listed" end
        end
      end
    end
    if unreadable then return nil, unreadable, ids end
    if #found == 0 then return false end
    if #found > (peers or 1) then
      return nil, #found .. " new matching " .. label .. "s exist (ids " .. table.concat(ids, ", ")
        .. "): someone else created one too", ids
    end
    return found[1] -- the newest
  end

  -- POST is not idempotent: it is sent again only when it provably did not
  -- take effect, so one create never leaves two objects behind, and an
  -- object that existed before is never taken for the one it created.
  -- `err`: an ambiguous failure of a POST already sent (by a bulk create),
  -- to be sorted out first. `before`: existing_ids() from before the POST.
  local function create(self, spec, err, exclude, before, peers)
    local policy = client.state(self).policy
    local attempts = 0
    while true do
      if err == nil then
        local obj
        obj, err = request.send(self, "POST", res.path, { body = spec, expect = 201, unwrap = s })
        if obj or not err.ambiguous then return obj, err end
      end
      attempts = attempts + err.attempts
      err.attempts = attempts
      local found, why, ids = find_created(self, spec, before, exclude, peers)
      if found then return found end
      if found == nil then return nil, unknown_outcome(spec, err, why, ids) end
      if attempts > policy.max_retries then
        err.message = err.message .. " (the " .. label .. " was not created: none was found after the failure)"
        err.created = false
        return nil, err
      end
      policy.sleep(retry.delay(attempts, policy, err))
      err = nil
    end
  end

  m[create_name] = function(self, spec, opts)
    check_table_arg(spec, 1, create_name)
    local ok, err = check_write_options(opts, create_name, 2, CREATE_OPTIONS)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    -- What is validated is what is sent: a plain copy of the spec.
    local body, perr = validate.plain(spec)
    if not body then return nil, perr end
    if res.validate then
      local valid, verr = res.validate(body)
      if not valid then return nil, verr end
    end
    -- What already matches, so that a lost answer is never answered with
    -- someone else's object: given by the caller who has just listed, else
    -- read now (when that fails, nothing is sent).
    local before
    if opts and opts.existing ~= nil then
      before, err = resource.given_ids(opts.existing, create_name)
    else
      before, err = existing_ids(self, key and body[key] ~= nil and { [body[key]] = true } or {})
    end
    if not before then return nil, err end
    local obj, cerr = create(self, body, nil, nil, before)
    return then_wait(self, obj, cerr, opts)
  end

  -- The hottest call there is, so it skips closed_error: on a closed
  -- client the core itself answers with the same usage error.
  local max_id = resource.MAX_ID_LENGTH
  m[get_name] = function(self, id)
    if type(id) ~= "string" or id == "" or #id > max_id then
      local ok, err = check_id(id, get_name)
      if not ok then return nil, err end
    end
    return request.send(self, "GET", resource.item_path(res, id), get_spec)
  end

  m[list_name] = function(self, opts)
    local ok, err = check_list_options(opts, list_name, LIST_OPTIONS)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    if opts and res.validate_query then
      local valid, verr = res.validate_query(opts)
      if not valid then return nil, verr end
    end
    local page, lerr = request.send(self, "GET", res.path, { query = list_query(opts) })
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
    ok, err = check_write_options(opts, update_name, 3)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    spec, err = validate.plain(spec)
    if not spec then return nil, err end
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
    return request.send(self, "DELETE", resource.item_path(res, id), DELETE_SPEC)
  end

  resource.install_bulk(res, create, existing_ids)
  resource.install_loops(res)
end

local BULK_OPTIONS = options.set{ "concurrency" }

-- -> concurrency | nil, err
local function bulk_options(opts, fname)
  if opts == nil then return request.DEFAULT_CONCURRENCY end
  check_table_arg(opts, 2, fname)
  local known, kerr = options.check_keys(fname, opts, BULK_OPTIONS)
  if not known then return nil, kerr end
  local ok, err = validate.integer(opts.concurrency, "concurrency",
    { optional = true, min = 1, max = request.MAX_CONCURRENCY })
  if not ok then return nil, err end
  return opts.concurrency or request.DEFAULT_CONCURRENCY
end

-- Runs `calls` (some slots may already hold an error) concurrently; fills
-- `results` in input order.
local function run_bulk(self, calls, results, concurrency)
  local idx, batch = {}, {}
  for i = 1, #results do
    if calls[i] then
      batch[#batch + 1] = calls[i]
      idx[#batch] = i
    end
  end
  local out = request.send_many(self, batch, concurrency)
  for j, i in ipairs(idx) do results[i] = out[j] end
  return results
end

-- The length of a list as sent: its own items 1..n, whatever its metatable.
local function own_length(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return n
end

--- Adds the bulk methods for `res`: `get_<plural>(ids, opts)`,
-- `delete_<plural>(ids, opts)` and `create_<plural>(specs, opts)`. Each runs
-- its requests with `opts.concurrency` (default 8) in flight and returns an
-- array with one entry per input, in input order: the result, or the error
-- object of that input. Retries apply to each request as for single calls.
function resource.install_bulk(res, create, existing_ids)
  local m = client.exports
  local s, p = res.singular, res.plural

  -- ids -> array of calls, with usage errors in place of empty ids
  local function id_calls(ids, fname, method, spec)
    check_table_arg(ids, 1, fname)
    local calls, results = {}, {}
    local n = own_length(ids)
    for i = 1, n do
      local id = rawget(ids, i)
      if type(id) ~= "string" then
        arg_error(("bad argument #1 to '%s' (string ids expected, got %s at %d)"):format(fname, type(id), i))
      end
      if id == "" or #id > resource.MAX_ID_LENGTH then
        results[i] = errors.new{ kind = "usage", message = fname .. ": id " .. i
          .. (id == "" and " is empty" or " is longer than " .. resource.MAX_ID_LENGTH .. " bytes") }
      else
        calls[i] = { method, resource.item_path(res, id), spec }
      end
    end
    return calls, results, n
  end

  local function bulk_ids(name, method, spec)
    m[name] = function(self, ids, opts)
      local calls, results, n = id_calls(ids, name, method, spec)
      local concurrency, err = bulk_options(opts, name)
      if not concurrency then return nil, err end
      err = closed_error(self)
      if err then return nil, err end
      for i = 1, n do results[i] = results[i] or false end
      return run_bulk(self, calls, results, concurrency)
    end
  end
  bulk_ids("get_" .. p, "GET", { unwrap = s })
  bulk_ids("delete_" .. p, "DELETE", { expect = 204 })

  local create_name = "create_" .. p
  m[create_name] = function(self, specs, opts)
    check_table_arg(specs, 1, create_name)
    -- `existing` (as for the single create) is this call's own option
    local existing
    if type(opts) == "table" and opts.existing ~= nil then
      existing = opts.existing
      local rest = {}
      for k, v in pairs(opts) do if k ~= "existing" then rest[k] = v end end
      opts = rest
    end
    local concurrency, err = bulk_options(opts, create_name)
    if not concurrency then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    local calls, results, bodies = {}, {}, {}
    for i = 1, own_length(specs) do
      local spec = rawget(specs, i)
      if type(spec) ~= "table" then
        arg_error(("bad argument #1 to '%s' (tables expected, got %s at %d)"):format(create_name, type(spec), i))
      end
      -- What is validated is what is sent: a plain copy of each spec.
      local body, verr = validate.plain(spec)
      local ok = body ~= nil
      if ok and res.validate then ok, verr = res.validate(body) end
      if ok then
        bodies[i] = body
        calls[i] = { "POST", res.path, { body = body, expect = 201, unwrap = s } }
        results[i] = false
      else
        results[i] = verr
      end
    end
    -- What already matches any entry: given, or read once for the batch.
    local before
    if existing ~= nil then
      before, err = resource.given_ids(existing, create_name)
    else
      local values, key = {}, res.key
      if key then
        for i in pairs(calls) do
          if bodies[i][key] ~= nil then values[bodies[i][key]] = true end
        end
      end
      before, err = existing_ids(self, values)
    end
    if not before then return nil, err end
    run_bulk(self, calls, results, concurrency)
    -- A create whose answer was lost may have worked: look before sending
    -- it again, one at a time, never counting an object created for
    -- another entry of this batch, nor one that was there before. Entries
    -- that send the same spec may share the new objects found.
    local claimed, same = {}, {}
    for i, r in ipairs(results) do
      if not errors.is(r) and type(r) == "table" and r.id then claimed[r.id] = true end
      if errors.is(r) and r.ambiguous then
        local text = json.encode(bodies[i]) or tostring(i)
        same[i] = text
        same[text] = (same[text] or 0) + 1
      end
    end
    for i, r in ipairs(results) do
      if errors.is(r) and r.ambiguous then
        local obj, cerr = create(self, bodies[i], r, claimed, before, same[same[i]])
        same[same[i]] = same[same[i]] - 1
        results[i] = obj or cerr
        if obj and obj.id then claimed[obj.id] = true end
      end
    end
    return results
  end
end

-- Iterators raise instead of returning nil, err (a `for` cannot take an
-- error value), so a closed client or a bad option raises its usage error
-- there too.
local function raise_if_closed(self)
  local err = closed_error(self)
  if err then error(err, 3) end
end

local function raise_if_bad(opts, fname)
  local ok, err = check_list_options(opts, fname, WALK_OPTIONS)
  if not ok then error(err, 3) end
end

--- Adds iteration, waiting and ensure for `res`. The iterators are tail
-- calls so that Lua 5.4 gets their fourth, to-be-closed value.
function resource.install_loops(res)
  local m = client.exports
  local s, p = res.singular, res.plural

  m[p] = function(self, opts)
    raise_if_bad(opts, p)
    raise_if_closed(self)
    return paginate.items(self, res, opts)
  end
  m[s .. "_pages"] = function(self, opts)
    raise_if_bad(opts, s .. "_pages")
    raise_if_closed(self)
    return paginate.pages(self, res, opts)
  end
  local all_name = "all_" .. p
  m[all_name] = function(self, opts)
    local ok, err = check_list_options(opts, all_name, WALK_OPTIONS)
    if not ok then return nil, err end
    err = closed_error(self)
    if err then return nil, err end
    return paginate.all(self, res, opts)
  end
  for _, name in ipairs{ "wait_for_" .. s, "wait_for_" .. s .. "_deleted" } do
    local deleted = name:sub(-8) == "_deleted"
    m[name] = function(self, id, opts)
      local ok, err = check_id(id, name)
      if not ok then return nil, err end
      if opts ~= nil then check_table_arg(opts, 2, name) end
      ok, err = wait.check_options(opts, name, not deleted)
      if not ok then return nil, err end
      err = closed_error(self)
      if err then return nil, err end
      if deleted then return wait.for_deleted(self, res, id, opts) end
      return wait.for_status(self, res, id, opts)
    end
  end
  for _, name in ipairs{ "ensure_" .. s, "ensure_" .. s .. "_absent" } do
    local absent = name:sub(-7) == "_absent"
    m[name] = function(self, desired, opts)
      check_table_arg(desired, 1, name)
      local ok, err = check_write_options(opts, name, 2, ENSURE_OPTIONS)
      if not ok then return nil, err end
      err = closed_error(self)
      if err then return nil, err end
      if absent then return ensure.absent(self, res, desired, opts, name) end
      return ensure.present(self, res, desired, opts, name)
    end
  end
end

return resource
