-- core.decode (src/json_decode.c): strict RFC 8259 JSON straight to plain
-- Lua, with the results cjson.decode + core_testing.clean gave: `null` leaves a
-- field absent or a hole in a list, whole numbers are integers (5.3+).
-- Stricter than cjson in two ways: strings must be valid UTF-8, and a
-- number beyond the range of a double is refused rather than made infinite.
-- The last block decodes thousands of random documents with both and
-- compares.
--
-- Lua 5.1/5.2 and LuaJIT have no integers: there math.type is nil and only
-- values are compared. Byte escapes are decimal ("\195\169"), which every
-- version reads.
local core = require "genesiscloud.core"
local testing = require "genesiscloud.core_testing"
local json = require "genesiscloud.json"
local cjson_safe = require "cjson.safe"

local decode = core.decode
local mtype = math.type
local MAX_SAFE = 2 ^ 53

-- "integer", "float" or nil (no integers in this Lua, or not a number).
local function ntype(v)
  if mtype and type(v) == "number" then return mtype(v) end
  return nil
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then return string.format("%.17g", v) .. (ntype(v) and "(" .. ntype(v) .. ")" or "") end
  return tostring(v)
end

-- Deep comparison, math.type of numbers included; true or false + where.
-- With loose_ints, an integer beyond 2^53 is the same as a number that
-- rounds to the same double (cjson reads every number as a double,
-- core.decode reads every integer that fits in 64 bits exactly).
local function same(a, b, path, loose_ints)
  path = path or "value"
  if type(a) ~= type(b) then
    return false, path .. ": " .. show(a) .. " vs " .. show(b)
  end
  if type(a) == "number" then
    if ntype(a) ~= ntype(b) or a ~= b then
      if loose_ints and (ntype(a) == "integer" or ntype(b) == "integer")
          and math.abs(a + 0.0) >= MAX_SAFE and a + 0.0 == b + 0.0 then
        return true
      end
      return false, path .. ": " .. show(a) .. " vs " .. show(b)
    end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, path .. ": " .. show(a) .. " vs " .. show(b) end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "[" .. show(k) .. "]", loose_ints)
    if not ok then return false, why end
  end
  for k, v in pairs(b) do
    if a[k] == nil then return false, path .. "[" .. show(k) .. "]: absent vs " .. show(v) end
  end
  return true
end

local function assert_same(expected, actual, context)
  local ok, why = same(expected, actual)
  assert(ok, (context and context .. ": " or "") .. tostring(why))
end

-- cjson.decode + core_testing.clean, the pair core.decode replaces, on a private
-- instance as deep as core.decode's default.
local cjson = cjson_safe.new()
cjson.decode_max_depth(1000)
local function reference(text)
  local v, err = cjson.decode(text)
  if v == nil then return nil, err end
  return testing.clean(v)
end

-- Whether a value cjson gave holds an infinity (a number core.decode refuses).
local function has_inf(v)
  if type(v) == "number" then return v == math.huge or v == -math.huge end
  if type(v) == "table" then
    for k, x in pairs(v) do
      if has_inf(k) or has_inf(x) then return true end
    end
  end
  return false
end

local function nest(n, open, close, inner)
  return string.rep(open, n) .. (inner or "") .. string.rep(close, n)
end

describe("genesiscloud.core.decode", function()
  it("is what json.decode uses, with json.MAX_DEPTH", function()
    assert.is_function(decode)
    assert_same({ a = 1, b = { 2, 3 } }, json.decode('{"a":1,"b":[2,3],"c":null}'))
    assert.are.equal(64, json.MAX_DEPTH)
  end)

  describe("valid JSON", function()
    -- { text, expected value }: integer literals here are integers on 5.3+,
    -- so the comparison checks math.type too.
    local cases = {
      { "true", true },
      { "false", false },
      { "0", 0 },
      { "443", 443 },
      { "-7", -7 },
      { "443.0", 443 },
      { "4.43e2", 443 },
      { "4.43E+2", 443 },
      { "44300e-2", 443 },
      { "1.5", 1.5 },
      { "-2.25", -2.25 },
      { "0.1", 0.1 },
      { "1e-7", 1e-7 },
      { "1E2", 100 },
      { "1e+2", 100 },
      { '""', "" },
      { '"abc"', "abc" },
      { '"caf\195\169 \226\130\172 \240\159\152\128"', "caf\195\169 \226\130\172 \240\159\152\128" },
      { '"\127"', "\127" },                  -- DEL is not a control character in JSON
      { "[]", {} },
      { "{}", {} },
      { "[[]]", { {} } },
      { '{"a":{}}', { a = {} } },
      { "[1,2,3]", { 1, 2, 3 } },
      { '["a",true,false,1.5]', { "a", true, false, 1.5 } },
      { '{"a":1,"b":"x","c":[true]}', { a = 1, b = "x", c = { true } } },
      { '{"":0}', { [""] = 0 } },
      { '{"1":"one"}', { ["1"] = "one" } },
      { '{"a":1,"a":2}', { a = 2 } },
      { '{"security_group":{"id":"d90f","rules":[{"port_range_min":22,"port_range_max":null}]}}',
        { security_group = { id = "d90f", rules = { { port_range_min = 22 } } } } },
    }
    for _, case in ipairs(cases) do
      it("decodes " .. case[1], function()
        local v, err = decode(case[1])
        assert.is_nil(err)
        assert_same(case[2], v, case[1])
        assert_same(case[2], json.decode(case[1]), "json.decode " .. case[1])
      end)
    end

    it("makes whole numbers integers and the rest floats (Lua 5.3+)", function()
      if not mtype then return pending("no integers before Lua 5.3") end
      for _, text in ipairs{ "0", "443", "-443", "443.0", "4.43e2", "44300e-2", "1E2", "-0", "-0.0", "0e5" } do
        assert.are.equal("integer", mtype(decode(text)), text)
      end
      for _, text in ipairs{ "1.5", "0.1", "-2.25", "1e-7", "4.435e2", "1e308", "1e20", "18446744073709551616" } do
        assert.are.equal("float", mtype(decode(text)), text)
      end
      local v = decode('{"p":443,"f":2.5,"l":[22.0,{"c":3e0}]}')
      assert.are.equal("integer", mtype(v.p))
      assert.are.equal("float", mtype(v.f))
      assert.are.equal("integer", mtype(v.l[1]))
      assert.are.equal("integer", mtype(v.l[2].c))
    end)
  end)

  describe("null", function()
    it("leaves an object field absent", function()
      local v = decode('{"a":null,"b":1}')
      assert.is_nil(v.a)
      assert.are.equal(1, v.b)
      assert.is_nil(next(decode('{"a":null}')))
    end)

    it("lets a later duplicate key win, null included", function()
      assert.is_nil(decode('{"a":1,"a":null}').a)
      assert.are.equal(1, decode('{"a":null,"a":1}').a)
      assert.are.equal("z", decode('{"a":{"x":1},"a":null,"a":"z"}').a)
      assert_same({ a = { 2 } }, decode('{"a":[1],"a":[2]}'))
    end)

    it("leaves holes in a list", function()
      local v = decode("[1,null,3]")
      assert.are.equal(1, v[1]); assert.is_nil(v[2]); assert.are.equal(3, v[3])
      assert_same({ [1] = 1, [3] = 3 }, v)
      assert_same({ [2] = "b" }, decode('[null,"b",null]'))
      assert_same({}, decode("[null]"))
      assert_same({}, decode("[null,null]"))
      assert_same({ [3] = { [2] = true } }, decode("[null,null,[null,true]]"))
    end)

    it("marks a list that held a null, even a trailing one, and no other", function()
      assert.is_table(core.list_with_nulls)
      for _, text in ipairs{ "[null]", "[1,null]", "[null,1]", "[{},null,{}]" } do
        assert.are.equal(core.list_with_nulls, getmetatable(decode(text)), text)
      end
      for _, text in ipairs{ "[]", "[1,2]", '[{"a":null}]', '{"a":null}' } do
        assert.is_nil(getmetatable(decode(text)), text)
      end
      local v = decode('{"l":[[null],[1]]}')
      assert.are.equal(core.list_with_nulls, getmetatable(v.l[1]))
      assert.is_nil(getmetatable(v.l[2]))
      assert.is_nil(getmetatable(v.l))
    end)

    it("at the top returns nil and no message", function()
      local n, v, err = select("#", decode("null")), decode("null")
      assert.are.equal(1, n)
      assert.is_nil(v); assert.is_nil(err)
      assert.are.equal(1, select("#", decode(" \n null\t")))
      assert.are.equal(1, select("#", json.decode("null")))
    end)
  end)

  describe("strings", function()
    it("turns every simple escape into its byte", function()
      assert.are.equal('"\\/\8\12\n\r\t', decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'))
      assert.are.equal("a\nb", decode('"a\\nb"'))
      assert.are.equal("x\\", decode('"x\\\\"'))
    end)

    it("turns \\u escapes into UTF-8, \\u0000 into a NUL byte", function()
      local v = decode('"\\u0000"')
      assert.are.equal(1, #v); assert.are.equal(0, v:byte())
      assert.are.equal("a\0b", decode('"a\\u0000b"'))
      assert.are.equal("A", decode('"\\u0041"'))
      assert.are.equal("\31", decode('"\\u001f"'))
      assert.are.equal("\127", decode('"\\u007F"'))
      assert.are.equal("\194\128", decode('"\\u0080"'))
      assert.are.equal("\195\169", decode('"\\u00e9"'))
      assert.are.equal("\195\169", decode('"\\u00E9"'))
      assert.are.equal("\223\191", decode('"\\u07ff"'))
      assert.are.equal("\224\160\128", decode('"\\u0800"'))
      assert.are.equal("\226\130\172", decode('"\\u20AC"'))
      assert.are.equal("\237\159\191", decode('"\\ud7ff"'))
      assert.are.equal("\238\128\128", decode('"\\ue000"'))
      assert.are.equal("\239\191\191", decode('"\\uFFFF"'))
    end)

    it("joins a surrogate pair into one 4-byte UTF-8 character", function()
      assert.are.equal("\240\159\152\128", decode('"\\ud83d\\ude00"'))  -- U+1F600
      assert.are.equal("\240\144\128\128", decode('"\\uD800\\uDC00"'))  -- U+10000
      assert.are.equal("\244\143\191\191", decode('"\\udbff\\udfff"'))  -- U+10FFFF
      assert.are.equal("x\240\159\152\128y", decode('"x\\ud83d\\ude00y"'))
    end)

    it("mixes escapes and plain runs, in keys too", function()
      local v = decode('{"k\\u00e9y":"a\\tb\\u0041c\\"d","plain":"\\n"}')
      assert_same({ ["k\195\169y"] = "a\tbAc\"d", plain = "\n" }, v)
      local long = string.rep("x", 5000)
      assert.are.equal(long .. "\n" .. long, decode('"' .. long .. "\\n" .. long .. '"'))
    end)

    -- The scanner reads eight bytes at a time while they lie inside the
    -- text: the end of a string, an escape or a control character must be
    -- found at every offset in a word, next to bytes of 0x80 and above,
    -- and at the end of the text where the last word is short.
    it("finds quotes, escapes and control characters at every offset of a word", function()
      -- whole characters of 1 to 4 bytes, topped up with "a" to len bytes
      local fill = { "a", "\195\169", "\226\130\172", "\240\159\152\128", " ", "~" }
      for _, byte in ipairs(fill) do
        for len = 0, 26 do
          local whole = math.floor(len / #byte)
          local run = string.rep(byte, whole) .. string.rep("a", len - whole * #byte)
          for lead = 0, 9 do
            local pad = string.rep(" ", lead)
            local where = ("fill %q, length %d, lead %d"):format(byte, len, lead)
            assert.are.equal(run, decode(pad .. '"' .. run .. '"'), where)
            assert.are.equal(run .. "\n" .. run, decode(pad .. '"' .. run .. "\\n" .. run .. '"'), where)
            assert.are.equal(run .. '"', decode(pad .. '"' .. run .. '\\""'), where)
            local v, err = decode(pad .. '"' .. run .. "\31" .. run .. '"')
            assert.is_nil(v, where)
            assert.are.equal("control character in a string at character " .. (lead + len + 2), err, where)
            v, err = decode(pad .. '"' .. run .. "\0" .. '"')
            assert.is_nil(v, where)
            assert.are.equal("control character in a string at character " .. (lead + len + 2), err, where)
            v, err = decode(pad .. '"' .. run)
            assert.is_nil(v, where)
            assert.are.equal("unterminated string at character " .. (lead + len + 2), err, where)
            for _, bad in ipairs{ "\255", "\128", "\192\175", "\237\160\128", "\226\130" } do
              v, err = decode(pad .. '"' .. run .. bad .. '"')
              assert.is_nil(v, where)
              assert.are.equal("invalid UTF-8 in a string at character " .. (lead + len + 2), err,
                where .. (" then %q"):format(bad))
              v, err = decode(pad .. '"' .. run .. "\\n" .. bad .. '"')
              assert.is_nil(v, where)
              assert.are.equal("invalid UTF-8 in a string at character " .. (lead + len + 4), err,
                where .. (" then \\n%q"):format(bad))
            end
            assert_same({ [run] = run }, decode(pad .. '{"' .. run .. '":"' .. run .. '"}'))
          end
        end
      end
    end)
  end)

  describe("numbers", function()
    it("reads negative zero as zero", function()
      assert.are.equal(0, decode("-0"))
      assert.are.equal(0, decode("-0.0"))
      assert.are.equal(0, decode("-0e3"))
      if mtype then
        assert.are.equal("integer", mtype(decode("-0")))
        assert.are.equal("integer", mtype(decode("-0.0")))
      end
    end)

    -- JSON has no infinity: a number a double cannot hold is refused, with
    -- its position. One too small for a double is 0, as any rounding.
    local function refused_at(text, at)
      local v, err = decode(text)
      assert.is_nil(v, text)
      assert.are.equal("number out of the range of a double at character " .. at, err)
    end

    it("reads exponents, and refuses numbers beyond the range of a double", function()
      assert.are.equal(1e300, decode("1e300"))
      assert.are.equal(1.7976931348623157e308, decode("1.7976931348623157e308"))
      refused_at("1e400", 1)
      refused_at("-1e400", 1)
      refused_at("1" .. string.rep("0", 400), 1)
      refused_at("1.7976931348623159e308", 1)
      refused_at('{"a":[1, 2e308]}', 10)
      assert.are.equal(0, decode("1e-400"))
      assert.are.equal(5e-324, decode("5e-324"))
      assert.are.equal(123.456, decode("123456e-3"))
      assert.are.equal(100, decode("1e0002"))
    end)

    it("keeps integers of up to 18 digits exact (Lua 5.3+)", function()
      if not mtype then return pending("no integers before Lua 5.3") end
      -- cjson reads these as doubles: 123456789012345680 and 9007199254740992
      for _, n in ipairs{ 123456789012345678, -123456789012345678, 999999999999999999,
                          -999999999999999999, 9007199254740993, 100000000000000001 } do
        local v = decode(tostring(n))
        assert.are.equal("integer", mtype(v), tostring(n))
        assert.are.equal(n, v)
      end
    end)

    it("refuses exponents beyond 2^20 or reads them as zeros (LuaJIT's tonumber refuses them)", function()
      refused_at("1e1048576", 1)
      refused_at("-1e1048576", 1)
      refused_at("[2.5E+4597827743]", 2)
      assert.are.equal(0, decode("1e-1048576"))
      assert.are.equal(0, decode("0e1048576"))
    end)

    it("reads every integer that fits in 64 bits exactly, larger ones as doubles", function()
      if mtype then
        assert.are.equal(1234567890123456789, decode("1234567890123456789"))
        assert.are.equal(math.maxinteger, decode("9223372036854775807"))
        assert.are.equal(math.mininteger, decode("-9223372036854775808"))
        assert.are.equal("integer", mtype(decode("9223372036854775807")))
        assert.are.equal("integer", mtype(decode("-9223372036854775808")))
        -- one past the largest: a float, as Lua itself reads it
        assert.are.equal("float", mtype(decode("9223372036854775808")))
        assert.are.equal("float", mtype(decode("100000000000000000000")))
      end
      assert.are.equal(2 ^ 63, decode("9223372036854775808"))
      assert.are.equal(2 ^ 64, decode("18446744073709551616"))
      assert.are.equal(1e20, decode("100000000000000000000"))
      assert.are.equal(-1e25, decode("-10000000000000000000000000"))
    end)
  end)

  describe("invalid JSON", function()
    -- { text, phrase in the message, character position or nil }
    local cases = {
      { "", "unexpected end of JSON text", 1 },
      { "   ", "unexpected end of JSON text", 4 },
      { "nul", "expected a value", 1 },
      { "nulll", "unexpected text after the JSON value", 5 },
      { "True", "expected a value", 1 },
      { "truex", "unexpected text after the JSON value", 5 },
      { "NaN", "expected a value", 1 },
      { "-NaN", "invalid number", 2 },
      { "Infinity", "expected a value", 1 },
      { "-Infinity", "invalid number", 2 },
      { "[1e99,NaN]", "expected a value", 7 },
      { "[1e999,NaN]", "number out of the range of a double", 2 },
      { "-1e309", "number out of the range of a double", 1 },
      -- strings are UTF-8 (RFC 8259 8.1, RFC 3629): no stray continuation
      -- byte, no overlong form, no surrogate, nothing past U+10FFFF, no
      -- byte F5-FF, no sequence cut short
      { '"\128"', "invalid UTF-8 in a string", 2 },
      { '"ab\191"', "invalid UTF-8 in a string", 4 },
      { '"\192\175"', "invalid UTF-8 in a string", 2 },       -- overlong '/'
      { '"\193\191"', "invalid UTF-8 in a string", 2 },       -- overlong U+007F
      { '"\224\128\175"', "invalid UTF-8 in a string", 2 },  -- overlong 3-byte
      { '"\240\128\128\175"', "invalid UTF-8 in a string", 2 }, -- overlong 4-byte
      { '"\237\160\128"', "invalid UTF-8 in a string", 2 },  -- U+D800 encoded
      { '"\237\191\191"', "invalid UTF-8 in a string", 2 },  -- U+DFFF encoded
      { '"\244\144\128\128"', "invalid UTF-8 in a string", 2 }, -- U+110000
      { '"\245\128\128\128"', "invalid UTF-8 in a string", 2 },
      { '"\255"', "invalid UTF-8 in a string", 2 },
      { '"\254"', "invalid UTF-8 in a string", 2 },
      { '"x\226\130"', "invalid UTF-8 in a string", 3 },      -- cut before the quote
      { '"\226\130', "invalid UTF-8 in a string", 2 },        -- cut by the end
      { '"\240\159\152"', "invalid UTF-8 in a string", 2 },
      { '"\195"', "invalid UTF-8 in a string", 2 },
      { '"\195a"', "invalid UTF-8 in a string", 2 },
      { '{"\255":1}', "invalid UTF-8 in a string", 3 },        -- in a key
      { '"\\n\255"', "invalid UTF-8 in a string", 4 },       -- after an escape
      { "0x10", "unexpected text after the JSON value", 2 },
      { "01", "unexpected text after the JSON value", 2 },
      { "-01", "unexpected text after the JSON value", 3 },
      { "+1", "expected a value", 1 },
      { ".5", "expected a value", 1 },
      { "-", "invalid number", 2 },
      { "1.", "invalid number: no digit after '.'", 3 },
      { "1.e5", "invalid number: no digit after '.'", 3 },
      { "1e", "invalid number: no digit in the exponent", 3 },
      { "1e+", "invalid number: no digit in the exponent", 4 },
      { "[1,]", "expected a value", 4 },
      { "[,1]", "expected a value", 2 },
      { '{"a":1,}', "expected a string key", 8 },
      { "[1 2]", "expected ',' or ']' in a list", 4 },
      { "[1", "expected ',' or ']' in a list", 3 },
      { "[", "unexpected end of JSON text", 2 },
      { "{", "expected a string key", 2 },
      { '{"a" 1}', "expected ':' after a key", 6 },
      { '{"a":1 "b":2}', "expected ',' or '}' in an object", 8 },
      { '{"a":1', "expected ',' or '}' in an object", 7 },
      { '{"a":', "unexpected end of JSON text", 6 },
      { "{a:1}", "expected a string key", 2 },
      { "{'a':1}", "expected a string key", 2 },
      { "{1:1}", "expected a string key", 2 },
      { "[1]]", "unexpected text after the JSON value", 4 },
      { "{}}", "unexpected text after the JSON value", 3 },
      { "1 2", "unexpected text after the JSON value", 3 },
      { "// c\n1", "expected a value", 1 },
      { "/* c */ 1", "expected a value", 1 },
      { "[1 /* c */]", "expected ',' or ']' in a list", 4 },
      { "'a'", "expected a value", 1 },
      { '"abc', "unterminated string", 5 },
      { '"abc\\"', "unterminated string", 7 },
      { '"a\tb"', "control character in a string", 3 },
      { '"a\nb"', "control character in a string", 3 },
      { '"\31"', "control character in a string", 2 },
      { '"\\x"', "invalid escape in a string", 3 },
      { '"\\U0041"', "invalid escape in a string", 3 },
      { '"\\\'"', "invalid escape in a string", 3 },
      { '"\\', "invalid escape in a string", 3 },
      { '"\\u12"', "invalid \\u escape", 3 },
      { '"\\u12G4"', "invalid \\u escape", 3 },
      { '"\\u-123"', "invalid \\u escape", 3 },
      { '"\\ud800"', "high surrogate without its low half" },
      { '"\\ud800x"', "high surrogate without its low half" },
      { '"\\ud800\\u0041"', "high surrogate without its low half" },
      { '"\\ud800\\ud800"', "high surrogate without its low half" },
      { '"\\ud800\\n"', "high surrogate without its low half" },
      { '"\\udc00"', "lone low surrogate in a \\u escape" },
      { '"\\ude00\\ud83d"', "lone low surrogate in a \\u escape" },
      { "\239\187\191" .. "1", "expected a value", 1 }, -- a byte order mark
      { "\12" .. "1", "expected a value", 1 },          -- form feed is not JSON whitespace
      { "\11" .. "1", "expected a value", 1 },          -- nor vertical tab
      { "\194\160" .. "1", "expected a value", 1 },     -- nor U+00A0
      { "\0", "expected a value", 1 },
      { "1\0", "unexpected text after the JSON value", 2 },
      { "[1,\0 2]", "expected a value", 4 },
      { "[1]\0", "unexpected text after the JSON value", 4 },
      { "null\0", "unexpected text after the JSON value", 5 },
      { "\0" .. "1", "expected a value", 1 },
      { '"a\0b"', "control character in a string", 3 },
      { '{"a\0":1}', "control character in a string", 4 },
    }
    for _, case in ipairs(cases) do
      it("refuses " .. string.format("%q", case[1]):gsub("\n", "n"), function()
        local n = select("#", decode(case[1]))
        local v, err = decode(case[1])
        assert.are.equal(2, n)
        assert.is_nil(v)
        assert.is_string(err)
        assert.is_truthy(err:find(case[2], 1, true), err)
        local at = tonumber(err:match(" at character (%d+)$"))
        assert.is_number(at, err)
        if case[3] then assert.are.equal(case[3], at, err) end
        assert.is_true(at >= 1 and at <= #case[1] + 1, err)
        local v2, err2 = json.decode(case[1])
        assert.is_nil(v2); assert.are.equal(err, err2)
      end)
    end
  end)

  describe("nesting", function()
    it("takes 64 levels in json.decode and refuses 65", function()
      assert.is_table(json.decode(nest(64, "[", "]")))
      assert.is_table(json.decode(nest(64, '{"a":', "}", "1")))
      local v, err = json.decode(nest(65, "[", "]"))
      assert.is_nil(v)
      assert.are.equal("value nested deeper than 64 levels at character 65", err)
      v, err = json.decode(nest(65, '{"a":', "}", "1"))
      assert.is_nil(v)
      assert.matches("^value nested deeper than 64 levels at character %d+$", err)
    end)

    it("takes 1000 levels by default and refuses 1001", function()
      local v = decode(nest(1000, "[", "]"))
      for _ = 1, 999 do v = v[1] end
      assert_same({}, v)
      local err
      v, err = decode(nest(1001, "[", "]"))
      assert.is_nil(v)
      assert.are.equal("value nested deeper than 1000 levels at character 1001", err)
      v, err = decode(nest(1001, '{"a":', "}", "1"))
      assert.is_nil(v); assert.matches("nested deeper than 1000 levels", err)
    end)

    it("takes the limit it is given; scalars have no depth", function()
      assert_same({ { {} } }, decode("[[[]]]", 3))
      local v, err = decode("[[[]]]", 2)
      assert.is_nil(v); assert.are.equal("value nested deeper than 2 levels at character 3", err)
      v, err = decode("[1]", 1)
      assert_same({ 1 }, v); assert.is_nil(err)
      assert.are.equal(7, decode("7", 1))
      v, err = decode('{"a":[1]}', 1)
      assert.is_nil(v); assert.are.equal("value nested deeper than 1 levels at character 6", err)
    end)

    it("raises only on bad arguments", function()
      assert.has_error(function() decode() end)
      assert.has_error(function() decode({}) end)
      assert.has_error(function() decode(nil) end)
      assert.has_error(function() decode("[]", 0) end)
      assert.has_error(function() decode("[]", 1001) end)
      assert.has_error(function() decode("[]", -1) end)
      assert.has_error(function() decode("[]", "deep") end)
    end)
  end)

  describe("whitespace", function()
    it("is allowed around every token: space, tab, CR and LF", function()
      local text = ' \t\r\n{ \t\r\n"a" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, \t\r\n"x" \t\r\n] \t\r\n,' ..
        ' "b"\n:\nnull\n,\r\n"c":\ttrue\t} \t\r\n'
      assert_same({ a = { 1, "x" }, c = true }, decode(text))
      assert_same({}, decode("[ ]"))
      assert_same({}, decode("{\n}"))
      assert.are.equal(5, decode("\n5\n"))
    end)

    it("inside strings is kept", function()
      assert.are.equal("  a b  ", decode('"  a b  "'))
      assert_same({ [" k "] = " v " }, decode('{ " k " : " v " }'))
    end)
  end)

  describe("size hints kept between calls", function()
    local function page(n)
      local items = {}
      for i = 1, n do
        items[i] = string.format('{"id":"g-%d","name":"web %d","is_internal":%s,"rules":[' ..
          '{"protocol":"tcp","port_range_min":%d,"port_range_max":%d,"direction":"ingress"},' ..
          '{"protocol":"all","port_range_min":null,"direction":"egress"}],"region":"ARC-IS-HAF-1"}',
          i, i, i % 2 == 0 and "true" or "false", i, i + 1)
      end
      return '{"security_groups":[' .. table.concat(items, ",") .. '],"total_count":' .. n .. ',"page":1}'
    end

    local function check(text)
      local v, err = decode(text)
      assert.is_nil(err)
      local expected = assert(reference(text))
      assert_same(expected, v, text:sub(1, 60))
      return v
    end

    it("never change what a document decodes to", function()
      local big, small, bigger, none, three = page(100), '{"a":1}', page(500), page(0), page(3)
      local deep = nest(40, '{"a":[', "]}", '{"b":1,"c":2}')
      for _ = 1, 3 do
        local v = check(big)
        assert.are.equal(100, #v.security_groups)
        assert.are.equal(100, v.total_count)
        assert.are.equal("g-100", v.security_groups[100].id)
        assert.are.equal(2, #v.security_groups[7].rules)
        assert.is_nil(v.security_groups[7].rules[2].port_range_min)
        assert_same({ a = 1 }, check(small))
        assert_same({}, check("[]"))
        assert_same({}, check("{}"))
        assert_same({ security_groups = {}, total_count = 0, page = 1 }, check(none))
        assert.are.equal(3, #check(three).security_groups)
        assert_same({ { { 1 } } }, check("[[[1]]]"))
        assert_same({ 1, 2, 3 }, check("[1,2,3]"))
        assert.are.equal(500, #check(bigger).security_groups)
        check(deep)
      end
    end)

    it("never mix up strings alike in length and ends", function()
      -- same length, first, middle and last bytes: whatever a decoder
      -- remembers of the strings it made must compare them whole
      local words = { "aXbYc", "aQbZc", "aXbYc", "a_b_c", "ab", "", "a\\u0058bYc" }
      local long = { string.rep("k", 39) .. "1", string.rep("k", 39) .. "2",
                     string.rep("k", 40) .. "1", string.rep("k", 40) .. "2" }
      for _ = 1, 3 do
        assert_same({ "aXbYc", "aQbZc", "aXbYc", "a_b_c", "ab", "", "aXbYc" },
          decode('["' .. table.concat(words, '","') .. '"]'))
        assert_same({ aXbYc = "aQbZc", aQbZc = "aXbYc" }, decode('{"aXbYc":"aQbZc","aQbZc":"aXbYc"}'))
        assert_same(long, decode('["' .. table.concat(long, '","') .. '"]'))
        for i = 1, #long do assert.are.equal(long[i], decode('"' .. long[i] .. '"')) end
        assert.are.equal("aQbZc", decode('"aQbZc"'))
        assert.are.equal("aXbYc", decode('"aXbYc"'))
      end
    end)
  end)

  describe("against cjson.decode + core_testing.clean", function()
    -- Park-Miller: the same sequence on every Lua (the product stays below
    -- 2^53, exact in doubles too). rand(n) is 1..n.
    local function generator(seed)
      local state = seed
      return function(n)
        state = state * 16807 % 2147483647
        return state % n + 1
      end
    end

    local WORDS = { "a", "id", "name", "rules", "", "x y", "caf\195\169", "\226\130\172",
                    "\240\159\152\128", "\239\191\191", "\244\143\191\191", "\127", "0",
                    "null", "true" }
    local ESCAPES = { '\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0000", "\\u001F" }
    local KEYS = { "a", "b", "id", "name", "rules", "" }
    local NUMBERS = { "0", "-0", "-0.0", "0.0", "0e0", "443.0", "4.43e2", "4.43E+2", "44300e-2",
                      "1e-400", "5e-324", "1.7976931348623157e308", "0.1",
                      "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                      "18446744073709551616", "1234567890123456789", "9007199254740992" }

    local function digits(rand, n, lead)
      local out = { lead and tostring(rand(9)) or tostring(rand(10) - 1) }
      for i = 2, n do out[i] = tostring(rand(10) - 1) end
      return table.concat(out)
    end

    local function number(rand)
      local kind = rand(8)
      local sign = rand(4) == 1 and "-" or ""
      if kind == 1 then return NUMBERS[rand(#NUMBERS)] end
      if kind == 2 then return tostring(rand(2001) - 1001) end
      -- up to 15 digits: below 2^53, the same integer in both readings
      if kind == 3 then return sign .. digits(rand, rand(15), true) end
      -- 19 and more digits: exact here while they fit in 64 bits, a double
      -- in cjson (compared loosely, see same())
      if kind == 4 then return sign .. digits(rand, 18 + rand(8), true) end
      local int = rand(3) == 1 and "0" or digits(rand, rand(6), true)
      local frac = rand(3) > 1 and "." .. digits(rand, rand(17)) or ""
      local exp = ""
      if kind >= 6 or frac == "" then
        exp = (rand(2) == 1 and "e" or "E") .. ({ "", "+", "-" })[rand(3)] .. tostring(rand(330) - 1)
      end
      return sign .. int .. frac .. exp
    end

    local function string_text(rand)
      local out = {}
      for i = 1, rand(6) - 1 do
        local kind = rand(6)
        if kind == 1 then
          out[i] = WORDS[rand(#WORDS)]
        elseif kind == 2 then
          out[i] = ESCAPES[rand(#ESCAPES)]
        elseif kind == 3 then -- a BMP \u escape, surrogates left out
          local cp = rand(3) == 1 and rand(0x800) - 1 or rand(0xD800) - 1
          if rand(4) == 1 then cp = 0xE000 + rand(0x2000) - 1 end
          out[i] = string.format(rand(2) == 1 and "\\u%04x" or "\\u%04X", cp)
        elseif kind == 4 then -- a surrogate pair
          out[i] = string.format("\\u%04x\\u%04X", 0xD800 + rand(0x400) - 1, 0xDC00 + rand(0x400) - 1)
        elseif kind == 5 then -- printable ASCII but '"' and '\'
          local b = 31 + rand(96)
          if b == 34 or b == 92 then b = 95 end
          out[i] = string.char(b)
        else
          out[i] = string.rep("w", rand(40))
        end
      end
      return '"' .. table.concat(out) .. '"'
    end

    -- A tree: { "object", {key, node}... }, { "array", node... } or a scalar's text.
    local function value(rand, depth, budget)
      local kind = rand(depth >= budget and 6 or 9)
      if kind <= 2 then return number(rand) end
      if kind == 3 then return string_text(rand) end
      if kind == 4 then return ({ "true", "false" })[rand(2)] end
      if kind <= 6 then return rand(2) == 1 and "null" or string_text(rand) end
      if kind <= 8 then
        local node = { "object" }
        for i = 1, rand(7) - 1 do
          local key = rand(3) == 1 and string_text(rand) or '"' .. KEYS[rand(#KEYS)] .. '"'
          node[i + 1] = { key, value(rand, depth + 1, budget) }
        end
        return node
      end
      local node = { "array" }
      for i = 1, rand(9) - 1 do node[i + 1] = value(rand, depth + 1, budget) end
      return node
    end

    -- Whitespace styles: none, after separators, pretty printed, and
    -- every JSON whitespace character around every token.
    local STYLES = {
      { sep = ",", colon = ":", nl = "", indent = "", around = "" },
      { sep = ", ", colon = ": ", nl = "", indent = "", around = "" },
      { sep = ",", colon = ": ", nl = "\n", indent = "  ", around = "" },
      { sep = ",", colon = ":", nl = "\r\n", indent = "\t", around = " \t\r\n" },
    }

    local function serialize(node, style, level, out)
      if type(node) == "string" then
        out[#out + 1] = node
        return
      end
      local open, close = "[", "]"
      if node[1] == "object" then open, close = "{", "}" end
      out[#out + 1] = open
      for i = 2, #node do
        if i > 2 then out[#out + 1] = style.sep end
        out[#out + 1] = style.nl .. string.rep(style.indent, level + 1) .. style.around
        if node[1] == "object" then
          out[#out + 1] = node[i][1]
          out[#out + 1] = style.around .. style.colon .. style.around
          serialize(node[i][2], style, level + 1, out)
        else
          serialize(node[i], style, level + 1, out)
        end
        out[#out + 1] = style.around
      end
      if #node > 1 then out[#out + 1] = style.nl .. string.rep(style.indent, level) end
      out[#out + 1] = close
    end

    local function document(rand, n)
      local node = value(rand, 0, rand(6))
      if n % 200 == 0 then -- now and then a deep one, past the 16 hinted levels
        local depth = 20 + rand(400)
        for _ = 1, depth do node = rand(2) == 1 and { "array", node } or { "object", { '"d"', node } } end
      end
      local style = STYLES[n % #STYLES + 1]
      local out = { style.around }
      serialize(node, style, 0, out)
      out[#out + 1] = style.around .. style.nl
      return table.concat(out)
    end

    it("decodes 2,000 random documents the same", function()
      local rand = generator(20240611)
      local bytes, inf_docs = 0, 0
      for n = 1, 2000 do
        local text = document(rand, n)
        bytes = bytes + #text
        local expected, cerr = reference(text)
        assert(expected ~= nil or text:match("^%s*null%s*$"), "cjson refused document " .. n ..
          " (" .. tostring(cerr) .. "): " .. text)
        local count = select("#", decode(text))
        local v, err = decode(text)
        local at = tonumber(tostring(err):match("^number out of the range of a double at character (%d+)$"))
        if at then
          -- an exponent past 308: cjson made it infinite (perhaps under a
          -- key a later duplicate replaced), core.decode refuses it
          inf_docs = inf_docs + 1
          local huge = tonumber(text:match("^%-?[%d.eE+-]+", at))
          assert(huge == math.huge or huge == -math.huge, "document " .. n .. ": " .. err .. ": " .. text)
        else
          assert(not has_inf(expected), "document " .. n .. " took an infinity: " .. text)
          assert(err == nil, "document " .. n .. ": " .. tostring(err) .. ": " .. text)
          assert.are.equal(1, count)
          local ok, why = same(expected, v, "value", true)
          assert(ok, "document " .. n .. ": " .. tostring(why) .. "\n" .. text)
        end
      end
      assert.is_true(bytes > 100000, "only " .. bytes .. " bytes generated")
      assert.is_true(inf_docs > 0 and inf_docs < 200, inf_docs .. " documents with an infinity")
    end)

    it("never raises on damaged documents, and what it takes cjson takes alike", function()
      local rand = generator(7)
      local BYTES = { '"', "\\", "{", "}", "[", "]", ",", ":", "\0", "\31", "e", "E", "-", "+", ".", "0",
                      "9", "u", "n", "t", "f", " ", "\n", "\255", "\192", "d", "D", "8" }
      for n = 1, 2000 do
        local text = document(rand, n)
        for _ = 1, rand(3) do
          local at = rand(#text + 1)
          local kind = rand(4)
          if kind == 1 then
            text = text:sub(1, at - 1)
          elseif kind == 2 then
            text = text:sub(1, at - 1) .. BYTES[rand(#BYTES)] .. text:sub(at + 1)
          elseif kind == 3 then
            text = text:sub(1, at - 1) .. BYTES[rand(#BYTES)] .. text:sub(at)
          else
            text = text:sub(1, at - 1) .. text:sub(at + 1)
          end
        end
        local ok, v, err = pcall(decode, text)
        assert(ok, "raised on " .. string.format("%q", text) .. ": " .. tostring(v))
        if v == nil and err ~= nil then
          local at = tonumber(err:match(" at character (%d+)$"))
          assert(at and at >= 1 and at <= #text + 1, "message " .. err)
        else
          local expected, cerr = reference(text)
          assert(expected ~= nil or v == nil, "cjson refused (" .. tostring(cerr) .. ") " .. string.format("%q", text))
          local same_ok, why = same(expected, v, "value", true)
          assert(same_ok, tostring(why) .. "\n" .. string.format("%q", text))
        end
      end
    end)
  end)
end)
