-- Which failures are retried and how long the client waits: the pure
-- rules of genesiscloud.retry.
local retry = require "genesiscloud.retry"
local errors = require "genesiscloud.errors"

local function api(status) return errors.new{ kind = "api", status = status, message = "m" } end
local function transport(code, sent, kind)
  return errors.new{ kind = kind or "transport", curl_code = code, sent = sent, message = "m" }
end

describe("retry.classify", function()
  it("retries 408, 429 and 5xx gateway statuses for idempotent methods", function()
    for _, status in ipairs{ 408, 429, 500, 502, 503, 504 } do
      for _, method in ipairs{ "GET", "PUT", "PATCH", "DELETE" } do
        assert.are.equal("retry", retry.classify(method, api(status)), method .. " " .. status)
      end
    end
  end)

  it("never retries other 4xx, nor 501", function()
    for _, status in ipairs{ 400, 401, 403, 404, 405, 409, 422, 501 } do
      assert.are.equal("final", retry.classify("GET", api(status)), status)
    end
  end)

  it("retries a POST only on 429 among statuses", function()
    assert.are.equal("retry", retry.classify("POST", api(429)))
    for _, status in ipairs{ 408, 500, 502, 503, 504 } do
      assert.are.equal("final", retry.classify("POST", api(status)), status)
    end
  end)

  it("retries a refused connection for every method, POST included", function()
    for _, method in ipairs{ "GET", "POST", "PUT", "PATCH", "DELETE" } do
      assert.are.equal("retry", retry.classify(method, transport(7, false)))
    end
  end)

  it("retries a timeout before anything was sent, even for POST", function()
    assert.are.equal("retry", retry.classify("POST", transport(28, false, "timeout")))
  end)

  it("calls a POST that broke after sending ambiguous, and retries the rest", function()
    for _, code in ipairs{ 18, 28, 52, 55, 56 } do
      assert.are.equal("ambiguous", retry.classify("POST", transport(code, true)), code)
      assert.are.equal("retry", retry.classify("GET", transport(code, true)), code)
      assert.are.equal("retry", retry.classify("DELETE", transport(code, true)), code)
    end
  end)

  it("never retries TLS verification failures, DNS failures or unknown transport errors", function()
    for _, code in ipairs{ 60, 77, 58, 35, 6, 1, 3 } do
      assert.are.equal("final", retry.classify("GET", transport(code, true)), code)
      assert.are.equal("final", retry.classify("POST", transport(code, true)), code)
    end
  end)

  it("retries an unreadable success for idempotent methods; a POST is ambiguous", function()
    local garbled = errors.new{ kind = "decode", status = 200, message = "m" }
    assert.are.equal("retry", retry.classify("GET", garbled))
    assert.are.equal("ambiguous", retry.classify("POST", garbled))
  end)

  it("never retries usage, validation or too_large errors", function()
    for _, kind in ipairs{ "usage", "validation", "too_large" } do
      assert.are.equal("final", retry.classify("GET", errors.new{ kind = kind, message = "m" }))
    end
  end)

  it("calls a POST whose answer was too large ambiguous: it may have worked", function()
    assert.are.equal("ambiguous", retry.classify("POST", errors.new{ kind = "too_large", message = "m" }))
    assert.are.equal("final", retry.classify("POST", errors.new{ kind = "validation", message = "m" }))
  end)
end)

describe("retry.parse_retry_after", function()
  local now = 784111777 -- Sun, 06 Nov 1994 08:49:37 GMT

  it("reads delta-seconds", function()
    assert.are.equal(120, retry.parse_retry_after("120", now))
    assert.are.equal(0, retry.parse_retry_after(" 0 ", now))
  end)

  it("reads an HTTP date as the seconds until then", function()
    assert.are.equal(0, retry.parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now))
    assert.are.equal(23, retry.parse_retry_after("Sun, 06 Nov 1994 08:50:00 GMT", now))
    assert.are.equal(86400 + 3600, retry.parse_retry_after("Mon, 07 Nov 1994 09:49:37 GMT", now))
    assert.are.equal(2 * 86400, retry.parse_retry_after("Tue, 29 Feb 2000 00:00:00 GMT", 951609600))
  end)

  it("turns a date in the past into no wait", function()
    assert.are.equal(0, retry.parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now))
  end)

  it("ignores what it cannot read", function()
    assert.is_nil(retry.parse_retry_after("soon", now))
    assert.is_nil(retry.parse_retry_after("-5", now))
    assert.is_nil(retry.parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now))
    assert.is_nil(retry.parse_retry_after(nil, now))
  end)
end)

describe("retry.delay", function()
  local function policy(random)
    return { retry_base = 0.5, retry_max_wait = 30, random = function() return random end,
      wall_clock = function() return 784111777 end }
  end

  it("is full jitter over an exponential ceiling", function()
    assert.are.equal(0.5, retry.delay(1, policy(1), api(503)))
    assert.are.equal(1, retry.delay(2, policy(1), api(503)))
    assert.are.equal(2, retry.delay(3, policy(1), api(503)))
    assert.are.equal(1, retry.delay(3, policy(0.5), api(503)))
    assert.are.equal(0, retry.delay(5, policy(0), api(503)))
  end)

  it("is capped by retry_max_wait", function()
    assert.are.equal(30, retry.delay(20, policy(1), api(503)))
  end)

  it("follows Retry-After, but never beyond retry_max_wait", function()
    local err = api(429)
    err.retry_after = "7"
    assert.are.equal(7, retry.delay(1, policy(0), err))
    err.retry_after = "3600"
    assert.are.equal(30, retry.delay(1, policy(0), err))
    err.retry_after = "Sat, 05 Nov 1994 08:49:37 GMT"
    assert.are.equal(0, retry.delay(1, policy(1), err))
  end)
end)
