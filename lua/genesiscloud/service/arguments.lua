--- Checks of the arguments and per-call options every service method
-- shares. A wrong type raises (at the caller, naming the function `fname`
-- the user called); a wrong value is a `nil, err` usage error.
-- @module genesiscloud.service.arguments
local errors = require "genesiscloud.errors"
local options = require "genesiscloud.options"
local calls = require "genesiscloud.service.calls"
local wait = require "genesiscloud.service.wait"

local arguments = {}
local arg_error = calls.arg_error

--- The longest id accepted. Ids are UUIDs; a path this long would be
-- refused by any server, and a bounded id keeps error messages short.
arguments.MAX_ID_LENGTH = 1024

-- Per-call options. A key not listed is refused (a typo must not be
-- ignored, nor sent to the API); query parameters this module does not
-- know go in `query`.
arguments.LIST_OPTIONS = options.set{ "page", "per_page", "query" }
arguments.WALK_OPTIONS = options.set{ "page", "per_page", "query", "max_pages", "concurrency" }
arguments.WRITE_OPTIONS = options.set{ "wait" }
arguments.CREATE_OPTIONS = options.set{ "wait", "existing" }
arguments.ENSURE_OPTIONS = options.set{ "dry_run", "wait" }

function arguments.table(value, n, fname)
  if type(value) ~= "table" then
    arg_error(("bad argument #%d to '%s' (table expected, got %s)"):format(n, fname, type(value)))
  end
end

--- An id (or another path parameter): raises on a wrong type,
-- -> true | nil, err for an empty or overlong one.
function arguments.id(id, fname)
  if type(id) ~= "string" then
    arg_error(("bad argument #1 to '%s' (string id expected, got %s)"):format(fname, type(id)))
  end
  if id == "" then
    return errors.fail{ kind = "usage", message = fname .. ": the id is empty" }
  end
  if #id > arguments.MAX_ID_LENGTH then
    return errors.fail{ kind = "usage", message = ("%s: the id is %d bytes long, more than the %d an id"
      .. " may have"):format(fname, #id, arguments.MAX_ID_LENGTH) }
  end
  return true
end

--- A query is a table of names to strings, numbers or booleans.
function arguments.query(query, fname)
  if type(query) ~= "table" then
    arg_error(("bad argument to '%s' (option 'query' must be a table, got %s)"):format(fname, type(query)))
  end
  for k, v in pairs(query) do
    local tv = type(v)
    if type(k) ~= "string" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
      arg_error(("bad argument to '%s' (query parameters must be names with string, number or boolean"
        .. " values, got %s = %s)"):format(fname, type(k), tv))
    end
  end
end

--- The options of a list or walk: raises on a wrong type, -> true | nil, err
function arguments.list_options(opts, fname, known)
  if opts == nil then return true end
  arguments.table(opts, 1, fname)
  local ok, err = options.check_keys(fname, opts, known)
  if not ok then return nil, err end
  if opts.query ~= nil then
    arguments.query(opts.query, fname)
    for _, k in ipairs{ "page", "per_page" } do
      if opts.query[k] ~= nil then
        return errors.fail{ kind = "usage", message = fname .. ": give '" .. k
          .. "' as an option of its own, not in 'query'" }
      end
    end
  end
  return true
end

--- Write options (`wait`: true, false or wait options). -> true | nil, err
function arguments.write_options(opts, fname, n, known)
  if opts == nil then return true end
  arguments.table(opts, n, fname)
  local ok, err = options.check_keys(fname, opts, known or arguments.WRITE_OPTIONS)
  if not ok then return nil, err end
  return wait.check_flag(opts.wait, fname)
end

--- A closed client's usage error, or nil.
function arguments.closed(st)
  if st.core:is_closed() then
    return errors.new{ kind = "usage", message = "the client is closed" }
  end
end

return arguments
