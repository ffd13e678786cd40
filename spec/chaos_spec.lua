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
    print(chaos.summary(figures))
  end)
end)
