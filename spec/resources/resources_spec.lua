-- SSH keys, images and availability through services and flat aliases,
-- against spec/support/resource_server.lua; and resources registered on
-- one client only.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local core = require "genesiscloud.core"

local KEY = { name = "laptop", value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI x@y" }

local function start(mode)
  local server = helper.spawn("lua5.4 spec/support/resource_server.lua " .. mode, "^http://")
  server.endpoint = server.line .. "/compute/v1"
  return server
end

local function new(server, opts)
  local o = { token = "t", endpoint = server.endpoint, max_retries = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(genesiscloud.new(o))
end

-- The requests the server saw, "METHOD path" each.
local function log(server)
  local c = new(server)
  local seen = assert(c:request("GET", "/_log"))
  c:close()
  return seen
end

describe("SSH keys", function()
  it("answer bare objects: create, get, update (PUT per the 2023-07 contract), delete", function()
    local server = start("put")
    local c = new(server)
    local key = assert(c:create_ssh_key(KEY))
    assert.are.equal("laptop", key.name)
    assert.are.equal("SHA256:x", key.fingerprint)
    assert.are.equal("laptop", assert(c.ssh_keys:get(key.id)).name)
    assert.are.equal("desk", assert(c.ssh_keys:update(key.id, { name = "desk" })).name)
    assert.is_true(assert(c:delete_ssh_key(key.id)))
    local methods = {}
    for _, line in ipairs(log(server)) do methods[#methods + 1] = line:match("^%S+") end
    assert.is_truthy(table.concat(methods, " "):find("PUT", 1, true))
    assert.is_nil(table.concat(methods, " "):find("PATCH", 1, true))
    c:close()
    server.stop()
  end)

  it("have no waits (no status) and check their fields before sending", function()
    local server = start("put")
    local c = new(server)
    assert.is_nil(c.wait_for_ssh_key)
    assert.is_nil(c.ssh_keys.wait)
    local _, err = c:create_ssh_key{ name = "x" }
    assert.are.equal("validation", err.kind)
    assert.are.equal("value", err.field)
    _, err = c:update_ssh_key("key-1", { name = "x", value = "other" })
    assert.are.equal("validation", err.kind)
    _, err = c:create_ssh_key(KEY, { wait = true })
    assert.are.equal("usage", err.kind)
    assert.are.same({}, log(server))
    c:close()
    server.stop()
  end)

  it("learn PATCH from a 405, for SSH keys of this client only", function()
    local server = start("patch")
    local c, other = new(server), new(server)
    local key = assert(c:create_ssh_key(KEY))
    assert.are.equal("desk", assert(c:update_ssh_key(key.id, { name = "desk" })).name)
    assert.are.equal("home", assert(c:update_ssh_key(key.id, { name = "home" })).name)
    -- a security-group update of the same client still starts with PUT
    assert(c:update_security_group("sg-1", { name = "web", rules = { genesiscloud.rules.ssh() } }))
    -- and another client has learned nothing
    assert(other:update_ssh_key(key.id, { name = "again" }))
    local writes = {}
    for _, line in ipairs(log(server)) do
      if line:match("^P[AU]") then writes[#writes + 1] = line end
    end
    assert.are.same({
      "PUT /compute/v1/ssh-keys/" .. key.id, "PATCH /compute/v1/ssh-keys/" .. key.id,
      "PATCH /compute/v1/ssh-keys/" .. key.id,
      "PUT /compute/v1/security-groups/sg-1",
      "PUT /compute/v1/ssh-keys/" .. key.id, "PATCH /compute/v1/ssh-keys/" .. key.id,
    }, writes)
    c:close()
    other:close()
    server.stop()
  end)
end)

describe("images and availability", function()
  local server, c

  setup(function()
    server = start("put")
    c = new(server)
  end)
  teardown(function()
    if c then c:close() end
    if server then server.stop() end
  end)

  it("images are listed only, filtered by type (service and aliases)", function()
    assert.is_nil(c.get_image)
    assert.is_nil(c.images.get)
    assert.are.equal(4, #assert(c:all_images()))
    local base = assert(c:all_images{ type = "base-os" })
    assert.are.equal(1, #base)
    assert.are.equal("img-1", base[1].id)
    local page = assert(c.images:list{ type = "cloud-image", per_page = 10 })
    assert.are.equal("img-3", page.images[1].id)
    local n = 0
    for image in c.images:each{ type = "snapshot" } do
      n = n + 1
      assert.are.equal("snapshot", image.type)
    end
    assert.are.equal(1, n)
    local _, err = c:list_images{ type = "windows" }
    assert.are.equal("validation", err.kind)
    assert.are.equal("type", err.field)
  end)

  it("availability takes the region as a path parameter and returns the availability object", function()
    local a = assert(c:get_availability("NORD-NO-KRS-1"))
    assert.are.equal("NORD-NO-KRS-1", a.region)
    assert.is_table(a.instance_types)
    assert(c.availability:get("x/y")) -- one path segment, escaped
    local seen = log(server)
    assert.are.equal("GET /compute/v1/availability/x%2Fy/instances", seen[#seen])
    assert.is_nil(c.list_availability)
  end)
end)

describe("a resource registered on one client", function()
  local TEST = { name = "widget", plural = "widgets", path = "/widgets", list_key = "widgets",
    envelope = "widget", operations = { get = {}, delete = {} } }

  it("is invisible to another client and to the core's methods table", function()
    local a = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    local b = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    local svc = assert(a:register(TEST))
    assert.are.equal(svc, a.widgets)
    assert.is_function(a.get_widget)
    assert.is_function(a.widgets.delete_many)
    assert.is_nil(a.widgets.list)
    assert.is_nil(b.widgets)
    assert.is_nil(b.get_widget)
    assert.is_nil(core.client_methods.get_widget)
    assert.is_nil(genesiscloud.resources.widgets)
    local _, err = a:register(TEST)
    assert.are.equal("usage", err.kind)
    a:close()
    b:close()
  end)

  it("calls are checked and named after the method called", function()
    local a = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:9/compute/v1" })
    local ok, err = pcall(function() return a.security_groups.get("x") end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'security_groups:get' (service expected", err, 1, true)
    local _, gerr = a.security_groups:get("")
    assert.matches("security_groups:get: the id is empty", gerr.message, 1, true)
    a:close()
    assert.matches("closed", tostring(a))
    a:close() -- idempotent
  end)
end)
