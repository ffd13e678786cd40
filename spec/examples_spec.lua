-- Every script in examples/ runs, as a user would run it (a separate
-- lua5.4 process reading GENESISCLOUD_TOKEN and GENESISCLOUD_ENDPOINT),
-- against a fresh emulator, and exits 0 with the output it promises.
local helper = require "helper"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_command(command)
  local pipe = assert(io.popen(command, "r"))
  local out = pipe:read("a")
  local ok, how, code = pipe:close()
  return out, ok, how, code
end

local ROOT = assert(read_command("pwd"):match("^(.-)\n?$"))
local DEBIAN = "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. DEBIAN .. ";;"
local LUA_CPATH = ROOT .. "/build/?.so;;"

-- Runs examples/<name> against `emu`; returns its output (stdout and
-- stderr), and true when it exited with status 0.
local function run(name, emu)
  local command = table.concat({
    "cd", shell_quote(ROOT), "&&",
    -- the version-specific variables would win over LUA_PATH and LUA_CPATH
    "env -u LUA_PATH_5_4 -u LUA_CPATH_5_4",
    "GENESISCLOUD_TOKEN=" .. shell_quote(emu.token),
    "GENESISCLOUD_ENDPOINT=" .. shell_quote(emu.endpoint),
    "LUA_PATH=" .. shell_quote(LUA_PATH),
    "LUA_CPATH=" .. shell_quote(LUA_CPATH),
    "lua5.4", shell_quote("examples/" .. name), "2>&1",
  }, " ")
  local out, ok, how, code = read_command(command)
  return out, (ok and how == "exit" and code == 0) == true, ("%s %s"):format(tostring(how), tostring(code))
end

-- What each example must print (Lua patterns, in order); examples not
-- listed here must still exit 0.
local EXPECTED = {
  ["quickstart.lua"] = {
    "client: ", "created web %(", "read back ", "updated ", "listed page 1: 1 of 1 group%(s%)",
    "deleted ", "reading it again fails as it should: .-: 404 ",
  },
  ["web_tier.lua"] = {
    "created web%-tier %(", "  %+ egress all", "  %+ ingress tcp 22", "  %+ ingress tcp 443",
    "ID%s+NAME%s+STATUS%s+RULES", "web%-tier%s+created%s+egress all, ingress tcp 22, ingress tcp 443",
    "1 group%(s%)",
  },
}

local function assert_in_order(out, patterns)
  local at = 1
  for _, pattern in ipairs(patterns) do
    local _, last = out:find(pattern, at)
    assert.is_not_nil(last, ("expected %q after position %d in:\n%s"):format(pattern, at, out))
    at = last + 1
  end
end

local function list_examples()
  local names = {}
  for name in read_command("ls " .. shell_quote(ROOT .. "/examples")):gmatch("[^\n]+") do
    if name:match("%.lua$") then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

describe("examples", function()
  local emu

  before_each(function()
    emu = helper.start_emulator()
  end)

  after_each(function()
    if emu then emu:stop() end
    emu = nil
  end)

  it("are all known to this spec", function()
    local names = list_examples()
    assert.is_truthy(#names >= 2)
    for _, name in ipairs{ "quickstart.lua", "web_tier.lua" } do
      local found = false
      for _, n in ipairs(names) do found = found or n == name end
      assert.is_true(found, name .. " is missing from examples/")
    end
  end)

  for _, name in ipairs(list_examples()) do
    it(name .. " runs and exits 0", function()
      local out, ok, status = run(name, emu)
      assert.is_true(ok, name .. " ended with " .. status .. ":\n" .. out)
      if EXPECTED[name] then assert_in_order(out, EXPECTED[name]) end
    end)
  end

  it("web_tier.lua creates the group once, then finds it unchanged", function()
    local first, ok1, status1 = run("web_tier.lua", emu)
    assert.is_true(ok1, status1 .. ":\n" .. first)
    local id = first:match("^created web%-tier %(([^)]+)%)")
    assert.is_string(id, first)
    assert(emu:clear_requests())

    local second, ok2, status2 = run("web_tier.lua", emu)
    assert.is_true(ok2, status2 .. ":\n" .. second)
    assert.matches("^unchanged web%-tier %(" .. id:gsub("%p", "%%%0") .. "%)\n", second)
    assert.is_nil(second:find("  + ", 1, true), "a second run plans no rule change")
    assert_in_order(second, { "web%-tier%s+created", "1 group%(s%)" })
    for _, req in ipairs(assert(emu:requests())) do
      assert.are.equal("GET", req.method, "the second run wrote: " .. req.method .. " " .. req.path)
    end
  end)

  it("web_tier.lua exits non-zero with the API error when the token is wrong", function()
    local out, ok = run("web_tier.lua", { token = "wrong-token", endpoint = emu.endpoint })
    assert.is_false(ok)
    assert.matches("401", out)
  end)
end)
