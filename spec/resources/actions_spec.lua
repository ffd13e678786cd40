-- Named actions and nested collections in a definition, proved with a
-- test-only resource "widgets" registered on one client, against the canned
-- server spec/resources/action_server.lua (shaped like the API's instances:
-- `POST /instances/{id}/actions` -> 204, `/instances/{id}/snapshots`).
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local operation = require "genesiscloud.service.operation"
local errors = require "genesiscloud.errors"

local function widgets(extra)
  local def = {
    name = "widget", plural = "widgets", path = "/widgets", envelope = "widget",
    operations = { get = {} },
    actions = { path = "/widgets/{id}/actions", list_key = "actions",
      names = { start = { to = "active" }, stop = { to = { "stopped", "shutoff" } }, reset = { to = "active" } } },
    nested = { snapshots = { name = "snapshot", path = "/widgets/{id}/snapshots", envelope = "snapshot",
      list_key = "snapshots", operations = { list = {}, create = {} },
      fields = { name = { type = "string", required = true, max = 255 } } } },
  }
  for k, v in pairs(extra or {}) do def[k] = v end
  return def
end

local function keys_of(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("actions and nested collections compile into operation records", function()
  it("an action is a POST of {action = name} to its template, expecting 204, on a fresh connection", function()
    local ops = operation.compile(widgets())
    local start = ops.actions.start
    assert.are.same({ "reset", "start", "stop" }, keys_of(ops.actions))
    assert.are.equal("POST", start.method)
    assert.are.equal("/widgets/{id}/actions", start.path)
    assert.are.same({ "id" }, start.params)
    assert.are.equal(204, start.expect)
    assert.are.same({ action = "start" }, start.body)
    assert.is_true(start.fresh)
    assert.is_nil(start.envelope)
    assert.are.equal("active", start.to)
    assert.are.same({ "stopped", "shutoff" }, ops.actions.stop.to)
    assert.are.equal("/widgets/a%2Fb/actions", operation.target(start, "a/b"))
  end)

  it("the list of available actions is a GET with its list key", function()
    local listing = operation.compile(widgets()).available_actions
    assert.are.equal("GET", listing.method)
    assert.are.equal(200, listing.expect)
    assert.are.equal("actions", listing.list_key)
    assert.is_false(listing.fresh)
    local def = widgets()
    def.actions.list_key = nil
    assert.is_nil(operation.compile(def).available_actions)
  end)

  it("an action may override its body field, method and status", function()
    local def = widgets()
    def.actions.field = "type"
    def.actions.names = { boot = { expect = 202 } }
    local boot = operation.compile(def).actions.boot
    assert.are.same({ type = "boot" }, boot.body)
    assert.are.equal(202, boot.expect)
  end)

  it("a nested collection lists with its list key and creates under its envelope", function()
    local nested = operation.compile(widgets()).nested.snapshots
    assert.are.same({ "create", "list" }, keys_of(nested))
    assert.are.equal("GET", nested.list.method)
    assert.are.equal("snapshots", nested.list.list_key)
    assert.are.equal("/widgets/{id}/snapshots", nested.list.path)
    assert.are.equal("POST", nested.create.method)
    assert.are.equal(201, nested.create.expect)
    assert.are.equal("snapshot", nested.create.envelope)
    assert.is_true(nested.create.fresh)
    assert.are.equal("/widgets/x%20y/snapshots", operation.target(nested.create, "x y"))
  end)

  it("refuses what it would have to guess, and register says why", function()
    local cases = {
      { function(d) d.actions.path = nil end, "actions need a path with one parameter" },
      { function(d) d.actions.path = "/widgets/actions" end, "actions need a path with one parameter" },
      { function(d) d.actions.names = { ["go-now"] = {} } end, "an action must be a name" },
      { function(d) d.nested.snapshots.operations.get = {} end,
        "nested snapshots: operation \"get\" (a nested collection has list and create)" },
      { function(d) d.nested.snapshots.list_key = nil end, "nested snapshots: list needs a list_key" },
      { function(d) d.nested.snapshots.envelope = nil end, "nested snapshots: create needs an envelope" },
      { function(d) d.nested.snapshots.name = nil end, "nested snapshots: its name (singular)" },
      { function(d) d.nested.snapshots = "yes" end, "nested snapshots must be a table" },
      { function(d) d.actions = { "start" } end, "actions need a path" },
    }
    for _, case in ipairs(cases) do
      local def = widgets()
      case[1](def)
      local ok, err = pcall(operation.compile, def)
      assert.is_false(ok)
      assert.matches("resource widgets: " .. case[2], err, 1, true)
    end
    local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    local def = widgets()
    def.actions.path = nil
    local svc, err = c:register(def)
    assert.is_nil(svc)
    assert.are.equal("usage", err.kind)
    assert.matches("register: resource widgets: actions need a path", err.message, 1, true)
    assert.is_nil(c.widgets)
    c:close()
    def = widgets()
    def.nested.snapshots.envelope = false -- bare objects: said, not guessed
    assert.is_nil(operation.compile(def).nested.snapshots.create.envelope)
  end)
end)

describe("a resource with actions and a nested collection", function()
  local server, c

  local function new(opts)
    local o = { token = "t", endpoint = server.line .. "/compute/v1", max_retries = 0 }
    for k, v in pairs(opts or {}) do o[k] = v end
    local client = assert(genesiscloud.new(o))
    assert(client:register(widgets()))
    return client
  end

  -- The requests the server saw since the last call, "METHOD path body" each.
  local seen = 0
  local function requests()
    local log = assert(c:request("GET", "/_log"))
    local out = {}
    for i = seen + 1, #log do out[#out + 1] = log[i] end
    seen = #log
    return out
  end

  setup(function()
    server = helper.spawn("lua5.4 spec/resources/action_server.lua", "^http://")
    c = new()
  end)
  teardown(function()
    if c then c:close() end
    if server then server.stop() end
  end)
  before_each(function() requests() end)

  it("has a method per action, the list of actions and the nested methods, on this client only", function()
    assert.are.same({ "actions", "create_snapshot", "get", "get_many", "reset", "snapshots", "start", "stop" },
      keys_of(c.widgets))
    for _, alias in ipairs{ "start_widget", "stop_widget", "reset_widget", "list_widget_actions",
        "create_widget_snapshot", "list_widget_snapshots" } do
      assert.is_function(c[alias], alias)
    end
    local other = assert(genesiscloud.new{ token = "t", endpoint = server.line .. "/compute/v1" })
    assert.is_nil(other.start_widget)
    assert.is_nil(other.widgets)
    other:close()
  end)

  it("has no list of actions without a list key, and no nested method without its operation", function()
    local def = widgets{ plural = "gadgets", name = "gadget" }
    def.actions.list_key = nil
    def.nested.snapshots.operations = { create = {} }
    local svc = assert(c:register(def))
    assert.is_nil(svc.actions)
    assert.is_nil(c.list_gadget_actions)
    assert.is_nil(svc.snapshots)
    assert.is_nil(c.list_gadget_snapshots)
    assert.is_function(svc.create_snapshot)
  end)

  it("refuses an action named like another method", function()
    local def = widgets{ plural = "clashes", name = "clash" }
    def.actions.names = { get = {} }
    local svc, err = c:register(def)
    assert.is_nil(svc)
    assert.are.equal("usage", err.kind)
    assert.matches("register: resource clashes: two methods named \"get\"", err.message, 1, true)
    -- nothing of it stays: the client's other aliases are still made
    assert.is_nil(c.clashes)
    assert.is_function(c.get_widgets)
  end)

  it("sends each action as POST {\"action\": name} and returns true on 204", function()
    assert.is_true(assert(c.widgets:start("w-1")))
    assert.is_true(assert(c:stop_widget("w-1")))
    assert.is_true(assert(c.widgets:reset("w-1")))
    assert.are.same({
      'POST /compute/v1/widgets/w-1/actions {"action":"start"}',
      'POST /compute/v1/widgets/w-1/actions {"action":"stop"}',
      'POST /compute/v1/widgets/w-1/actions {"action":"reset"}',
    }, requests())
  end)

  it("escapes the id into its one path segment", function()
    assert(c:start_widget("a/b c?d"))
    assert(c.widgets:actions("a/b"))
    assert(c.widgets:snapshots("x&y"))
    assert(c:create_widget_snapshot("../z", { name = "n" }))
    assert.are.same({
      'POST /compute/v1/widgets/a%2Fb%20c%3Fd/actions {"action":"start"}',
      "GET /compute/v1/widgets/a%2Fb/actions",
      "GET /compute/v1/widgets/x%26y/snapshots",
      'POST /compute/v1/widgets/..%2Fz/snapshots {"name":"n"}',
    }, requests())
  end)

  it("lists the actions available now, under their list key", function()
    assert.are.same({ "stop", "reset" }, assert(c:list_widget_actions("w-1")))
    local _, err = c.widgets:actions("bare")
    assert.are.equal("decode", err.kind)
    assert.matches("no 'actions' list", err.message, 1, true)
    assert.are.equal("/widgets/bare/actions", err.path)
  end)

  it("lists a nested collection as a page under its list key, with page options", function()
    local page = assert(c.widgets:snapshots("w-1", { page = 2, per_page = 10 }))
    assert.are.equal("s-1", page.snapshots[1].id)
    assert.are.equal("w-1", page.snapshots[1].resource_id)
    assert.are.equal(2, page.page)
    assert.are.same({ "GET /compute/v1/widgets/w-1/snapshots?page=2&per_page=10" }, requests())
    assert(c:list_widget_snapshots("w-1"))
    local _, err = c:list_widget_snapshots("bare")
    assert.are.equal("decode", err.kind)
    assert.matches("no 'snapshots' list", err.message, 1, true)
    _, err = c.widgets:snapshots("w-1", { pages = 2 })
    assert.are.equal("usage", err.kind)
    _, err = c.widgets:snapshots("w-1", { per_page = 0 })
    assert.are.equal("validation", err.kind)
  end)

  it("creates in a nested collection: POST of the spec, the object under its envelope", function()
    local snap = assert(c.widgets:create_snapshot("w-1", { name = "nightly" }))
    assert.are.same({ id = "s-2", name = "nightly", resource_id = "w-1", status = "creating" }, snap)
    assert.are.same({ 'POST /compute/v1/widgets/w-1/snapshots {"name":"nightly"}' }, requests())
    local _, err = c:create_widget_snapshot("bare", { name = "x" })
    assert.are.equal("decode", err.kind)
    assert.matches("no 'snapshot' object", err.message, 1, true)
  end)

  it("checks a nested create's fields before sending anything", function()
    local _, err = c:create_widget_snapshot("w-1", {})
    assert.are.equal("validation", err.kind)
    assert.are.equal("name", err.field)
    _, err = c:create_widget_snapshot("w-1", { name = "x", colour = "red" })
    assert.are.equal("validation", err.kind)
    _, err = c.widgets:create_snapshot("w-1", { name = "x" }, { wait = true })
    assert.are.equal("usage", err.kind)
    assert.are.same({}, requests())
  end)

  it("turns 4xx answers into api errors", function()
    local _, err = c:start_widget("missing")
    assert.are.equal("api", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("widget not found", err.message)
    assert.are.equal("POST", err.method)
    _, err = c.widgets:stop("conflict")
    assert.are.equal(409, err.status)
    assert.are.equal("conflict", err.code)
    _, err = c.widgets:actions("missing")
    assert.are.equal(404, err.status)
    _, err = c.widgets:create_snapshot("missing", { name = "x" })
    assert.are.equal(404, err.status)
    _, err = c.widgets:snapshots("conflict")
    assert.are.equal(409, err.status)
  end)

  it("never re-sends an action the server may have carried out; a refused one (429) is sent again", function()
    local r = new{ max_retries = 2, retry_base = 0.001, retry_max_wait = 0.01 }
    local _, err = r:start_widget("busy")
    assert.are.equal(503, err.status)
    assert.are.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.is_true(assert(r.widgets:start("throttled")))
    r:close()
    assert.are.same({
      'POST /compute/v1/widgets/busy/actions {"action":"start"}',
      'POST /compute/v1/widgets/throttled/actions {"action":"start"}',
      'POST /compute/v1/widgets/throttled/actions {"action":"start"}',
    }, requests())
  end)

  it("raises its errors in raise mode", function()
    -- The error object, or on PUC Lua 5.1 its one line (errors.raises_strings).
    local function raised(kind, line, ok, err)
      assert.is_false(ok)
      if errors.raises_strings then
        assert.are.equal(line, err)
        return {}
      end
      assert.are.equal(kind, err.kind)
      assert.are.equal(line, tostring(err))
      return err
    end
    local r = new{ errors = "raise" }
    local err = raised("api", "genesiscloud: POST /widgets/missing/actions: 404 (not_found) widget not found",
      pcall(r.start_widget, r, "missing"))
    if not errors.raises_strings then assert.are.equal(404, err.status) end
    raised("decode", "genesiscloud: GET /widgets/bare/snapshots: decode: the response has no 'snapshots' list",
      pcall(r.widgets.snapshots, r.widgets, "bare"))
    raised("validation", "genesiscloud: validation: name is required",
      pcall(r.create_widget_snapshot, r, "w-1", {}))
    assert.is_true(r:reset_widget("w-1"))
    r:close()
  end)

  it("checks its arguments like every other method, naming the one called", function()
    local function raised(f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      return err
    end
    assert.matches("bad argument #1 to 'start_widget' (string id expected, got nil)",
      raised(c.start_widget, c), 1, true)
    assert.matches("bad argument #1 to 'widgets:stop' (string id expected, got number)",
      raised(c.widgets.stop, c.widgets, 42), 1, true)
    assert.matches("bad argument #1 to 'start_widget' (client expected, got string",
      raised(c.start_widget, "w-1"), 1, true)
    assert.matches("bad argument #1 to 'widgets:start' (service expected",
      raised(c.widgets.start, "w-1"), 1, true)
    assert.matches("bad argument #2 to 'create_widget_snapshot' (table expected, got string)",
      raised(c.create_widget_snapshot, c, "w-1", "nightly"), 1, true)
    assert.matches("bad argument #1 to 'list_widget_actions' (string id expected, got table)",
      raised(c.list_widget_actions, c, {}), 1, true)
    assert.matches("bad argument #1 to 'widgets:snapshots' (table expected, got string)",
      raised(c.widgets.snapshots, c.widgets, "w-1", "page 2"), 1, true)
    local _, err = c.widgets:start("")
    assert.are.equal("usage", err.kind)
    assert.matches("widgets:start: the id is empty", err.message, 1, true)
    -- widgets have no statuses: waiting after an action is refused, not ignored
    _, err = c:start_widget("w-1", { wait = true })
    assert.are.equal("usage", err.kind)
    assert.are.same({}, requests())
  end)

  it("answers a usage error on a closed client without sending", function()
    local r = new()
    r:close()
    for _, call in ipairs{ function() return r:start_widget("w-1") end,
        function() return r.widgets:actions("w-1") end,
        function() return r:list_widget_snapshots("w-1") end,
        function() return r:create_widget_snapshot("w-1", { name = "x" }) end } do
      local _, err = call()
      assert.are.equal("usage", err.kind)
      assert.matches("closed", err.message)
    end
    assert.are.same({}, requests())
  end)
end)
