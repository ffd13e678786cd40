-- docs/services.md writes out every alias pattern (`get_<name>`,
-- `<action>_<name>`, `create_<name>_<nested>`, ...); this keeps that table
-- and service/aliases.lua in step, for a definition with actions, a
-- nested collection and calls (the registry has none yet, so services_doc_spec.lua
-- cannot see those patterns).
local aliases = require "genesiscloud.service.aliases"

local DEF = {
  name = "instance", plural = "instances", path = "/instances",
  operations = { get = {} },
  actions = { path = "/instances/{id}/actions", list_key = "actions",
    names = { start = {}, stop = {}, reset = {} } },
  nested = {
    snapshots = { name = "snapshot", path = "/instances/{id}/snapshots", envelope = "snapshot",
      list_key = "snapshots", operations = { list = {}, create = {} } },
    backups = { name = "backup", path = "/instances/{id}/backups", envelope = false,
      list_key = "backups", operations = { list = {} } },
  },
  calls = {
    user_metadata = { method = "GET", path = "/instances/{id}/user-metadata", envelope = false },
    clone = { method = "POST", path = "/instances/{id}/clone", envelope = "instance" },
  },
}

-- { pattern, method } rows of the "Alias patterns" table.
local function documented()
  local rows, inside = {}, false
  for line in io.lines("docs/services.md") do
    if line:match("^## ") then inside = line == "## Alias patterns" end
    local pattern, method = line:match("^| `([^`]+)` | `:([^`]+)`")
    if method then method = method:gsub(" %(.*%)$", "") end
    if inside and pattern then rows[#rows + 1] = { pattern, method } end
  end
  return rows
end

-- Every "alias=method" the documented patterns give for DEF.
local function expand(rows)
  local out = {}
  local function add(alias, method)
    out[#out + 1] = (alias:gsub("<name>", DEF.name):gsub("<plural>", DEF.plural)) .. "=" .. method
  end
  for _, row in ipairs(rows) do
    local pattern, method = row[1], row[2]
    if pattern:find("<action>", 1, true) then
      for action in pairs(DEF.actions.names) do
        add(pattern:gsub("<action>", action), (method:gsub("<action>", action)))
      end
    elseif pattern:find("<call>", 1, true) then
      -- "get_<name>_<call>" is the pattern of GET calls, "<call>_<name>" of the others
      local wants_get = pattern:find("^get_") ~= nil
      for call, spec in pairs(DEF.calls) do
        if ((spec.method or "GET") == "GET") == wants_get then
          add(pattern:gsub("<call>", call), (method:gsub("<call>", call)))
        end
      end
    elseif pattern:find("<nested", 1, true) then
      for plural, nested in pairs(DEF.nested) do
        local function fill(s) return (s:gsub("<nested plural>", plural):gsub("<nested>", nested.name)) end
        add(fill(pattern), fill(method))
      end
    else
      add(pattern, method)
    end
  end
  table.sort(out)
  return out
end

describe("docs/services.md alias patterns", function()
  it("are exactly the patterns service/aliases.lua makes, actions and nested collections included", function()
    local rows = documented()
    assert.is_true(#rows >= 21)
    local made = {}
    for _, entry in ipairs(aliases.of(DEF)) do made[#made + 1] = entry[1] .. "=" .. entry[2] end
    table.sort(made)
    assert.are.same(made, expand(rows))
  end)
end)
