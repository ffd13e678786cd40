-- genesiscloud.new: defaults, checks and refusals.
local genesiscloud = require "genesiscloud"
local options = require "genesiscloud.options"

local function env(vars)
  return function(name) return vars[name] end
end

describe("genesiscloud.new options", function()
  it("has the documented defaults", function()
    local o = assert(options.resolve({ token = "t" }, env{}))
    assert.are.equal("https://api.genesiscloud.com/compute/v1", o.endpoint)
    assert.are.equal(30, o.timeout)
    assert.are.equal(10, o.connect_timeout)
    assert.are.equal("x-auth-token", o.auth)
    assert.are.equal("auto", o.update_method)
    assert.matches("^lua%-genesiscloud/%d+%.%d+%.%d+ libcurl/%S+ Lua/5%.%d$", o.user_agent)
  end)

  it("reads the token and endpoint from the environment", function()
    local o = assert(options.resolve(nil, env{ GENESISCLOUD_TOKEN = "from-env",
      GENESISCLOUD_ENDPOINT = "https://example.test/compute/v1" }))
    assert.are.equal("from-env", o.token)
    assert.are.equal("https://example.test/compute/v1", o.endpoint)
  end)

  it("lets explicit options win over the environment", function()
    local o = assert(options.resolve({ token = "mine", endpoint = "https://a.test" },
      env{ GENESISCLOUD_TOKEN = "env", GENESISCLOUD_ENDPOINT = "https://b.test" }))
    assert.are.equal("mine", o.token)
    assert.are.equal("https://a.test", o.endpoint)
  end)

  it("accepts PUT/PATCH in any case", function()
    local o = assert(options.resolve({ token = "t", update_method = "patch" }, env{}))
    assert.are.equal("PATCH", o.update_method)
  end)

  local refusals = {
    { "no token", {}, "no token" },
    { "empty token", { token = "" }, "no token" },
    { "token with LF", { token = "abc\ndef" }, "control characters" },
    { "token with CR", { token = "abc\rdef" }, "control characters" },
    { "token with NUL", { token = "abc\0def" }, "control characters" },
    { "numeric token", { token = 42 }, "must be a string" },
    { "typo", { token = "t", timout = 5 }, "unknown option 'timout' %(did you mean 'timeout'%?%)" },
    { "unknown name", { token = "t", colour = "red" }, "unknown option 'colour'" },
    { "bad endpoint", { token = "t", endpoint = "api.genesiscloud.com" }, "http:// or https://" },
    { "clear-text endpoint", { token = "t", endpoint = "http://api.example.com/v1" }, "travel in clear" },
    { "zero timeout", { token = "t", timeout = 0 }, "'timeout'" },
    { "string timeout", { token = "t", timeout = "5" }, "'timeout'" },
    { "bad connect_timeout", { token = "t", connect_timeout = -1 }, "'connect_timeout'" },
    { "bad auth", { token = "t", auth = "basic" }, "'auth' must be one of x%-auth%-token, bearer" },
    { "bad update_method", { token = "t", update_method = "POST" }, "'update_method'" },
    { "user agent with CR", { token = "t", user_agent = "x\r\nEvil: 1" }, "control characters" },
    { "fractional max_response_bytes", { token = "t", max_response_bytes = 1.5 }, "max_response_bytes" },
  }
  for _, case in ipairs(refusals) do
    it("refuses " .. case[1] .. " from new, with a usage error", function()
      local client, err = genesiscloud.new(case[2])
      assert.is_nil(client)
      assert.is_true(genesiscloud.is_error(err))
      assert.are.equal("usage", err.kind)
      assert.matches(case[3], err.message)
      assert.matches("^genesiscloud: usage: ", tostring(err))
    end)
  end

  it("never puts the token in an error message", function()
    local _, err = genesiscloud.new{ token = "canary-93f\n" }
    assert.is_nil(tostring(err):find("canary", 1, true))
  end)

  it("allows plain http on loopback and when asked to", function()
    for _, endpoint in ipairs{ "http://127.0.0.1:8080/v1", "http://localhost/v1", "http://[::1]:9/v1",
        "http://127.3.4.5/v1" } do
      local c = assert(genesiscloud.new{ token = "t", endpoint = endpoint })
      c:close()
    end
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://api.example.com/v1",
      allow_insecure_http = true })
    c:close()
  end)

  it("raises when the options are not a table", function()
    assert.has_error(function() genesiscloud.new("token") end)
  end)
end)
