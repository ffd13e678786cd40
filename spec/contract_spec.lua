-- Every request the module sends must be accepted by a mock served from the
-- vendor's own OpenAPI file with request validation on, so a request that
-- breaks the real contract fails here even if our emulator would take it.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local operations = require "contract.operations"

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

  -- Every operation of the contract, through the services (the flat
  -- aliases run the same code), each checked to send that operation.
  local ID = "0c2a7cd2-0e57-4b1b-a0fc-52b0a3d6a1c1"
  local INSTANCE = { name = "gpu", hostname = "gpu-1", type = "vcpu-4_memory-24g_disk-80g_nvidia3090-1",
    image = "img-1", region = "NORD-NO-KRS-1", ssh_keys = { "key-1" }, security_groups = { "sg-1" },
    volumes = { "vol-1" }, is_protected = false, metadata = { startup_script = "#!/bin/sh\necho hi" } }
  local EXERCISE = {
    ["GET /images"] = function(c) return c.images:list{ type = "base-os" } end,
    ["GET /availability/{}/instances"] = function(c) return c.availability:get("NORD-NO-KRS-1") end,
    ["GET /instances"] = function(c) return c.instances:list{ per_page = 10 } end,
    ["POST /instances"] = function(c) return c.instances:create(INSTANCE) end,
    ["GET /instances/{}"] = function(c) return c.instances:get(ID) end,
    ["PATCH /instances/{}"] = function(c)
      return c.instances:update(ID, { name = "gpu2", is_protected = true, security_groups = { "sg-1" },
        volumes = { "vol-1", "vol-2" } })
    end,
    ["DELETE /instances/{}"] = function(c) return c.instances:delete(ID) end,
    ["GET /instances/{}/actions"] = function(c) return c.instances:actions(ID) end,
    ["POST /instances/{}/actions"] = function(c) return c.instances:stop(ID) end,
    ["GET /instances/{}/snapshots"] = function(c) return c.instances:snapshots(ID, { page = 1 }) end,
    ["POST /instances/{}/snapshots"] = function(c) return c.instances:create_snapshot(ID, { name = "s" }) end,
    ["GET /volumes"] = function(c) return c.volumes:list() end,
    ["POST /volumes"] = function(c)
      return c.volumes:create{ name = "data", description = "scratch", size = 50, region = "NORD-NO-KRS-1" }
    end,
    ["GET /volumes/{}"] = function(c) return c.volumes:get(ID) end,
    ["PUT /volumes/{}"] = function(c) return c.volumes:update(ID, { name = "data", description = "more" }) end,
    ["DELETE /volumes/{}"] = function(c) return c.volumes:delete(ID) end,
    ["GET /snapshots"] = function(c) return c.snapshots:list() end,
    ["GET /snapshots/{}"] = function(c) return c.snapshots:get(ID) end,
    ["PATCH /snapshots/{}"] = function(c) return c.snapshots:update(ID, { name = "renamed" }) end,
    ["DELETE /snapshots/{}"] = function(c) return c.snapshots:delete(ID) end,
    ["GET /security-groups"] = function(c) return c.security_groups:list() end,
    ["POST /security-groups"] = function(c)
      return c.security_groups:create{ name = "web", rules = rules, region = "NORD-NO-KRS-1" }
    end,
    ["GET /security-groups/{}"] = function(c) return c.security_groups:get(ID) end,
    ["PUT /security-groups/{}"] = function(c) return c.security_groups:update(ID, { name = "web", rules = rules }) end,
    ["DELETE /security-groups/{}"] = function(c) return c.security_groups:delete(ID) end,
    ["GET /ssh-keys"] = function(c) return c.ssh_keys:list() end,
    ["POST /ssh-keys"] = function(c) return c.ssh_keys:create(KEY) end,
    ["GET /ssh-keys/{}"] = function(c) return c.ssh_keys:get(ID) end,
    ["PUT /ssh-keys/{}"] = function(c) return c.ssh_keys:update(ID, { name = "desk" }) end,
    ["DELETE /ssh-keys/{}"] = function(c) return c.ssh_keys:delete(ID) end,
  }

  -- What one exercise sent, as "METHOD /path/{}" of the operations run.
  local function sent_by(fn, c)
    local request = require "genesiscloud.request"
    local run, seen = request.run, {}
    request.run = function(st, op, ...)
      seen[#seen + 1] = operations.key(op.method, op.path)
      return run(st, op, ...)
    end
    local ok, result, err = pcall(fn, c)
    request.run = run
    assert(ok, result)
    return seen, result, err
  end

  it("has an exercise for every operation of the contract file", function()
    local missing = {}
    for _, k in ipairs(operations.contract()) do
      if not EXERCISE[k] then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  for _, k in ipairs(operations.contract()) do
    it("passes the mock's validation: " .. k, function()
      local auto = assert(genesiscloud.new{ token = "contract-token", endpoint = prism.endpoint })
      local seen, result, err = sent_by(assert(EXERCISE[k], "no exercise"), auto)
      auto:close()
      assert.is_nil(err)
      assert.truthy(result)
      -- a create lists first (what exists already, for a lost answer)
      assert.are.equal(k, seen[#seen])
    end)
  end

  it("refuses what only today's API takes: the reset action, attach/detach", function()
    local auto = assert(genesiscloud.new{ token = "contract-token", endpoint = prism.endpoint })
    local _, err = auto.instances:reset(ID)
    assert.is_true(err.status >= 400)
    local result, uerr = auto.instances:update(ID, { volumes = { attach = "vol-1" } })
    auto:close()
    assert.is_nil(result)
    assert.is_true(uerr.status >= 400)
  end)

  it("availability: the region as a path parameter (service and alias)", function()
    assert.is_table(assert(client:get_availability("NORD-NO-KRS-1")))
    assert.is_table(assert(client.availability:get("NORD-NO-KRS-1")))
  end)
end)
