-- Retries against the emulator's injected faults, with exact request
-- counts. The clock is injected (retry_base 0 or a recording sleep), so
-- nothing here waits for real backoff.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local rules = genesiscloud.rules

local SPEC = { name = "web", rules = { rules.https() } }

describe("retries against injected faults", function()
  local emu

  setup(function() emu = helper.start_emulator{ fault_seed = 7 } end)
  teardown(function() if emu then emu:stop() end end)

  before_each(function()
    assert(emu:configure{ fault_rate = 0 })
    assert(emu:reset())
  end)

  local function count(method)
    local n = 0
    for _, req in ipairs(assert(emu:requests())) do
      if req.method == method then n = n + 1 end
    end
    return n
  end

  local function groups()
    return assert(emu:requests() and helper.client(emu, { max_retries = 0 }):list_security_groups()).security_groups
  end

  -- A client whose waits are recorded, not slept.
  local function client(opts)
    local waits = {}
    local o = { max_retries = 3, timeout = 2, sleep = function(s) waits[#waits + 1] = s end,
      random = function() return 0 end }
    for k, v in pairs(opts or {}) do o[k] = v end
    return helper.client(emu, o), waits
  end

  -- Faults only the first attempt: the client's sleep before the retry
  -- turns the faults off.
  local function client_fault_once()
    return helper.client(emu, { max_retries = 3, timeout = 0.5,
      sleep = function() assert(emu:configure{ fault_rate = 0 }) end })
  end

  -- Sets every fault setting (the ones not given to their defaults), so
  -- nothing leaks from one test into the next.
  local function fault(settings)
    local all = { fault_rate = 1, faults = { "status" }, fault_status = 503, retry_after = false,
      fault_methods = "all", stall_seconds = 30, oversize_bytes = 20971520 }
    for k, v in pairs(settings) do all[k] = v end
    assert(emu:configure(all))
    assert(emu:clear_requests())
  end

  it("retries a 503 on GET until max_retries, then returns the error with attempts", function()
    local c = client()
    local sg = assert(c:create_security_group(SPEC))
    fault{ faults = { "status" }, fault_status = 503 }
    local got, err = c:get_security_group(sg.id)
    assert.is_nil(got)
    assert.are.equal(503, err.status)
    assert.are.equal(4, err.attempts)
    assert.is_true(err.retryable)
    assert.are.equal(4, count("GET"))
  end)

  it("does not retry a 404", function()
    local c = client()
    local _, err = c:get_security_group("missing")
    assert.are.equal(404, err.status)
    assert.are.equal(1, err.attempts)
    assert.is_false(err.retryable)
  end)

  it("does not retry a POST that answered 503, and creates nothing", function()
    local c = client()
    fault{ faults = { "status" }, fault_status = 503, fault_methods = { "POST" } }
    local _, err = c:create_security_group(SPEC)
    assert.are.equal(503, err.status)
    assert.are.equal(1, count("POST"))
    assert(emu:configure{ fault_rate = 0 })
    assert.are.equal(0, #groups())
  end)

  it("retries a POST that answered 429", function()
    local c = client()
    fault{ faults = { "status" }, fault_status = 429, fault_methods = { "POST" } }
    local _, err = c:create_security_group(SPEC)
    assert.are.equal(429, err.status)
    assert.are.equal(4, count("POST"))
    assert(emu:configure{ fault_rate = 0 })
    assert.are.equal(0, #groups())
  end)

  it("waits what Retry-After says in seconds, but never beyond retry_max_wait", function()
    fault{ faults = { "status" }, fault_status = 429, retry_after = 7 }
    local c, waits = client()
    c:list_security_groups()
    assert.are.same({ 7, 7, 7 }, waits)
    local capped, capped_waits = client{ retry_max_wait = 5 }
    capped:list_security_groups()
    assert.are.same({ 5, 5, 5 }, capped_waits)
  end)

  it("waits until a Retry-After date", function()
    fault{ faults = { "status" }, fault_status = 503, retry_after = "date+3" }
    local c, waits = client{ max_retries = 1 }
    c:list_security_groups()
    assert.are.equal(1, #waits)
    assert.is_true(waits[1] >= 2 and waits[1] <= 5, "waited " .. waits[1])
  end)

  it("backs off exponentially with full jitter when there is no Retry-After", function()
    fault{ faults = { "status" }, fault_status = 502 }
    local c, waits = client{ retry_base = 0.5, random = function() return 1 end }
    c:list_security_groups()
    assert.are.same({ 0.5, 1, 2 }, waits)
  end)

  it("returns the group when a create's answer was lost after it took effect", function()
    local c = client()
    fault{ faults = { "close_after_body" }, fault_methods = { "POST" } }
    local sg, err = c:create_security_group(SPEC)
    assert.is_nil(err)
    assert.are.equal("web", sg.name)
    assert.are.equal(1, count("POST"))
    assert(emu:configure{ fault_rate = 0 })
    local all = groups()
    assert.are.equal(1, #all)
    assert.are.equal(sg.id, all[1].id)
  end)

  it("sends a create again only after finding it did not take effect, and never makes two", function()
    local c = client()
    fault{ faults = { "close_before_body" }, fault_methods = { "POST" } }
    local sg, err = c:create_security_group(SPEC)
    assert.is_nil(sg)
    assert.are.equal("transport", err.kind)
    assert.matches("was not created: none was found after the failure", err.message)
    assert.are.equal(4, err.attempts)
    assert.are.equal(4, count("POST"))
    -- what exists before the first POST, then a look after each failure
    assert.are.equal(5, count("GET"))
    assert(emu:configure{ fault_rate = 0 })
    assert.are.equal(0, #groups())
  end)

  it("creates once when the first POST never took effect and the next one works", function()
    fault{ faults = { "close_before_body" }, fault_methods = { "POST" } }
    local c = client_fault_once()
    local sg = assert(c:create_security_group(SPEC))
    assert.are.equal(2, count("POST"))
    local all = groups()
    assert.are.equal(1, #all)
    assert.are.equal(sg.id, all[1].id)
  end)

  it("counts a DELETE whose first answer was lost and whose retry says 404 as done", function()
    local c = client_fault_once()
    local sg = assert(c:create_security_group(SPEC))
    fault{ faults = { "close_after_body" }, fault_methods = { "DELETE" } }
    assert.is_true(c:delete_security_group(sg.id))
    assert.are.equal(2, count("DELETE"))
    assert.are.equal(0, #groups())
  end)

  it("still reports a plain 404 on DELETE as an error", function()
    local c = client()
    local ok, err = c:delete_security_group("missing")
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
  end)

  -- The faulted request is each new client's first, so it goes over a new
  -- connection: libcurl re-sends by itself only on a reused one, and the
  -- count stays exact.
  for _, kind in ipairs{ "truncate", "invalid_json", "close_before_body", "close_after_body", "stall" } do
    it("retries a GET after a " .. kind .. " fault and succeeds", function()
      local sg = assert(client():create_security_group(SPEC))
      fault{ faults = { kind }, fault_methods = { "GET" }, stall_seconds = 5 }
      local c = client_fault_once()
      local got = assert(c:get_security_group(sg.id))
      assert.are.equal(sg.id, got.id)
      assert.are.equal(2, count("GET"))
    end)
  end

  it("retries a PUT after a lost answer; the update is applied once more, harmlessly", function()
    local sg = assert(client():create_security_group(SPEC))
    fault{ faults = { "close_after_body" }, fault_methods = { "PUT" } }
    local c = client_fault_once()
    local updated = assert(c:update_security_group(sg.id, { name = "web", description = "v2",
      rules = SPEC.rules }))
    assert.are.equal("v2", updated.description)
    assert.are.equal(2, count("PUT"))
  end)

  it("does not retry a body over max_response_bytes", function()
    local c = client{ max_response_bytes = 4096 }
    fault{ faults = { "oversize" }, oversize_bytes = 10000 }
    local _, err = c:list_security_groups()
    assert.are.equal("too_large", err.kind)
    assert.are.equal(1, count("GET"))
  end)

  it("gives up at the deadline instead of starting another attempt", function()
    fault{ faults = { "status" }, fault_status = 503 }
    local t = 0
    local c = helper.client(emu, { max_retries = 10, retry_base = 1, random = function() return 1 end,
      deadline = 2.5, now = function() return t end, sleep = function(s) t = t + s end })
    local _, err = c:list_security_groups()
    assert.are.equal(503, err.status)
    assert.is_true(err.deadline_exceeded)
    assert.are.equal(2, err.attempts) -- waits 1 then 2 would pass 2.5 s
    assert.are.equal(2, count("GET"))
  end)

  it("reads the clock only for a deadline or the debug hook", function()
    fault{ fault_rate = 0 }
    local reads = 0
    local function now() reads = reads + 1; return 0 end
    local plain = helper.client(emu, { now = now })
    assert(plain:list_security_groups())
    assert.are.equal(0, reads)
    local timed = helper.client(emu, { now = now, deadline = 5 })
    assert(timed:list_security_groups())
    assert.is_true(reads > 0)
    reads = 0
    local debugged = helper.client(emu, { now = now, debug = function() end })
    assert(debugged:list_security_groups())
    assert.is_true(reads > 0)
  end)

  it("reports each attempt to the debug hook", function()
    fault{ faults = { "status" }, fault_status = 503 }
    local events = {}
    local c = client{ max_retries = 2, debug = function(e) events[#events + 1] = e end }
    c:list_security_groups()
    assert.are.equal(3, #events)
    for i, e in ipairs(events) do
      assert.are.equal("GET", e.method)
      assert.are.equal("/security-groups", e.path)
      assert.are.equal(503, e.status)
      assert.are.equal(i, e.attempt)
      assert.is_number(e.duration)
    end
  end)
end)

describe("retries without a server", function()
  it("retries a refused connection for every method, POST included", function()
    local port = helper.free_port()
    for _, call in ipairs{ "list", "create" } do
      local events = {}
      local c = assert(genesiscloud.new{ token = "t", endpoint = "http://127.0.0.1:" .. port .. "/compute/v1",
        max_retries = 2, sleep = function() end, debug = function(e) events[#events + 1] = e end })
      local _, err
      if call == "list" then
        _, err = c:list_security_groups()
      else
        _, err = c:create_security_group(SPEC)
      end
      assert.are.equal("transport", err.kind)
      assert.are.equal(3, err.attempts)
      assert.are.equal(3, #events)
      c:close()
    end
  end)
end)
