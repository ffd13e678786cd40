-- The luv adapter with `schedule` (Neovim's vim.schedule): the driver's
-- coroutines resume later, from the scheduled callback. A task whose
-- function raises after it waited must still end "failed", its on_done
-- called with the error (it used to stay "running": the error went to the
-- scheduled callback instead of the task).
local helper = require "helper"

local ok_luv, uv = pcall(require, "luv")

describe("luv adapter with schedule", function()
  local emu

  setup(function()
    emu = helper.start_emulator()
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  -- A schedule like vim.schedule: fn runs on a later turn of the loop, and
  -- an error in it is the caller's (reported here, not raised into luv).
  local scheduled_errors = {}
  local function schedule(fn)
    local t = uv.new_timer()
    t:start(0, 0, function()
      t:close()
      local ok, err = pcall(fn)
      if not ok then scheduled_errors[#scheduled_errors + 1] = tostring(err) end
    end)
  end

  local function run(fn)
    local loop = require("genesiscloud.loop.luv").new(uv, { schedule = schedule })
    local client = helper.client(emu, { loop = loop })
    local task = client:spawn(fn, client)
    local got
    task:on_done(function(...) got = { n = select("#", ...), ... } end)
    local deadline = uv.hrtime() + 10e9
    while not got and uv.hrtime() < deadline do uv.run("once") end
    client:close()
    loop:close()
    uv.run("nowait")
    return task, got
  end

  it("a task that raises after a wait ends failed, on_done gets the error", function()
    if not ok_luv then pending("luv is not installed for " .. _VERSION .. " (Debian: lua-luv)") return end
    scheduled_errors = {}
    local task, got = run(function(client)
      assert(client.security_groups:list())
      error("boom after a wait", 0)
    end)
    assert.is_table(got, "on_done was never called; task " .. task:status())
    assert.are.equal("failed", task:status())
    assert.is_false(got[1])
    assert.matches("boom after a wait", tostring(got[2]))
    assert.are.same({}, scheduled_errors)
  end)

  it("a task that returns after waits ends done with its results", function()
    if not ok_luv then pending("luv is not installed for " .. _VERSION .. " (Debian: lua-luv)") return end
    local task, got = run(function(client)
      local page = assert(client.security_groups:list())
      return "listed", type(page)
    end)
    assert.are.equal("done", task:status())
    assert.are.same({ true, "listed", "table", n = 3 }, got)
  end)
end)
