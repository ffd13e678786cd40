-- What the C core and the option checks guarantee against a careless
-- caller and a hostile server (issue 12, defects 4, 5, 6 and 9's header
-- part): timeouts always bound a request, the plain-http guard reads the
-- host libcurl connects to, the token never comes back in an answer, and
-- oversized response headers are "too_large".
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local core = require "genesiscloud.core"

local TOKEN = "tok-5e1d0c4b2a"

describe("timeouts", function()
  local canned

  setup(function() canned = helper.start_canned_server() end)
  teardown(function() if canned then canned.stop() end end)

  for _, name in ipairs{ "timeout", "connect_timeout", "deadline" } do
    it("refuses " .. name .. " below a millisecond, and 0, and above a day", function()
      for _, v in ipairs{ 0.0004, 0.0009999, 0, -1, 86400.5, 0 / 0 } do
        local c, err = genesiscloud.new{ token = "t", endpoint = canned.endpoint, [name] = v }
        assert.is_nil(c, name .. " = " .. tostring(v))
        assert.are.equal("usage", err.kind)
        assert.are.equal("option '" .. name .. "' must be a number of seconds from 0.001 to 86400, got "
          .. tostring(v), err.message)
      end
      for _, v in ipairs{ 0.001, 0.0015, 1, 86400 } do
        assert(genesiscloud.new{ token = "t", endpoint = canned.endpoint, [name] = v }):close()
      end
    end)
  end

  -- The canned server answers "stall" after 30 s: only a timeout ends the
  -- request sooner. A bound of 0 ms would be libcurl's "no timeout".
  it("bounds a request by a 1.5 ms timeout", function()
    local c = assert(genesiscloud.new{ token = "t", endpoint = canned.endpoint, timeout = 0.0015,
      max_retries = 0 })
    local t0 = core.now()
    local sg, err = c:get_security_group("stall")
    assert.is_nil(sg)
    assert.are.equal("timeout", err.kind)
    assert.is_true(core.now() - t0 < 5)
    c:close()
  end)

  it("gives the core its timeouts in milliseconds, rounded up, never 0 (no timeout)", function()
    local o = helper.core_options{ endpoint = canned.endpoint, timeout = 0.0015,
      connect_timeout = 0.001 }
    assert.are.equal(2, o.timeout_ms)
    assert.are.equal(1, o.connect_timeout_ms)
    o = helper.core_options{ endpoint = canned.endpoint, timeout = 30, connect_timeout = 86400 }
    assert.are.equal(30000, o.timeout_ms)
    assert.are.equal(86400000, o.connect_timeout_ms)
  end)

  it("bounds a request by the core's least timeout, 1 ms", function()
    local c = assert(core.new(helper.core_options({ endpoint = canned.endpoint }, { timeout_ms = 1 })))
    local t0 = core.now()
    local status, kind = c:perform("GET", "/security-groups/stall", nil, false)
    assert.is_nil(status)
    assert.are.equal("timeout", kind)
    assert.is_true(core.now() - t0 < 5)
    c:close()
  end)
end)

describe("the plain-http guard", function()
  -- { endpoint, what libcurl connects to (core.parse_url's host), accepted
  -- on plain http?, phrase of the refusal }
  local cases = {
    -- the bypasses: the token would have gone in clear to "vm"
    { "http://vm:1#@127.0.0.1/compute/v1", nil, false, "must not have a fragment" },
    { "http://vm:1?@127.0.0.1/compute/v1", nil, false, "must not have a query" },
    { "http://vm:1/compute/v1#", nil, false, "must not have a fragment" },
    { "http://vm:1/compute/v1?", nil, false, "must not have a query" },
    -- user information, whatever the host
    { "http://vm\\@127.0.0.1/compute/v1", "127.0.0.1", false, "must not hold user information" },
    { "http://user:pw@127.0.0.1/compute/v1", "127.0.0.1", false, "must not hold user information" },
    { "http://@127.0.0.1/compute/v1", "127.0.0.1", false, "must not hold user information" },
    { "https://user:pw@api.example.com/v1", "api.example.com", false, "must not hold user information" },
    -- loopback in the forms libcurl normalises
    { "http://127.0.0.1:8080/v1", "127.0.0.1", true },
    { "http://127.3.4.5/v1", "127.3.4.5", true },
    { "http://127.1/v1", "127.0.0.1", true },
    { "http://0x7f.0.0.1/v1", "127.0.0.1", true },
    { "http://2130706433/v1", "127.0.0.1", true },
    { "http://%31%32%37.0.0.1/v1", "127.0.0.1", true },
    { "http://localhost/v1", "localhost", true },
    { "http://LocalHost:9/v1", "LocalHost", true },
    { "http://%6cocalhost/v1", "localhost", true },
    { "http://[::1]:9/v1", "[::1]", true },
    { "http://[0:0:0:0:0:0:0:1]/v1", "[::1]", true },
    -- not loopback, or not for sure
    { "http://[::ffff:127.0.0.1]/v1", "[::ffff:127.0.0.1]", false, "travel in clear" },
    { "http://localhost./v1", "localhost.", false, "travel in clear" },
    { "http://localhost.example.com/v1", "localhost.example.com", false, "travel in clear" },
    { "http://foo.localhost/v1", "foo.localhost", false, "travel in clear" },
    { "http://127.0.0.1.example.com/v1", "127.0.0.1.example.com", false, "travel in clear" },
    { "http://128.0.0.1/v1", "128.0.0.1", false, "travel in clear" },
    { "http://[::2]/v1", "[::2]", false, "travel in clear" },
  }
  for _, case in ipairs(cases) do
    local endpoint, host, accepted, phrase = case[1], case[2], case[3], case[4]
    it((accepted and "accepts " or "refuses ") .. endpoint, function()
      if host then
        local url = assert(core.parse_url(endpoint))
        assert.are.equal(host, url.host)
      end
      local c, err = genesiscloud.new{ token = TOKEN, endpoint = endpoint }
      if accepted then
        assert.is_nil(err)
        c:close()
      else
        assert.is_nil(c)
        assert.are.equal("usage", err.kind)
        assert.matches(phrase, err.message, 1, true)
        assert.is_nil(tostring(err):find("pw", 1, true), "the password shows: " .. tostring(err))
      end
    end)
  end

  it("still refuses user information, a query or a fragment with allow_insecure_http", function()
    for _, endpoint in ipairs{ "https://u:pw@api.example.com/v1", "https://api.example.com/v1?x=1",
        "https://api.example.com/v1#x" } do
      local c, err = genesiscloud.new{ token = TOKEN, endpoint = endpoint, allow_insecure_http = true }
      assert.is_nil(c, endpoint)
      assert.are.equal("usage", err.kind)
    end
  end)

  it("is re-checked by the core, so tostring(client) can never show credentials", function()
    for _, endpoint in ipairs{ "http://user:pw@127.0.0.1/v1", "http://127.0.0.1/v1#", "http://127.0.0.1/v1?a" } do
      local c, message = core.new(helper.core_options({ token = TOKEN }, { endpoint = endpoint }))
      assert.is_nil(c, endpoint)
      assert.matches("^the endpoint must not ", message)
    end
  end)

  it("core.parse_url gives every part, or nil and libcurl's reason", function()
    local url = assert(core.parse_url("https://u:p@[::1]:8443/compute/v1?a=1#f"))
    assert.are.same({ scheme = "https", user = "u", password = "p", host = "[::1]", port = 8443,
      path = "/compute/v1", query = "a=1", fragment = "f" }, url)
    local none, why = core.parse_url("http://127.0.0.1:99999/")
    assert.is_nil(none)
    assert.is_string(why)
  end)
end)

describe("a server that reflects the credentials", function()
  local canned

  setup(function() canned = helper.start_canned_server() end)
  teardown(function() if canned then canned.stop() end end)

  -- Every string of an error object, and tostring of it.
  local function strings_of(err)
    local out = { tostring(err) }
    for k, v in pairs(err) do out[#out + 1] = tostring(k) .. "=" .. tostring(v) end
    return table.concat(out, "\n")
  end

  for _, auth in ipairs{ "x-auth-token", "bearer" } do
    it("never gets the token into an error or a debug event (" .. auth .. ")", function()
      local events = {}
      local c = assert(genesiscloud.new{ token = TOKEN, endpoint = canned.endpoint, auth = auth,
        max_retries = 0, debug = function(e) events[#events + 1] = e end })
      for _, id in ipairs{ "reflect-json", "reflect-escaped", "reflect-text", "reflect-headers" } do
        local sg, err = c:get_security_group(id)
        assert.is_nil(sg)
        local text = strings_of(err)
        assert.is_nil(text:find(TOKEN, 1, true), id .. " shows the token:\n" .. text)
        -- the server did reflect it: the redaction, not luck, hid it
        assert.is_truthy(text:find("[REDACTED]", 1, true), id .. ":\n" .. text)
      end
      local _, err = c:get_security_group("reflect-200")
      assert.is_nil(strings_of(err):find(TOKEN, 1, true))
      -- the same through the concurrent pipeline
      local results = c:get_security_groups{ "reflect-json", "reflect-text", "reflect-escaped" }
      for i = 1, 3 do
        assert.is_true(genesiscloud.is_error(results[i]))
        assert.is_nil(strings_of(results[i]):find(TOKEN, 1, true), strings_of(results[i]))
      end
      assert.is_true(#events >= 5)
      for _, e in ipairs(events) do
        for k, v in pairs(e) do
          assert.is_nil(tostring(v):find(TOKEN, 1, true), "debug event field " .. k .. ": " .. tostring(v))
        end
      end
      c:close()
    end)
  end

  it("client:redact replaces the token, and leaves a short one (no real secret) alone", function()
    local c = assert(genesiscloud.new{ token = TOKEN, endpoint = canned.endpoint })
    assert.are.equal("a [REDACTED] b [REDACTED]", c:redact("a " .. TOKEN .. " b " .. TOKEN))
    local plain = "nothing to hide"
    assert.are.equal(plain, c:redact(plain))
    c:close()
    local short = assert(genesiscloud.new{ token = "t", endpoint = canned.endpoint })
    assert.are.equal("not found", short:redact("not found"))
    short:close()
  end)
end)

describe("oversized response headers", function()
  local canned

  setup(function() canned = helper.start_canned_server() end)
  teardown(function() if canned then canned.stop() end end)

  it("are too_large, for one 10 MB line and for 100 KB of lines, and the client goes on", function()
    local c = assert(genesiscloud.new{ token = TOKEN, endpoint = canned.endpoint, max_retries = 0 })
    for _, id in ipairs{ "huge-header", "many-big-headers" } do
      local sg, err = c:get_security_group(id)
      assert.is_nil(sg)
      assert.are.equal("too_large", err.kind, tostring(err))
      assert.matches("header", err.message)
    end
    assert.are.equal("echo", assert(c:get_security_group("echo-headers")).id)
    -- the same through the concurrent transfers
    local results = c:get_security_groups{ "huge-header", "many-big-headers", "echo-headers" }
    assert.are.equal("too_large", results[1].kind, tostring(results[1]))
    assert.are.equal("too_large", results[2].kind, tostring(results[2]))
    assert.are.equal("echo", results[3].id)
    c:close()
  end)
end)
