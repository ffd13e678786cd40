-- Every request the module sends must be accepted by a mock served from the
-- vendor's own OpenAPI file with request validation on, so a request that
-- breaks the real contract fails here even if our emulator would take it.
local helper = require "helper"
local genesiscloud = helper.genesiscloud

-- The mock is installed by `make tools` (and so by `make test`), from the
-- npm registry. Without it (e.g. `luarocks test`, which installs nothing)
-- these specs are reported as pending (install it with `make tools`),
-- never installed from here.
local mock = io.open("tools/node_modules/.bin/prism", "r")
if not mock then
  describe("contract with the vendor's OpenAPI file (prism)", function()
    pending("skipped: OpenAPI mock not installed")
  end)
  return
end
mock:close()

describe("contract with the vendor's OpenAPI file (prism)", function()
  local prism, client

  setup(function()
    prism = helper.start_prism()
    -- The 2023-07 file documents PUT only, as the text documentation does.
    client = assert(genesiscloud.new{ token = "contract-token", endpoint = prism.endpoint,
      update_method = "PUT" })
  end)

  teardown(function()
    if client then client:close() end
    if prism then prism.stop() end
  end)

  local rules = {
    { protocol = "tcp", direction = "ingress", port_range_min = 443, port_range_max = 443 },
    { protocol = "tcp", direction = "ingress", port_range_min = 8080, port_range_max = 8085 },
    { protocol = "icmp", direction = "ingress" },
    { protocol = "all", direction = "egress" },
  }

  it("rejects a request that breaks the contract (the validator is on)", function()
    local result, err = client:request("POST", "/security-groups", {
      body = { name = "web", rules = { { protocol = "tcp" } } }, expect = 201 })
    assert.is_nil(result)
    assert.are.equal("api", err.kind)
    -- prism answers a request violation with its own error response
    assert.is_true(err.status >= 400)
    assert.matches("not valid", err.message)
  end)

  it("rejects Bearer auth, which the 2023-07 contract does not know", function()
    local bearer = assert(genesiscloud.new{ token = "t", endpoint = prism.endpoint, auth = "bearer" })
    local result, err = bearer:list_security_groups()
    bearer:close()
    assert.is_nil(result)
    assert.is_true(err.status >= 400)
  end)

  it("create: the body passes validation and the answer decodes", function()
    local sg, err = client:create_security_group{ name = "web", description = "web tier",
      rules = rules, region = "NORD-NO-KRS-1" }
    assert.is_nil(err)
    assert.is_string(sg.id)
    assert.is_table(sg.rules)
  end)

  it("get", function()
    local sg, err = client:get_security_group("0c2a7cd2-0e57-4b1b-a0fc-52b0a3d6a1c1")
    assert.is_nil(err)
    assert.is_string(sg.name)
  end)

  it("list with page and per_page", function()
    local page, err = client:list_security_groups{ page = 2, per_page = 100 }
    assert.is_nil(err)
    assert.is_table(page.security_groups)
    assert.is_number(page.total_count)
  end)

  it("update (PUT with every required field)", function()
    local sg, err = client:update_security_group("0c2a7cd2", { name = "web", description = "",
      rules = { rules[3] } })
    assert.is_nil(err)
    assert.is_string(sg.id)
  end)

  it("update in auto mode sends a complete spec with PUT", function()
    local auto = assert(genesiscloud.new{ token = "t", endpoint = prism.endpoint })
    local sg, err = auto:update_security_group("0c2a7cd2", { name = "web", rules = rules })
    auto:close()
    assert.is_nil(err)
    assert.is_string(sg.id)
  end)

  it("delete", function()
    assert.is_true(client:delete_security_group("0c2a7cd2"))
  end)

  -- SSH keys, images and availability: every operation, through the
  -- services and through the flat aliases.
  local KEY = { name = "laptop", value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNsb3VkIGtleSBmb3IgdGVzdHM x@y" }

  it("SSH keys: create and get answer bare objects (service and alias)", function()
    local key = assert(client.ssh_keys:create(KEY))
    assert.is_string(key.id)
    assert.is_nil(key.ssh_key) -- no envelope
    assert.is_string(assert(client:get_ssh_key("1c2a7cd2")).name)
    assert.is_string(assert(client.ssh_keys:get("1c2a7cd2")).id)
    assert.is_string(assert(client:create_ssh_key(KEY)).id)
  end)

  it("SSH keys: list, update (PUT), delete", function()
    assert.is_table(assert(client:list_ssh_keys{ per_page = 10 }).ssh_keys)
    assert.is_table(assert(client.ssh_keys:list()).ssh_keys)
    assert.is_string(assert(client:update_ssh_key("1c2a7cd2", { name = "desk" })).id)
    assert.is_string(assert(client.ssh_keys:update("1c2a7cd2", { name = "desk" })).id)
    assert.is_true(client:delete_ssh_key("1c2a7cd2"))
    assert.is_true(client.ssh_keys:delete("1c2a7cd2"))
  end)

  it("images: list with the type filter (service and alias)", function()
    assert.is_table(assert(client:list_images{ type = "base-os" }).images)
    assert.is_table(assert(client.images:list{ type = "snapshot", per_page = 5 }).images)
  end)

  it("availability: the region as a path parameter (service and alias)", function()
    assert.is_table(assert(client:get_availability("NORD-NO-KRS-1")))
    assert.is_table(assert(client.availability:get("NORD-NO-KRS-1")))
  end)
end)
