-- The C core on its own: the client userdata's life cycle, and the helpers
-- that are not HTTP.
local core = require "genesiscloud.core"
local cjson = require "cjson"

describe("genesiscloud.core", function()
  local function new(opts)
    local o = { token = "secret-token-x1", endpoint = "http://127.0.0.1:9/compute/v1" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

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
      local c, err = core.new{ endpoint = "http://127.0.0.1:9" }
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
      assert.has_error(function() new{ timeout = "soon" } end)
      local c = assert(new())
      assert.has_error(function() c:perform("BREW", "/") end)
      assert.has_error(function() c:perform("GET", "no-slash") end)
      assert.has_error(function() c:perform("GET", "/a\nb") end)
      c:close()
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

  describe("clean", function()
    it("removes JSON null and makes whole numbers integers", function()
      local v = core.clean(cjson.decode('{"a":null,"p":443,"f":2.5,"l":[1,{"b":null,"c":22}]}'))
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
      assert.is_nil(core.clean(cjson.null))
      assert.are.equal("x", core.clean("x"))
    end)

    it("makes a top-level whole number an integer too", function()
      if not math.type then return end
      assert.are.equal("integer", math.type(core.clean(2.0)))
      assert.are.equal("float", math.type(core.clean(2.5)))
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
