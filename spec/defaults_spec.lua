-- The documented defaults of the retry and size options: what
-- options.resolve fills in, what a client's retry policy really holds, and
-- that the reference of `new` (docs/ldoc/genesiscloud.ldoc, the LDoc page every
-- option is documented on) says the same numbers. A changed default
-- is a change of behaviour for every user who relies on the documentation.
local genesiscloud = require "genesiscloud"
local options = require "genesiscloud.options"
local client_mod = require "genesiscloud.client"

local MiB = 1024 * 1024

-- name, value, how the reference writes it (`@tparam[opt=...]`)
local DOCUMENTED = {
  { "max_retries", 4, "4" },
  { "retry_base", 0.5, "0.5" },
  { "retry_max_wait", 30, "30" },
  { "max_response_bytes", 16 * MiB, "16777216" },
}

local function no_env() return nil end

describe("documented defaults", function()
  local resolved = assert(options.resolve({ token = "t" }, no_env))

  for _, row in ipairs(DOCUMENTED) do
    local name, value = row[1], row[2]

    it(("options.resolve gives %s = %s"):format(name, tostring(value)), function()
      assert.are.equal(value, resolved[name])
    end)

    it(("the reference of new gives %s as %s"):format(name, row[3]), function()
      local f = assert(io.open("docs/ldoc/genesiscloud.ldoc", "r"))
      local ref = f:read("*a")
      f:close()
      local default = ref:match("@tparam%[opt=([^%]]*)%]%s+%S+%s+opts%." .. name .. "%f[^%w_]")
      assert.is_not_nil(default, "no @tparam for opts." .. name .. " in docs/ldoc/genesiscloud.ldoc")
      assert.are.equal(row[3], default)
    end)
  end

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
