-- SSH keys, images and availability through services and flat aliases,
-- against the emulator (which serves the same definitions); and resources
-- registered on one client only.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local core = require "genesiscloud.core"

local KEY = { name = "laptop",
  value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host" }

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() if emu then emu:stop() end end)
before_each(function() assert(emu:reset()) end)

local function new(opts)
  local o = { max_retries = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return helper.client(emu, o)
end

-- The requests the emulator saw, "METHOD raw path" each.
local function log()
  local seen = {}
  for i, entry in ipairs(assert(emu:requests())) do seen[i] = entry.method .. " " .. entry.raw_path end
  return seen
end

-- The writes (PUT, PATCH) among them.
local function writes()
  local out = {}
  for _, line in ipairs(log()) do
    if line:match("^P[AU]") then out[#out + 1] = line end
  end
  return out
end

describe("SSH keys", function()
  it("answer bare objects: create, get, update (PUT per the 2023-07 contract), delete", function()
    assert(emu:configure{ put_405 = false })
    local c = new()
    local key = assert(c:create_ssh_key(KEY))
    assert.are.equal("laptop", key.name)
    assert.matches("^SHA256:", key.fingerprint)
    assert.are.equal("laptop", assert(c.ssh_keys:get(key.id)).name)
    assert.are.equal("desk", assert(c.ssh_keys:update(key.id, { name = "desk" })).name)
    assert.is_true(assert(c:delete_ssh_key(key.id)))
    assert.are.same({ "PUT /compute/v1/ssh-keys/" .. key.id }, writes())
    c:close()
  end)

  it("have no waits (no status) and check their fields before sending", function()
    local c = new()
    assert.is_nil(c.wait_for_ssh_key)
    assert.is_nil(c.ssh_keys.wait)
    local _, err = c:create_ssh_key{ name = "x" }
    assert.are.equal("validation", err.kind)
    assert.are.equal("value", err.field)
    _, err = c:update_ssh_key("key-1", { name = "x", value = "other" })
    assert.are.equal("validation", err.kind)
    _, err = c:create_ssh_key(KEY, { wait = true })
    assert.are.equal("usage", err.kind)
    assert.are.same({}, log())
    c:close()
  end)

  it("learn PATCH from a 405, for SSH keys of this client only", function()
    assert(emu:configure{ put_405 = { "ssh_keys" } })
    local c, other = new(), new()
    local key = assert(c:create_ssh_key(KEY))
    local group = assert(c:create_security_group{ name = "web", rules = { genesiscloud.rules.ssh() } })
    assert(emu:clear_requests())
    assert.are.equal("desk", assert(c:update_ssh_key(key.id, { name = "desk" })).name)
    assert.are.equal("home", assert(c:update_ssh_key(key.id, { name = "home" })).name)
    -- a security-group update of the same client still starts with PUT
    assert(c:update_security_group(group.id, { name = "web", rules = { genesiscloud.rules.https() } }))
    -- and another client has learned nothing
    assert(other:update_ssh_key(key.id, { name = "again" }))
    assert.are.same({
      "PUT /compute/v1/ssh-keys/" .. key.id, "PATCH /compute/v1/ssh-keys/" .. key.id,
      "PATCH /compute/v1/ssh-keys/" .. key.id,
      "PUT /compute/v1/security-groups/" .. group.id,
      "PUT /compute/v1/ssh-keys/" .. key.id, "PATCH /compute/v1/ssh-keys/" .. key.id,
    }, writes())
    assert(emu:configure{ put_405 = false })
    c:close()
    other:close()
  end)
end)

describe("images and availability", function()
  local c

  before_each(function() c = new() end)
  after_each(function() c:close() end)

  it("images are listed only, filtered by type (service and aliases)", function()
    assert.is_nil(c.get_image)
    assert.is_nil(c.images.get)
    local all = assert(c:all_images())
    assert.are.equal(8, #all)
    local base = assert(c:all_images{ type = "base-os" })
    assert.are.same({ "Ubuntu 20.04", "Ubuntu 22.04", "Debian 12" },
      { base[1].name, base[2].name, base[3].name, base[4] })
    local page = assert(c.images:list{ type = "cloud-image", per_page = 10 })
    assert.are.same({ "cloud-image", 2 }, { page.images[1].type, page.total_count })
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
    local _, err = c.availability:get("x/y") -- one path segment, escaped
    assert.are.same({ "api", 400 }, { err.kind, err.status })
    local seen = log()
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
