-- Edges the rest of the suite stepped around: a one-port range, an empty
-- error code, a body exactly at and one byte over max_response_bytes (on
-- the single and the concurrent path), and the order in which concurrent
-- completions are handed back.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local core = require "genesiscloud.core"
local rules = genesiscloud.rules
local request = require "genesiscloud.request"
local sg_validate = require "genesiscloud.resources.security_groups.group_checks"

describe("a one-port range", function()
  it("is read by rules.parse as that one port", function()
    for _, case in ipairs{ { "ingress tcp 22-22", 22 }, { "egress udp 1-1", 1 },
        { "ingress tcp 65535-65535", 65535 } } do
      local rule, err = rules.parse(case[1])
      assert.is_nil(err, case[1])
      assert.are.equal(case[2], rule.port_range_min)
      assert.are.equal(case[2], rule.port_range_max)
      assert.are.equal(case[1]:match("^%a+ %a+ ") .. case[2], tostring(rule))
    end
  end)

  it("is accepted by the builders and by sg_validate.rule", function()
    local rule = rules.ingress.tcp(22, 22)
    assert.are.equal(22, rule.port_range_min)
    assert.are.equal(22, rule.port_range_max)
    assert.is_true(sg_validate.rule{ direction = "ingress", protocol = "udp",
      port_range_min = 53, port_range_max = 53 })
  end)

  it("is still refused backwards, one port apart", function()
    local rule, err = rules.parse("ingress tcp 23-22")
    assert.is_nil(rule)
    assert.matches("backwards", err.message)
  end)
end)

describe("an API error with an empty code", function()
  it("prints no empty parentheses", function()
    local err = request.answer_error("GET", "/security-groups/x", 200, 400,
      '{"code": "", "message": "Bad request"}', {})
    assert.are.equal("api", err.kind)
    assert.are.equal("", err.code)
    assert.are.equal("genesiscloud: GET /security-groups/x: 400 Bad request", tostring(err))
  end)

  it("prints a code that is there", function()
    local err = request.answer_error("GET", "/security-groups/x", 200, 404,
      '{"code": "02003", "message": "Not found"}', {})
    assert.are.equal("genesiscloud: GET /security-groups/x: 404 (02003) Not found", tostring(err))
  end)
end)

describe("a success status other than the operation's", function()
  it("says which status came and which was expected, not just the body", function()
    local err = request.answer_error("DELETE", "/security-groups/x", 204, 200, "{", {})
    assert.are.equal("api", err.kind)
    assert.are.equal(200, err.status)
    assert.are.equal("genesiscloud: DELETE /security-groups/x: 200 unexpected status 200"
      .. " (expected 204): {", tostring(err))
    err = request.answer_error("GET", "/security-groups/x", 200, 302, "", {})
    assert.are.equal("genesiscloud: GET /security-groups/x: 302 unexpected status 302"
      .. " (expected 200)", tostring(err))
  end)
end)

describe("max_response_bytes at the edge", function()
  local server, size
  local PATH = "/security-groups/big"

  setup(function()
    server = helper.start_canned_server()
    -- The size of the canned body, measured rather than assumed.
    local c = assert(core.new(helper.core_options{ endpoint = server.endpoint }))
    local status, body = c:perform("GET", PATH, nil, false)
    assert.are.equal(200, status)
    size = #body
    c:close()
    assert.is_true(size > 64 * 1024, "the canned body should span several writes")
  end)
  teardown(function() if server then server.stop() end end)

  local function core_with(limit)
    return assert(core.new(helper.core_options{ endpoint = server.endpoint,
      max_response_bytes = limit }))
  end

  it("accepts a body of exactly max_response_bytes (single request)", function()
    local c = core_with(size)
    local status, body = c:perform("GET", PATH, nil, false)
    assert.are.equal(200, status)
    assert.are.equal(size, #body)
    c:close()
  end)

  it("refuses a body one byte over max_response_bytes (single request)", function()
    local c = core_with(size - 1)
    local status, kind = c:perform("GET", PATH, nil, false)
    assert.is_nil(status)
    assert.are.equal("too_large", kind)
    c:close()
  end)

  it("accepts exactly the limit and refuses one byte over (concurrent requests)", function()
    local at, over = core_with(size), core_with(size - 1)
    assert.is_true(at:multi_add(1, "GET", PATH, nil, false))
    assert.is_true(over:multi_add(2, "GET", PATH, nil, false))
    local tag, status, body = at:multi_next()
    assert.are.equal(1, tag)
    assert.are.equal(200, status)
    assert.are.equal(size, #body)
    local tag2, status2, kind = over:multi_next()
    assert.are.equal(2, tag2)
    assert.is_nil(status2)
    assert.are.equal("too_large", kind)
    at:close()
    over:close()
  end)

  it("holds through the client: the limit itself works, one less is too_large", function()
    local ok_client = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint,
      max_response_bytes = size, max_retries = 0 })
    assert.is_table(ok_client:get_security_group("big"))
    ok_client:close()
    local small = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint,
      max_response_bytes = size - 1, max_retries = 0 })
    local got, err = small:get_security_group("big")
    assert.is_nil(got)
    assert.are.equal("too_large", err.kind)
    small:close()
  end)
end)

describe("concurrent completions", function()
  local emu

  setup(function() emu = helper.start_emulator() end)
  teardown(function() if emu then emu:stop() end end)

  it("come back oldest first when several finished at once", function()
    -- Every answer is held back 0.3 s. The first multi_next (0.05 s) sends
    -- all three requests and times out; after the sleep all three answers
    -- are waiting, so libcurl finishes them in one pass, in the order they
    -- were added, and they must be handed back in that order. The order
    -- is 1, 2, 3 however long the sleep really was (one by one they also
    -- finish in that order); the sleep only lets a newest-first bug show.
    assert(emu:configure{ latency = 0.3 })
    local c = assert(core.new(helper.core_options{ token = emu.token, endpoint = emu.endpoint }))
    local order = {}
    for tag = 1, 3 do assert.is_true(c:multi_add(tag, "GET", "/security-groups", nil, false)) end
    local early = c:multi_next(0.05)
    if early then order[#order + 1] = early end -- only if this machine stalled > 0.3 s
    core.sleep(1.2)
    while true do
      local tag, status = c:multi_next(5)
      if tag == nil then break end
      assert.is_not_false(tag, "no completion within 5 s")
      assert.are.equal(200, status)
      order[#order + 1] = tag
    end
    assert(emu:configure{ latency = 0 })
    c:close()
    assert.are.same({ 1, 2, 3 }, order)
  end)
end)
