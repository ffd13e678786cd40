local rules = require "genesiscloud.rules"
local errors = require "genesiscloud.errors"

local function plain(rule)
  local t = {}
  for k, v in pairs(rule) do t[k] = v end
  return t
end

describe("rules builders", function()
  it("build single-port, range and all-port tcp rules", function()
    assert.same({ protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
      plain(rules.ingress.tcp(22)))
    assert.same({ protocol = "tcp", direction = "ingress", port_range_min = 8080, port_range_max = 8085 },
      plain(rules.ingress.tcp(8080, 8085)))
    assert.same({ protocol = "tcp", direction = "ingress" }, plain(rules.ingress.tcp()))
  end)

  it("build udp, icmp and all rules in both directions", function()
    assert.same({ protocol = "udp", direction = "ingress", port_range_min = 51820, port_range_max = 51820 },
      plain(rules.ingress.udp(51820)))
    assert.same({ protocol = "icmp", direction = "ingress" }, plain(rules.ingress.icmp()))
    assert.same({ protocol = "all", direction = "egress" }, plain(rules.egress.all()))
    assert.same({ protocol = "all", direction = "ingress" }, plain(rules.ingress.all()))
    assert.same({ protocol = "udp", direction = "egress", port_range_min = 53, port_range_max = 53 },
      plain(rules.egress.udp(53)))
    assert.same({ protocol = "tcp", direction = "egress", port_range_min = 1, port_range_max = 1024 },
      plain(rules.egress.tcp(1, 1024)))
    assert.same({ protocol = "icmp", direction = "egress" }, plain(rules.egress.icmp()))
  end)

  it("have presets", function()
    assert.same(plain(rules.ingress.tcp(22)), plain(rules.ssh()))
    assert.same(plain(rules.ingress.tcp(80)), plain(rules.http()))
    assert.same(plain(rules.ingress.tcp(443)), plain(rules.https()))
    assert.same(plain(rules.ingress.icmp()), plain(rules.ping()))
  end)

  it("return tables holding only the four rule keys, metatable with only __tostring", function()
    local r = rules.ingress.tcp(8080, 8085)
    for k in pairs(r) do
      assert.is_true(k == "protocol" or k == "direction" or k == "port_range_min" or k == "port_range_max", k)
    end
    local mt = getmetatable(r)
    for k in pairs(mt) do assert.equal("__tostring", k) end
    assert.equal("ingress tcp 8080-8085", tostring(r))
  end)

  it("raise on bad ports, naming the problem", function()
    local cases = {
      { function() return rules.ingress.tcp(0) end, "port_range_min" },
      { function() return rules.ingress.tcp(70000) end, "65535" },
      { function() return rules.ingress.tcp(22.5) end, "whole number" },
      { function() return rules.ingress.tcp("22") end, '"22"' },
      { function() return rules.ingress.udp(90, 80) end, "greater" },
      { function() return rules.ingress.tcp(nil, 80) end, "port_range_min is missing" },
      { function() return rules.ingress.icmp(8) end, "takes no ports" },
      { function() return rules.egress.all(1, 2) end, "takes no ports" },
    }
    for i, case in ipairs(cases) do
      local ok, err = pcall(case[1])
      assert.is_false(ok, "case " .. i)
      assert.truthy(tostring(err):find(case[2], 1, true), "case " .. i .. ": " .. tostring(err))
    end
  end)

  it("accept a whole float port", function()
    assert.equal("ingress tcp 22", tostring(rules.ingress.tcp(22.0)))
  end)
end)

describe("rules.format", function()
  it("formats plain tables such as API results", function()
    assert.equal("ingress tcp 22",
      rules.format{ protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 })
    assert.equal("ingress tcp 8080-8085",
      rules.format{ protocol = "tcp", direction = "ingress", port_range_min = 8080.0, port_range_max = 8085.0 })
    assert.equal("ingress tcp", rules.format{ protocol = "tcp", direction = "ingress" })
    assert.equal("egress all", rules.format{ protocol = "all", direction = "egress" })
    assert.equal("ingress icmp", rules.format{ protocol = "icmp", direction = "ingress", id = "x" })
  end)

  it("does its best on broken tables and raises on a non-table", function()
    assert.equal("? tcp 22-", rules.format{ protocol = "tcp", port_range_min = 22 })
    assert.has_error(function() rules.format("ingress tcp 22") end)
  end)
end)

describe("rules.parse", function()
  local good = {
    ["ingress tcp 22"] = { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
    ["ingress tcp 8080-8085"] =
      { protocol = "tcp", direction = "ingress", port_range_min = 8080, port_range_max = 8085 },
    ["ingress tcp"] = { protocol = "tcp", direction = "ingress" },
    ["ingress udp 53"] = { protocol = "udp", direction = "ingress", port_range_min = 53, port_range_max = 53 },
    ["ingress icmp"] = { protocol = "icmp", direction = "ingress" },
    ["egress all"] = { protocol = "all", direction = "egress" },
    ["  EGRESS   Udp  1-65535 "] =
      { protocol = "udp", direction = "egress", port_range_min = 1, port_range_max = 65535 },
  }

  it("reads every form", function()
    for text, want in pairs(good) do
      local rule, err = rules.parse(text)
      assert.is_nil(err, text)
      assert.same(want, plain(rule), text)
    end
  end)

  it("round-trips with format", function()
    for _, r in ipairs{ rules.ssh(), rules.ingress.tcp(8080, 8085), rules.ingress.tcp(), rules.ingress.udp(51820),
                        rules.ping(), rules.egress.all(), rules.egress.tcp(1, 65535) } do
      assert.same(plain(r), plain(assert(rules.parse(rules.format(r)))))
    end
    for _, text in ipairs{ "ingress tcp 22", "ingress tcp 8080-8085", "egress all",
                           "ingress icmp", "ingress udp 53" } do
      assert.equal(text, tostring(assert(rules.parse(text))))
    end
  end)

  it("returns nil, err naming what is wrong", function()
    local bad = {
      [""] = "empty",
      ["   "] = "empty",
      ["sideways tcp 22"] = '"sideways"',
      ["ingress"] = "protocol is missing",
      ["ingress tcpp 22"] = '"tcpp"',
      ["ingress tcp 22 extra"] = '"extra"',
      ["ingress tcp x"] = '"x" is not a port',
      ["ingress tcp 0"] = "out of range",
      ["ingress tcp 70000"] = "out of range",
      ["ingress tcp 8085-8080"] = "backwards",
      ["ingress tcp 80-"] = "is not a port",
      ["ingress tcp -80"] = "is not a port",
      ["ingress tcp 1-2-3"] = "is not a port",
      ["ingress tcp 22.5"] = "is not a port",
      ["ingress icmp 8"] = "takes no ports",
      ["egress all 1-2"] = "takes no ports",
    }
    for text, expected in pairs(bad) do
      local rule, err = rules.parse(text)
      assert.is_nil(rule, text)
      assert.is_true(errors.is(err), text)
      assert.equal("validation", err.kind)
      assert.equal(text, err.value)
      assert.truthy(err.message:find(expected, 1, true), text .. " -> " .. err.message)
    end
  end)

  it("raises on a non-string", function()
    assert.has_error(function() rules.parse(22) end)
  end)
end)

describe("rule sets", function()
  local ssh, web, all_tcp = rules.ssh(), rules.ingress.tcp(8080, 8085), rules.ingress.tcp()
  local explicit_all = { protocol = "tcp", direction = "ingress", port_range_min = 1, port_range_max = 65535 }

  it("normalize sorts, removes duplicates and drops extra keys", function()
    local n = rules.normalize{ rules.egress.all(), web, ssh, ssh,
      { protocol = "tcp", direction = "ingress", port_range_min = 22.0, port_range_max = 22.0, id = "r1" } }
    assert.equal(3, #n)
    assert.same({ "egress all", "ingress tcp 22", "ingress tcp 8080-8085" },
      { tostring(n[1]), tostring(n[2]), tostring(n[3]) })
    assert.is_nil(n[2].id)
  end)

  it("normalize sorts ports by value, not text", function()
    local n = rules.normalize{ rules.ingress.tcp(443), rules.ingress.tcp(80), rules.ingress.tcp(8080) }
    assert.same({ "ingress tcp 80", "ingress tcp 443", "ingress tcp 8080" },
      { tostring(n[1]), tostring(n[2]), tostring(n[3]) })
  end)

  it("normalize treats 1-65535 as all ports and drops ports on icmp/all", function()
    local icmp_zero = { protocol = "icmp", direction = "ingress", port_range_min = 0, port_range_max = 0 }
    local n = rules.normalize{ explicit_all, all_tcp, icmp_zero }
    assert.equal(2, #n)
    assert.same({ protocol = "icmp", direction = "ingress" }, plain(n[1]))
    assert.same({ protocol = "tcp", direction = "ingress" }, plain(n[2]))
  end)

  it("equal ignores order and duplicates", function()
    assert.is_true(rules.equal({ ssh, web }, { web, ssh, ssh }))
    assert.is_true(rules.equal({ all_tcp }, { explicit_all }))
    assert.is_true(rules.equal({}, {}))
    assert.is_false(rules.equal({ ssh }, { ssh, web }))
    assert.is_false(rules.equal({ rules.ingress.tcp(22) }, { rules.ingress.udp(22) }))
    assert.is_false(rules.equal({ rules.ingress.tcp(22) }, { rules.egress.tcp(22) }))
    assert.is_false(rules.equal({ rules.ingress.tcp(22) }, { rules.ingress.tcp(22, 23) }))
  end)

  it("diff lists what to add and remove", function()
    local d = rules.diff({ ssh, rules.ping(), explicit_all }, { web, ssh, all_tcp, rules.https() })
    assert.same({ "ingress tcp 443", "ingress tcp 8080-8085" }, { tostring(d.add[1]), tostring(d.add[2]) })
    assert.equal(2, #d.add)
    assert.equal(1, #d.remove)
    assert.equal("ingress icmp", tostring(d.remove[1]))
  end)

  it("diff of equal sets is empty", function()
    local d = rules.diff({ ssh, web }, { web, ssh })
    assert.same({ add = {}, remove = {} }, d)
  end)
end)

describe("rules set operations given what is not a list of rules", function()
  it("raise a bad argument naming the function, the argument and the item", function()
    local cases = {
      { function() rules.normalize{ 5 } end,
        "bad argument #1 to 'rules.normalize' (rules expected, got number at 1)" },
      { function() rules.diff({}, { rules.ssh(), "ingress tcp 22" }) end,
        "bad argument #2 to 'rules.diff' (rules expected, got string at 2)" },
      { function() rules.diff(5, {}) end, "bad argument #1 to 'rules.diff' (table expected, got number)" },
      { function() rules.equal({}, { true }) end,
        "bad argument #2 to 'rules.equal' (rules expected, got boolean at 1)" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      assert.matches("rules_spec.lua:%d+: ", err)
      assert.is_truthy(err:find(case[2], 1, true), err)
    end
  end)

  it("read a list's own items only, so a list whose __index never ends still ends", function()
    local endless = setmetatable({ rules.ssh() }, { __index = function() return rules.http() end })
    assert.same({ "ingress tcp 22" }, (function()
      local out = {}
      for i, r in ipairs(rules.normalize(endless)) do out[i] = rules.format(r) end
      return out
    end)())
  end)
end)
