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
    local status, out, headers = handler(st, { body = text, params = params, query = {} })
    -- as on the wire: security groups answer pre-encoded JSON
    return status, out and assert(json.decode(assert(json.encode(out)))), headers
  end, clock
end

describe("emulator kinds", function()
  it("serves every resource of the client's registry with its definition's operations", function()
    -- the compute resources of issue 14 have definitions, not behaviours yet
    local NOT_YET = { "instances", "volumes", "snapshots", "floating_ips", "filesystems", "quotas",
      "reservations" }
    local unserved = {}
    local function check_served(def, kind)
      assert.is_table(kind, def.plural)
      assert.are.equal(def.path, kind.path)
      assert.are.equal(def.list_key, kind.list_key)
      local compiled, served = operation.compile(def), {}
      for name, op in pairs(compiled) do
        local got = kind.operations[name]
        assert.are.same({ op.path, op.expect, op.envelope, op.list_key },
          { got.path, got.expect, got.envelope, got.list_key }, def.plural .. "." .. name)
      end
      for name in pairs(kind.operations) do served[name] = true end
      for name in pairs(served) do assert.is_table(compiled[name], def.plural .. "." .. name) end
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

  it("refuses a definition with actions or nested collections, which it does not serve yet", function()
    local def = changed("ssh_keys", { actions = { path = "/ssh-keys/{id}/actions", names = { rotate = {} } } })
    assert.has_error(function() kinds.join(def, behaviours.ssh_keys) end,
      "emulator: ssh_keys has actions or nested collections, which the emulator does not serve yet")
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
