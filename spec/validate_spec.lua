local validate = require "genesiscloud.validate"
local sg_validate = require "genesiscloud.resources.security_groups.group_checks"
local errors = require "genesiscloud.errors"
local rules = require "genesiscloud.rules"

local function tcp(min, max)
  return { protocol = "tcp", direction = "ingress", port_range_min = min, port_range_max = max }
end

-- NONE in overrides removes the field (a nil would simply not be seen).
local NONE = {}
local function group(overrides)
  local spec = { name = "web", description = "web servers", rules = { tcp(22, 22), rules.egress.all() } }
  for k, v in pairs(overrides or {}) do
    if v == NONE then spec[k] = nil else spec[k] = v end
  end
  return spec
end

-- With rules[3] set to `rule` (two good rules before it).
local function third(rule)
  return group{ rules = { tcp(22, 22), rules.ping(), rule } }
end

local function expect_invalid(spec, field, words, opts)
  local ok, err = sg_validate.security_group(spec, opts)
  assert.is_nil(ok, field)
  assert.is_true(errors.is(err), field)
  assert.equal("validation", err.kind)
  assert.equal(field, err.field)
  for _, w in ipairs(words or {}) do
    assert.truthy(err.message:find(w, 1, true), field .. ": '" .. w .. "' not in: " .. err.message)
  end
  return err
end

describe("sg_validate.security_group", function()
  it("accepts valid specs", function()
    local valid = {
      group(),
      group{ description = NONE },
      group{ region = "ARC-IS-HAF-1" },            -- unknown top-level fields pass through
      group{ rules = { rules.ssh() } },
      group{ rules = { tcp(22.0, 22.0) } },         -- whole floats are integers
      group{ rules = { tcp(1, 65535), tcp() } },
      group{ rules = { { protocol = "udp", direction = "egress" } } },
      group{ rules = { rules.ping(), rules.egress.all(), rules.ingress.udp(51820) } },
    }
    for i, spec in ipairs(valid) do
      local ok, err = sg_validate.security_group(spec)
      assert.is_true(ok, "case " .. i .. ": " .. tostring(err))
    end
  end)

  -- Each invalid case: spec, expected field, words the message must hold.
  local invalid = {
    { group{ name = NONE }, "name", { "string", "nothing" } },
    { group{ name = 42 }, "name", { "string", "42" } },
    { group{ name = "" }, "name", { "empty" } },
    { group{ name = "   " }, "name", { "empty" } },
    { group{ name = "default" }, "name", { '"default"', "reserved" } },
    { group{ name = "standard" }, "name", { '"standard"', "reserved" } },
    { group{ description = 7 }, "description", { "string", "7" } },
    { group{ description = false }, "description", { "string" } },
    { group{ rules = NONE }, "rules", { "list" } },
    { group{ rules = "ingress tcp 22" }, "rules", { "list", '"ingress tcp 22"' } },
    { group{ rules = {} }, "rules", { "at least one" } },
    { group{ rules = { [1] = tcp(22, 22), [3] = tcp(80, 80) } }, "rules", { "holes", "rules[2]" } },
    { group{ rules = { tcp(22, 22), ssh = tcp(22, 22) } }, "rules", { '"ssh"' } },
    { group{ rules = { [0] = tcp(22, 22) } }, "rules", { "key 0" } },
    { third("ingress tcp 22"), "rules[3]", { "rule table", "rules.parse" } },
    { third{ protocol = "tcpp", direction = "ingress" }, "rules[3].protocol", { "tcp, udp, icmp, all", '"tcpp"' } },
    { third{ direction = "ingress" }, "rules[3].protocol", { "nothing" } },
    { third{ protocol = "tcp", direction = "inbound" }, "rules[3].direction", { "ingress, egress", '"inbound"' } },
    { third{ protocol = "tcp", direction = "ingress", port = 22 }, "rules[3].port", { 'unknown key "port"' } },
    { third{ protocol = "tcp", direction = "ingress", port = 22, cidr = "0.0.0.0/0" }, "rules[3].cidr",
      { "unknown keys", '"cidr"', '"port"' } },
    { third(tcp(0, 22)), "rules[3].port_range_min", { "1 to 65535", "0" } },
    { third(tcp(22, 70000)), "rules[3].port_range_max", { "1 to 65535", "70000" } },
    { third(tcp(22.5, 23)), "rules[3].port_range_min", { "whole number", "22.5" } },
    { third(tcp("22", "22")), "rules[3].port_range_min", { '"22"' } },
    { third(tcp(0 / 0, 22)), "rules[3].port_range_min", { "NaN" } },
    { third(tcp(math.huge, math.huge)), "rules[3].port_range_min", { "whole number" } },
    { third(tcp(8085, 8080)), "rules[3].port_range_min", { "8085", "8080", "greater" } },
    { third(tcp(22, nil)), "rules[3].port_range_max", { "missing", "22" } },
    { third(tcp(nil, 22)), "rules[3].port_range_min", { "missing", "22" } },
    { third{ protocol = "icmp", direction = "ingress", port_range_min = 8, port_range_max = 8 },
      "rules[3].port_range_min", { '"icmp"', "no ports" } },
    { third{ protocol = "all", direction = "egress", port_range_max = 8 }, "rules[3].port_range_max",
      { '"all"', "no ports" } },
    { "web", "spec", { "table" } },
  }

  it("rejects each invalid case with its field and words", function()
    for _, case in ipairs(invalid) do
      expect_invalid(case[1], case[2], case[3])
    end
  end)

  it("puts the offending value on the error", function()
    local err = expect_invalid(third(tcp(22, 70000)), "rules[3].port_range_max")
    assert.equal(70000, err.value)
    err = expect_invalid(group{ name = "default" }, "name")
    assert.equal("default", err.value)
  end)

  it("prints one line starting with genesiscloud:", function()
    local _, err = sg_validate.security_group(third(tcp(22, 70000)))
    local line = tostring(err)
    assert.truthy(line:find("^genesiscloud: "))
    assert.is_nil(line:find("\n"))
    assert.truthy(line:find("rules[3].port_range_max", 1, true))
  end)

  describe("partial (PATCH)", function()
    it("allows name and rules to be left out", function()
      assert.is_true(sg_validate.security_group({ description = "x" }, { partial = true }))
      assert.is_true(sg_validate.security_group({}, { partial = true }))
      expect_invalid({ description = "x" }, "name", nil)
    end)

    it("still checks what is present", function()
      expect_invalid({ name = "default" }, "name", { "reserved" }, { partial = true })
      expect_invalid({ rules = {} }, "rules", { "at least one" }, { partial = true })
      expect_invalid({ rules = { tcp(1, 99999) } }, "rules[1].port_range_max", nil, { partial = true })
      expect_invalid({ description = 1 }, "description", nil, { partial = true })
    end)
  end)
end)

describe("validate.list_query", function()
  it("accepts good queries", function()
    local good = { {}, { page = 1 }, { per_page = 1 }, { per_page = 100, page = 9 }, { page = 2.0 }, { extra = "x" } }
    for _, q in ipairs(good) do
      assert.is_true(validate.list_query(q))
    end
    assert.is_true(validate.list_query(nil))
  end)

  it("rejects bad ones, naming the field", function()
    local cases = {
      { { page = 0 }, "page" }, { { page = -1 }, "page" }, { { page = 1.5 }, "page" }, { { page = "2" }, "page" },
      { { per_page = 0 }, "per_page" }, { { per_page = 101 }, "per_page" }, { { per_page = 10.5 }, "per_page" },
      { "page=1", "query" },
    }
    for _, case in ipairs(cases) do
      local ok, err = validate.list_query(case[1])
      assert.is_nil(ok, case[2])
      assert.equal("validation", err.kind)
      assert.equal(case[2], err.field)
    end
    local _, err = validate.list_query{ per_page = 500 }
    assert.truthy(err.message:find("per_page must be a whole number from 1 to 100, got 500", 1, true))
  end)
end)

describe("generic checkers", function()
  it("is_integer follows whole numbers on every Lua", function()
    assert.is_true(validate.is_integer(3))
    assert.is_true(validate.is_integer(3.0))
    assert.is_false(validate.is_integer(3.5))
    assert.is_false(validate.is_integer("3"))
    assert.is_false(validate.is_integer(0 / 0))
    assert.is_false(validate.is_integer(math.huge))
  end)

  it("string, integer, enum and array report the field", function()
    local _, err = validate.string(nil, "x.name")
    assert.equal("x.name", err.field)
    assert.is_true(validate.string(nil, "x", { optional = true }))
    _, err = validate.integer(5, "count", { min = 10 })
    assert.truthy(err.message:find("at least 10", 1, true))
    _, err = validate.integer(50, "count", { max = 10 })
    assert.truthy(err.message:find("at most 10", 1, true))
    assert.is_true(validate.enum("b", "letter", { "a", "b" }))
    _, err = validate.enum("c", "letter", { "a", "b" })
    assert.equal("letter", err.field)
    assert.is_true(validate.array({}, "list"))
    _, err = validate.array({}, "list", { non_empty = true })
    assert.equal("list", err.field)
  end)

  it("known_keys names every unknown key", function()
    local _, err = validate.known_keys({ a = 1, z = 2, y = 3 }, "thing", { "a" })
    assert.equal("thing.y", err.field)
    assert.equal(3, err.value)
    assert.truthy(err.message:find('unknown keys "y", "z"', 1, true))
  end)
end)
