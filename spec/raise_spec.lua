-- Errors that raise: `new{ errors = "raise" }` and `genesiscloud.check`,
-- on every Lua the suite runs on. PUC Lua 5.1's stand-alone interpreter
-- cannot print a table raised as an error, so there the one line is raised
-- instead of the object; everywhere else the object itself.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local errors = require "genesiscloud.errors"
local rules = genesiscloud.rules

local PUC51 = _VERSION == "Lua 5.1" and rawget(_G, "jit") == nil

-- The interpreter running this spec, for scripts run as a user would.
local function interpreter()
  if rawget(_G, "jit") then return "luajit" end
  return "lua" .. _VERSION:match("%d+%.%d+")
end

-- What a raised error must be: the object, or on PUC 5.1 its one line.
local function assert_raised(expected, raised)
  if PUC51 then
    assert.are.equal("string", type(raised))
    assert.are.equal(tostring(expected), raised)
  else
    assert.is_true(genesiscloud.is_error(raised), "raised " .. tostring(raised))
    assert.are.equal(expected.kind, raised.kind)
    assert.are.equal(tostring(expected), tostring(raised))
  end
end

describe("genesiscloud.check", function()
  it("returns every argument when the first is a value", function()
    local a, b, c, d = genesiscloud.check(1, nil, "x", false)
    assert.are.equal(1, a)
    assert.is_nil(b)
    assert.are.equal("x", c)
    assert.is_false(d)
    assert.are.equal(3, select("#", genesiscloud.check(0, 1, 2)))
  end)

  it("raises the error object (its line on PUC 5.1)", function()
    local err = errors.new{ kind = "api", status = 404, code = "02003", message = "not found",
      method = "GET", path = "/security-groups/x" }
    local ok, raised = pcall(genesiscloud.check, nil, err)
    assert.is_false(ok)
    assert_raised(err, raised)
    ok, raised = pcall(genesiscloud.check, false, err)
    assert.is_false(ok)
    assert_raised(err, raised)
  end)

  it("wraps a string, or nothing, into a usage error first", function()
    local ok, raised = pcall(genesiscloud.check, nil, "cannot read the file")
    assert.is_false(ok)
    assert_raised(errors.new{ kind = "usage", message = "cannot read the file" }, raised)
    ok, raised = pcall(genesiscloud.check, nil)
    assert.is_false(ok)
    assert_raised(errors.new{ kind = "usage", message = "check failed (no error given)" }, raised)
  end)

  it("knows which runtimes raise the line instead of the object", function()
    assert.are.equal(PUC51, errors.raises_strings)
  end)
end)

describe("errors = \"raise\"", function()
  local emu, client, raising

  setup(function()
    emu = helper.start_emulator()
    client = helper.client(emu)
    raising = helper.client(emu, { errors = "raise" })
  end)

  teardown(function()
    if client then client:close() end
    if raising then raising:close() end
    if emu then emu:stop() end
  end)

  before_each(function()
    assert(emu:reset())
  end)

  it("is an option of new, 'return' by default, checked like the others", function()
    local c, err = genesiscloud.new{ token = "t", errors = "rase" }
    assert.is_nil(c)
    assert.are.equal("usage", err.kind)
    assert.matches("option 'errors' must be one of return, raise, got rase", err.message, 1, true)
    local _, typo = genesiscloud.new{ token = "t", error = "raise" }
    assert.matches("unknown option 'error' (did you mean 'errors'?)", typo.message, 1, true)
    assert(genesiscloud.new{ token = "t", errors = "return" }):close()
  end)

  it("makes new itself raise when asked to raise", function()
    local ok, raised = pcall(genesiscloud.new, { errors = "raise", token = "t", timeout = -1 })
    assert.is_false(ok)
    local _, err = genesiscloud.new{ token = "t", timeout = -1 }
    assert_raised(err, raised)
  end)

  it("raises what the same call of a returning client returns", function()
    local _, err = client:get_security_group("no-such-group")
    assert.are.equal(404, err.status)
    local ok, raised = pcall(raising.get_security_group, raising, "no-such-group")
    assert.is_false(ok)
    assert_raised(err, raised)
  end)

  it("returns the results of a call that works, all of them", function()
    local spec = { name = "web", rules = { rules.ssh() } }
    local sg = raising:create_security_group(spec)
    assert.are.equal("web", sg.name)
    local obj, action, plan = raising:ensure_security_group(spec)
    assert.are.equal(sg.id, obj.id)
    assert.are.equal("unchanged", action)
    assert.are.equal("table", type(plan))
    assert.is_true(raising:delete_security_group(sg.id))
    assert.is_true(raising:wait_for_security_group_deleted(sg.id, { timeout = 5, interval = 0.01 }))
  end)

  it("raises from every kind of call: usage, validation, api", function()
    local calls = {
      { "usage", function(c) return c:list_security_groups{ per_pag = 10 } end },
      { "usage", function(c) return c:get_security_group("") end },
      { "validation", function(c) return c:create_security_group{ name = "web", rules = {} } end },
      { "api", function(c) return c:delete_security_group("no-such-group") end },
      { "api", function(c) return c:request("GET", "/no-such-path") end },
      { "usage", function(c) return c:ensure_security_group({ name = "web", rules = { rules.ssh() } },
        { dryrun = true }) end },
      { "usage", function(c) return c:all_security_groups{ concurency = 2 } end },
      { "usage", function(c) return c:create_security_groups({}, { concurency = 2 }) end },
      { "api", function(c) return c:wait_for_security_group("no-such-group", { timeout = 1 }) end },
    }
    for i, case in ipairs(calls) do
      local result, err = case[2](client)
      assert.is_nil(result, "case " .. i)
      assert.are.equal(case[1], err.kind, "case " .. i)
      local ok, raised = pcall(case[2], raising)
      assert.is_false(ok, "case " .. i)
      assert_raised(err, raised)
    end
  end)

  it("still returns a failure inside the layer as a value: ensure_absent of a group gone", function()
    -- ensure_absent reads a 404 from its own delete as "already absent";
    -- in raise mode that 404 must not escape as an error.
    local sg = assert(client:create_security_group{ name = "gone", rules = { rules.ssh() } })
    local ok, action = raising:ensure_security_group_absent{ name = "gone" }
    assert.is_true(ok)
    assert.are.equal("deleted", action)
    assert.is_true(raising:wait_for_security_group_deleted(sg.id, { timeout = 5, interval = 0.01 }))
  end)

  it("leaves the results of a bulk call as they are: one error per entry", function()
    local results = raising:get_security_groups{ "no-such-group" }
    assert.are.equal(1, #results)
    assert.is_true(genesiscloud.is_error(results[1]))
    assert.are.equal(404, results[1].status)
  end)
end)

describe("an error a script does not catch", function()
  local emu

  setup(function()
    emu = helper.start_emulator()
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  -- Runs `body` in a fresh interpreter of this spec's Lua with this
  -- spec's paths; -> its stderr, its exit status.
  local function run_script(body)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('local genesiscloud = require "genesiscloud"\n',
      ("local endpoint, token = %q, %q\n"):format(emu.endpoint, emu.token), body)
    f:close()
    local quote = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
    local out, _, _, code = helper.run(("env -u LUA_PATH_5_2 -u LUA_PATH_5_3 -u LUA_PATH_5_4"
      .. " -u LUA_CPATH_5_2 -u LUA_CPATH_5_3 -u LUA_CPATH_5_4 LUA_PATH=%s LUA_CPATH=%s %s %s 2>&1 >/dev/null")
      :format(quote(package.path), quote(helper.child_cpath()), interpreter(), quote(script)))
    os.remove(script)
    return out, code
  end

  local LINE = "genesiscloud: GET /security-groups/no-such-group: 404 (02003) Security group not found"

  it("prints the one-line error with check", function()
    local out, code = run_script([[
local client = genesiscloud.check(genesiscloud.new{ token = token, endpoint = endpoint })
genesiscloud.check(client:get_security_group("no-such-group"))
]])
    assert.are.equal(1, code)
    local first = out:match("^[^\n]*")
    assert.are.equal(interpreter() .. ": " .. LINE, first)
  end)

  it("prints the one-line error in raise mode", function()
    local out, code = run_script([[
local client = genesiscloud.new{ token = token, endpoint = endpoint, errors = "raise" }
client:get_security_group("no-such-group")
]])
    assert.are.equal(1, code)
    assert.are.equal(interpreter() .. ": " .. LINE, out:match("^[^\n]*"))
  end)
end)
