-- luacheck: std +busted
-- How to test your own automation with busted against the emulator: a
-- spec file as you would write it for your project. The emulator starts
-- once in lazy_setup, is emptied before each test and stops in
-- lazy_teardown. Run it from a checkout (after `make build`) with
--   LUA_PATH="/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;" \
--     lua5.4 /usr/bin/busted examples/busted_with_emulator_spec.lua
-- (the project's .busted adds lua/ and build/ to the paths).
local genesiscloud = require "genesiscloud"
local emulator = require "genesiscloud.emulator"
local rules = genesiscloud.rules

-- The code under test: your automation. Here, a function that makes sure
-- a "bastion" group allows SSH from anywhere and nothing else in.
local function ensure_bastion(client)
  return client:ensure_security_group{
    name = "bastion", description = "SSH jump host",
    rules = { rules.ssh(), rules.egress.all() },
  }
end

describe("ensure_bastion", function()
  local emu, client

  lazy_setup(function()
    -- No delays: groups are "created" at once. The token is a made-up one.
    emu = assert(emulator.start{ token = "test-token", create_delay = 0, update_delay = 0 })
    client = assert(genesiscloud.new{ token = emu.token, endpoint = emu.endpoint })
  end)

  lazy_teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  before_each(function()
    assert(emu:reset()) -- no groups, empty request log
  end)

  it("creates the group when it is missing", function()
    local sg, action = assert(ensure_bastion(client))
    assert.are.equal("created", action)
    assert.are.equal("bastion", sg.name)
    assert.is_true(rules.equal({ rules.ssh(), rules.egress.all() }, sg.rules))
  end)

  it("sends no write when the group is already right", function()
    assert(ensure_bastion(client))
    assert(emu:clear_requests())
    local _, action = assert(ensure_bastion(client))
    assert.are.equal("unchanged", action)
    for _, request in ipairs(assert(emu:requests())) do
      assert.are.equal("GET", request.method)
    end
  end)

  it("puts back a rule someone removed by hand", function()
    local sg = assert(ensure_bastion(client))
    assert(client:update_security_group(sg.id, { name = "bastion", rules = { rules.egress.all() } }))
    local fixed, action = assert(ensure_bastion(client))
    assert.are.equal("updated", action)
    assert.is_true(rules.equal({ rules.ssh(), rules.egress.all() }, fixed.rules))
  end)

  it("reports the API's error when the group is in an error state", function()
    local sg = assert(ensure_bastion(client))
    assert(emu:set_status(sg.id, "error"))
    local ok, err = client:wait_for_security_group(sg.id, { timeout = 0 })
    assert.is_nil(ok)
    assert.are.equal("resource_error", err.kind)
  end)
end)
