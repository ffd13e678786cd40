local json = require "genesiscloud.json"
local cjson = require "cjson"

describe("genesiscloud.json", function()
  it("sends an empty list as [] and an empty marked object as {}", function()
    assert.are.equal('{"rules":[]}', json.encode{ rules = {} })
    assert.are.equal('{}', json.encode(setmetatable({}, json.object_mt)))
  end)

  it("encodes objects with sorted keys and integers without a fraction", function()
    assert.are.equal('{"a":1,"b":[22,2.5],"c":"x\\"y"}',
      json.encode{ c = 'x"y', b = { 22, 2.5 }, a = 1 })
  end)

  it("leaves out fields set to null, so absent and null mean the same", function()
    assert.are.equal('{"protocol":"icmp"}', json.encode{ protocol = "icmp", port_range_min = cjson.null })
  end)

  it("keeps fields it does not know", function()
    assert.are.equal('{"name":"a","region":"NORD-NO-KRS-1"}',
      json.encode{ name = "a", region = "NORD-NO-KRS-1" })
  end)

  it("refuses what JSON cannot hold", function()
    assert.is_nil((json.encode{ f = print }))
    assert.is_nil((json.encode{ [1] = 1, [3] = 3 }))
    assert.is_nil((json.encode{ [true] = 1 }))
    assert.is_nil((json.encode{ n = 0 / 0 }))
    local deep = {}
    local t = deep
    for _ = 1, 100 do t[1] = {}; t = t[1] end
    local ok, err = json.encode(deep)
    assert.is_nil(ok)
    assert.matches("nested", err)
  end)

  it("decodes to plain Lua: no cjson.null, integers for whole numbers", function()
    local v = json.decode('{"port_range_min":null,"port_range_max":443}')
    assert.is_nil(v.port_range_min)
    assert.are.equal(443, v.port_range_max)
    if math.type then assert.are.equal("integer", math.type(v.port_range_max)) end
  end)

  it("refuses invalid and too deeply nested JSON with a message", function()
    local v, err = json.decode("{nope")
    assert.is_nil(v); assert.is_string(err)
    v, err = json.decode(string.rep("[", 200) .. string.rep("]", 200))
    assert.is_nil(v); assert.matches("nested", err)
  end)

  it("leaves the host program's cjson settings alone", function()
    assert.are.equal(1000, cjson.decode_max_depth())
  end)
end)
