-- Every script in examples/ runs, as a user would run it (a separate
-- lua5.4 process reading GENESISCLOUD_TOKEN and GENESISCLOUD_ENDPOINT),
-- against a fresh emulator, and exits 0 with the output it promises.
local helper = require "helper"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local read_command = helper.run

local ROOT = assert(read_command("pwd"):match("^(.-)\n?$"))
local DEBIAN = "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. DEBIAN .. ";;"
local LUA_CPATH = ROOT .. "/build/?.so;;"

-- Examples that are not plain scripts: a busted spec file runs under busted.
local BUSTED = { "lua5.4", "/usr/bin/busted", "--output=TAP" }

-- Arguments the loop below gives an example that needs some.
local DEFAULT_ARGS = {
  ["cleanup.lua"] = { "^ci%-" },
}

-- Runs examples/<name> (or the absolute path `name`) against `emu` with
-- the list `args`, under busted for a *_spec.lua; returns its
-- output (stdout and stderr), true when it exited with status 0, and
-- "exit N".
local function run(name, emu, args)
  local parts = {
    "cd", shell_quote(ROOT), "&&",
    -- the version-specific variables would win over LUA_PATH and LUA_CPATH
    "env -u LUA_PATH_5_4 -u LUA_CPATH_5_4",
    "GENESISCLOUD_TOKEN=" .. shell_quote(emu.token),
    "GENESISCLOUD_ENDPOINT=" .. shell_quote(emu.endpoint),
    "LUA_PATH=" .. shell_quote(LUA_PATH),
    "LUA_CPATH=" .. shell_quote(LUA_CPATH),
  }
  for _, word in ipairs(name:match("_spec%.lua$") and BUSTED or { "lua5.4" }) do parts[#parts + 1] = word end
  parts[#parts + 1] = shell_quote(name:sub(1, 1) == "/" and name or "examples/" .. name)
  for _, a in ipairs(args or {}) do parts[#parts + 1] = shell_quote(a) end
  parts[#parts + 1] = "2>&1"
  local out, ok, how, code = read_command(table.concat(parts, " "))
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
  ["list_groups.lua"] = { "^ID%s+NAME%s+STATUS%s+RULES\n", "0 group%(s%)\n$" },
  ["loop_luv.lua"] = { "created and deleted loop%-example%-1, loop%-example%-2, loop%-example%-3\n",
    "the loop ticked on while waiting\n" },
  ["loop_cqueues.lua"] = { "listed 1 group%(s%) while the controller ticked on\n" },
  ["cleanup.lua"] = { "^no security group name matches \"%^ci%%%-\"\n$" },
  -- TAP: every test of the user's spec file ran and passed.
  ["busted_with_emulator_spec.lua"] = { "ok 1 ", "ok 2 ", "ok 3 ", "ok 4 ", "1%.%.4\n" },
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
    for _, name in ipairs{ "quickstart.lua", "web_tier.lua", "list_groups.lua", "cleanup.lua",
        "busted_with_emulator_spec.lua" } do
      local found = false
      for _, n in ipairs(names) do found = found or n == name end
      assert.is_true(found, name .. " is missing from examples/")
    end
  end)

  for _, name in ipairs(list_examples()) do
    it(name .. " runs and exits 0", function()
      local out, ok, status = run(name, emu, DEFAULT_ARGS[name])
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

  -- Creates groups named `names` (one rule each) through the library.
  local function create_groups(names)
    local client = helper.client(emu)
    local ids = {}
    for i, name in ipairs(names) do
      local port = 1000 + i
      ids[name] = assert(client:create_security_group{ name = name,
        rules = { { direction = "ingress", protocol = "tcp", port_range_min = port, port_range_max = port } } }).id
    end
    client:close()
    return ids
  end

  local function names_left()
    local client = helper.client(emu)
    local left = {}
    for _, g in ipairs(assert(client:all_security_groups())) do left[#left + 1] = g.name end
    client:close()
    table.sort(left)
    return table.concat(left, ",")
  end

  it("list_groups.lua walks every page and aligns the columns", function()
    local ids = create_groups{ "a", "a-much-longer-name", "b", "c", "d" }
    assert(emu:clear_requests())
    local out, ok, status = run("list_groups.lua", emu, { "2" })
    assert.is_true(ok, status .. ":\n" .. out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(7, #lines, out)               -- header, 5 groups, count
    assert.are.equal("5 group(s)", lines[7])
    local name_at = lines[1]:find("NAME", 1, true)
    local status_at = lines[1]:find("STATUS", 1, true)
    for i, name in ipairs{ "a", "a-much-longer-name", "b", "c", "d" } do
      local line = lines[i + 1]
      assert.are.equal(1, line:find(ids[name], 1, true), line)
      assert.are.equal(name_at, line:find(name, #ids[name] + 1, true), line)
      assert.are.equal(status_at, line:find("created", 1, true), line)
      assert.matches("ingress tcp 100%d$", line)
    end
    local gets = 0
    for _, req in ipairs(assert(emu:requests())) do
      assert.are.equal("GET", req.method)
      assert.are.equal("2", req.query.per_page)
      gets = gets + 1
    end
    assert.are.equal(3, gets, "5 groups at 2 a page are 3 pages")
  end)

  it("list_groups.lua exits 1 with the API error, 2 for a bad page size", function()
    local out, ok, status = run("list_groups.lua", { token = "wrong-token", endpoint = emu.endpoint })
    assert.is_false(ok)
    assert.are.equal("exit 1", status)
    assert.matches("401", out)
    out, ok, status = run("list_groups.lua", emu, { "500" })
    assert.is_false(ok)
    assert.are.equal("exit 2", status, out)
  end)

  it("cleanup.lua lists the matching groups and deletes nothing without --yes", function()
    local ids = create_groups{ "ci-1", "web", "ci-2", "xci-3" }
    assert(emu:clear_requests())
    local out, ok, status = run("cleanup.lua", emu, { "^ci%-" })
    assert.is_true(ok, status .. ":\n" .. out)
    assert_in_order(out, { "would delete ci%-1 %(" .. ids["ci-1"]:gsub("%p", "%%%0") .. "%)",
      "would delete ci%-2 ", "2 group%(s%) match; run again with %-%-yes" })
    assert.is_nil(out:find("xci", 1, true))
    for _, req in ipairs(assert(emu:requests())) do
      assert.are.equal("GET", req.method, "the dry run wrote: " .. req.method .. " " .. req.path)
    end
    assert.are.equal("ci-1,ci-2,web,xci-3", names_left())
  end)

  it("cleanup.lua --yes deletes exactly the matching groups", function()
    create_groups{ "ci-1", "web", "ci-2", "xci-3" }
    local out, ok, status = run("cleanup.lua", emu, { "^ci%-", "--yes" })
    assert.is_true(ok, status .. ":\n" .. out)
    assert_in_order(out, { "deleted ci%-1 ", "deleted ci%-2 ", "2 group%(s%) deleted" })
    assert.are.equal("web,xci-3", names_left())
    local deletes = 0
    for _, req in ipairs(assert(emu:requests())) do
      if req.method == "DELETE" then deletes = deletes + 1 end
    end
    assert.are.equal(2, deletes)
  end)

  it("cleanup.lua refuses a missing or malformed pattern with exit 2", function()
    create_groups{ "ci-1" }
    local out, ok, status = run("cleanup.lua", emu, {})
    assert.is_false(ok)
    assert.are.equal("exit 2", status, out)
    assert.matches("usage: cleanup%.lua PATTERN", out)
    out, ok, status = run("cleanup.lua", emu, { "[", "--yes" })
    assert.is_false(ok)
    assert.are.equal("exit 2", status, out)
    assert.matches("bad pattern \"%[\"", out)
    assert.are.equal("ci-1", names_left())
  end)

  it("busted_with_emulator_spec.lua reports a failing test as a failure", function()
    -- The same file with one expectation broken must make busted exit non-zero,
    -- or the passing run above would prove nothing.
    local source = assert(io.open(ROOT .. "/examples/busted_with_emulator_spec.lua")):read("*a")
    local broken, n = source:gsub('assert%.are%.equal%("unchanged", action%)', 'assert.are.equal("updated", action)')
    assert.are.equal(1, n)
    local base = os.tmpname() -- creates `base`, which is removed below too
    local path = base .. "_spec.lua"
    local f = assert(io.open(path, "w"))
    f:write(broken)
    f:close()
    local out, ok = run(path, emu)
    os.remove(path)
    os.remove(base)
    assert.is_false(ok, out)
    assert.matches("not ok 2 ", out)
  end)
end)
