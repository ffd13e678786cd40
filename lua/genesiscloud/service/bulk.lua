--- Bulk calls: `get_many(ids, opts)`, `delete_many(ids, opts)` and
-- `create_many(specs, opts)`. Each runs its requests with `opts.concurrency`
-- (default 8) in flight and returns an array with one entry per input, in
-- input order: the result, or the error object of that input. Retries
-- apply to each request as for single calls; creates whose answer was lost
-- are recovered one at a time (service/create.lua).
-- @module genesiscloud.service.bulk
local errors = require "genesiscloud.errors"
local json = require "genesiscloud.json"
local options = require "genesiscloud.options"
local request = require "genesiscloud.request"
local validate = require "genesiscloud.validate"
local operation = require "genesiscloud.service.operation"
local arguments = require "genesiscloud.service.arguments"
local calls = require "genesiscloud.service.calls"
local create = require "genesiscloud.service.create"
local fields = require "genesiscloud.service.fields"

local bulk = {}
local arg_error = calls.arg_error

local BULK_OPTIONS = options.set{ "concurrency" }

-- -> concurrency | nil, err
local function bulk_options(opts, fname)
  if opts == nil then return request.DEFAULT_CONCURRENCY end
  arguments.table(opts, 2, fname)
  local known, kerr = options.check_keys(fname, opts, BULK_OPTIONS)
  if not known then return nil, kerr end
  local ok, err = validate.integer(opts.concurrency, "concurrency",
    { optional = true, min = 1, max = request.MAX_CONCURRENCY })
  if not ok then return nil, err end
  return opts.concurrency or request.DEFAULT_CONCURRENCY
end

-- Runs `batch` (some slots may already hold an error) concurrently; fills
-- `results` in input order.
local function run(svc, batch, results, concurrency)
  local idx, list = {}, {}
  for i = 1, #results do
    if batch[i] then
      list[#list + 1] = batch[i]
      idx[#list] = i
    end
  end
  local out = request.send_many(svc.st, list, concurrency)
  for j, i in ipairs(idx) do results[i] = out[j] end
  return results
end

-- The length of a list as sent: its own items 1..n, whatever its metatable.
local function own_length(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return n
end

-- ids -> requests of `op`, with usage errors in place of empty ids
local function id_batch(ids, fname, op)
  arguments.table(ids, 1, fname)
  local batch, results = {}, {}
  local n = own_length(ids)
  for i = 1, n do
    local id = rawget(ids, i)
    if type(id) ~= "string" then
      arg_error(("bad argument #1 to '%s' (string ids expected, got %s at %d)"):format(fname, type(id), i))
    end
    if id == "" or #id > arguments.MAX_ID_LENGTH then
      results[i] = errors.new{ kind = "usage", message = fname .. ": id " .. i
        .. (id == "" and " is empty" or " is longer than " .. arguments.MAX_ID_LENGTH .. " bytes") }
    else
      batch[i] = { op, operation.target(op, id) }
    end
  end
  return batch, results, n
end

local function by_ids(name)
  return function(svc, fname, ids, opts)
    local batch, results, n = id_batch(ids, fname, svc.ops[name])
    local concurrency, err = bulk_options(opts, fname)
    if not concurrency then return nil, err end
    err = arguments.closed(svc.st)
    if err then return nil, err end
    for i = 1, n do results[i] = results[i] or false end
    return run(svc, batch, results, concurrency)
  end
end
bulk.get_many = by_ids("get")
bulk.delete_many = by_ids("delete")

-- specs -> requests, checked bodies, results (errors of invalid specs)
local function create_batch(svc, specs, fname)
  local batch, results, bodies = {}, {}, {}
  local op = svc.ops.create
  for i = 1, own_length(specs) do
    local spec = rawget(specs, i)
    if type(spec) ~= "table" then
      arg_error(("bad argument #1 to '%s' (tables expected, got %s at %d)"):format(fname, type(spec), i))
    end
    -- What is validated is what is sent: a plain copy of each spec.
    local body, verr = validate.plain(spec)
    local ok = body ~= nil
    if ok then ok, verr = fields.check(svc.def, body, "create") end
    if ok then
      bodies[i] = body
      batch[i] = { op, op.path, body }
      results[i] = false
    else
      results[i] = verr
    end
  end
  return batch, results, bodies
end

-- What already matches any entry: given, or read once for the batch.
local function before_batch(svc, existing, batch, bodies, fname)
  if existing ~= nil then return create.given_ids(existing, fname) end
  local values, key = {}, svc.def.identity
  if key then
    for i in pairs(batch) do
      if bodies[i][key] ~= nil then values[bodies[i][key]] = true end
    end
  end
  return create.existing_ids(svc, values)
end

-- A create whose answer was lost may have worked: look before sending it
-- again, one at a time, never counting an object created for another entry
-- of this batch, nor one that was there before. Entries that send the same
-- spec may share the new objects found.
local function recover(svc, results, bodies, before)
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
      local obj, cerr = create.send(svc, bodies[i], r, claimed, before, same[same[i]])
      same[same[i]] = same[same[i]] - 1
      results[i] = obj or cerr
      if obj and obj.id then claimed[obj.id] = true end
    end
  end
  return results
end

function bulk.create_many(svc, fname, specs, opts)
  arguments.table(specs, 1, fname)
  -- `existing` (as for the single create) is this call's own option
  local existing
  if type(opts) == "table" and opts.existing ~= nil then
    existing = opts.existing
    local rest = {}
    for k, v in pairs(opts) do if k ~= "existing" then rest[k] = v end end
    opts = rest
  end
  local concurrency, err = bulk_options(opts, fname)
  if not concurrency then return nil, err end
  err = arguments.closed(svc.st)
  if err then return nil, err end
  local batch, results, bodies = create_batch(svc, specs, fname)
  local before
  before, err = before_batch(svc, existing, batch, bodies, fname)
  if not before then return nil, err end
  run(svc, batch, results, concurrency)
  return recover(svc, results, bodies, before)
end

return bulk
