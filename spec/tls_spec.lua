-- TLS: verification is on by default, and `cafile`/`capath` trust a CA of
-- your own. The emulator serves HTTPS with a certificate made here.
local helper = require "helper"
local genesiscloud = helper.genesiscloud

describe("TLS", function()
  local dir, ca, emu

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local pipe = assert(io.popen("spec/support/make-test-cert " .. dir))
    pipe:read("*a")
    assert(pipe:close(), "make-test-cert failed")
    ca = dir .. "/ca.pem"
    emu = helper.start_emulator{ tls_cert = dir .. "/server.pem", tls_key = dir .. "/server.key" }
  end)

  teardown(function()
    if emu then emu:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("serves https", function()
    assert.matches("^https://127%.0%.0%.1:%d+/compute/v1$", emu.endpoint)
  end)

  it("refuses a server whose certificate it cannot verify, and does not retry that", function()
    local events = {}
    local c = helper.client(emu, { debug = function(e) events[#events + 1] = e end })
    local page, err = c:list_security_groups()
    assert.is_nil(page)
    assert.are.equal("transport", err.kind)
    assert.are.equal(60, err.curl_code) -- CURLE_PEER_FAILED_VERIFICATION
    assert.are.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.are.equal(1, #events)
    c:close()
  end)

  it("works with cafile naming the CA", function()
    local c = helper.client(emu, { cafile = ca })
    local sg = assert(c:create_security_group{ name = "tls", rules = { genesiscloud.rules.https() } })
    assert(c:get_security_group(sg.id))
    assert.are.equal(0, c:last_request_info().new_connections) -- kept alive over TLS too
    c:close()
  end)

  it("works with capath naming a hashed CA directory", function()
    local hashdir = dir .. "/hashed"
    assert(os.execute("mkdir -p " .. hashdir .. " && cp " .. ca .. " " .. hashdir .. "/ca.pem"
      .. " && cd " .. hashdir .. " && ln -s ca.pem \"$(openssl x509 -hash -noout -in ca.pem)\".0"))
    local c = helper.client(emu, { capath = hashdir })
    local page, err = c:list_security_groups()
    c:close()
    -- GnuTLS builds of libcurl ignore CURLOPT_CAPATH; Debian's libcurl4-openssl honours it.
    assert.is_nil(err)
    assert.is_table(page.security_groups)
  end)

  it("refuses a cafile it cannot read, at new", function()
    local c, err = genesiscloud.new{ token = "t", endpoint = emu.endpoint, cafile = dir .. "/missing.pem" }
    assert.is_nil(c)
    assert.are.equal("usage", err.kind)
    assert.matches("cafile", err.message)
  end)
end)

describe("redirects and protocols", function()
  it("does not follow a redirect: a 3xx is an error like any unexpected status", function()
    local server = helper.start_canned_server()
    local c = assert(genesiscloud.new{ token = "t", endpoint = server.endpoint, max_retries = 0 })
    local _, err = c:get_security_group("redirect")
    c:close()
    server.stop()
    assert.are.equal("api", err.kind)
    assert.are.equal(302, err.status)
  end)
end)
