-- Every operation of the vendor's 2023-07 contract, and every one the API
-- added since (api-changes-since-2023-07.md, section 1), is reachable
-- through a service method of the registry. Static: it reads the contract
-- file and compiles the definitions; contract_spec.lua then sends each one
-- to the OpenAPI mock, and resources/compute_spec.lua the newer ones to a
-- loopback server.
local registry = require "genesiscloud.resources"
local operations = require "contract.operations"

-- Since 2023-07 (the reference's table of operations at 163ad0b); the
-- gone PUTs of security groups, SSH keys and volumes are in the contract.
local NEWER = {
  "GET /filesystems", "POST /filesystems", "GET /filesystems/{}", "PATCH /filesystems/{}",
  "DELETE /filesystems/{}", "GET /floating-ips", "POST /floating-ips", "GET /floating-ips/{}",
  "PATCH /floating-ips/{}", "DELETE /floating-ips/{}", "GET /instances/{}/user-metadata",
  "GET /quotas", "GET /reservations", "POST /snapshots", "POST /snapshots/{}/clone",
  "PATCH /security-groups/{}", "PATCH /ssh-keys/{}", "PATCH /volumes/{}",
}

describe("the contract's operations", function()
  local contract = operations.contract()

  it("are read from the 2023-07 file: 30 of them", function()
    assert.are.equal(30, #contract)
    assert.is_true(#contract == #operations.contract()) -- stable
    local set = {}
    for _, k in ipairs(contract) do set[k] = true end
    assert.is_true(set["POST /instances/{}/actions"])
    assert.is_true(set["GET /availability/{}/instances"])
    assert.is_true(set["PUT /volumes/{}"])
  end)

  it("are each reachable through a service method", function()
    local reachable = operations.reachable(registry)
    local missing = {}
    for _, k in ipairs(contract) do
      if not reachable[k] then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("and those added since 2023-07 too", function()
    local reachable = operations.reachable(registry)
    local missing = {}
    for _, k in ipairs(NEWER) do
      if not reachable[k] then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("the check fails when a resource is missing", function()
    local partial = {}
    for _, def in ipairs(registry) do
      if def.plural ~= "snapshots" then partial[#partial + 1] = def end
    end
    local reachable = operations.reachable(partial)
    assert.is_nil(reachable["PATCH /snapshots/{}"])
    assert.is_nil(reachable["GET /snapshots"])
  end)
end)
