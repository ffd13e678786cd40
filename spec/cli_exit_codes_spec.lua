-- The command-line tool's exit code for an error object of the library:
-- what the user gave was wrong (usage, validation) is 2, anything from
-- talking to the API is 1 (docs/cli.md).
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local errors = genesiscloud.errors
local fail = require "genesiscloud.cli.fail"
local main = require "genesiscloud.cli.main"

describe("CLI exit codes for library errors", function()
  local cases = {
    { "usage", 2 }, { "validation", 2 },
    { "api", 1 }, { "transport", 1 }, { "timeout", 1 }, { "too_large", 1 }, { "decode", 1 },
  }
  for _, case in ipairs(cases) do
    it(("a library %s error exits %d"):format(case[1], case[2]), function()
      local err = errors.new{ kind = case[1], message = "m" }
      assert.are.equal(case[2], fail.code_of(err))
      local code, line = main.classify(err)
      assert.are.equal(case[2], code)
      assert.are.equal(tostring(err), line)
    end)
  end

  it("`genesiscloud sg get ''` (the library refuses the empty id) exits 2 with its one line", function()
    -- bin/genesiscloud runs on lua5.4 whatever runs the specs; nothing is
    -- sent: the library refuses the id before any request.
    local err_file = os.tmpname()
    local out, _, _, code = helper.run(("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4"
      .. " -u GENESISCLOUD_DEBUG GENESISCLOUD_TOKEN=t GENESISCLOUD_ENDPOINT=http://127.0.0.1:9/compute/v1"
      .. " bin/genesiscloud sg get '' 2>%s"):format(err_file))
    local f = assert(io.open(err_file, "r"))
    local err = f:read("*a")
    f:close()
    os.remove(err_file)
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal("genesiscloud: usage: get_security_group: the id is empty\n", err)
  end)
end)
