-- The emulator over HTTPS, with a throwaway CA and server certificate made
-- by spec/support/make-test-cert, checked with the curl CLI: it works with
-- --cacert and is refused without it.

local emulator = require "genesiscloud.emulator"
local json = require "genesiscloud.emulator.wire_json"

local TOKEN = "spec-tls-token-90ad"
local SCRIPT = "spec/support/make-test-cert"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Exit code (from the shell: io.popen's close() tells it on 5.2+ only) and output.
local function run(command)
  local p = assert(io.popen("(" .. command .. ") 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local text, code = out:match("^(.-)exit=(%d+)%s*$")
  return tonumber(code), text
end

-- A fresh directory under /tmp, removed by the caller.
local function temp_dir()
  local p = assert(io.popen("mktemp -d /tmp/gc-tls-spec.XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  return dir
end

-- curl with extra arguments; returns exit code, HTTP status, body.
local function curl(url, args)
  local p = assert(io.popen("curl -s --max-time 5 -w '\\n%{http_code}' -H "
    .. shell_quote("X-Auth-Token: " .. TOKEN) .. " " .. (args or "") .. " " .. shell_quote(url)
    .. " 2>/dev/null; echo \" $?\""))
  local out = p:read("*a")
  p:close()
  local body, code, rc = out:match("^(.*)\n(%d+) (%d+)\n?$")
  return tonumber(rc), tonumber(code), body
end

local function make_certs(dir)
  local code, out = run(SCRIPT .. " " .. shell_quote(dir))
  assert(code == 0, out)
  local paths = {}
  for line in out:gmatch("[^\n]+") do paths[#paths + 1] = line end
  return { ca = paths[1], ca_key = paths[2], cert = paths[3], key = paths[4], lines = paths }
end

describe("make-test-cert", function()
  local dir
  before_each(function() dir = temp_dir() end)
  after_each(function() os.execute("rm -rf " .. shell_quote(dir)) end)

  it("writes a CA and a server certificate for 127.0.0.1 and localhost and prints their paths", function()
    local certs = make_certs(dir)
    assert.are.same({ dir .. "/ca.pem", dir .. "/ca.key", dir .. "/server.pem", dir .. "/server.key" }, certs.lines)
    local code, text = run("openssl x509 -noout -text -in " .. shell_quote(certs.cert))
    assert.are.equal(0, code)
    assert.matches("IP Address:127%.0%.0%.1", text)
    assert.matches("DNS:localhost", text)
    assert.matches("Issuer: CN ?= ?genesiscloud%-emulator test CA", text)
    code = run("openssl verify -CAfile " .. shell_quote(certs.ca) .. " " .. shell_quote(certs.cert))
    assert.are.equal(0, code)
  end)

  it("needs a directory argument", function()
    local code, out = run(SCRIPT)
    assert.are.equal(2, code)
    assert.matches("usage", out)
  end)

  it("says so when the openssl command is missing", function()
    local code, out = run("PATH=/nonexistent /bin/sh " .. SCRIPT .. " " .. shell_quote(dir))
    assert.are.equal(1, code)
    assert.matches("openssl command is missing", out)
  end)
end)

describe("emulator over HTTPS", function()
  local dir, certs, emu

  lazy_setup(function()
    dir = temp_dir()
    certs = make_certs(dir)
    emu = assert(emulator.start{ token = TOKEN, create_delay = 0, tls_cert = certs.cert, tls_key = certs.key })
  end)

  lazy_teardown(function()
    if emu then emu:stop() end
    if dir then os.execute("rm -rf " .. shell_quote(dir)) end
  end)

  it("prints an https endpoint", function()
    assert.matches("^https://127%.0%.0%.1:%d+/compute/v1$", emu.endpoint)
  end)

  it("serves the API to a client that trusts the CA", function()
    local rc, code, body = curl(emu.endpoint .. "/security-groups", "--cacert " .. shell_quote(certs.ca))
    assert.are.equal(0, rc)
    assert.are.equal(200, code)
    assert.are.equal(0, json.decode(body).total_count)
  end)

  it("matches the name localhost too", function()
    local url = emu.endpoint:gsub("127%.0%.0%.1", "localhost") .. "/security-groups"
    local rc, code = curl(url, "--cacert " .. shell_quote(certs.ca))
    assert.are.equal(0, rc)
    assert.are.equal(200, code)
  end)

  it("is refused by a client that does not trust the CA", function()
    local rc, code = curl(emu.endpoint .. "/security-groups")
    assert.are.equal(60, rc) -- peer certificate cannot be authenticated
    assert.are.equal(0, code)
  end)

  it("is refused by a client that trusts another CA", function()
    local other_dir = temp_dir()
    finally(function() os.execute("rm -rf " .. shell_quote(other_dir)) end)
    local other = make_certs(other_dir)
    local rc = curl(emu.endpoint .. "/security-groups", "--cacert " .. shell_quote(other.ca))
    assert.are.equal(60, rc)
  end)

  it("answers plain HTTP on its port for control routes only", function()
    assert(emu:reset())
    assert(emu:configure{ fault_rate = 1, faults = { "close_before_body" } })
    finally(function() assert(emu:configure{ fault_rate = 0 }) end)
    local plain = emu.url:gsub("^https:", "http:")
    local rc, code, body = curl(plain .. "/compute/v1/security-groups")
    assert.are.same({ 0, 400 }, { rc, code })
    assert.matches("speaks HTTPS", json.decode(body).message)
    assert.are.same({}, assert(emu:requests())) -- neither logged nor faulted
    rc, code = curl(plain .. "/_emulator/config")
    assert.are.same({ 0, 200 }, { rc, code })
    rc, code = curl(emu.url .. "/_emulator/config", "--cacert " .. shell_quote(certs.ca))
    assert.are.same({ 0, 200 }, { rc, code })
  end)

  it("speaks HTTP/1.1 even when the client offers h2", function()
    local code, out = run("curl -s -v --http2 -o /dev/null --cacert " .. shell_quote(certs.ca) .. " "
      .. shell_quote(emu.url .. "/_emulator/config"))
    assert.are.equal(0, code)
    assert.matches("< HTTP/1%.1 200", out)
  end)

  it("keeps the handle's control calls working", function()
    local rc, code = curl(emu.endpoint .. "/security-groups", "--cacert " .. shell_quote(certs.ca)
      .. " -H 'content-type: application/json' --data-binary "
      .. shell_quote('{"name":"tls","rules":[{"protocol":"all","direction":"egress"}]}'))
    assert.are.same({ 0, 201 }, { rc, code })
    local log = assert(emu:requests())
    assert.are.equal("POST", log[#log].method)
    assert.is_table(assert(emu:configure{ put_405 = false }))
    assert(emu:reset())
    assert.are.same({}, assert(emu:requests()))
  end)

  it("injects faults over TLS too", function()
    assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 502 })
    finally(function() assert(emu:configure{ fault_rate = 0 }) end)
    local rc, code = curl(emu.endpoint .. "/security-groups", "--cacert " .. shell_quote(certs.ca))
    assert.are.same({ 0, 502 }, { rc, code })
    assert(emu:configure{ faults = { "close_after_body" } })
    rc, code = curl(emu.endpoint .. "/security-groups", "--cacert " .. shell_quote(certs.ca))
    assert.are_not.equal(0, rc)
    assert.are.equal(0, code)
  end)

  describe("start", function()
    it("needs tls_cert and tls_key together, and readable", function()
      for _, opts in ipairs{
        { tls_cert = certs.cert }, { tls_key = certs.key },
        { tls_cert = dir .. "/missing.pem", tls_key = certs.key }, { tls_cert = 5, tls_key = certs.key },
      } do
        local e, err = emulator.start(opts)
        assert.is_nil(e)
        assert.is_string(err)
      end
    end)

    it("sends the rest of a certificate file as the chain", function()
      local chain = dir .. "/chain.pem"
      assert.are.equal(0, (run("cat " .. shell_quote(certs.cert) .. " " .. shell_quote(certs.ca) .. " > "
        .. shell_quote(chain))))
      local e = assert(emulator.start{ token = TOKEN, tls_cert = chain, tls_key = certs.key })
      finally(function() e:stop() end)
      local code, out = run("openssl s_client -connect " .. e.url:match("//(.*)$")
        .. " -showcerts </dev/null")
      assert.are.equal(0, code)
      local _, count = out:gsub("BEGIN CERTIFICATE", "")
      assert.are.equal(2, count)
      local rc, status = curl(e.endpoint .. "/security-groups", "--cacert " .. shell_quote(certs.ca))
      assert.are.same({ 0, 200 }, { rc, status })
    end)

    it("fails with a message when the key does not belong to the certificate", function()
      local log = dir .. "/stderr.txt"
      local e, err = emulator.start{ tls_cert = certs.cert, tls_key = certs.ca_key, stderr = log }
      if e then e:stop() end
      assert.is_nil(e)
      assert.matches("did not start", err)
      local f = assert(io.open(log))
      local text = f:read("*a")
      f:close()
      assert.matches("tls_key", text)
    end)
  end)

  describe("bin/genesiscloud-emulator", function()
    it("serves HTTPS with --tls-cert and --tls-key", function()
      local p = assert(io.popen("GENESISCLOUD_TOKEN=" .. TOKEN .. " exec lua5.4 bin/genesiscloud-emulator --tls-cert "
        .. shell_quote(certs.cert) .. " --tls-key " .. shell_quote(certs.key), "r"))
      local url = p:read("*l")
      local pid = tonumber(((p:read("*l") or ""):match("^pid=(%d+)$")))
      finally(function()
        if pid then os.execute("kill " .. pid) end
        p:close()
      end)
      assert.matches("^https://127%.0%.0%.1:%d+/compute/v1$", url)
      local rc, code = curl(url .. "/security-groups", "--cacert " .. shell_quote(certs.ca))
      assert.are.same({ 0, 200 }, { rc, code })
    end)
  end)
end)
