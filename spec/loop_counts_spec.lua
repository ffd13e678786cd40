-- What the loop driver holds, seen by the host and by its counts: while a
-- coroutine runs after its request returned, and after a close with a
-- transfer in flight.
local helper = require "helper"
local chaos_loop = require "support.chaos_loop"

local uv, why = chaos_loop.luv()

describe("loop driver counts", function()
  if not uv then
    pending("needs luv: " .. why)
    return
  end
  local emu
  before_each(function() emu = helper.start_emulator{} end)
  after_each(function() emu:stop() end)

  local function watchers(host) return host:counts().watchers end

  it("has the host watch no socket libcurl dropped while the coroutine runs on", function()
    local host = chaos_loop.host(uv)
    local client = helper.client(emu, { loop = host })
    local seen = {}
    local task = client:spawn(function()
      for i = 1, 3 do
        assert(client:list_security_groups{})
        -- the connection is idle in libcurl's cache: nothing to watch
        seen[i] = watchers(host)
      end
      return true
    end)
    local ok, err = task:wait()
    assert(ok, tostring(err))
    assert.are.same({ 0, 0, 0 }, seen)
    client:close()
    host:close()
    uv.run("nowait")
  end)

  it("holds no timer and no socket once closed with a transfer in flight", function()
    assert(emu:configure{ latency = 2 })
    local host = chaos_loop.host(uv)
    local client = helper.client(emu, { loop = host })
    local d = require("genesiscloud.client").state(client).driver
    local task = client:spawn(function() return client:list_security_groups{} end)
    local timer = uv.new_timer()
    timer:start(100, 0, function() client:close() end)
    local _, err = task:wait()
    timer:close()
    assert.are.equal("usage", err.kind)
    assert.are.same({ watched = 0, waiting = 0, in_flight = 0, timer = false }, d:counts())
    assert.are.equal(0, watchers(host))
    -- Debian's luv 1.44 crashes at exit on a handle closed and never
    -- run to its close: let the loop finish closing
    host:close()
    uv.run("nowait")
  end)
end)
