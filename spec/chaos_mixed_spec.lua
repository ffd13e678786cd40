-- The mixed chaos run, small and fast (the full one is `make chaos`): every
-- resource that can be written, 30% of answers faulted; and its final check
-- fails on a duplicate.
local mixed = require "support.chaos_mixed"
local emulator = require "genesiscloud.emulator"

describe("mixed chaos", function()
  local emu

  before_each(function()
    emu = assert(emulator.start{ token = "chaos-token", create_delay = 0, update_delay = 0, delete_delay = 0,
      seed = 3, transitions = mixed.TRANSITIONS })
  end)
  after_each(function() emu:stop() end)

  it("runs creates, actions, updates and deletes of every kind with 0 duplicates", function()
    local figures = mixed.run_against(emu, 150, 0.3, 3)
    local operations, faults, kinds = 0, 0, 0
    for _, kind in ipairs(mixed.KINDS) do
      local f = figures.kinds[kind]
      assert.are.same({ 0, 0 }, { f.duplicates, f.applied_twice }, kind)
      assert.are.equal(f.operations, f.successes + f.failures, kind)
      if f.operations > 0 then kinds = kinds + 1 end
      operations, faults = operations + f.operations, faults + f.faults
    end
    assert.are.equal(150, operations)
    assert.are.equal(#mixed.KINDS, kinds) -- every kind was worked on
    assert.is_true(faults > 0)
    assert.matches("150 operations, %d+ requests .* 0 duplicates %(0 in the log%), 0 crashes", mixed.summary(figures))
  end)

  it("fails when one create left two objects", function()
    local ok, err = pcall(mixed.run_against, emu, 40, 0, 5, function(client)
      -- a second key under the name of one the run created
      local keys = assert(client.ssh_keys:all())
      assert(#keys > 0)
      assert(client.ssh_keys:create({ name = keys[1].name, value = keys[1].value }, { existing = keys }))
    end)
    assert.is_false(ok)
    -- seen twice: two objects of one create, and its name applied twice in the log
    assert.matches("1 duplicate ssh_keys, 1 creates applied twice: ", err)
    assert.matches("%(applied twice in the log%)", err)
    assert.matches("%(operation %d+%)", err)
  end)

  it("files each request under the kind of its route", function()
    assert.are.same({ "instances", "snapshots", "snapshots", "ssh_keys", "floating_ips", "other" }, {
      mixed.kind_of_path("/instances/a/actions"), mixed.kind_of_path("/instances/a/snapshots?page=1"),
      mixed.kind_of_path("/snapshots/b/clone"), mixed.kind_of_path("/ssh-keys?page=2&per_page=100"),
      mixed.kind_of_path("/floating-ips/c"), mixed.kind_of_path("/images") })
    assert.are.equal(12, mixed.number_of("mx-key-12-r40"))
    assert.is_nil(mixed.number_of("gpu-box"))
  end)
end)
