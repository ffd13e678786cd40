-- `eval "$(make -s env)"` (the README's "try it" step) sets up a shell to
-- use this checkout from any directory: the CLI from bin/ on PATH, the
-- library, its C core and the emulator with its lua-http on lua5.4's paths.
local helper = require "helper"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local ROOT = assert(helper.run("pwd"):match("^(.-)\n?$"))

-- Runs `script` in a clean sh (no LUA_* variables, only the system PATH)
-- in /tmp, after eval "$(make -s env)" of the checkout.
local function in_env_shell(script)
  local command = ("cd /tmp && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp sh -c %s 2>&1")
    :format(shell_quote(('eval "$(make -s --no-print-directory -C %s env)" && %s')
      :format(shell_quote(ROOT), script)))
  local out, ok, how, code = helper.run(command)
  return out, (ok and how == "exit" and code == 0) == true
end

describe("make -s env", function()
  it("prints only export lines", function()
    local out = helper.run("make -s --no-print-directory env")
    local lines = {}
    for line in out:gmatch("[^\n]+") do
      assert.matches("^export [A-Z_]+=", line)
      lines[#lines + 1] = line:match("^export ([A-Z_]+)=")
    end
    assert.are.same({ "LUA_PATH", "LUA_CPATH", "PATH" }, lines)
  end)

  it("puts the checkout's bin/ on PATH: genesiscloud runs from /tmp", function()
    local out, ok = in_env_shell("command -v genesiscloud && genesiscloud --help")
    assert.is_true(ok, out)
    assert.are.equal(ROOT .. "/bin/genesiscloud", out:match("^([^\n]*)"))
    assert.matches("sg", out)
  end)

  -- make -s env points LUA_CPATH at build/, where `make build` puts the
  -- core; under `luarocks test` (core built in place by luarocks make)
  -- there is none.
  local built = io.open("build/genesiscloud/core.so", "r")
  if built then built:close() end
  local it_built = built and it or pending

  it_built("lets lua5.4 load the checkout's modules, its C core and lua-http from /tmp", function()
    local out, ok = in_env_shell([[lua5.4 -e '
      local g = require "genesiscloud"
      print(package.searchpath("genesiscloud", package.path))
      print(package.searchpath("genesiscloud.core", package.cpath))
      assert(require "http.server")
      assert(require "argparse")
      assert(g.new)']])
    assert.is_true(ok, out)
    local lua_file, core = out:match("^([^\n]*)\n([^\n]*)")
    assert.are.equal(ROOT .. "/lua/genesiscloud/init.lua", lua_file)
    assert.are.equal(ROOT .. "/build/genesiscloud/core.so", core)
  end)
end)
