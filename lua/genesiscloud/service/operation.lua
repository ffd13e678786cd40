--- Compiles a resource definition into operation records: everything the
-- pipeline needs to send one request and to know its success, so generic
-- code never guesses a method, a status or an envelope.
--
-- An operation record:
--   name      "list" | "get" | "create" | "update" | "delete"
--   method    HTTP method ("PUT" for an update whose method is learned)
--   path      template, e.g. "/security-groups/{id}", "/availability/{region}/instances"
--   params    names of the template's parameters, in order ({} for none)
--   prefix, suffix   the template around its one parameter (see target)
--   expect    the success status
--   envelope  key of the object in the answer, or nil (bare object, list, 204)
--   list_key  key of the list in a page (list only)
--   fresh     send over a new connection: libcurl may re-send a request on
--             a reused connection that died, harmless except for POST and DELETE
--   resource  the definition
-- @module genesiscloud.service.operation
local operation = {}

-- core.escape, loaded on first use: compiling needs no C, so the emulator
-- (pure Lua) serves the operations compiled from the same definitions.
local escape
local function escaped(value)
  escape = escape or require("genesiscloud.core").escape
  return escape(value)
end

-- What each kind of operation is unless the definition says otherwise.
local KINDS = {
  list = { method = "GET", expect = 200, item = false },
  get = { method = "GET", expect = 200, item = true, object = true },
  create = { method = "POST", expect = 201, item = false, object = true },
  update = { method = "PUT", expect = 200, item = true, object = true },
  delete = { method = "DELETE", expect = 204, item = true },
}
operation.KINDS = KINDS

local FRESH = { POST = true, DELETE = true }
operation.FRESH = FRESH

-- "/a/{id}/b" -> { "id" }
local function params_of(template)
  local params = {}
  for name in template:gmatch("{([%w_]+)}") do params[#params + 1] = name end
  return params
end

-- The record of operation `name` of `def`.
local function compile_one(def, name, override)
  local kind = KINDS[name]
  if not kind then
    error(("resource %s: unknown operation %q"):format(tostring(def.plural), tostring(name)), 3)
  end
  local path = override.path or (kind.item and def.path .. "/{id}" or def.path)
  local params = override.params or params_of(path)
  local envelope = override.envelope
  if envelope == nil and kind.object then envelope = def.envelope end
  local method = override.method or kind.method
  if name == "update" and def.update_method and def.update_method ~= "auto" then
    method = def.update_method
  end
  local op = {
    name = name, method = method, path = path, params = params,
    expect = override.expect or kind.expect,
    envelope = envelope or nil, -- false (a bare object) goes to C as nil
    list_key = name == "list" and (override.list_key or def.list_key) or nil,
    fresh = FRESH[method] or false, resource = def,
  }
  if #params == 1 then
    op.prefix, op.suffix = path:match("^(.-){[%w_]+}(.*)$")
  end
  return op
end

--- The operation records of `def`, keyed by operation name.
-- @tparam table def a resource definition
-- @treturn table name -> operation record
function operation.compile(def)
  local ops = {}
  for name, override in pairs(def.operations or {}) do
    ops[name] = compile_one(def, name, type(override) == "table" and override or {})
  end
  return ops
end

--- The path of one request of `op`, its parameters percent-escaped, so a
-- value can never reach anything but its own path segment.
-- @param op an operation record
-- @param ... the values of `op.params`, in order (strings)
function operation.target(op, a, ...)
  if op.prefix then return op.prefix .. escaped(a) .. op.suffix end
  local n = #op.params
  if n == 0 then return op.path end
  local values = { a, ... }
  local path = op.path
  for i = 1, n do
    path = path:gsub("{" .. op.params[i] .. "}", (escaped(values[i]):gsub("%%", "%%%%")), 1)
  end
  return path
end

return operation
