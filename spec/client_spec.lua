-- The five security-group operations, every option that changes a request,
-- and every error path, against the emulator (and a canned server for the
-- answers the emulator never gives).
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local cjson = require "cjson"

local WEB_RULES = {
  { protocol = "tcp", direction = "ingress", port_range_min = 443, port_range_max = 443 },
  { protocol = "icmp", direction = "ingress" },
}

describe("client against the emulator", function()
  local emu, client

  setup(function()
    emu = helper.start_emulator()
    client = helper.client(emu)
  end)

  teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  before_each(function()
    assert(emu:reset())
    assert(emu:configure{ put_405 = false })
  end)

  local function last_request()
    local log = assert(emu:requests())
    return log[#log], #log
  end

  local function create_web()
    return assert(client:create_security_group{ name = "web", description = "web tier",
      rules = WEB_RULES })
  end

  describe("create_security_group", function()
    it("POSTs the spec and returns the unwrapped group", function()
      local sg = create_web()
      assert.is_string(sg.id)
      assert.are.equal("web", sg.name)
      assert.are.equal("web tier", sg.description)
      assert.are.equal("creating", sg.status)
      assert.are.same(WEB_RULES, sg.rules)
      local req = last_request()
      assert.are.equal("POST", req.method)
      assert.are.equal("/security-groups", req.path)
      assert.are.same({ name = "web", description = "web tier", rules = WEB_RULES }, cjson.decode(req.body))
    end)

    it("returns ports as integers and absent ports as absent, never cjson.null", function()
      local sg = create_web()
      if math.type then assert.are.equal("integer", math.type(sg.rules[1].port_range_min)) end
      assert.is_nil(sg.rules[2].port_range_min)
      assert.is_nil(sg.rules[2].port_range_max)
      local function no_null(t)
        for _, v in pairs(t) do
          assert.are_not.equal(cjson.null, v)
          if type(v) == "table" then no_null(v) end
        end
      end
      no_null(sg)
    end)

    it("leaves absent ports out of the request body", function()
      create_web()
      local body = last_request().body
      assert.is_nil(body:find("null", 1, true))
    end)

    it("passes fields it does not know through, both ways", function()
      local sg = assert(client:create_security_group{ name = "eu", rules = WEB_RULES,
        region = "NORD-NO-KRS-1" })
      assert.are.equal("NORD-NO-KRS-1", sg.region)
      assert.are.equal("NORD-NO-KRS-1", cjson.decode(last_request().body).region)
      assert.are.equal(false, sg.is_internal)
      assert.is_string(sg.updated_at)
    end)

    it("sends an empty Lua list as []", function()
      local _, err = client:request("POST", "/security-groups",
        { body = { name = "x", rules = {} }, expect = 201 })
      assert.are.equal(400, err.status)
      assert.matches('"rules":%[%]', last_request().body)
    end)

    it("raises on a spec that is not a table", function()
      assert.has_error(function() client:create_security_group(42) end)
    end)

    it("refuses a body JSON cannot hold with a usage error, sending nothing", function()
      assert(emu:clear_requests())
      local result, err = client:request("POST", "/security-groups",
        { body = { name = "x", rules = { print } }, expect = 201 })
      assert.is_nil(result)
      assert.are.equal("usage", err.kind)
      assert.matches("cannot send the request body", err.message)
      assert.are.equal(0, #assert(emu:requests()))
    end)

    it("sends a POST without a body as a POST, also after a GET on the same handle", function()
      assert(client:list_security_groups())
      local _, err = client:request("POST", "/security-groups", { expect = 201 })
      assert.are.equal(400, err.status)
      local req = last_request()
      assert.are.equal("POST", req.method)
      assert.are.equal("", req.body or "")
    end)
  end)

  describe("get_security_group", function()
    it("returns the group", function()
      local created = create_web()
      local sg = assert(client:get_security_group(created.id))
      assert.are.equal(created.id, sg.id)
      assert.are.equal("created", sg.status)
      local req = last_request()
      assert.are.equal("GET", req.method)
      assert.are.equal("/security-groups/" .. created.id, req.path)
    end)

    it("returns an api error object for an unknown id", function()
      local sg, err = client:get_security_group("no-such-group")
      assert.is_nil(sg)
      assert.is_true(genesiscloud.is_error(err))
      assert.are.equal("api", err.kind)
      assert.are.equal(404, err.status)
      assert.are.equal("02003", err.code)
      assert.are.equal("GET", err.method)
      assert.are.equal("/security-groups/no-such-group", err.path)
      assert.are.equal("genesiscloud: GET /security-groups/no-such-group: 404 (02003) Security group not found",
        tostring(err))
    end)

    it("percent-encodes ids, so an id cannot reach another path", function()
      for _, id in ipairs{ "../instances", "x?page=2", "a/b", "#frag", "%2e%2e" } do
        local sg, err = client:get_security_group(id)
        assert.is_nil(sg)
        assert.are.equal(404, err.status)
        local req = last_request()
        assert.are.equal("/security-groups/" .. id, req.path)
        assert.is_nil(next(req.query or {}))
      end
    end)

    it("refuses an empty id without sending anything", function()
      local sg, err = client:get_security_group("")
      assert.is_nil(sg)
      assert.are.equal("usage", err.kind)
      assert.are.equal(0, #assert(emu:requests()))
    end)

    it("raises on an id that is not a string", function()
      assert.has_error(function() client:get_security_group(12) end)
    end)
  end)

  describe("list_security_groups", function()
    it("returns the page with its pagination fields", function()
      for i = 1, 3 do
        assert(client:create_security_group{ name = "g" .. i, rules = WEB_RULES })
      end
      local page = assert(client:list_security_groups{ page = 1, per_page = 2 })
      assert.are.equal(2, #page.security_groups)
      assert.are.equal(3, page.total_count)
      assert.are.equal(1, page.page)
      assert.are.equal(2, page.per_page)
      local req = last_request()
      assert.are.equal("/security-groups", req.path)
      assert.are.same({ page = "1", per_page = "2" }, req.query)
    end)

    it("sends no query when none is given and gets the API's defaults", function()
      local page = assert(client:list_security_groups())
      assert.are.same({}, page.security_groups)
      assert.are.equal(50, page.per_page)
      assert.are.equal("/security-groups", last_request().raw_path:match("/compute/v1(.*)"))
    end)
  end)

  describe("update_security_group", function()
    it("sends PUT by default (auto) and returns the updated group", function()
      local sg = create_web()
      local updated = assert(client:update_security_group(sg.id, { name = "web2", rules = sg.rules }))
      assert.are.equal("web2", updated.name)
      local req = last_request()
      assert.are.equal("PUT", req.method)
    end)

    it("in auto mode falls back to PATCH on 405 and remembers it", function()
      assert(emu:configure{ put_405 = true })
      local auto = helper.client(emu)
      local sg = assert(auto:create_security_group{ name = "web", rules = WEB_RULES })
      assert(emu:clear_requests())
      assert(auto:update_security_group(sg.id, { name = "web", description = "one", rules = WEB_RULES }))
      local log = assert(emu:requests())
      assert.are.same({ "PUT", "PATCH" }, { log[1].method, log[2].method })
      assert.are.equal(log[1].body, log[2].body)
      assert(emu:clear_requests())
      local again = assert(auto:update_security_group(sg.id, { name = "web", description = "two",
        rules = WEB_RULES }))
      assert.are.equal("two", again.description)
      log = assert(emu:requests())
      assert.are.equal(1, #log)
      assert.are.equal("PATCH", log[1].method)
      auto:close()
    end)

    it("sends a partial spec as PATCH in auto mode", function()
      local sg = create_web()
      local updated = assert(client:update_security_group(sg.id, { description = "only this" }))
      assert.are.equal("only this", updated.description)
      assert.are.equal("web", updated.name)
      assert.are.equal("PATCH", last_request().method)
    end)

    it("with update_method = PUT never falls back", function()
      assert(emu:configure{ put_405 = true })
      local put = helper.client(emu, { update_method = "PUT" })
      local sg = assert(put:create_security_group{ name = "web", rules = WEB_RULES })
      assert(emu:clear_requests())
      local result, err = put:update_security_group(sg.id, { name = "web", rules = WEB_RULES })
      assert.is_nil(result)
      assert.are.equal(405, err.status)
      assert.are.equal(1, #assert(emu:requests()))
      put:close()
    end)

    it("with update_method = PATCH sends PATCH", function()
      local patch = helper.client(emu, { update_method = "PATCH" })
      local sg = assert(patch:create_security_group{ name = "web", rules = WEB_RULES })
      assert(patch:update_security_group(sg.id, { name = "web", rules = WEB_RULES }))
      assert.are.equal("PATCH", last_request().method)
      patch:close()
    end)

    it("returns the API error for an unknown id", function()
      local result, err = client:update_security_group("gone", { name = "web", rules = WEB_RULES })
      assert.is_nil(result)
      assert.are.equal(404, err.status)
      assert.are.equal("PUT", err.method)
    end)
  end)

  describe("delete_security_group", function()
    it("returns true, and the group is gone", function()
      local sg = create_web()
      assert.is_true(client:delete_security_group(sg.id))
      local req = last_request()
      assert.are.equal("DELETE", req.method)
      assert.are.equal("/security-groups/" .. sg.id, req.path)
      local _, err = client:get_security_group(sg.id)
      assert.are.equal(404, err.status)
    end)

    it("returns the API error for an unknown id", function()
      local ok, err = client:delete_security_group("gone")
      assert.is_nil(ok)
      assert.are.equal(404, err.status)
      assert.are.equal("DELETE", err.method)
    end)
  end)

  describe("authentication", function()
    it("sends X-Auth-Token by default", function()
      assert(client:list_security_groups())
      assert.are.equal("x-auth-token", last_request().auth)
    end)

    it("sends Authorization: Bearer when asked", function()
      local bearer = helper.client(emu, { auth = "bearer" })
      assert(bearer:list_security_groups())
      assert.are.equal("bearer", last_request().auth)
      bearer:close()
    end)

    it("turns a 401 into an api error without the token in it", function()
      local wrong = helper.client(emu, { token = "wrong-canary-token" })
      local page, err = wrong:list_security_groups()
      assert.is_nil(page)
      assert.are.equal("api", err.kind)
      assert.are.equal(401, err.status)
      assert.is_nil(tostring(err):find("canary", 1, true))
      wrong:close()
    end)
  end)

  describe("a closed client", function()
    it("answers every call with a usage error and sends nothing", function()
      local c = helper.client(emu)
      c:close()
      c:close()
      local calls = {
        function() return c:create_security_group{ name = "web", rules = WEB_RULES } end,
        function() return c:get_security_group("x") end,
        function() return c:list_security_groups() end,
        function() return c:update_security_group("x", { name = "web", rules = WEB_RULES }) end,
        function() return c:delete_security_group("x") end,
        function() return c:request("GET", "/security-groups") end,
      }
      for _, call in ipairs(calls) do
        local result, err = call()
        assert.is_nil(result)
        assert.are.equal("usage", err.kind)
        assert.matches("closed", err.message)
      end
      assert.are.equal(0, #assert(emu:requests()))
    end)

    it("is closed by a to-be-closed variable (Lua 5.4)", function()
      if _VERSION ~= "Lua 5.4" then return end
      local c = helper.client(emu)
      load("local c = ...; do local scoped <close> = c end")(c)
      assert.is_true(c:is_closed())
    end)
  end)

  it("keeps the connection alive between requests", function()
    local c = helper.client(emu)
    assert(c:list_security_groups())
    assert.are.equal(1, c:last_request_info().new_connections)
    local sg = assert(c:create_security_group{ name = "k", rules = WEB_RULES })
    for _ = 1, 5 do
      assert(c:list_security_groups())
      assert.are.equal(0, c:last_request_info().new_connections)
      assert(c:get_security_group(sg.id))
      assert.are.equal(0, c:last_request_info().new_connections)
      assert(c:update_security_group(sg.id, { name = "k", rules = WEB_RULES }))
      assert.are.equal(0, c:last_request_info().new_connections)
    end
    c:close()
  end)

  it("sends creates and deletes over a fresh connection, so libcurl never re-sends them", function()
    local c = helper.client(emu)
    assert(c:list_security_groups())
    local sg = assert(c:create_security_group{ name = "k", rules = WEB_RULES })
    assert.are.equal(1, c:last_request_info().new_connections)
    assert(c:delete_security_group(sg.id))
    assert.are.equal(1, c:last_request_info().new_connections)
    c:close()
  end)

  it("runs the README example unchanged", function()
    local sg = assert(client:create_security_group{ name = "web", description = "web tier",
      rules = { { protocol = "tcp", direction = "ingress", port_range_min = 443, port_range_max = 443 } } })
    sg = assert(client:get_security_group(sg.id))
    sg = assert(client:update_security_group(sg.id, { name = "web", rules = sg.rules }))
    local page = assert(client:list_security_groups{ page = 1, per_page = 50 })
    assert.are.equal(1, page.total_count)
    assert.is_true(client:delete_security_group(sg.id))
  end)
end)

describe("client against a misbehaving server", function()
  local server, client, handle

  setup(function()
    server = helper.start_canned_server()
    -- One attempt per call: these specs are about what one answer becomes.
    client = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint, timeout = 1,
      max_retries = 0 })
    -- The C core's own handle, for what `perform` itself hands back.
    handle = assert(require("genesiscloud.core").new(helper.core_options{ token = "t",
      endpoint = server.endpoint }))
  end)

  teardown(function()
    if handle then handle:close() end
    if client then client:close() end
    if server then server.stop() end
  end)

  local function get(id) return client:get_security_group(id) end

  it("sends its User-Agent, Accept and Accept-Encoding: gzip on every request", function()
    local ua = "spec-agent/1.0"
    local c = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint, user_agent = ua })
    local g = assert(c:get_security_group("echo-headers"))
    assert.are.equal("spec-agent/1.0", g.user_agent)
    assert.are.equal("application/json", g.accept)
    assert.are.equal("gzip", g.accept_encoding)
    c:close()
    local default = assert(get("echo-headers"))
    assert.matches("^lua%-genesiscloud/", default.user_agent)
  end)

  -- Headers of a failure come from libcurl's header store (or, where
  -- libcurl has none, from the header callback: the ASan build runs that).
  it("hands over a failure's headers: names lower-cased, repeats joined, values trimmed", function()
    local function check(headers)
      assert.are.equal("table", type(headers))
      assert.are.equal("one, two", headers["x-repeated"])
      assert.are.equal("7", headers["retry-after"])
      assert.are.equal("padded value", headers["x-mixed-case"])
      assert.are.equal("application/json", headers["content-type"])
      assert.is_nil(headers["X-Mixed-Case"])
    end
    local status, body, headers = handle:perform("GET", "/security-groups/many-headers")
    assert.are.equal(503, status)
    assert.matches("busy", body)
    check(headers)
    assert.is_true(handle:multi_add(1, "GET", "/security-groups/many-headers"))
    local tag, mstatus, _, mheaders = handle:multi_next()
    assert.are.equal(1, tag)
    assert.are.equal(503, mstatus)
    check(mheaders)
    -- and the Lua layer reads Retry-After from them
    local _, err = get("many-headers")
    assert.are.equal(503, err.status)
    assert.are.equal(7, tonumber(err.retry_after))
  end)

  it("decodes a gzip-compressed answer", function()
    local g = assert(get("gzip"))
    assert.are.equal("x", g.id)
    assert.are.equal("created", g.status)
  end)

  describe("perform with an expected status", function()
    local path = "/security-groups/"
    it("returns the decoded, unwrapped object for the expected status", function()
      local status, g = handle:perform("GET", path .. "ok-target", nil, false, 200, "security_group")
      assert.are.equal(200, status)
      assert.are.equal("table", type(g))
      assert.are.equal("x", g.id)
      local _, whole = handle:perform("GET", path .. "ok-target", nil, false, 200)
      assert.are.equal("x", whole.security_group.id)
    end)

    it("returns the body text for anything else, for the Lua layer to explain", function()
      local cases = {
        { "not-json", 200, "security_group", 200 },      -- not JSON
        { "no-wrapper", 200, "security_group", 200 },    -- no such member
        { "empty-200", 200, nil, 200 },                  -- nothing to decode
        { "ok-target", 201, "security_group", 200 },     -- another status
        { "ok-target", 204, nil, 200 },                  -- 204 is never decoded
        { "html-404", 200, nil, 404 },
      }
      for _, case in ipairs(cases) do
        local status, body, headers = handle:perform("GET", path .. case[1], nil, false, case[2], case[3])
        assert.are.equal(case[4], status, case[1])
        assert.are.equal("string", type(body), case[1])
        if status >= 300 then assert.are.equal("table", type(headers)) end
      end
    end)

    it("unwraps the member as a whole decode would: other members skipped, the last duplicate, null", function()
      local _, g = handle:perform("GET", path .. "extra-members", nil, false, 200, "security_group")
      assert.are.equal("x", g.id)
      _, g = handle:perform("GET", path .. "dup-wrapper", nil, false, 200, "security_group")
      assert.are.equal("second", g.id)
      local _, body = handle:perform("GET", path .. "null-wrapper", nil, false, 200, "security_group")
      assert.are.equal("string", type(body))
      -- JSON that is invalid after the member is invalid: no object
      _, body = handle:perform("GET", path .. "bad-after-wrapper", nil, false, 200, "security_group")
      assert.are.equal("string", type(body))
      local _, err = get("null-wrapper")
      assert.are.equal("decode", err.kind)
      _, err = get("bad-after-wrapper")
      assert.are.equal("decode", err.kind)
      assert.are.equal("second", assert(get("dup-wrapper")).id)
    end)

    it("matches the unwrap key whole, a NUL byte included", function()
      local _, body = handle:perform("GET", path .. "ok-target", nil, false, 200, "security_group\0x")
      assert.are.equal("string", type(body))
    end)

    it("without an expected status returns the body text as before", function()
      local status, body = handle:perform("GET", path .. "ok-target")
      assert.are.equal(200, status)
      assert.are.equal("string", type(body))
    end)
  end)

  it("gives a sane api error for an HTML error page", function()
    local _, err = get("html-404")
    assert.are.equal("api", err.kind)
    assert.are.equal(404, err.status)
    assert.matches("404 Not Found", err.message)
    assert.is_nil(err.message:find("\n", 1, true))
    assert.matches("^genesiscloud: GET /security%-groups/html%-404: 404 ", tostring(err))
  end)

  it("gives a sane api error for an empty error body", function()
    local _, err = get("empty-500")
    assert.are.equal(500, err.status)
    assert.are.equal("empty response body", err.message)
  end)

  it("keeps a numeric error code as sent", function()
    local _, err = get("numeric-code")
    assert.are.equal(2001, err.code)
    assert.are.equal("Bad thing", err.message)
    assert.are.equal("genesiscloud: GET /security-groups/numeric-code: 400 (2001) Bad thing", tostring(err))
  end)

  it("reads problem+json error bodies", function()
    local _, err = get("problem")
    assert.are.equal("PUT is not supported here", err.message)
  end)

  it("gives a decode error for a body that is not JSON", function()
    local _, err = get("not-json")
    assert.are.equal("decode", err.kind)
    assert.are.equal(200, err.status)
  end)

  it("gives a decode error, not a crash, for JSON nested 5,000 deep", function()
    local _, err = get("deep")
    assert.are.equal("decode", err.kind)
    assert.matches("nested", err.message)
  end)

  it("gives a decode error for an empty success body", function()
    local _, err = get("empty-200")
    assert.are.equal("decode", err.kind)
  end)

  it("gives a decode error when the object is not wrapped as documented", function()
    local _, err = get("no-wrapper")
    assert.are.equal("decode", err.kind)
    assert.matches("security_group", err.message)
  end)

  it("gives a decode error for a list without its list", function()
    local _, err = client:list_security_groups()
    assert.are.equal("decode", err.kind)
  end)

  it("treats an unexpected success code as an error", function()
    local _, err = client:create_security_group{ name = "web", rules = WEB_RULES }
    assert.are.equal("api", err.kind)
    assert.are.equal(200, err.status)
    local _, derr = client:delete_security_group("x")
    assert.are.equal("api", derr.kind)
    assert.are.equal(200, derr.status)
  end)

  it("cuts off a body over max_response_bytes with kind too_large", function()
    local small = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint,
      max_response_bytes = 1000, max_retries = 0 })
    local _, err = small:get_security_group("big")
    assert.are.equal("too_large", err.kind)
    small:close()
    assert(client:get_security_group("big"))
  end)

  it("gives kind timeout when the server stalls past the timeout", function()
    local started = require("genesiscloud.clock").now()
    local _, err = get("stall")
    local elapsed = require("genesiscloud.clock").now() - started
    assert.are.equal("timeout", err.kind)
    assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
    assert.matches("^genesiscloud: GET /security%-groups/stall: timeout: ", tostring(err))
  end)

  it("gives kind transport when nothing listens", function()
    local port = helper.free_port()
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:" .. port .. "/compute/v1",
      max_retries = 0 })
    local _, err = c:list_security_groups()
    assert.are.equal("transport", err.kind)
    assert.are.equal(7, err.curl_code)
    c:close()
  end)
end)

describe("a client made with the C core directly", function()
  it("has only the core's methods: nothing is installed into the core's methods table", function()
    local core = require "genesiscloud.core"
    local bare = assert(core.new(helper.core_options{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" }))
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    assert.is_function(c.get_security_group) -- made for the client ...
    assert.is_nil(bare.get_security_group) -- ... and never for a bare handle
    assert.is_nil(bare.security_groups)
    for name in pairs(core.client_methods) do
      assert.is_nil(name:find("security_group"), name)
    end
    bare:close()
    c:close()
  end)
end)

describe("the C core's easy handle, reused without a reset", function()
  local emu, core, c

  setup(function()
    emu = helper.start_emulator()
    core = require "genesiscloud.core"
    c = assert(core.new(helper.core_options{ token = emu.token, endpoint = emu.endpoint }))
  end)

  teardown(function()
    if c then c:close() end
    if emu then emu:stop() end
  end)

  local json = require "genesiscloud.json"

  -- Creates a group over a fresh connection; returns its item path.
  local function new_item(body)
    local status, created = c:perform("POST", "/security-groups", body, true)
    assert.are.equal(201, status)
    return "/security-groups/" .. json.decode(created).security_group.id
  end

  -- Sends each step { method, path, body, status [, fresh] } on the one
  -- handle, then checks the emulator got each as sent: method, path, body.
  local function send_and_check(steps)
    assert(emu:clear_requests())
    for i, s in ipairs(steps) do
      assert.are.equal(s[4], c:perform(s[1], s[2], s[3], s[5] or false), "step " .. i)
    end
    local log = assert(emu:requests())
    assert.are.equal(#steps, #log)
    for i, s in ipairs(steps) do
      local entry = log[i]
      assert.are.equal(s[1], entry.method, "step " .. i)
      assert.are.equal("/compute/v1" .. s[2], entry.raw_path, "step " .. i)
      if s[3] then
        assert.are.equal(s[3], entry.body, "step " .. i)
      else
        assert.is_true(entry.body == nil or entry.body == "", "step " .. i)
      end
    end
  end

  -- Every method after every other one: nothing of a request (its body,
  -- its method, Content-Type) may leak into the next.
  it("sends each request with its own method and body", function()
    assert(emu:reset())
    local body = json.encode{ name = "seq", rules = WEB_RULES }
    local item = new_item(body)
    send_and_check{
      { "GET", item, nil, 200 },
      { "PUT", item, json.encode{ name = "seq2", rules = WEB_RULES }, 200 },
      { "GET", "/security-groups", nil, 200 },
      { "PATCH", item, '{"name":"seq3"}', 200 },
      { "GET", item, nil, 200 },
      { "DELETE", item, nil, 204, true },
      { "GET", item, nil, 404 },
      { "POST", "/security-groups", body, 201 },
      { "DELETE", "/security-groups/nope", nil, 404, true },
    }
  end)

  -- The handle keeps what it was last set up for and sets only what
  -- changes: a repeat, the same URL with another method or body, the same
  -- method on another URL, and back, must each go out as asked.
  it("sends repeats and near-repeats as asked (options set only when they change)", function()
    assert(emu:reset())
    local item = new_item(json.encode{ name = "rep", rules = WEB_RULES })
    send_and_check{
      { "GET", item, nil, 200 },
      { "GET", item, nil, 200 },                              -- the same again
      { "GET", "/security-groups?per_page=1", nil, 200 },     -- another URL only
      { "PATCH", item, '{"name":"rep-a"}', 200 },             -- another method and body
      { "PATCH", item, '{"name":"rep-b"}', 200 },             -- another body only
      { "PUT", item, json.encode{ name = "rep-c", rules = WEB_RULES }, 200 }, -- another method only
      { "GET", item, nil, 200 },                              -- the body goes again
      { "POST", "/security-groups", nil, 400 },               -- an empty POST
      { "POST", "/security-groups", nil, 400 },               -- twice
      { "GET", item, nil, 200 },
      { "DELETE", item, nil, 204, true },                     -- same URL, fresh connection
      { "GET", item, nil, 404 },                              -- and not fresh again
    }
    local got = assert(json.decode(select(2, c:perform("GET", "/security-groups?per_page=100"))))
    assert.are.equal(0, #got.security_groups) -- the DELETE took
  end)

  it("returns the headers with every answer it does not decode", function()
    assert(emu:reset())
    local r = { c:perform("GET", "/security-groups") }
    assert.are.equal(200, r[1])
    assert.are.equal(3, select("#", c:perform("GET", "/security-groups")))
    assert.are.equal(2, select("#", c:perform("GET", "/security-groups", nil, false, 200)))
    r = { c:perform("GET", "/security-groups/missing") }
    assert.are.equal(404, r[1])
    assert.are.equal("table", type(r[3]))
    assert.matches("json", r[3]["content-type"])
  end)

  it("does the same for concurrent transfers after single ones", function()
    assert(emu:reset())
    assert(emu:clear_requests())
    local body = require("genesiscloud.json").encode{ name = "m1", rules = WEB_RULES }
    assert.is_true(c:multi_add(1, "POST", "/security-groups", body, true))
    assert.is_true(c:multi_add(2, "GET", "/security-groups/missing"))
    local got = {}
    for _ = 1, 2 do
      local r = { c:multi_next() }
      got[r[1]] = r
    end
    assert.are.equal(201, got[1][2])
    assert.are.equal(4, #got[1])
    assert.are.equal(404, got[2][2])
    assert.are.equal("table", type(got[2][4]))
    -- the slot that sent the POST now sends a GET
    assert.is_true(c:multi_add(3, "GET", "/security-groups"))
    assert.is_true(c:multi_add(4, "GET", "/security-groups"))
    for _ = 1, 2 do assert.are.equal(200, select(2, c:multi_next())) end
    local log = assert(emu:requests())
    assert.are.equal(4, #log)
    local methods = {}
    for _, e in ipairs(log) do
      methods[#methods + 1] = e.method
      if e.method == "GET" then assert.is_true(e.body == nil or e.body == "") end
    end
    table.sort(methods)
    assert.are.same({ "GET", "GET", "GET", "POST" }, methods)
  end)
end)
