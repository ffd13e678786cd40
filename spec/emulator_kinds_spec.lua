-- The emulator serves the client's resource definitions: paths, list
-- keys, which operations exist, each one's method, status and envelope,
-- and the statuses come from genesiscloud.resources alone; the emulator's
-- behaviours add checks, records, seeds and transitions. Definitions
-- changed here (a copy) must change what the emulator answers.

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"
local json = require "genesiscloud.emulator.wire_json"
local router = require "genesiscloud.emulator.router"
local collection = require "genesiscloud.emulator.collection"
local kinds = require "genesiscloud.emulator.kinds"
local behaviours = require "genesiscloud.emulator.behaviours"
local app = require "genesiscloud.emulator.app"
local resources = require "genesiscloud.resources"
local operation = require "genesiscloud.service.operation"
local ssh_public_key = require "genesiscloud.emulator.ssh_public_key"

local T0 = helper.EMULATOR_T0

local KEY = "ssh-ed25519 " .. ssh_public_key.base64_encode(string.pack(">s4s4", "ssh-ed25519", string.rep("\7", 32)))

-- A copy of the definition `plural` with `changes` applied.
local function changed(plural, changes)
  local out = {}
  for k, v in pairs(resources[plural]) do out[k] = v end
  for k, v in pairs(changes) do out[k] = v end
  return out
end

-- Serves one kind in process with an app's store, clock and settings:
-- returns call(method, path, body) -> status, decoded body, headers.
local function serve(kind, opts)
  local st, clock = helper.emulator_state(opts)
  local routes = router.new(collection.routes(kind))
  return function(method, path, body)
    local handler, params, allow = routes:match(method, path)
    if not handler then return params == "method" and 405 or 404, nil, { allow = allow } end
    local text = body and assert(json.encode(body))
    local status, out, headers = handler(st, { method = method, body = text, params = params, query = {} })
    -- as on the wire: security groups answer pre-encoded JSON
    return status, out and assert(json.decode(assert(json.encode(out)))), headers
  end, clock
end

describe("emulator kinds", function()
  it("serves every resource of the client's registry with its definition's operations", function()
    -- every resource has a behaviour now
    local NOT_YET = {}
    local unserved = {}
    local function check_below(def, kind, compiled)
      for name, op in pairs(compiled.actions or {}) do
        local got = kind.actions.names[name]
        assert.are.same({ op.path, op.method, op.expect }, { kind.actions.path, got.method, got.expect },
          def.plural .. " action " .. name)
      end
      for plural, ops in pairs(compiled.nested or {}) do
        for name, op in pairs(ops) do
          local got = kind.nested[plural][name]
          assert.are.same({ op.path, op.expect, op.envelope, op.list_key },
            { got.path, got.expect, got.envelope, got.list_key }, def.plural .. " nested " .. plural .. "." .. name)
        end
      end
      for name, op in pairs(compiled.calls or {}) do
        -- a call on an operation's path and method is that operation (resize is the PATCH)
        local got = kind.calls[name] or kind.operations.update
        assert.are.equal(op.path, got.path, def.plural .. " call " .. name)
      end
    end
    local function check_served(def, kind)
      assert.is_table(kind, def.plural)
      assert.are.equal(def.path, kind.path)
      assert.are.equal(def.list_key, kind.list_key)
      local compiled, served = operation.compile(def), {}
      for name in pairs(operation.KINDS) do
        local op, got = compiled[name], kind.operations[name]
        if op then
          assert.are.same({ op.path, op.expect, op.envelope, op.list_key },
            { got.path, got.expect, got.envelope, got.list_key }, def.plural .. "." .. name)
        end
      end
      for name in pairs(kind.operations) do served[name] = true end
      for name in pairs(served) do assert.is_table(compiled[name], def.plural .. "." .. name) end
      check_below(def, kind, compiled)
    end
    for _, def in ipairs(resources) do
      local kind = app.registry[def.plural]
      if behaviours[def.plural] then
        check_served(def, kind)
      else
        assert.is_nil(kind, def.plural)
        unserved[#unserved + 1] = def.plural
      end
    end
    assert.are.same(NOT_YET, unserved)
  end)

  it("answers under the definition's envelope, and bare when it has none", function()
    local bare = serve(kinds.join(resources.ssh_keys, behaviours.ssh_keys))
    local status, key = bare("POST", "/ssh-keys", { name = "a", value = KEY })
    assert.are.same({ 201, "a" }, { status, key.name })
    local wrapped = serve(kinds.join(changed("ssh_keys", { envelope = "ssh_key" }), behaviours.ssh_keys))
    local body
    status, body = wrapped("POST", "/ssh-keys", { name = "b", value = KEY })
    assert.are.same({ 201, "b" }, { status, body.ssh_key and body.ssh_key.name })
    local id = body.ssh_key.id
    status, body = wrapped("GET", "/ssh-keys/" .. id)
    assert.are.same({ 200, id }, { status, body.ssh_key.id })
    status, body = wrapped("PATCH", "/ssh-keys/" .. id, { name = "c" })
    assert.are.same({ 200, "c" }, { status, body.ssh_key.name })
  end)

  it("routes exactly the definition's operations, on their path templates", function()
    local def = changed("ssh_keys", {
      operations = { create = {}, get = { path = "/ssh-keys/{key}/detail" } },
    })
    local call = serve(kinds.join(def, behaviours.ssh_keys))
    local status, key = call("POST", "/ssh-keys", { name = "a", value = KEY })
    assert.are.equal(201, status)
    local got
    status, got = call("GET", "/ssh-keys/" .. key.id .. "/detail")
    assert.are.same({ 200, key.id }, { status, got.id })
    local _, headers
    status, _, headers = call("GET", "/ssh-keys")
    assert.are.same({ 405, "POST" }, { status, headers.allow })
    assert.are.equal(404, (call("DELETE", "/ssh-keys/" .. key.id)))
  end)

  it("takes the update methods the definition's update_method allows", function()
    local expected = { auto = { PUT = 200, PATCH = 200 }, PUT = { PUT = 200, PATCH = 405 },
      PATCH = { PUT = 405, PATCH = 200 } }
    for update_method, statuses in pairs(expected) do
      local call = serve(kinds.join(changed("ssh_keys", { update_method = update_method }), behaviours.ssh_keys))
      local _, key = call("POST", "/ssh-keys", { name = "a", value = KEY })
      for method, status in pairs(statuses) do
        assert.are.equal(status, (call(method, "/ssh-keys/" .. key.id, { name = "b" })), update_method .. " " .. method)
      end
    end
  end)

  it("moves statuses to the definition's ready and deleting statuses", function()
    local def = changed("security_groups", {
      statuses = { ready = { "active" }, failed = { "error" }, deleting = "removing" },
    })
    local call, clock = serve(kinds.join(def, behaviours.security_groups), { create_delay = 2, delete_delay = 2 })
    local rules = { { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 } }
    local _, body = call("POST", "/security-groups", { name = "web", rules = rules })
    local id = body.security_group.id
    assert.are.equal("creating", body.security_group.status)
    clock.t = T0 + 2
    _, body = call("GET", "/security-groups/" .. id)
    assert.are.equal("active", body.security_group.status)
    assert.are.equal(204, (call("DELETE", "/security-groups/" .. id)))
    _, body = call("GET", "/security-groups/" .. id)
    assert.are.equal("removing", body.security_group.status)
    clock.t = T0 + 4
    assert.are.equal(404, (call("GET", "/security-groups/" .. id)))
  end)

  it("refuses a behaviour whose statuses the definition does not have, and the reverse", function()
    assert.has_error(function()
      kinds.join(resources.ssh_keys, { plural = "ssh_keys", title = "SSH key", in_progress = { create = "creating" } })
    end, "emulator: ssh_keys: the definition's statuses and the behaviour's in_progress go together")
    assert.has_error(function()
      kinds.join(resources.security_groups, { plural = "security_groups", title = "Security group" })
    end, "emulator: security_groups: the definition's statuses and the behaviour's in_progress go together")
  end)

  it("serves actions, nested collections and calls where the definition puts them", function()
    local def = changed("instances", {
      actions = { path = "/instances/{id}/do", field = "verb", list_key = "verbs",
        names = { stop = { to = "shutoff", expect = 202 }, start = { to = "active" }, reset = { to = "active" } } },
      nested = { snapshots = { name = "snapshot", path = "/instances/{id}/images", envelope = false,
        list_key = "images", operations = { list = {}, create = {} } } },
      calls = { user_metadata = { method = "GET", path = "/instances/{id}/meta", envelope = "meta" } },
    })
    local kind = kinds.link(kinds.join(def, behaviours.instances), app.registry)
    local call, clock = serve(kind)
    local _, body = call("POST", "/instances", { name = "b", hostname = "b", type = "vcpu-2_memory-4g_disk-80g",
      image = "debian", region = "NORD-NO-KRS-1", password = "Secret123abc" })
    local id = body.instance.id
    clock.t = T0 + 1
    local status
    status, body = call("POST", "/instances/" .. id .. "/images", { name = "s" })
    assert.are.same({ 201, "s" }, { status, body.name }) -- bare
    status, body = call("GET", "/instances/" .. id .. "/images")
    assert.are.same({ 200, 1 }, { status, #body.images })
    assert.are.same({ 200, { verbs = { "reset", "stop" } } }, { call("GET", "/instances/" .. id .. "/do") })
    assert.are.equal(202, (call("POST", "/instances/" .. id .. "/do", { verb = "stop" })))
    assert.are.equal(400, (call("POST", "/instances/" .. id .. "/do", { action = "start" })))
    status, body = call("GET", "/instances/" .. id)
    assert.are.same({ 200, "shutoff" }, { status, body.instance.status })
    assert.are.same({ 200, { meta = {} } }, { call("GET", "/instances/" .. id .. "/meta") })
    assert.are.equal(404, (call("GET", "/instances/" .. id .. "/actions")))
  end)

  it("refuses actions, nested collections and calls that have no behaviour", function()
    local cases = {
      { { actions = { path = "/ssh-keys/{id}/actions", names = { rotate = {} } } }, "action rotate" },
      { { nested = { things = { name = "thing", path = "/ssh-keys/{id}/things", list_key = "things",
        operations = { list = {} } } } }, "nested things" },
      { { calls = { probe = { path = "/ssh-keys/{id}/probe", envelope = false } } }, "call probe" },
    }
    for _, case in ipairs(cases) do
      assert.has_error(function() kinds.join(changed("ssh_keys", case[1]), behaviours.ssh_keys) end,
        "emulator: ssh_keys: " .. case[2] .. " has no behaviour")
    end
    local nested = changed("instances", {})
    assert.has_error(function() kinds.link(kinds.join(nested, behaviours.instances), {}) end,
      "emulator: instances: nested snapshots is not a served kind")
  end)

  it("refuses a behaviour without a resource and leaves a resource without one unserved", function()
    assert.has_error(function()
      kinds.all(resources, { widgets = { plural = "widgets", title = "Widget" } })
    end, "emulator: behaviour for unknown resource 'widgets'")
    local widget = { name = "widget", plural = "widgets", path = "/widgets", operations = { list = {} } }
    local registry = { resources.images, widget, images = resources.images, widgets = widget }
    local served = kinds.all(registry, { images = behaviours.images })
    assert.are.same({ 1, "images" }, { #served, served[1].plural })
    assert.is_nil(served.widgets)
  end)

  it("filters images by the types the definition's query names", function()
    assert.are.equal(resources.images.query.type.enum, behaviours.images.TYPES)
  end)
end)
