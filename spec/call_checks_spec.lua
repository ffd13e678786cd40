-- What a careless caller can do to the client: option typos, specs read
-- through metatables, wrong arguments. Each is refused with a clear error
-- naming the public function, and the emulator's request log shows that
-- nothing was sent (or exactly what was validated).
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local rules = genesiscloud.rules
local cjson = require "cjson"

local function assert_usage(pattern, result, err)
  assert.is_nil(result)
  assert.is_true(genesiscloud.is_error(err), "not an error object: " .. tostring(err))
  assert.are.equal("usage", err.kind)
  assert.matches(pattern, err.message, 1, true)
end

describe("per-call options", function()
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
  end)

  local function sent()
    return #assert(emu:requests())
  end

  local SPEC = { name = "web", rules = { rules.ssh() } }

  it("ensure refuses a typo instead of creating the group (dryrun)", function()
    assert_usage("ensure_security_group: unknown option 'dryrun' (did you mean 'dry_run'?)",
      client:ensure_security_group(SPEC, { dryrun = true }))
    assert_usage("ensure_security_group_absent: unknown option 'dryrun' (did you mean 'dry_run'?)",
      client:ensure_security_group_absent({ name = "web" }, { dryrun = true }))
    assert.are.equal(0, sent())
  end)

  it("the iterators raise the error object for a typo, and send nothing", function()
    for _, name in ipairs{ "security_groups", "security_group_pages" } do
      local ok, err = pcall(function()
        for _ in client[name](client, { concurency = 8 }) do error("the loop ran") end
      end)
      assert.is_false(ok)
      assert_usage(name .. ": unknown option 'concurency' (did you mean 'concurrency'?)", nil, err)
    end
    assert_usage("all_security_groups: unknown option 'concurency' (did you mean 'concurrency'?)",
      client:all_security_groups{ concurency = 8 })
    assert.are.equal(0, sent())
  end)

  it("every call with an options table refuses an unknown key", function()
    local sg = assert(client:create_security_group(SPEC))
    assert(emu:clear_requests())
    local cases = {
      { "list_security_groups: unknown option 'pages' (did you mean 'page'?)",
        function() return client:list_security_groups{ pages = 2 } end },
      { "create_security_group: unknown option 'wiat' (did you mean 'wait'?)",
        function() return client:create_security_group(SPEC, { wiat = true }) end },
      { "update_security_group: unknown option 'wiat' (did you mean 'wait'?)",
        function() return client:update_security_group(sg.id, SPEC, { wiat = true }) end },
      { "create_security_group (wait): unknown option 'timout' (did you mean 'timeout'?)",
        function() return client:create_security_group(SPEC, { wait = { timout = 5 } }) end },
      { "wait_for_security_group: unknown option 'timout' (did you mean 'timeout'?)",
        function() return client:wait_for_security_group(sg.id, { timout = 5 }) end },
      { "wait_for_security_group_deleted: unknown option 'status'",
        function() return client:wait_for_security_group_deleted(sg.id, { status = "gone" }) end },
      { "ensure_security_group (wait): unknown option 'intervall' (did you mean 'interval'?)",
        function() return client:ensure_security_group(SPEC, { wait = { intervall = 1 } }) end },
      { "get_security_groups: unknown option 'concurency' (did you mean 'concurrency'?)",
        function() return client:get_security_groups({ sg.id }, { concurency = 2 }) end },
      { "delete_security_groups: unknown option 'concurency' (did you mean 'concurrency'?)",
        function() return client:delete_security_groups({ sg.id }, { concurency = 2 }) end },
      { "create_security_groups: unknown option 'concurency' (did you mean 'concurrency'?)",
        function() return client:create_security_groups({ SPEC }, { concurency = 2 }) end },
      { "request: unknown option 'querry' (did you mean 'query'?)",
        function() return client:request("GET", "/security-groups", { querry = { page = 1 } }) end },
      { "ensure_security_group: option 'wait' must be true, false or a table of wait options, got \"yes\"",
        function() return client:ensure_security_group(SPEC, { wait = "yes" }) end },
      { "ensure_security_group: option 'dry_run' must be true or false, got 1",
        function() return client:ensure_security_group(SPEC, { dry_run = 1 }) end },
      { "list_security_groups: give 'page' as an option of its own, not in 'query'",
        function() return client:list_security_groups{ query = { page = 2 } } end },
    }
    for _, case in ipairs(cases) do assert_usage(case[1], case[2]()) end
    assert.are.equal(0, sent())
  end)

  it("sends the parameters given in query, and page and per_page", function()
    assert(client:list_security_groups{ page = 1, per_page = 5, query = { region = "NORD-NO-KRS-1" } })
    for _ in client:security_groups{ per_page = 5, query = { region = "NORD-NO-KRS-1" } } do end
    assert(client:request("GET", "/security-groups", { query = { region = "x" } }))
    local log = assert(emu:requests())
    assert.are.equal(3, #log)
    assert.are.same({ page = "1", per_page = "5", region = "NORD-NO-KRS-1" }, log[1].query)
    assert.are.same({ page = "1", per_page = "5", region = "NORD-NO-KRS-1" }, log[2].query)
    assert.are.same({ region = "x" }, log[3].query)
  end)

  it("emulator.start refuses a typo with the same suggestion", function()
    local emulator = require "genesiscloud.emulator"
    local e, err = emulator.start{ token = "t", create_dealy = 0 }
    assert.is_nil(e)
    assert.are.equal("emulator.start: unknown option 'create_dealy' (did you mean 'create_delay'?)", err)
  end)
end)

describe("what is validated is what is sent", function()
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
  end)

  local function proxy(t) return setmetatable({}, { __index = t }) end

  it("refuses a spec or rule read through __index, sending nothing", function()
    local ssh = { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 }
    local specs = {
      proxy{ name = "web", rules = { ssh } },
      { name = "web", rules = proxy{ ssh } },
      { name = "web", rules = { proxy(ssh) } },
      setmetatable({ name = "web", rules = { ssh } }, { __pairs = function() return next, {}, nil end }),
      setmetatable({ name = "web" }, { __index = { rules = { ssh } } }),
    }
    for i, spec in ipairs(specs) do
      -- the spec reads as valid through its metatable (the premise)
      assert.are.equal("web", spec.name, "case " .. i)
      local sg, err = client:create_security_group(spec)
      assert.is_nil(sg, "case " .. i)
      assert.are.equal("validation", err.kind, "case " .. i)
      assert.matches("metatable", err.message, 1, true)
      local ok, verr = genesiscloud.validate_security_group(spec)
      assert.is_nil(ok)
      assert.are.equal(err.message, verr.message)
    end
    local results = client:create_security_groups{ specs[3] }
    assert.are.equal("validation", results[1].kind)
    local _, uerr = client:update_security_group("sg-x", specs[2])
    assert.are.equal("validation", uerr.kind)
    local _, eerr = client:ensure_security_group(specs[1])
    assert.are.equal("validation", eerr.kind)
    assert.are.same({}, assert(emu:requests()))
  end)

  it("sends exactly the fields it validated; a metatable that changes no read is fine", function()
    local spec = { name = "web", description = "d", rules = { rules.ssh(), rules.ingress.udp(53) } }
    local sg = assert(client:create_security_group(spec))
    assert.are.equal("web", sg.name)
    local log = assert(emu:requests())
    assert.are.same({
      name = "web", description = "d",
      rules = {
        { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
        { protocol = "udp", direction = "ingress", port_range_min = 53, port_range_max = 53 },
      },
    }, cjson.decode(log[#log].body))
  end)

  it("refuses a spec that contains itself instead of overflowing the stack", function()
    local spec = { name = "web", rules = { rules.ssh() } }
    spec.rules[1].self = spec
    local sg, err = client:create_security_group(spec)
    assert.is_nil(sg)
    assert.are.equal("validation", err.kind)
    assert.are.same({}, assert(emu:requests()))
  end)
end)

describe("misuse gives clear errors", function()
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
  end)

  -- Asserts `fn` raises a message starting with "bad argument" that names
  -- `fname` and holds `what`, and that it points at this file (the caller).
  local function assert_bad_argument(fname, what, fn)
    local ok, err = pcall(fn)
    assert.is_false(ok, fname)
    assert.are.equal("string", type(err), fname)
    assert.matches("call_checks_spec.lua:%d+: bad argument #%d to '" .. fname .. "'", err)
    assert.matches(what, err, 1, true)
  end

  it("a method called with a dot (or on anything but a client) names the method", function()
    local c = client
    local sg = assert(c:create_security_group{ name = "web", rules = { rules.ssh() } })
    local sent = #assert(emu:requests()) -- the create's own
    local wrong = { {}, setmetatable({}, { __index = c }), 42, "x", true }
    for _, self in ipairs(wrong) do
      assert_bad_argument("get_security_group", "client expected, got " .. type(self),
        function() c.get_security_group(self, sg.id) end)
    end
    for _, name in ipairs{ "create_security_group", "list_security_groups", "update_security_group",
        "delete_security_group", "security_groups", "security_group_pages", "all_security_groups",
        "wait_for_security_group", "wait_for_security_group_deleted", "ensure_security_group",
        "ensure_security_group_absent", "get_security_groups", "delete_security_groups",
        "create_security_groups", "request" } do
      assert_bad_argument(name, "client expected, got table", function() c[name]({}, sg.id) end)
    end
    assert.are.equal(sent, #assert(emu:requests()))
  end)

  it("wrong types of arguments raise, naming the function and the argument", function()
    local cases = {
      { "ensure_security_group", "#2", "table expected, got string",
        function() client:ensure_security_group({ name = "web" }, "x") end },
      { "ensure_security_group", "#1", "table expected, got string",
        function() client:ensure_security_group("web") end },
      { "ensure_security_group_absent", "#1", "table expected, got nil",
        function() client:ensure_security_group_absent() end },
      { "request", "#1", "GET, POST, PUT, PATCH or DELETE expected, got \"TRACE\"",
        function() client:request("TRACE", "/security-groups") end },
      { "request", "#1", "expected, got nil", function() client:request(nil, "/x") end },
      { "request", "#2", "string expected, got number", function() client:request("GET", 5) end },
      { "request", "#3", "table expected, got string", function() client:request("GET", "/x", "q") end },
      { "request", "#3", "option 'expect'", function() client:request("GET", "/x", { expect = "200" }) end },
      { "wait_for_security_group", "#2", "table expected, got number",
        function() client:wait_for_security_group("sg", 5) end },
      { "list_security_groups", "#1", "table expected, got number",
        function() client:list_security_groups(2) end },
      { "security_groups", "#1", "table expected, got string",
        function() for _ in client:security_groups("x") do end end },
      { "create_security_group", "#2", "table expected, got boolean",
        function() client:create_security_group({ name = "web" }, true) end },
      { "get_security_groups", "#1", "string ids expected, got number at 2",
        function() client:get_security_groups{ "a", 2 } end },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(case[4])
      assert.is_false(ok, case[1])
      assert.matches("call_checks_spec.lua:%d+: bad argument " .. case[2] .. " to '" .. case[1] .. "'", err)
      assert.matches(case[3], err, 1, true)
    end
    local ok, err = pcall(function() client:list_security_groups{ query = { region = {} } } end)
    assert.is_false(ok)
    assert.matches("bad argument to 'list_security_groups' (query parameters", err, 1, true)
    assert.are.same({}, assert(emu:requests()))
  end)

  it("a bulk call reads a list's own items, so a list whose __index never ends still ends", function()
    local endless = setmetatable({}, { __index = function() return "sg-x" end })
    assert.are.same({}, client:get_security_groups(endless))
    assert.are.same({}, client:delete_security_groups(endless))
    assert.are.same({}, client:create_security_groups(setmetatable({}, { __index = function()
      return { name = "web", rules = { rules.ssh() } } end })))
    assert.are.same({}, assert(emu:requests()))
  end)

  it("a huge id or path is a usage error, sent nowhere", function()
    local huge = ("x"):rep(10 * 1024 * 1024)
    assert_usage("get_security_group: the id is 10485760 bytes long", client:get_security_group(huge))
    assert_usage("delete_security_group: the id is", client:delete_security_group(huge))
    assert_usage("update_security_group: the id is", client:update_security_group(huge, { name = "x" }))
    assert_usage("wait_for_security_group: the id is", client:wait_for_security_group(huge))
    assert_usage("request: the path is", client:request("GET", "/" .. huge))
    assert_usage("request: the path contains", client:request("GET", "/a b"))
    local results = client:get_security_groups{ huge }
    assert.are.equal("usage", results[1].kind)
    assert.are.same({}, assert(emu:requests()))
  end)
end)
