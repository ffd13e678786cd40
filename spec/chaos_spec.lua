-- #chaos: 2,000 mixed operations with 30% of the emulator's answers faulted.
-- Excluded from `make memcheck` (timeouts under valgrind are meaningless);
-- `make chaos` runs it on its own and prints the figures.
local chaos = require "support.chaos"

describe("chaos #chaos", function()
  it("survives 2,000 operations with 30% of answers faulted", function()
    local figures = chaos.run{ operations = 2000, fault_rate = 0.3, seed = 11 }
    assert.are.equal(2000, figures.operations)
    assert.are.equal(figures.operations, figures.successes + figures.failures)
    assert.is_true(figures.faults >= 0.2 * figures.requests, chaos.summary(figures))
    assert.is_true(figures.retries > 0)
    assert.are.equal(figures.uncertain, #figures.uncertain_groups)
    local report = chaos.report(figures)
    print(report)
    print(chaos.summary(figures))
  end)
end)

-- Fast: every answer to a POST faulted, so every create fails or is
-- recovered from the list (and nothing else can find a group to work on).
describe("chaos report", function()
  local emulator = require "genesiscloud.emulator"

  it("lists each group a failed write left uncertain, with what the end state shows", function()
    local emu = assert(emulator.start{ token = "chaos-token", create_delay = 0, seed = 5,
      faults = { "status", "close_after_body" }, fault_methods = { "POST" } })
    local ok, figures = pcall(chaos.run_against, emu, 8, 1, 5)
    local log = emu:requests()
    emu:stop()
    assert(ok, figures)

    -- the creates tried, and which took effect, by the emulator's own log
    local tried, created, n_tried = {}, {}, 0
    for _, req in ipairs(log) do
      local name = req.method == "POST" and req.body and req.body:match('"name":"(chaos%-%d+)"')
      if name then
        if not tried[name] then n_tried = n_tried + 1 end
        tried[name] = true
        if req.applied and req.status == 201 then created[name] = true end
      end
    end
    -- A create whose answer was lost and whose group is then found is a
    -- success, and one that provably did not happen (err.created == false)
    -- is certain too; a create that took effect without a 201 on record
    -- must be in the report.
    local listed, applied = {}, {}
    for _, u in ipairs(figures.uncertain_groups) do listed[u.name] = true end
    for _, req in ipairs(log) do
      local name = req.method == "POST" and req.body and req.body:match('"name":"(chaos%-%d+)"')
      if name and req.applied then applied[name] = true end
    end
    for name in pairs(tried) do
      if not listed[name] then
        assert.is_true(created[name] or not applied[name], name .. " took effect, unreported")
      end
    end
    assert.is_true(n_tried > 0)
    assert.is_true(figures.uncertain > 0)
    assert.are.equal(figures.uncertain, #figures.uncertain_groups)
    assert.matches(figures.uncertain .. " left uncertain by failed writes$", chaos.summary(figures))

    local report = chaos.report(figures)
    local lines = {}
    for line in report:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(figures.uncertain + 1, #lines) -- a heading, then one line per group
    assert.matches("^chaos: groups left uncertain by failed writes", lines[1])
    local last = 0
    for i, u in ipairs(figures.uncertain_groups) do
      assert.is_true(u.n > last) -- in operation order
      last = u.n
      assert.are.equal("create", u.op)
      assert.are.equal("chaos-" .. u.n, u.name)
      assert.is_true(tried[u.name])
      assert.is_true(require("genesiscloud").is_error(u.error))
      local line = lines[i + 1]
      assert.matches("^  #" .. u.n .. " create ", line)
      assert.truthy(line:find("(chaos-" .. u.n .. ")", 1, true))
      assert.truthy(line:find(tostring(u.error), 1, true))
      if created[u.name] then
        assert.is_string(u.id)
        assert.truthy(line:find(u.id, 1, true))
        assert.matches("exists: the create took effect$", line)
      else
        assert.is_nil(u.id)
        assert.matches("does not exist: the create did not take effect$", line)
      end
    end
  end)

  it("is empty when no write failed", function()
    assert.are.equal("", chaos.report{ uncertain_groups = {} })
  end)
end)

-- #chaos: the mixed workload over every resource that can be written
-- (`make chaos` runs 2,500 operations of it).
describe("mixed chaos #chaos", function()
  local mixed = require "support.chaos_mixed"

  it("survives 600 mixed operations with 30% of answers faulted, 0 duplicates", function()
    local figures = mixed.run{ operations = 600, fault_rate = 0.3, seed = 11 }
    local requests, faults = 0, 0
    for _, kind in ipairs(mixed.KINDS) do
      local f = figures.kinds[kind]
      assert.are.same({ 0, 0 }, { f.duplicates, f.applied_twice }, kind)
      assert.are.equal(f.operations, f.successes + f.failures, kind)
      assert.is_true(f.operations > 0, kind)
      requests, faults = requests + f.requests, faults + f.faults
    end
    assert.is_true(faults >= 0.2 * requests, mixed.summary(figures))
    print(mixed.report(figures))
    print(mixed.summary(figures))
  end)
end)
