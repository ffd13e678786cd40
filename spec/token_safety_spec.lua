-- The token must never show: not in tostring(client), not in any error
-- (message or field), not in debug output. Every error path runs here with
-- a canary token, and everything printed and returned is searched for it.
local helper = require "helper"
local genesiscloud = helper.genesiscloud

local CANARY = "canary-7d3f9a1e5b"

-- Every string reachable from `value` (keys, values, tostring of tables
-- with a metatable), collected into `out`.
local function strings_in(value, out, seen)
  out, seen = out or {}, seen or {}
  local t = type(value)
  if t == "string" then
    out[#out + 1] = value
  elseif t == "table" and not seen[value] then
    seen[value] = true
    if getmetatable(value) then out[#out + 1] = tostring(value) end
    for k, v in pairs(value) do
      strings_in(k, out, seen)
      strings_in(v, out, seen)
    end
  elseif t ~= "nil" then
    out[#out + 1] = tostring(value)
  end
  return out
end

local function assert_no_canary(what, ...)
  for i = 1, select("#", ...) do
    for _, s in ipairs(strings_in((select(i, ...)))) do
      assert.is_nil(s:find(CANARY, 1, true), what .. " shows the token: " .. s)
      assert.is_nil(s:find("canary", 1, true), what .. " shows part of the token: " .. s)
    end
  end
end

describe("the token never shows", function()
  local emu, canned, events, stderr_lines, real_stderr

  setup(function()
    emu = helper.start_emulator{ token = CANARY }
    canned = helper.start_canned_server()
  end)

  teardown(function()
    if emu then emu:stop() end
    if canned then canned.stop() end
  end)

  -- Captures what debug = true writes to stderr.
  before_each(function()
    events, stderr_lines = {}, {}
    real_stderr = io.stderr
    -- luacheck: push ignore 122 (swapping io.stderr is the point: debug = true writes there)
    io.stderr = { write = function(self, ...)
      for i = 1, select("#", ...) do stderr_lines[#stderr_lines + 1] = tostring((select(i, ...))) end
      return self
    end }
    -- luacheck: pop
  end)

  after_each(function()
    io.stderr = real_stderr -- luacheck: ignore 122
    assert_no_canary("debug events", events)
    assert_no_canary("debug output", stderr_lines)
  end)

  local function client_for(endpoint, extra)
    local opts = { token = CANARY, endpoint = endpoint, max_retries = 1, retry_base = 0,
      timeout = 1, debug = function(event) events[#events + 1] = event end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(genesiscloud.new(opts))
  end

  it("in tostring(client), open or closed", function()
    local c = client_for(emu.endpoint)
    assert_no_canary("tostring(client)", tostring(c))
    c:close()
    assert_no_canary("tostring(closed client)", tostring(c))
  end)

  it("in errors from new", function()
    assert_no_canary("new", genesiscloud.new{ token = CANARY .. "\n" })
    assert_no_canary("new", genesiscloud.new{ token = CANARY, endpoint = "http://example.com/" })
    assert_no_canary("new", genesiscloud.new{ token = CANARY, tiemout = 3 })
  end)

  it("in API errors from the emulator, validation errors and usage errors", function()
    local c = client_for(emu.endpoint)
    assert_no_canary("get 404", c:get_security_group("missing"))
    assert_no_canary("delete 404", c:delete_security_group("missing"))
    assert_no_canary("update 404", c:update_security_group("missing",
      { name = "x", rules = { genesiscloud.rules.ssh() } }))
    assert_no_canary("raw 400", c:request("POST", "/security-groups", { body = { name = "" }, expect = 201 }))
    assert_no_canary("validation", c:create_security_group{ name = "default", rules = {} })
    assert_no_canary("list validation", c:list_security_groups{ per_page = 1000 })
    assert_no_canary("success", c:create_security_group{ name = "ok", rules = { genesiscloud.rules.ssh() } })
    c:close()
    assert_no_canary("closed", c:get_security_group("x"))
    assert.is_true(#events > 0)
  end)

  it("in a 401 for a wrong token that contains the canary", function()
    local c = assert(genesiscloud.new{ token = CANARY .. "-wrong", endpoint = emu.endpoint, debug = true,
      max_retries = 0 })
    assert_no_canary("401", c:list_security_groups())
    assert.is_true(#stderr_lines > 0)
    c:close()
  end)

  it("in the emulator's request log", function()
    local c = client_for(emu.endpoint)
    assert(c:list_security_groups())
    c:close()
    assert_no_canary("request log", assert(emu:requests()))
  end)

  it("in transport, timeout, decode and size errors", function()
    local c = client_for(canned.endpoint, { max_response_bytes = 1000 })
    for _, id in ipairs{ "html-404", "empty-500", "not-json", "no-wrapper", "big", "stall" } do
      assert_no_canary(id, c:get_security_group(id))
    end
    c:close()
    local refused = client_for("http://127.0.0.1:" .. helper.free_port() .. "/compute/v1")
    assert_no_canary("refused", refused:list_security_groups())
    refused:close()
  end)

  it("in the iterators' raised errors and in ensure", function()
    local c = client_for(canned.endpoint)
    local ok, err = pcall(function() for _ in c:security_groups{ per_page = 2 } do end end)
    assert.is_false(ok)
    assert_no_canary("iterator", err)
    assert_no_canary("ensure", c:ensure_security_group{ name = "x", rules = { genesiscloud.rules.ssh() } })
    c:close()
  end)
end)
