-- The documented defaults: the reference of `new` (genesiscloud.ldoc, the
-- LDoc page every option is documented on) says for every option what its
-- row in options.schema holds (type, default, environment variable), and
-- what resolve fills in and a client's retry policy really holds follow
-- the rows. A changed default is a change of behaviour for every user who
-- relies on the documentation.
local genesiscloud = require "genesiscloud"
local options = require "genesiscloud.options"
local client_mod = require "genesiscloud.client"

local MiB = 1024 * 1024

local function no_env() return nil end

-- The reference moves from doc/ to docs/ldoc/: whichever exists.
local function reference()
  for _, path in ipairs{ "docs/ldoc/genesiscloud.ldoc", "doc/genesiscloud.ldoc" } do
    local f = io.open(path, "r")
    if f then
      local text = f:read("*a")
      f:close()
      return text, path
    end
  end
  error("no genesiscloud.ldoc in doc/ or docs/ldoc/")
end

-- name -> { opt = "opt=30", type = "number", text = the description }
-- for every `@tparam[opt...] TYPE opts.NAME` of the doc comment of `new`.
local function documented_options()
  local ref = reference()
  local block = assert(ref:match("\n(%-%-%- Creates a client.-)\n[^\n]*@treturn"), "no doc of new")
  local found = {}
  local current
  for line in block:gmatch("[^\n]+") do
    local opt, kind, name, text = line:match("^%-%- @tparam%[(opt[^%]]*)%]%s+(%S+)%s+opts%.([%w_]+)%s*(.*)$")
    if opt then
      current = { opt = opt, type = kind, text = text }
      found[name] = current
    elseif line:match("^%-%- @") then
      current = nil
    elseif current then
      current.text = current.text .. " " .. line:gsub("^%-%-%s*", "")
    end
  end
  return found
end

-- A literal default as LDoc's `[opt=...]` writes it: 30, not 30.0 (before
-- Lua 5.3 there are no integers and tostring(30) is already "30").
local function literal(value)
  if type(value) == "string" then return '"' .. value .. '"' end
  return tostring(math.tointeger and math.tointeger(value) or value)
end

describe("documented defaults", function()
  local documented = documented_options()

  for _, row in ipairs(options.schema) do
    it(("the reference of new documents opts.%s as its row says"):format(row.name), function()
      local doc = documented[row.name]
      assert.is_not_nil(doc, "no @tparam for opts." .. row.name)
      assert.are.equal(row.type, doc.type)
      local default = row.default
      if default ~= nil then
        -- a long default may be written in the text instead
        if not (doc.opt == "opt" and doc.text:find(literal(default):gsub('"', ""), 1, true)) then
          assert.are.equal("opt=" .. literal(default), doc.opt)
        end
      elseif row.env then
        assert.are.equal("opt=$" .. row.env, doc.opt)
      else
        assert.are.equal("opt", doc.opt)
      end
      if row.env then assert.truthy(doc.text:find("$" .. row.env, 1, true) or doc.opt:find(row.env, 1, true)) end
      if row.default_doc then assert.truthy(doc.text:find(row.default_doc, 1, true), doc.text) end
    end)
  end

  it("the reference documents no option that has no row", function()
    for name in pairs(documented) do
      assert.is_not_nil(options.row(name), "opts." .. name .. " is documented but not in options.schema")
    end
  end)

  it("are what options.resolve fills in", function()
    local resolved = assert(options.resolve({ token = "t" }, no_env))
    assert.are.equal(4, resolved.max_retries)
    assert.are.equal(0.5, resolved.retry_base)
    assert.are.equal(30, resolved.retry_max_wait)
    assert.are.equal(16 * MiB, resolved.max_response_bytes)
    assert.are.equal(30, resolved.timeout)
    assert.are.equal(10, resolved.connect_timeout)
  end)

  it("reach the retry policy of a client made with no retry options", function()
    -- Nothing is sent: the endpoint is never contacted.
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    local policy = client_mod.state(c).policy
    assert.are.equal(4, policy.max_retries)
    assert.are.equal(0.5, policy.retry_base)
    assert.are.equal(30, policy.retry_max_wait)
    assert.are.equal(16 * MiB, client_mod.state(c).options.max_response_bytes)
    c:close()
  end)

  it("are overridden by explicit options", function()
    local o = assert(options.resolve({ token = "t", max_retries = 0, retry_base = 0,
      retry_max_wait = 0, max_response_bytes = 1 }, no_env))
    assert.are.equal(0, o.max_retries)
    assert.are.equal(0, o.retry_base)
    assert.are.equal(0, o.retry_max_wait)
    assert.are.equal(1, o.max_response_bytes)
  end)
end)
