-- Text that is not UTF-8: refused like any other validation error, never
-- stored, never echoed. Driven through state:handle, no sockets.

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"
local json = require "genesiscloud.emulator.wire_json"
local validate = require "genesiscloud.emulator.request_checks"

local new, call = helper.emulator_state, helper.emulator_call

local RULES = '[{"protocol":"tcp","direction":"ingress","port_range_min":22,"port_range_max":22}]'

-- Byte strings that are not well-formed UTF-8, and why.
local BAD = {
  ["a lone byte 0xFF"] = "web\255",
  ["a lone continuation byte"] = "\128web",
  ["an overlong NUL"] = "\192\128",
  ["an overlong slash"] = "\224\128\175",
  ["a truncated sequence"] = "caf\195",
  ["a truncated sequence at the end of a 3-byte form"] = "\226\130",
  ["an encoded surrogate (CESU-8)"] = "\237\160\128\237\176\128",
  ["a code point past U+10FFFF"] = "\244\144\128\128",
  ["a 5-byte form"] = "\248\136\128\128\128",
}

local function body(name, description, extra)
  return '{"name":"' .. name .. '","description":"' .. (description or "") .. '","rules":' .. RULES
    .. (extra or "") .. "}"
end

local function total(st)
  local _, list = call(st, "GET", "/security-groups")
  return list.total_count
end

describe("emulator and invalid UTF-8", function()
  for why, bytes in pairs(BAD) do
    it("refuses a name with " .. why .. " and stores nothing", function()
      local st = new()
      local status, res, _, text = call(st, "POST", "/security-groups", body(bytes))
      assert.are.equal(400, status)
      assert.are.equal("02004", res.code)
      assert.are.equal("name is not valid UTF-8", res.message)
      assert.is_true(validate.utf8(text))
      assert.are.equal(0, total(st))
    end)
  end

  it("refuses bad bytes in the description, a rule, an unknown field and a field name", function()
    local st = new()
    local cases = {
      { body("web", "d\255"), "description is not valid UTF-8" },
      { '{"name":"web","rules":[{"protocol":"tcp","direction":"ingress","note":"\192\128"}]}',
        "rules[1].note is not valid UTF-8" },
      { body("web", "", ',"tags":{"env":["ok","\255"]}'), "tags.env[2] is not valid UTF-8" },
      { body("web", "", ',"\255":1'), "a field name is not valid UTF-8" },
    }
    for _, case in ipairs(cases) do
      local status, res = call(st, "POST", "/security-groups", case[1])
      assert.are.equal(400, status)
      assert.are.equal(case[2], res.message)
    end
    assert.are.equal(0, total(st))
  end)

  it("refuses bad bytes in PUT and PATCH and leaves the group as it was", function()
    local st = new()
    local _, created = call(st, "POST", "/security-groups", body("web", "d"))
    local id = created.security_group.id
    for _, method in ipairs{ "PUT", "PATCH" } do
      local status, res = call(st, method, "/security-groups/" .. id, body("new\255", "d"))
      assert.are.equal(400, status)
      assert.are.equal("name is not valid UTF-8", res.message)
    end
    local _, shown = call(st, "GET", "/security-groups/" .. id)
    assert.are.equal("web", shown.security_group.name)
  end)

  it("takes well-formed text beyond ASCII, raw or escaped", function()
    local st = new()
    local status, res = call(st, "POST", "/security-groups",
      body("caf\195\169 \240\159\152\128 \239\191\189", "\\u00e9\\ud83d\\ude00"))
    assert.are.equal(201, status)
    assert.are.equal("caf\195\169 \240\159\152\128 \239\191\189", res.security_group.name)
    assert.are.equal("\195\169\240\159\152\128", res.security_group.description)
  end)

  it("refuses a control body that is not UTF-8 without echoing it", function()
    local st = new()
    local status, text = st:handle("POST", "/_emulator/config", nil, '{"\255\254":1}', {})
    assert.are.equal(400, status)
    assert.is_true(validate.utf8(text))
    assert.matches("not valid UTF%-8", text)
  end)

  it("serves the request log as UTF-8, bad bytes replaced by U+FFFD", function()
    local st = new()
    call(st, "POST", "/security-groups", body("web\255"))
    call(st, "GET", "/security-groups/%FFx")
    local status, text = st:handle("GET", "/_emulator/requests", nil, nil, {})
    assert.are.equal(200, status)
    assert.is_true(validate.utf8(text))
    local log = assert(json.decode(text)).requests
    assert.are.equal(body("web\239\191\189"), log[1].body)
    assert.are.equal("/security-groups/\239\191\189x", log[2].path)
    -- the log itself keeps the bytes as received
    assert.are.equal(body("web\255"), st:requests()[1].body)
  end)
end)
