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

  -- An integer subtype from Lua 5.3 on; before, numbers have none: a whole number.
  local function assert_integer(n)
    if math.type then
      assert.are.equal("integer", math.type(n))
    else
      assert.are.equal(math.floor(n), n)
    end
  end

  it("gives the C core its fields in final units: whole ms rounded up, bytes", function()
    local o = assert(options.resolve({ token = "t" }, env{}))
    assert.are.equal(30000, o.timeout_ms)
    assert.are.equal(10000, o.connect_timeout_ms)
    assert.are.equal(16 * 1024 * 1024, o.max_response_bytes)
    assert_integer(o.timeout_ms)
    o = assert(options.resolve({ token = "t", timeout = 0.0011, connect_timeout = 0.001,
      max_response_bytes = 2048.0 }, env{}))
    -- rounded up, never to 0: libcurl reads 0 ms as "no timeout at all"
    assert.are.equal(2, o.timeout_ms)
    assert.are.equal(1, o.connect_timeout_ms)
    assert.are.equal(2048, o.max_response_bytes)
    assert_integer(o.max_response_bytes)
    -- the seconds stay for the Lua side (and a C core that reads them)
    assert.are.equal(0.0011, o.timeout)
  end)
end)

describe("options.schema", function()
  it("has one row per option, each with a type and a one-line doc", function()
    local seen = {}
    for _, row in ipairs(options.schema) do
      assert.is_nil(seen[row.name], "two rows for " .. tostring(row.name))
      seen[row.name] = true
      assert.are.equal(row, options.row(row.name))
      assert.is_string(row.type, row.name)
      assert.matches("^[^\n]+$", row.doc, nil, nil, row.name)
    end
    for _, name in ipairs{ "token", "endpoint", "timeout", "connect_timeout", "user_agent", "auth",
        "update_method", "errors", "max_response_bytes", "max_retries", "retry_base", "retry_max_wait",
        "deadline", "debug", "now", "wall_clock", "sleep", "random", "cafile", "capath",
        "allow_insecure_http" } do
      assert.is_true(seen[name], name)
    end
  end)

  it("drives resolve: every default is what resolve fills in, and passes its own check", function()
    local o = assert(options.resolve({ token = "t" }, env{}))
    for _, row in ipairs(options.schema) do
      local default = options.default(row)
      if row.name ~= "token" then assert.are.equal(default, o[row.name], row.name) end
      if default ~= nil then assert.is_nil(options.check(row, default), row.name) end
    end
  end)

  it("checks numbers by their range and names the subject it is given", function()
    local timeout = options.row("timeout")
    assert.is_nil(options.check(timeout, 0.001))
    assert.is_nil(options.check(timeout, 86400))
    assert.are.equal("option 'timeout' must be a number of seconds from 0.001 to 86400, got 0",
      options.check(timeout, 0))
    assert.are.equal("--timeout must be a number of seconds from 0.001 to 86400, got 'x'",
      options.check(timeout, "x", "--timeout", "'x'"))
    assert.is_string(options.check(timeout, 0 / 0)) -- NaN is in no range
    assert.are.equal("option 'max_response_bytes' must be a whole number of bytes from 1 to 2^30, got 1.5",
      options.check(options.row("max_response_bytes"), 1.5))
    assert.are.equal("option 'max_retries' must be a whole number from 0 to 100, got 101",
      options.check(options.row("max_retries"), 101))
  end)

  it("lists flags for the command line on rows that have one", function()
    assert.are.equal("--timeout", options.row("timeout").cli)
    assert.are.equal("--connect-timeout", options.row("connect_timeout").cli)
    assert.matches("^%-%-retries", options.row("max_retries").cli)
    assert.is_nil(options.row("token").cli) -- never on a command line
    assert.is_nil(options.row("allow_insecure_http").cli)
  end)

  it("loads without the C core (the CLI's help is built from the rows)", function()
    local helper = require "helper"
    local out, _, _, code = helper.run("env LUA_CPATH=';;' LUA_CPATH_5_4=';;' lua5.4 -e \""
      .. "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path; package.cpath = ''; "
      .. "local o = require 'genesiscloud.options'; io.write(#o.schema, ' ', o.row('timeout').default)\"")
    assert.are.equal(0, code)
    assert.matches("^%d+ 30$", out)
  end)
end)

