-- docs/services.md lists every flat alias and the service method it maps
-- to; this keeps the table and what the registry generates in step.
local registry = require "genesiscloud.resources"
local service = require "genesiscloud.service.service"
local aliases = require "genesiscloud.service.aliases"

local function documented()
  local rows, methods, section = {}, {}, nil
  for line in io.lines("docs/services.md") do
    section = line:match("^### (%S+)") or section
    local alias, target = line:match("^| `([%w_]+)` | `([%w_:]+)`")
    if alias and section then rows[section .. " " .. alias] = target end
    local list = line:match("^Service methods: (.*)$")
    if list and section then
      methods[section] = {}
      for m in list:gmatch("`:([%w_]+)`") do table.insert(methods[section], m) end
    end
  end
  return rows, methods
end

local function generated()
  local rows, methods = {}, {}
  for _, def in ipairs(registry) do
    local have = {}
    methods[def.plural] = service.methods_of(def)
    for _, m in ipairs(methods[def.plural]) do have[m] = true end
    local map = aliases.available(def, have)
    for name, m in pairs(map) do rows[def.plural .. " " .. name] = def.plural .. ":" .. m end
    if have.each then rows[def.plural .. " " .. def.plural] = def.plural .. ":each" end
  end
  return rows, methods
end

describe("docs/services.md", function()
  it("lists every service method and flat alias the registry makes, and nothing else", function()
    local doc_rows, doc_methods = documented()
    local rows, methods = generated()
    assert.are.same(rows, doc_rows)
    assert.are.same(methods, doc_methods)
  end)

  it("each documented alias exists on a client and runs its service method's code", function()
    local genesiscloud = require "genesiscloud"
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    for key, target in pairs((documented())) do
      local alias = key:match(" (.+)$")
      local plural, method = target:match("^(.-):(.+)$")
      assert.is_not_nil(c[alias], alias)
      assert.is_function(c[plural][method], target)
    end
    c:close()
  end)
end)
