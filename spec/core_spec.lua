-- The C core on its own: the client userdata's life cycle, and the helpers
-- that are not HTTP.
local core = require "genesiscloud.core"
local testing = require "genesiscloud.core_testing"
local helper = require "helper"
local cjson = require "cjson"

describe("genesiscloud.core", function()
  -- core.new's table as genesiscloud.new makes it, then `fields` as given
  -- (which genesiscloud.new itself might refuse).
  local function options(fields)
    return helper.core_options({ token = "secret-token-x1",
      endpoint = "http://127.0.0.1:9/compute/v1" }, fields)
  end
  local function new(fields) return core.new(options(fields)) end

  it("sets no global", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded["genesiscloud.core"] = nil
    require "genesiscloud.core"
    for k in pairs(_G) do assert.is_true(before[k], "new global " .. tostring(k)) end
  end)

  it("shares one methods table when loaded twice in a state", function()
    package.loaded["genesiscloud.core"] = nil
    local again = require "genesiscloud.core"
    assert.are.equal(core.client_methods, again.client_methods)
  end)

  it("reports its version and libcurl's", function()
    assert.matches("^%d+%.%d+%.%d+$", core._VERSION)
    assert.matches("^%d+%.%d+", core.curl_version)
  end)

  describe("client", function()
    it("is a userdata whose tostring shows the endpoint, never the token", function()
      local c = assert(new())
      assert.are.equal("userdata", type(c))
      assert.are.equal("genesiscloud.client (http://127.0.0.1:9/compute/v1)", tostring(c))
      assert.is_nil(tostring(c):find("secret", 1, true))
      c:close()
    end)

    it("drops trailing slashes from the endpoint", function()
      local c = assert(new{ endpoint = "http://127.0.0.1:9/v1//" })
      assert.are.equal("http://127.0.0.1:9/v1", c:endpoint())
      c:close()
    end)

    it("closes idempotently, and a closed client answers with a usage failure", function()
      local c = assert(new())
      c:close()
      c:close()
      assert.is_true(c:is_closed())
      assert.are.equal("genesiscloud.client (closed)", tostring(c))
      local status, kind, message = c:perform("GET", "/x")
      assert.is_nil(status)
      assert.are.equal("usage", kind)
      assert.matches("closed", message)
    end)

    it("closes at the end of a to-be-closed scope (Lua 5.4)", function()
      if _VERSION ~= "Lua 5.4" then return end
      local c = assert(new())
      local run = load([[
        local c = ...
        do local scoped <close> = c end
        return c:is_closed()
      ]])
      assert.is_true(run(c))
    end)

    it("is released by the garbage collector", function()
      local weak = setmetatable({}, { __mode = "v" })
      weak[1] = assert(new())
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak[1])
    end)

    it("refuses a missing token, a token with control characters and a bad endpoint", function()
      local o = options()
      o.token = nil
      local c, err = core.new(o)
      assert.is_nil(c); assert.matches("token", err)
      c, err = new{ token = "a\r\nX-Evil: 1" }
      assert.is_nil(c); assert.matches("control", err)
      c, err = new{ endpoint = "ftp://127.0.0.1/" }
      assert.is_nil(c); assert.matches("http", err)
      c, err = new{ auth = "basic" }
      assert.is_nil(c); assert.matches("auth", err)
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.new("token") end)
      assert.has_error(function() new{ timeout_ms = "soon" } end)
      assert.has_error(function() new{ endpoint = 443 } end)
      local c = assert(new())
      assert.has_error(function() c:perform("BREW", "/") end)
      assert.has_error(function() c:perform("GET", "no-slash") end)
      assert.has_error(function() c:perform("GET", "/a\nb") end)
      c:close()
    end)

    it("takes the numbers in its units as given: missing or out of range is an error", function()
      for _, name in ipairs{ "timeout_ms", "connect_timeout_ms", "max_response_bytes" } do
        local o = options()
        o[name] = nil
        assert.has_error(function() core.new(o) end, "core.new: missing " .. name)
        for _, bad in ipairs{ 0, -1, 1.5, 0 / 0 } do
          assert.has_error(function() new{ [name] = bad } end, nil, name .. " " .. tostring(bad))
        end
      end
      assert.has_error(function() new{ timeout_ms = 86400001 } end)
      assert.has_error(function() new{ max_response_bytes = 2 ^ 30 + 1 } end)
      -- and the seconds of genesiscloud.new are not read at all
      local o = options()
      o.timeout_ms, o.timeout = nil, 5
      assert.has_error(function() core.new(o) end, "core.new: missing timeout_ms")
      assert(new{ timeout_ms = 1, connect_timeout_ms = 86400000, max_response_bytes = 2 ^ 30 })
        :close()
    end)

    it("reports a refused connection as a transport failure with curl's code", function()
      local c = assert(new{ endpoint = "http://127.0.0.1:1" })
      local status, kind, message, code = c:perform("GET", "/")
      assert.is_nil(status)
      assert.are.equal("transport", kind)
      assert.is_string(message)
      assert.are.equal(7, code) -- CURLE_COULDNT_CONNECT
      c:close()
    end)
  end)

  describe("escape", function()
    it("percent-encodes all but unreserved characters", function()
      assert.are.equal("abc-._~XYZ09", core.escape("abc-._~XYZ09"))
      assert.are.equal("..%2Finstances", core.escape("../instances"))
      assert.are.equal("x%3Fpage%3D2", core.escape("x?page=2"))
      assert.are.equal("%20%25%C3%A9%00", core.escape(" %\195\169\0"))
    end)
  end)

  it("has no test-only function (core_testing has them)", function()
    assert.is_nil(core.clean)
  end)

  describe("core_testing.clean", function()
    it("removes JSON null and makes whole numbers integers", function()
      local v = testing.clean(cjson.decode('{"a":null,"p":443,"f":2.5,"l":[1,{"b":null,"c":22}]}'))
      assert.is_nil(v.a)
      assert.are.equal(443, v.p)
      assert.are.equal(2.5, v.f)
      assert.is_nil(v.l[2].b)
      if math.type then
        assert.are.equal("integer", math.type(v.p))
        assert.are.equal("integer", math.type(v.l[2].c))
        assert.are.equal("float", math.type(v.f))
      end
    end)

    it("turns a top-level null into nil and leaves scalars alone", function()
      assert.is_nil(testing.clean(cjson.null))
      assert.are.equal("x", testing.clean("x"))
    end)

    it("makes a top-level whole number an integer too", function()
      if not math.type then return end
      assert.are.equal("integer", math.type(testing.clean(2.0)))
      assert.are.equal("float", math.type(testing.clean(2.5)))
    end)
  end)

  describe("clock", function()
    it("sleeps about as long as asked, measured on the monotonic clock", function()
      local t0 = core.now()
      core.sleep(0.05)
      local elapsed = core.now() - t0
      assert.is_true(elapsed >= 0.05, "slept " .. elapsed)
      assert.is_true(elapsed < 1, "slept " .. elapsed)
    end)
  end)
end)

-- perform and multi_next classify an answer the same way, into one of
-- three shapes (docs/ldoc/core.ldoc): decoded `status, value`; response
-- `status, body, headers[, reason]`; failure `nil, kind, message, ...`.
-- The reason is the oracle's message (fuzz/response_oracle.lua), word for word.
describe("genesiscloud.core's result shapes", function()
  local oracle = require "response_oracle"
  local unpack = table.unpack or unpack -- luacheck: ignore 143
  local function pack(...) return { n = select("#", ...), ... } end
  local canned, c

  setup(function()
    canned = helper.start_canned_server()
    c = assert(core.new(helper.core_options{ endpoint = canned.endpoint }))
  end)
  teardown(function()
    if c then c:close() end
    if canned then canned.stop() end
  end)

  -- The same request through perform and through multi_add/multi_next:
  -- both results, each packed.
  local function both(path, expect, envelope)
    local single = pack(c:perform("GET", path, nil, false, expect, envelope))
    assert.is_true(c:multi_add(7, "GET", path, nil, false, expect, envelope))
    local multi = pack(c:multi_next())
    assert.are.equal(7, multi[1])
    return single, pack(unpack(multi, 2, multi.n))
  end

  it("decodes the expected answer, its envelope member or the whole object", function()
    for _, envelope in ipairs{ "security_group", false } do
      local single, multi = both("/security-groups/ok-target", 200, envelope)
      for _, r in ipairs{ single, multi } do
        assert.are.equal(2, r.n)
        assert.are.equal(200, r[1])
        local group = envelope and r[2] or r[2].security_group
        assert.are.equal("x", group.id)
      end
    end
  end)

  it("gives the response and the oracle's reason for an unusable expected answer", function()
    local cases = {
      { "not-json", nil }, { "no-wrapper", "security_group" }, { "empty-200", nil },
      { "null-wrapper", "security_group" }, { "bad-after-wrapper", "security_group" },
    }
    for _, case in ipairs(cases) do
      local path = "/security-groups/" .. case[1]
      local single, multi = both(path, 200, case[2])
      assert.are.same(single, multi, case[1])
      assert.are.equal(4, single.n, case[1])
      assert.are.equal(200, single[1])
      assert.are.equal("string", type(single[2]))
      assert.are.equal("table", type(single[3]))
      local _, err = oracle.interpret("GET", path, { expect = 200, unwrap = case[2] }, 200,
        single[2], single[3])
      assert.are.equal("decode", err.kind)
      assert.are.equal(err.message, single[4], case[1])
    end
    local single = both("/security-groups/no-wrapper", 200, "security_group")
    assert.are.equal([[the response has no 'security_group' object: {"id":"x"}]], single[4])
  end)

  it("gives the response, headers and no reason for any other status, or without expect", function()
    for _, case in ipairs{ { "ok-target", 201 }, { "html-404", 200 }, { "ok-target", nil },
        { "many-headers", 200 } } do
      local single, multi = both("/security-groups/" .. case[1], case[2], "security_group")
      for _, r in ipairs{ single, multi } do
        assert.are.equal(3, r.n, case[1])
        assert.are.equal("string", type(r[2]))
        assert.are.equal("table", type(r[3]))
      end
    end
    local single = both("/security-groups/many-headers", 200)
    assert.are.equal(503, single[1])
    assert.are.equal("7", single[3]["retry-after"])
  end)

  it("gives true for an expected 204, and the response for an unexpected one", function()
    local emu = helper.start_emulator()
    local e = assert(core.new(helper.core_options{ token = emu.token, endpoint = emu.endpoint }))
    local body = '{"name":"shapes","rules":[{"protocol":"icmp","direction":"ingress"}]}'
    local ids = {}
    for i = 1, 2 do
      local status, group = e:perform("POST", "/security-groups", body:gsub("shapes", "s" .. i),
        true, 201, "security_group")
      assert.are.equal(201, status)
      ids[i] = group.id
    end
    local r = pack(e:perform("DELETE", "/security-groups/" .. ids[1], nil, true, 204, false))
    assert.are.same({ n = 2, 204, true }, r)
    assert.is_true(e:multi_add(1, "DELETE", "/security-groups/" .. ids[2], nil, true, 204))
    assert.are.same({ n = 3, 1, 204, true }, pack(e:multi_next()))
    r = pack(e:perform("DELETE", "/security-groups/" .. ids[2], nil, true, 204))
    assert.are.equal(3, r.n)
    assert.are.equal(404, r[1])
    e:close()
    emu:stop()
  end)

  it("leaves request.lua nothing to decode, single or concurrent", function()
    local json = require "genesiscloud.json"
    local decode, calls = json.decode, 0
    json.decode = function(...) calls = calls + 1; return decode(...) end
    -- a client whose one resource reads these canned answers
    local gc = assert(require("genesiscloud").new{ token = "t", endpoint = canned.endpoint,
      max_retries = 0 })
    assert(gc:register{ name = "target", plural = "targets", path = "/security-groups",
      envelope = "security_group", operations = { get = {} } })
    local results = gc.targets:get_many({ "ok-target", "no-wrapper", "not-json" })
    local failed = 0
    for _, r in ipairs(results) do
      if require("genesiscloud").is_error(r) then failed = failed + 1 end
    end
    local one, one_err = gc.targets:get("no-wrapper")
    gc:close()
    json.decode = decode
    assert.are.equal(0, calls)
    assert.are.equal(2, failed)
    assert.are.equal("x", results[1].id)
    assert.are.equal("decode", results[2].kind)
    assert.are.equal([[the response has no 'security_group' object: {"id":"x"}]], results[2].message)
    assert.matches("^the response is not a JSON object %(", results[3].message)
    assert.is_nil(one)
    assert.are.equal(results[2].message, one_err.message)
  end)

  it("refuses an envelope or expect of the wrong type", function()
    assert.has_error(function() c:perform("GET", "/x", nil, false, {}) end)
    assert.has_error(function() c:perform("GET", "/x", nil, false, 200, 5 > 4) end)
    assert.has_error(function() c:multi_add(1, "GET", "/x", nil, false, 200, {}) end)
    assert.are.equal(0, c:multi_pending())
  end)
end)
