-- The emulator as a user meets it: a real server process on loopback,
-- started with emulator.start or bin/genesiscloud-emulator, spoken to with
-- lua-http's client and the curl CLI (never the C core).

local emulator = require "genesiscloud.emulator"
local json = require "genesiscloud.emulator.wire_json"
local http_request = require "http.request"

local TOKEN = "spec-secret-token-7f3a"
local LUA = "lua5.4"
local BIN = "bin/genesiscloud-emulator"

-- One HTTP request; returns status, decoded body (or nil), headers, raw body.
local function http(method, url, body, headers)
  local req = http_request.new_from_uri(url)
  req.headers:upsert(":method", method)
  for name, value in pairs(headers or {}) do req.headers:upsert(name, value) end
  if body ~= nil then
    if type(body) == "table" then body = assert(json.encode(body)) end
    req.headers:upsert("content-type", "application/json")
    req:set_body(body)
  end
  local h, stream = req:go(5)
  assert(h, stream)
  local text = assert(stream:get_body_as_string(5))
  stream:shutdown()
  local decoded = text ~= "" and assert(json.decode(text)) or nil
  return tonumber(h:get(":status")), decoded, h, text
end

local function curl(args)
  local p = assert(io.popen("curl -s --path-as-is -w '\\n%{http_code}' " .. args))
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.*)\n(%d+)$")
  return tonumber(code), body
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Running, or a zombie nobody reaped yet (which has exited all the same)?
local function running(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local s = f:read("*a")
  f:close()
  return s:match("%)%s+(%S)") ~= "Z"
end

-- io.popen's close() reports how the process ended on Lua 5.2+ only.
local function needs_exit_status()
  if _VERSION == "Lua 5.1" then
    pending("an exit status from io.popen needs Lua 5.2+")
    return true
  end
end

local function wait_until(deadline_s, fn)
  local deadline = os.time() + deadline_s
  local p = require "cqueues"
  while true do
    local v = fn()
    if v or os.time() > deadline then return v end
    p.sleep(0.05)
  end
end

local function rules()
  return {
    { protocol = "icmp", direction = "ingress", port_range_min = json.null, port_range_max = json.null },
    { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
    { protocol = "all", direction = "egress" },
  }
end

describe("emulator over HTTP", function()
  local emu
  local AUTH = { ["x-auth-token"] = TOKEN }

  local function api(method, path, body, headers)
    return http(method, emu.endpoint .. path, body, headers or AUTH)
  end

  local function create(over)
    local body = { name = "web", description = "d", rules = rules() }
    for k, v in pairs(over or {}) do body[k] = v end
    local status, res = api("POST", "/security-groups", body)
    assert.are.equal(201, status)
    return res.security_group
  end

  local function status_of(id)
    local status, res = api("GET", "/security-groups/" .. id)
    if status == 404 then return "gone" end
    return res.security_group.status
  end

  lazy_setup(function()
    emu = assert(emulator.start{ token = TOKEN, create_delay = 0, update_delay = 0, delete_delay = 0, seed = 1 })
  end)

  lazy_teardown(function()
    if emu then assert(emu:stop()) end
  end)

  before_each(function()
    assert(emu:reset())
    assert(emu:configure{ create_delay = 0, update_delay = 0, delete_delay = 0, put_405 = false })
  end)

  it("has the endpoint, root url and token on the handle", function()
    assert.matches("^http://127%.0%.0%.1:%d+/compute/v1$", emu.endpoint)
    assert.are.equal(emu.url .. "/compute/v1", emu.endpoint)
    assert.are.equal(TOKEN, emu.token)
  end)

  describe("routes", function()
    it("POST /security-groups answers 201 with JSON", function()
      local status, res, headers = api("POST", "/security-groups", { name = "a", rules = rules() })
      assert.are.equal(201, status)
      assert.are.equal("application/json", headers:get("content-type"))
      assert.are.equal("creating", res.security_group.status)
      assert.are.equal("a", res.security_group.name)
      assert.are.equal(json.null, res.security_group.rules[3].port_range_max)
    end)

    it("GET /security-groups answers 200, with [] when empty", function()
      local status, res, _, text = api("GET", "/security-groups")
      assert.are.equal(200, status)
      assert.matches('"security_groups":%[%]', text)
      assert.are.equal(0, res.total_count)
      create()
      status, res = api("GET", "/security-groups")
      assert.are.equal(200, status)
      assert.are.equal(1, #res.security_groups)
    end)

    it("GET /security-groups/{id} answers 200", function()
      local g = create()
      local status, res = api("GET", "/security-groups/" .. g.id)
      assert.are.equal(200, status)
      assert.are.equal(g.id, res.security_group.id)
    end)

    it("PUT /security-groups/{id} answers 200", function()
      local g = create()
      local status, res = api("PUT", "/security-groups/" .. g.id, { name = "b", rules = rules() })
      assert.are.equal(200, status)
      assert.are.equal("b", res.security_group.name)
    end)

    it("PATCH /security-groups/{id} answers 200", function()
      local g = create()
      local status, res = api("PATCH", "/security-groups/" .. g.id, { description = "new" })
      assert.are.equal(200, status)
      assert.are.equal("new", res.security_group.description)
      assert.are.equal("web", res.security_group.name)
    end)

    it("DELETE /security-groups/{id} answers 204 with an empty body, then 404 02003", function()
      local g = create()
      local status, res, _, text = api("DELETE", "/security-groups/" .. g.id)
      assert.are.equal(204, status)
      assert.is_nil(res)
      assert.are.equal("", text)
      status, res = api("GET", "/security-groups/" .. g.id)
      assert.are.equal(404, status)
      assert.are.same({ code = "02003", message = "Security group not found" }, res)
    end)

    it("answers 400 naming the field", function()
      local status, res = api("POST", "/security-groups", { name = "default", rules = rules() })
      assert.are.equal(400, status)
      assert.matches("^name", res.message)
      status, res = api("POST", "/security-groups", "{not json")
      assert.are.equal(400, status)
      assert.matches("JSON object", res.message)
    end)

    it("answers 404 02001 for an unknown route and for extra segments", function()
      local status, res = api("GET", "/volumes-of-nothing")
      assert.are.equal(404, status)
      assert.are.same({ code = "02001", message = "Invalid route" }, res)
      status, res = api("GET", "/security-groups/a/b")
      assert.are.equal(404, status)
      assert.are.equal("02001", res.code)
    end)

    it("answers 405 with Allow for a wrong method", function()
      local status, res, headers = api("DELETE", "/security-groups")
      assert.are.equal(405, status)
      assert.are.equal("GET, POST", headers:get("allow"))
      assert.is_string(res.message)
    end)

    it("decodes percent-encoded ids (lua-http and curl)", function()
      local g = create()
      local encoded = g.id:gsub(".", function(c) return string.format("%%%02X", c:byte()) end)
      local status, res = api("GET", "/security-groups/" .. encoded)
      assert.are.equal(200, status)
      assert.are.equal(g.id, res.security_group.id)
      local code, text = curl("-H " .. shell_quote("X-Auth-Token: " .. TOKEN) .. " "
        .. shell_quote(emu.endpoint .. "/security-groups/" .. encoded))
      assert.are.equal(200, code)
      assert.are.equal(g.id, json.decode(text).security_group.id)
      local log = assert(emu:requests())
      assert.are.equal("/security-groups/" .. g.id, log[#log].path)
      assert.are.equal("/compute/v1/security-groups/" .. encoded, log[#log].raw_path)
    end)

    it("answers 413 for a body over 1 MiB", function()
      local status, res = api("POST", "/security-groups", string.rep(" ", 1048577))
      assert.are.equal(413, status)
      assert.matches("too large", res.message)
    end)

    it("answers HEAD without a body", function()
      local status, res = api("HEAD", "/security-groups")
      assert.are.equal(405, status)
      assert.is_nil(res)
    end)

    it("passes unknown fields through", function()
      local g = create{ region = "NORD-NO-KRS-1", labels = { env = "test" } }
      assert.are.equal("NORD-NO-KRS-1", g.region)
      local _, res = api("GET", "/security-groups/" .. g.id)
      assert.are.same({ env = "test" }, res.security_group.labels)
    end)
  end)

  describe("auth", function()
    it("accepts X-Auth-Token and Authorization: Bearer", function()
      assert.are.equal(200, (api("GET", "/security-groups", nil, { ["x-auth-token"] = TOKEN })))
      assert.are.equal(200, (api("GET", "/security-groups", nil, { authorization = "Bearer " .. TOKEN })))
    end)

    it("answers 401 with a JSON error for a wrong or missing token", function()
      for _, headers in ipairs{ {}, { ["x-auth-token"] = "nope" }, { authorization = "Bearer nope" } } do
        local status, res, h = api("GET", "/security-groups", nil, headers)
        assert.are.equal(401, status)
        assert.are.equal("application/json", h:get("content-type"))
        assert.is_string(res.code)
        assert.is_string(res.message)
      end
    end)
  end)

  describe("pagination", function()
    it("pages 51 groups as 50 + 1 in creation order", function()
      for i = 1, 51 do create{ name = "g" .. i } end
      local _, p1 = api("GET", "/security-groups")
      assert.are.same({ 50, 51, 1, 50 }, { #p1.security_groups, p1.total_count, p1.page, p1.per_page })
      assert.are.equal("g1", p1.security_groups[1].name)
      local _, p2 = api("GET", "/security-groups?page=2")
      assert.are.equal(1, #p2.security_groups)
      assert.are.equal("g51", p2.security_groups[1].name)
      local _, p3 = api("GET", "/security-groups?page=3")
      assert.are.equal(0, #p3.security_groups)
      local _, all = api("GET", "/security-groups?per_page=100")
      assert.are.equal(51, #all.security_groups)
      local _, one = api("GET", "/security-groups?per_page=1&page=51")
      assert.are.equal("g51", one.security_groups[1].name)
    end)

    it("rejects per_page 0, 101 and x with 400", function()
      for _, q in ipairs{ "per_page=0", "per_page=101", "per_page=x", "page=0" } do
        local status, res = api("GET", "/security-groups?" .. q)
        assert.are.equal(400, status, q)
        assert.matches(q:match("^(%a+_?%a*)"), res.message)
      end
    end)
  end)

  describe("status transitions", function()
    it("creating -> created, updating -> created, deleting -> gone", function()
      assert(emu:configure{ create_delay = 0.2, update_delay = 0.2, delete_delay = 0.2 })
      local g = create()
      assert.are.equal("creating", g.status)
      assert.are.equal("created", wait_until(3, function() return status_of(g.id) == "created" and "created" end))

      local _, res = api("PATCH", "/security-groups/" .. g.id, { name = "n" })
      assert.are.equal("updating", res.security_group.status)
      assert.are.equal("created", wait_until(3, function() return status_of(g.id) == "created" and "created" end))

      assert.are.equal(204, (api("DELETE", "/security-groups/" .. g.id)))
      local seen = status_of(g.id)
      assert.is_true(seen == "deleting" or seen == "gone")
      assert.are.equal("gone", wait_until(3, function() return status_of(g.id) == "gone" and "gone" end))
    end)

    it("set_status forces a status that sticks until the next write", function()
      local g = create()
      local forced = assert(emu:set_status(g.id, "error"))
      assert.are.equal("error", forced.status)
      assert.are.equal("error", status_of(g.id))
      api("PATCH", "/security-groups/" .. g.id, { name = "x" })
      assert.are.equal("created", status_of(g.id))
    end)

    it("set_status fails with nil, message for an unknown id", function()
      local ok, err = emu:set_status("no/such id", "error")
      assert.is_nil(ok)
      assert.matches("404", err)
    end)
  end)

  describe("put_405 mode", function()
    it("answers PUT with 405 and an error body; PATCH still works", function()
      assert(emu:configure{ put_405 = true })
      local g = create()
      local status, res, headers = api("PUT", "/security-groups/" .. g.id, { name = "b", rules = rules() })
      assert.are.equal(405, status)
      assert.is_string(res.code)
      assert.is_string(res.message)
      assert.are.equal("DELETE, GET, PATCH", headers:get("allow"))
      status, res = api("PATCH", "/security-groups/" .. g.id, { name = "b" })
      assert.are.equal(200, status)
      assert.are.equal("b", res.security_group.name)
    end)
  end)

  describe("request log", function()
    it("records method, path, query, body and auth style, rejected requests too", function()
      local body = json.encode{ name = "a", rules = rules() }
      api("POST", "/security-groups", body)
      api("GET", "/security-groups?page=1&per_page=5", nil, { authorization = "Bearer " .. TOKEN })
      api("GET", "/security-groups", nil, {})
      api("GET", "/nowhere")
      local log = assert(emu:requests())
      assert.are.equal(4, #log)
      assert.are.same({ method = "POST", path = "/security-groups", body = body, auth = "x-auth-token", status = 201 },
        { method = log[1].method, path = log[1].path, body = log[1].body, auth = log[1].auth, status = log[1].status })
      assert.are.same({ page = "1", per_page = "5" }, log[2].query)
      assert.are.equal("bearer", log[2].auth)
      assert.is_nil(log[2].body)
      assert.are.same({ nil, 401 }, { log[3].auth, log[3].status })
      assert.are.same({ "/nowhere", 404 }, { log[4].path, log[4].status })
    end)

    it("never contains the token", function()
      api("GET", "/security-groups")
      api("GET", "/security-groups", nil, { authorization = "Bearer " .. TOKEN })
      api("GET", "/security-groups", nil, { ["x-auth-token"] = TOKEN .. "-wrong" })
      local _, _, _, text = http("GET", emu.url .. "/_emulator/requests")
      assert.matches('"auth":"bearer"', text)
      assert.is_nil(text:find(TOKEN, 1, true))
      for _, entry in ipairs(assert(emu:requests())) do
        for _, v in pairs(entry) do
          assert.is_nil(tostring(v):find(TOKEN, 1, true))
        end
      end
    end)

    it("does not log control routes; clear_requests and reset empty it", function()
      api("GET", "/security-groups")
      http("GET", emu.url .. "/_emulator/config")
      assert(emu:requests())
      assert.are.equal(1, #assert(emu:requests()))
      assert(emu:clear_requests())
      assert.are.equal(0, #assert(emu:requests()))
      create()
      assert(emu:reset())
      assert.are.equal(0, #assert(emu:requests()))
      local _, res = api("GET", "/security-groups")
      assert.are.equal(0, res.total_count)
    end)
  end)

  describe("control routes", function()
    local function control(method, path, body)
      return http(method, emu.url .. "/_emulator" .. path, body)
    end

    it("answer without auth", function()
      local status, res = control("GET", "/requests")
      assert.are.equal(200, status)
      assert.are.same({}, res.requests)
      assert.are.equal(204, (control("DELETE", "/requests")))
      assert.are.equal(204, (control("POST", "/reset")))
    end)

    it("POST /config changes settings, rejecting bad ones", function()
      local status, res = control("POST", "/config", { put_405 = true })
      assert.are.equal(200, status)
      assert.is_true(res.config.put_405)
      status = control("POST", "/config", { create_delay = "soon" })
      assert.are.equal(400, status)
      local ok, err = emu:configure{ bogus = 1 }
      assert.is_nil(ok)
      assert.matches("unknown setting 'bogus'", err)
    end)

    it("POST /security-groups/{id}/status sets a status", function()
      local g = create()
      local status, res = control("POST", "/security-groups/" .. g.id .. "/status", { status = "error" })
      assert.are.equal(200, status)
      assert.are.equal("error", res.security_group.status)
    end)

    it("answer 404 for an unknown control route", function()
      assert.are.equal(404, (control("GET", "/nothing")))
    end)

    it("are kept to loopback peers", function()
      -- The server's modules run on lua5.4 (they use 5.3 operators).
      if not math.type then return pending("the server's modules need Lua 5.3+") end
      local server = require "genesiscloud.emulator.server"
      for addr, want in pairs{ ["127.0.0.1"] = true, ["127.1.2.3"] = true, ["::1"] = true,
        ["::ffff:127.0.0.1"] = true, ["10.0.0.1"] = false, ["::ffff:10.0.0.1"] = false, ["2001:db8::1"] = false } do
        assert.are.equal(want, server.is_loopback(addr), addr)
      end
      assert.is_false(server.is_loopback(nil))
    end)

    it("can be reached with curl", function()
      local code, text = curl(shell_quote(emu.url .. "/_emulator/config"))
      assert.are.equal(200, code)
      assert.is_false(json.decode(text).config.put_405)
    end)
  end)
end)

describe("emulator.start and stop", function()
  it("stop is idempotent and the process is gone afterwards", function()
    local emu = assert(emulator.start{ token = "t", create_delay = 0 })
    assert.is_number(emu.pid)
    assert.is_true(running(emu.pid))
    assert.is_true(emu:stop())
    assert.is_true(emu:stop())
    assert.is_false(running(emu.pid))
    local ok, err = emu:requests()
    assert.is_nil(ok)
    assert.matches("stopped", err)
  end)

  it("serves a repeatable id sequence for a seed", function()
    local ids = {}
    for i = 1, 2 do
      local emu = assert(emulator.start{ token = "t", seed = 42 })
      local _, res = http("POST", emu.endpoint .. "/security-groups", { name = "a", rules = rules() },
        { ["x-auth-token"] = "t" })
      ids[i] = res.security_group.id
      emu:stop()
    end
    assert.are.equal(ids[1], ids[2])
  end)

  it("returns nil, message for bad options", function()
    for _, opts in ipairs{
      { create_delay = -1 }, { token = "" }, { bogus = true }, { port = 70000 }, { put_405 = "yes" }, { lua = 5 },
    } do
      local emu, err = emulator.start(opts)
      assert.is_nil(emu)
      assert.is_string(err)
    end
  end)

  it("returns nil, message when the server cannot start", function()
    local first = assert(emulator.start{ token = "t" })
    local port = tonumber(first.url:match(":(%d+)$"))
    local emu, err = emulator.start{ token = "t", port = port, stderr = "/dev/null" }
    first:stop()
    assert.is_nil(emu)
    assert.matches("did not start", err)
  end)

  it("leaves no server behind when the parent process dies", function()
    local script = "package.path = " .. string.format("%q", package.path) .. "\n"
      .. "local e = assert(require('genesiscloud.emulator').start{ token = 't' })\n"
      .. "io.write(e.pid, '\\n') io.flush() os.exit(0, false)\n"
    local p = assert(io.popen(LUA .. " -e " .. shell_quote(script)))
    local pid = tonumber(p:read("*l"))
    p:close()
    assert.is_number(pid)
    finally(function()
      if running(pid) then os.execute("kill -KILL " .. pid) end
    end)
    assert.is_true(wait_until(4, function() return not running(pid) end))
  end)
end)

describe("bin/genesiscloud-emulator", function()
  -- A server process for one test; killed in `finally` if the test fails
  -- early, so a failing test cannot leave busted waiting on the pipe.
  local function spawn(args, env)
    local p = assert(io.popen((env or "") .. " exec " .. LUA .. " " .. BIN .. " " .. args, "r"))
    local proc = { pipe = p, url = p:read("*l") }
    proc.pid = tonumber(((p:read("*l") or ""):match("^pid=(%d+)$")))
    finally(function()
      if proc.pipe then
        if proc.pid and running(proc.pid) then os.execute("kill -KILL " .. proc.pid) end
        proc.pipe:close()
      end
    end)
    return proc
  end

  -- Signals the process and returns what closing its pipe says.
  local function stop(proc, signal)
    os.execute("kill -" .. signal .. " " .. proc.pid)
    local result = { proc.pipe:close() }
    proc.pipe = nil
    return result
  end

  it("prints its URL and pid, serves, and exits 0 on SIGTERM", function()
    if needs_exit_status() then return end
    local proc = spawn("--port 0 --token abc --create-delay 0")
    assert.matches("^http://127%.0%.0%.1:%d+/compute/v1$", proc.url)
    assert.is_number(proc.pid)
    assert.are.equal(200, (http("GET", proc.url .. "/security-groups", nil, { ["x-auth-token"] = "abc" })))
    assert.are.same({ true, "exit", 0 }, stop(proc, "TERM"))
    assert.is_false(running(proc.pid))
  end)

  it("exits 0 on SIGINT", function()
    if needs_exit_status() then return end
    local proc = spawn("--port 0")
    assert.are.same({ true, "exit", 0 }, stop(proc, "INT"))
  end)

  it("takes the token from GENESISCLOUD_TOKEN and honours --put-405", function()
    local proc = spawn("--put-405", "GENESISCLOUD_TOKEN=from-env")
    local auth = { ["x-auth-token"] = "from-env" }
    assert.are.equal(200, (http("GET", proc.url .. "/security-groups", nil, auth)))
    assert.are.equal(405, (http("PUT", proc.url .. "/security-groups/x", "{}", auth)))
    stop(proc, "TERM")
  end)

  it("binds ::1 when asked", function()
    local f = io.open("/proc/net/if_inet6")
    local has_v6 = f and (f:read("*a") or ""):find("00000000000000000000000000000001", 1, true)
    if f then f:close() end
    if not has_v6 then return pending("no IPv6 loopback here") end
    local proc = spawn("--host ::1")
    assert.matches("^http://%[::1%]:%d+/compute/v1$", proc.url)
    assert.are.equal(401, (http("GET", proc.url .. "/security-groups")))
    stop(proc, "TERM")
  end)

  it("--help prints usage and exits 0; an unknown flag exits 2", function()
    if needs_exit_status() then return end
    local p = assert(io.popen(LUA .. " " .. BIN .. " --help"))
    local out = p:read("*a")
    assert.are.same({ true, "exit", 0 }, { p:close() })
    assert.matches("%-%-create%-delay", out)
    p = assert(io.popen(LUA .. " " .. BIN .. " --bogus 2>/dev/null"))
    p:read("*a")
    assert.are.same({ nil, "exit", 2 }, { p:close() })
  end)
end)

describe("emulator resources beyond security groups, over HTTP", function()
  local ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyfHaPf198BIfPV+crXnGu/8eDdHusJiRnDzN4/Hvfz me@host"
  local AUTH = { ["x-auth-token"] = TOKEN }
  local emu

  local function api(method, path, body)
    return http(method, emu.endpoint .. path, body, AUTH)
  end

  lazy_setup(function()
    emu = assert(emulator.start{ token = TOKEN, create_delay = 0, update_delay = 0,
      transitions = { security_groups = { create = { reads = 1 } } }, put_405 = { "ssh_keys" } })
  end)

  lazy_teardown(function()
    if emu then assert(emu:stop()) end
  end)

  it("takes transitions and a put_405 list at start, and shows them in the config", function()
    local config = assert(emu:configure{})
    assert.are.same({ security_groups = { create = { reads = 1 } } }, config.transitions)
    assert.are.same({ "ssh_keys" }, config.put_405)
    local _, g = api("POST", "/security-groups", { name = "g", rules = rules() })
    local id = g.security_group.id
    assert.are.equal("creating", select(2, api("GET", "/security-groups/" .. id)).security_group.status)
    assert.are.equal("created", select(2, api("GET", "/security-groups/" .. id)).security_group.status)
  end)

  it("serves SSH keys as bare objects; PUT is refused for them only", function()
    local status, key = api("POST", "/ssh-keys", { name = "laptop", value = ED25519 })
    assert.are.equal(201, status)
    assert.are.same({ "ssh-ed25519", 256, "SHA256:b5ZHcpsSdpqzX2jUK+gZG2AYYlFVPjw+6xD+vFeTSxM" },
      { key.type, key.size, key.fingerprint })
    local status_put, _, headers = api("PUT", "/ssh-keys/" .. key.id, { name = "x" })
    assert.are.same({ 405, "DELETE, GET, PATCH" }, { status_put, headers:get("allow") })
    local renamed
    status, renamed = api("PATCH", "/ssh-keys/" .. key.id, { name = "desk" })
    assert.are.same({ 200, "desk" }, { status, renamed.name })
    local bad
    status, bad = api("POST", "/ssh-keys", { name = "bad", value = "ssh-ed25519 not-base64" })
    assert.are.same({ 400, "value: the key is not valid base64" }, { status, bad.message })
    assert.are.equal(204, (api("DELETE", "/ssh-keys/" .. key.id)))
  end)

  it("serves the image catalog and availability", function()
    local status, page = api("GET", "/images?type=base-os&per_page=2")
    assert.are.same({ 200, 2, "base-os" }, { status, #page.images, page.images[1].type })
    local body
    status, body = api("GET", "/availability/NORD-NO-KRS-1/instances")
    assert.are.same({ 200, "NORD-NO-KRS-1" }, { status, body.availability.region })
    assert.are.equal(400, (api("GET", "/availability/NOWHERE/instances")))
    assert.are.equal(405, (api("POST", "/images", {})))
  end)

  it("set_status takes a kind, and says why it cannot", function()
    local _, key = api("POST", "/ssh-keys", { name = "k", value = ED25519 })
    local ok, err = emu:set_status(key.id, "error", "ssh_keys")
    assert.is_nil(ok)
    assert.matches("HTTP 400: SSH keys have no status", err)
    ok, err = emu:set_status("nope", "error", "ssh_keys")
    assert.is_nil(ok)
    assert.matches("HTTP 404: SSH key not found", err)
    assert.are.same({ nil, "set_status: unknown kind 'images'" }, { emu:set_status("x", "error", "images") })
    local _, g = api("POST", "/security-groups", { name = "g", rules = rules() })
    assert.are.equal("error", assert(emu:set_status(g.security_group.id, "error", "security_groups")).status)
  end)

  it("configure clears a transition with false, and faults the new routes", function()
    local config = assert(emu:configure{ transitions = { security_groups = { create = false } } })
    assert.are.same({}, config.transitions)
    assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = { 429 } })
    finally(function() assert(emu:configure{ fault_rate = 0 }) end)
    for _, path in ipairs{ "/ssh-keys", "/images", "/availability/NORD-NO-KRS-1/instances" } do
      assert.are.equal(429, (api("GET", path)))
    end
  end)

  it("start refuses bad transitions and put_405 lists before starting anything", function()
    for _, opts in ipairs{
      { transitions = { ssh_keys = { create = "immediate" } } },
      { transitions = { security_groups = { create = { reads = -1 } } } },
      { put_405 = { "images" } },
    } do
      local e, err = emulator.start(opts)
      assert.is_nil(e)
      assert.is_string(err)
    end
  end)

  it("bin takes --transition and --put-405=KINDS, and refuses bad ones with exit 2", function()
    if needs_exit_status() then return end
    local p = assert(io.popen(LUA .. " " .. BIN .. " --transition security_groups.create=reads:x 2>&1"))
    local out = p:read("*a")
    assert.are.same({ nil, "exit", 2 }, { p:close() })
    assert.matches("%-%-transition: transitions%.security_groups%.create must be", out)
    p = assert(io.popen(LUA .. " " .. BIN .. " --put-405=images 2>&1"))
    out = p:read("*a")
    assert.are.same({ nil, "exit", 2 }, { p:close() })
    assert.matches("%-%-put%-405: put_405 must be a boolean or a list of: security_groups, ssh_keys", out)
    p = assert(io.popen("exec " .. LUA .. " " .. BIN .. " --token t --transition security_groups.update=seconds:7"
      .. " --transition security_groups.delete=immediate --put-405=security_groups"))
    local url = p:read("*l")
    local pid = tonumber(p:read("*l"):match("pid=(%d+)"))
    finally(function() os.execute("kill -TERM " .. pid) p:close() end)
    local _, body = http("GET", url:gsub("/compute/v1$", "") .. "/_emulator/config")
    assert.are.same({ security_groups = { update = { seconds = 7 }, delete = { seconds = 0 } } },
      body.config.transitions)
    assert.are.same({ "security_groups" }, body.config.put_405)
  end)
end)
