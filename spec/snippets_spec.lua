-- Every ```lua block of README.md, CONTRIBUTING.md and docs/*.md runs, as a
-- reader would run it: a separate process of the Lua running this suite
-- (so `make test-all` runs them on 5.1, 5.2, 5.3, 5.4 and LuaJIT), with the
-- checkout's paths (what `eval "$(make -s env)"` sets) and
-- GENESISCLOUD_TOKEN / GENESISCLOUD_ENDPOINT pointing at an emulator on
-- loopback. A block that fails fails here with its file and line.
-- spec/support/snippets.lua says how a block that is not a whole program
-- is marked; the blocks marked skip are listed as pending, with why.
local helper = require "helper"
local snippets = require "support.snippets"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local ROOT = assert(helper.run("pwd"):match("^(.-)\n?$"))
local DEBIAN = "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"

-- The interpreter running this suite, by its Debian name.
local LUA = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

-- The C core this suite loaded (build/ for `make test`, build-<v>/ for
-- `make test-all`), as an absolute cpath template. The ASan build cannot
-- load into an uninstrumented interpreter: under `make asan` the snippets
-- use build/, as the examples do.
local function core_template()
  for template in package.cpath:gmatch("[^;]+") do
    local f = io.open((template:gsub("%?", "genesiscloud/core")), "rb")
    if f then
      f:close()
      if template:find("/asan/", 1, true) then return ROOT .. "/build/?.so" end
      return template:sub(1, 1) == "/" and template or ROOT .. "/" .. template:gsub("^%./", "")
    end
  end
  error("no genesiscloud/core.so on package.cpath: " .. package.cpath)
end

local ENV = {
  LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. DEBIAN .. ";;",
  LUA_CPATH = core_template() .. ";;",
}

local function markdown_files()
  local files = { "README.md", "CONTRIBUTING.md" }
  for name in helper.run("ls " .. shell_quote(ROOT .. "/docs")):gmatch("[^\n]+") do
    if name:match("%.md$") then files[#files + 1] = "docs/" .. name end
  end
  local present = {}
  for _, file in ipairs(files) do
    local f = io.open(ROOT .. "/" .. file, "rb")
    if f then
      present[#present + 1] = { file = file, text = f:read("*a") }
      f:close()
    end
  end
  return present
end

-- Runs `block` against `emu` in a fresh temporary directory; returns its
-- output (stdout and stderr, with the program's line numbers turned into
-- the Markdown's), whether it exited 0, and "exit N".
local function run(block, emu)
  local program, segments = snippets.program(block)
  local dir = assert(helper.run("mktemp -d"):match("^(%S+)"))
  local d = block.directive
  local name = d.busted and "snippet_spec.lua" or "snippet.lua"
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(program)
  f:close()
  local command
  if d.busted then
    command = LUA .. " /usr/bin/busted --output=TAP " .. name
  elseif d.cli then
    command = "genesiscloud " .. d.cli:gsub("FILE", name)
  else
    command = LUA .. " " .. name
  end
  local out, ok, how, code = helper.run(table.concat({
    "cd", shell_quote(dir), "&&",
    -- the version-specific variables would win over LUA_PATH and LUA_CPATH
    "env -u LUA_PATH_5_2 -u LUA_PATH_5_3 -u LUA_PATH_5_4 -u LUA_CPATH_5_2 -u LUA_CPATH_5_3 -u LUA_CPATH_5_4",
    "GENESISCLOUD_TOKEN=" .. shell_quote(emu.token),
    "GENESISCLOUD_ENDPOINT=" .. shell_quote(emu.endpoint),
    "LUA_PATH=" .. shell_quote(ENV.LUA_PATH),
    "LUA_CPATH=" .. shell_quote(ENV.LUA_CPATH),
    "PATH=" .. shell_quote(ROOT .. "/bin") .. ':"$PATH"',
    "timeout 120", command, "2>&1",
  }, " "))
  helper.run("rm -rf " .. shell_quote(dir))
  out = snippets.map_lines(out, name, segments)
  out = snippets.map_lines(out, path, segments)
  return out, ok, ("%s %s"):format(tostring(how), tostring(code))
end

-- Checks the `print(...) --> text` lines of `block` against `out`.
local function check_output(block, out)
  local lines, at = {}, 1
  for line in out:gmatch("[^\n]*") do lines[#lines + 1] = line:gsub("%s+$", "") end
  for _, want in ipairs(snippets.expected_lines(block)) do
    local found
    for k = at, #lines do
      if lines[k] == want then found = k break end
    end
    assert(found, ("%s:%d: expected a line %q in the output:\n%s"):format(block.file, block.line, want, out))
    at = found + 1
  end
end

describe("documentation snippets", function()
  local emu

  lazy_setup(function()
    emu = helper.start_emulator()
  end)

  lazy_teardown(function()
    if emu then emu:stop() end
    emu = nil
  end)

  describe("the runner", function()
    local DEMO = table.concat({
      "# demo", "",                                 -- 1, 2
      "<!-- snippet: name=setup -->",               -- 3
      "```lua", "local x = 1", "```", "",           -- 4-7
      "<!-- snippet: after=setup -->",              -- 8
      "```lua",                                     -- 9
      "print(x + 1) --> 2",                         -- 10
      "error(\"boom\")",                            -- 11
      "```", "",
      "  ```lua", "  print(\"hi\") --> bye", "  ```", -- 14-16
    }, "\n")

    it("reads the blocks, their directives and the lines they start on", function()
      local blocks = snippets.extract(DEMO, "demo.md")
      assert.are.equal(3, #blocks)
      assert.are.equal(5, blocks[1].line)
      assert.are.equal("setup", blocks[1].directive.name)
      assert.are.equal(blocks[1], blocks[2].after)
      assert.are.equal(10, blocks[2].line)
      assert.are.equal("print(\"hi\") --> bye\n", blocks[3].code)
      assert.are.same({ "2" }, snippets.expected_lines(blocks[2]))
    end)

    it("refuses an unknown directive and an `after` naming no block", function()
      local ok, err = pcall(snippets.extract, "<!-- snippet: skpi=x -->\n```lua\nx()\n```\n", "bad.md")
      assert.is_false(ok)
      assert.are.equal("bad.md:1: unknown snippet directive 'skpi'", err)
      ok, err = pcall(snippets.extract, "\n<!-- snippet: after=nope -->\n```lua\nx()\n```\n", "bad.md")
      assert.is_false(ok)
      assert.are.equal("bad.md:2: snippet after=nope: no earlier block of that name", err)
    end)

    it("fails a block that raises, naming the Markdown file and line", function()
      local blocks = snippets.extract(DEMO, "demo.md")
      local out, ok = run(blocks[2], emu)
      assert.is_false(ok, out)
      assert.matches("demo%.md:11: boom", out)
      assert.matches("\n2\n", "\n" .. out)
    end)

    it("fails a block whose output lacks a line its `-->` comment promises", function()
      local blocks = snippets.extract(DEMO, "demo.md")
      local out, ok = run(blocks[3], emu)
      assert.is_true(ok, out)
      assert.has_error(function() check_output(blocks[3], out) end)
    end)
  end)

  local run_count, skipped = 0, {}
  for _, doc in ipairs(markdown_files()) do
    for _, block in ipairs(snippets.extract(doc.text, doc.file)) do
      local label = ("%s:%d"):format(block.file, block.line)
      local reason = block.directive.skip
      if reason then
        skipped[#skipped + 1] = label .. ": " .. reason
        pending(label .. " skipped: " .. reason)
      else
        run_count = run_count + 1
        it(label .. " runs", function()
          assert(emu:reset())
          local out, ok, status = run(block, emu)
          assert(ok, ("%s: the snippet ended with %s:\n%s"):format(label, status, out))
          check_output(block, out)
        end)
      end
    end
  end

  it("are counted", function()
    io.stderr:write(("\nsnippets: %d run, %d skipped\n"):format(run_count, #skipped))
    for _, line in ipairs(skipped) do io.stderr:write("  skipped " .. line .. "\n") end
    assert.is_true(run_count > 0)
  end)
end)
