-- The operations of the vendor's 2023-07 OpenAPI file and the operations
-- the registry's services can send, both as "METHOD /path/{}" (path
-- parameters blanked, the /compute/v1 prefix dropped), for the contract
-- specs: every contract operation must be reachable through a service.
local operation = require "genesiscloud.service.operation"

local operations = {}

operations.CONTRACT = "spec/contract/genesiscloud-compute-v1-openapi-2023-07.yaml"

local function key(method, path)
  return method:upper() .. " " .. path:gsub("^/compute/v1", ""):gsub("{[^}]+}", "{}")
end
operations.key = key

--- The contract's operations, read from the YAML's `paths` (two-space
-- indented path keys, four-space indented method keys). -> sorted list
function operations.contract(file)
  local out, path = {}, nil
  for line in io.lines(file or operations.CONTRACT) do
    local p = line:match("^  (/%S+):%s*$")
    if p then path = p end
    if line:match("^%S") then path = nil end -- left `paths:`
    local method = line:match("^    (%a+):%s*$")
    if path and method and ({ get = 1, post = 1, put = 1, patch = 1, delete = 1 })[method] then
      out[#out + 1] = key(method, path)
    end
  end
  table.sort(out)
  return out
end

local function add(set, op, method)
  set[key(method or op.method, op.path)] = op.resource.plural .. ":" .. op.name
end

--- What the services of `registry` can send: "METHOD /path/{}" -> "plural:operation".
-- An update whose method is learned ("auto") reaches both PUT and PATCH.
function operations.reachable(registry)
  local set = {}
  for _, def in ipairs(registry) do
    local ops = operation.compile(def)
    for name, op in pairs(ops) do
      if operation.KINDS[name] then add(set, op) end
    end
    if ops.update and def.update_method == "auto" then
      add(set, ops.update, "PUT")
      add(set, ops.update, "PATCH")
    end
    for _, op in pairs(ops.actions or {}) do add(set, op) end
    if ops.available_actions then add(set, ops.available_actions) end
    for _, nested in pairs(ops.nested or {}) do
      for _, op in pairs(nested) do add(set, op) end
    end
    for _, op in pairs(ops.calls or {}) do add(set, op) end
  end
  return set
end

return operations
