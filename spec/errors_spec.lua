local errors = require "genesiscloud.errors"

describe("genesiscloud.errors", function()
  it("prints an API error as one line with method, path, status, code and message", function()
    local err = errors.new{ kind = "api", status = 404, code = "02003",
      message = "Security group not found", method = "GET", path = "/security-groups/x" }
    assert.are.equal("genesiscloud: GET /security-groups/x: 404 (02003) Security group not found",
      tostring(err))
  end)

  it("prints a numeric code as sent and leaves out a missing one", function()
    assert.are.equal("genesiscloud: DELETE /a: 500 (1234) boom", tostring(errors.new{ kind = "api",
      status = 500, code = 1234, message = "boom", method = "DELETE", path = "/a" }))
    assert.are.equal("genesiscloud: GET /a: 502 bad gateway", tostring(errors.new{ kind = "api",
      status = 502, message = "bad gateway", method = "GET", path = "/a" }))
  end)

  it("prints other kinds with the kind first", function()
    assert.are.equal("genesiscloud: GET /a: timeout: too slow",
      tostring(errors.new{ kind = "timeout", message = "too slow", method = "GET", path = "/a" }))
    assert.are.equal("genesiscloud: usage: closed",
      tostring(errors.new{ kind = "usage", message = "closed" }))
  end)

  it("tells its objects from other values", function()
    assert.is_true(errors.is(errors.new{ kind = "usage", message = "m" }))
    assert.is_false(errors.is({ kind = "usage", message = "m" }))
    assert.is_false(errors.is("genesiscloud: usage: m"))
  end)

  it("insists on kind and message", function()
    assert.has_error(function() errors.new{ kind = "api" } end)
    local ok, err = pcall(function() errors.new("boom") end)
    assert.is_false(ok)
    assert.matches("errors_spec.lua:%d+: bad argument #1 to 'errors.new'", err)
  end)
end)
