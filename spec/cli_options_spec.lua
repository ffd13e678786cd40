-- The global flags of the `genesiscloud` tool come from the rows of
-- options.schema: one flag per row with a `cli` name, its doc, range and
-- default in --help, its check giving the message, and the value reaching
-- genesiscloud.new under the option's name. Run in this process.

-- The command-line tool runs on lua5.4 only (bin/genesiscloud); its modules
-- are driven in this process, so on other runtimes this file is pending
-- (cli_spec.lua runs bin/genesiscloud with lua5.4 whatever runs the specs).
if _VERSION ~= "Lua 5.4" then
  pending("the command-line tool runs on Lua 5.4 only")
  return
end

local helper = require "helper"
local genesiscloud = helper.genesiscloud
local options = require "genesiscloud.options"
local main = require "genesiscloud.cli.main"
local config = require "genesiscloud.cli.config"

local REGISTRY = {
  { name = "image", plural = "images", cli = "images", list_key = "images", operations = { list = {} } },
}

local function sink()
  local buffer = {}
  return { text = function() return table.concat(buffer) end,
    write = function(self, ...) for _, p in ipairs{ ... } do buffer[#buffer + 1] = tostring(p) end return self end,
    flush = function() return true end, seek = function() return 0 end }
end

local function run(argv, client)
  local out, err = sink(), sink()
  local code = main.run(argv, { out = out, err = err, registry = REGISTRY, client = client })
  return { code = code, out = out:text(), err = err:text() }
end

-- argparse wraps help lines: compare with the blanks squeezed.
local function squeeze(text)
  return (text:gsub("%s+", " "))
end

local function escape(text)
  return (text:gsub("%p", "%%%0"))
end

describe("global flags from options.schema", function()
  local help = squeeze(run{ "--help" }.out)

  for _, row in ipairs(options.schema) do
    if row.cli then
      it(("--help shows %s with its doc%s"):format(row.cli, row.default ~= nil and " and default" or ""), function()
        local flag = row.cli:match("^%S+")
        assert.matches(escape(flag), help)
        assert.matches(escape(squeeze(row.doc:gsub("%.$", ""))), help)
        if row.default ~= nil and row.type ~= "boolean|function" then
          assert.matches(escape(tostring(math.tointeger(row.default) or row.default)), help)
        end
        if row.min then -- (a flag with two names has its help cut in two columns)
          assert.matches("%(" .. escape(options.number_text(row.min)) .. " ", help)
          assert.matches("to " .. escape(options.number_text(row.max)), help)
        end
      end)
    end
  end

  it("docs/cli.md lists each flag with the row's default", function()
    local f = assert(io.open("docs/cli.md", "r"))
    local doc = f:read("*a")
    f:close()
    for _, row in ipairs(options.schema) do
      if row.cli then
        local line = doc:match("\n(| [^|\n]-`" .. escape(row.cli:match("^%S+")) .. "[ `][^\n]*)")
        assert.is_not_nil(line, "no line for " .. row.cli .. " in the table of docs/cli.md")
        if type(row.default) == "number" then
          local default = line:match("^|[^|]*| ([^|]-) |")
          assert.are.equal(tostring(math.tointeger(row.default) or row.default), default, row.cli)
        end
      end
    end
  end)

  it("the help of every command lists the global flags", function()
    local r = run{ "images", "list", "--help" }
    assert.matches("Global options.*%-%-connect%-timeout S.*%-%-retries N", squeeze(r.out))
  end)

  it("check each value with the row's check, the flag named in the message", function()
    local cases = {
      { { "--connect-timeout", "x" }, "--connect-timeout must be a number of seconds from 0.001 to 86400, got 'x'" },
      { { "--max-response-bytes", "1.5" },
        "--max-response-bytes must be a whole number of bytes from 1 to 2^30, got '1.5'" },
      { { "--deadline", "-2" }, "--deadline must be a number of seconds from 0.001 to 86400, got '-2'" },
      { { "--max-retries", "101" }, "--retries must be a whole number from 0 to 100, got '101'" },
      { { "--endpoint", "ftp://x" }, "--endpoint must be an http:// or https:// URL, got ftp://x" },
    }
    for _, case in ipairs(cases) do
      local argv = { table.unpack(case[1]) }
      argv[#argv + 1] = "images"
      argv[#argv + 1] = "list"
      local r = run(argv, function() error("no client may be made") end)
      assert.are.equal(2, r.code, r.err)
      assert.are.equal("genesiscloud: " .. case[2] .. " (see 'genesiscloud --help')\n", r.err)
    end
  end)

  describe("reach genesiscloud.new", function()
    local real_new, given
    local token_path = os.tmpname()

    setup(function()
      local f = assert(io.open(token_path, "w"))
      f:write("tok-for-flags\n")
      f:close()
      os.execute("chmod 600 " .. token_path)
    end)
    teardown(function() os.remove(token_path) end)

    before_each(function()
      real_new = genesiscloud.new
      genesiscloud.new = function(opts)
        given = opts
        return real_new(opts)
      end
    end)
    after_each(function() genesiscloud.new = real_new end)

    it("under the option's name; the flags not given are left to the rows' defaults", function()
      local c = config.client({ token_file = token_path, connect_timeout = 2.5, max_retries = 7,
        max_response_bytes = 4096 }, io.stderr)
      c:close()
      assert.are.equal(2.5, given.connect_timeout)
      assert.are.equal(7, given.max_retries)
      assert.are.equal(4096, given.max_response_bytes)
      assert.is_nil(given.timeout)
      assert.is_nil(given.endpoint)
      assert.are.equal("tok-for-flags", given.token)
    end)

    it("a refusal of new names the flag, not the option", function()
      genesiscloud.new = function()
        return nil, genesiscloud.errors.new{ kind = "usage",
          message = "option 'connect_timeout' is wrong; option 'max_retries' too" }
      end
      local ok, err = pcall(config.client, { token_file = token_path }, io.stderr)
      assert.is_false(ok)
      assert.are.equal("--connect-timeout is wrong; --retries too", err.message)
    end)
  end)
end)
