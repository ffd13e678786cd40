-- examples/embed/poll_host.c: a C program with its own poll() loop, whose
-- host adapter is written in C, drives a loop client: against an emulator
-- holding 10,000 groups and adding 20 ms to every answer
-- (scripts/poll-host-run starts it), one task lists them with concurrency 8
-- while ten others create, wait for and delete 50 groups. The program's
-- own 5 ms tick must keep running meanwhile, and the listing must see the
-- groups a blocking listing in the same program sees. The spec builds the
-- program first (make embed-check runs it under valgrind).
local helper = require "helper"

local HOST = "build/embed/poll_host"

-- The summary line's fields (key=value), or nil and the whole output.
local function summary(out)
  local line = out:match("poll_host: %S+ [^\n]*")
  if not line then return nil, out end
  local f = { verdict = line:match("^poll_host: (%S+)") }
  for k, v in line:gmatch("([%w_]+)=(%S+)") do f[k] = tonumber(v) or v end
  return f
end

local function run_host(args)
  return helper.run("lua5.4 scripts/poll-host-run " .. (args or "") .. " " .. HOST .. " 2>&1")
end

describe("a C host with its own poll() loop (examples/embed/poll_host.c)", function()
  setup(function()
    -- make test builds it; this spec alone builds it here (a no-op when fresh)
    local out, ok = helper.run("make --no-print-directory -s " .. HOST .. " 2>&1")
    assert(ok, out)
  end)

  it("lists 10,000 groups and cycles 50 while its own 5 ms tick is never held 25 ms", function()
    local out, ok = run_host()
    local f = assert(summary(out))
    if ok and f.max_gap_ms >= 25 then
      -- The gap is wall time: on a loaded machine the kernel may hold the
      -- process up between two ticks (max_turn_cpu_ms tells). One more run;
      -- a loop really held up by the library fails both.
      io.stderr:write("loop_c_host_spec: a gap of ", tostring(f.max_gap_ms), " ms, once more\n")
      out, ok = run_host()
      f = assert(summary(out))
    end
    assert(ok and f.verdict == "ok", out)
    assert.are.same({ 10000, 10000, 50, 0 }, { f.listed, f.blocking, f.cycled, f.left })
    -- the same groups, not only as many: the digests of their sorted ids
    local in_loop, blocking = tostring(f.digest):match("^(%x+)/(%x+)$")
    assert(in_loop and in_loop == blocking, out)
    assert.are.same({ 0, 0, 0, 0, 0 }, { f.errors, f.nval, f.watchers_left, f.timer_left, f.refs_left })
    assert(f.max_gap_ms < 25, out)
    -- the tick really ran all along (a gap of 0 from no ticks proves nothing)
    assert(f.ticks > 0 and f.elapsed_ms / f.ticks < 25, out)
    -- the tasks overlapped: one after the other, the 50 cycles alone (each
    -- four requests and two waits of at least 50 ms) take over 10 s
    assert(f.elapsed_ms < 5000, out)
  end)

  it("exits 1 and says FAILED when its listing does not count what it should", function()
    local out, ok, _, code = run_host("--groups 300 --expect 301")
    local f = assert(summary(out))
    assert.are.same({ false, 1, "FAILED", 300, 300, 50 }, { ok, code, f.verdict, f.listed, f.blocking, f.cycled })
  end)
end)
