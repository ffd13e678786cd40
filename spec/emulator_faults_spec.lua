-- Fault injection in the emulator, seen from outside: the curl CLI and the
-- C core's transport, against a real server process. Whether a faulted
-- request took effect is checked through the state (a later, unfaulted
-- list) and through the request log. The server runs on lua5.4; this file
-- runs in any Lua the suite runs in (the server's own modules, which need
-- 5.3+, are only loaded by the tests that call them directly).

local emulator = require "genesiscloud.emulator"
local helper = require "helper"
local json = require "genesiscloud.emulator.wire_json"

local KINDS = { "status", "close_before_body", "close_after_body", "truncate", "invalid_json", "stall", "oversize" }
local DEFAULT_OVERSIZE = 20 * 1024 * 1024

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

-- The server's modules use 5.3 operators.
local function server_modules()
  if not math.type then
    pending("the server's modules need Lua 5.3+")
    return nil
  end
  return require "genesiscloud.emulator.faults", require "genesiscloud.emulator.app"
end

local TOKEN = "spec-fault-token-51c2"
local BODY = '{"name":"web","rules":[{"protocol":"all","direction":"egress"}]}'

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local tmp_body, tmp_headers = os.tmpname(), os.tmpname()

-- Runs curl; returns { rc = exit code, code = HTTP status (0: none),
-- body = string, headers = { lower-case name = value }, time = seconds }.
local function curl(method, url, opts)
  opts = opts or {}
  local args = { "curl -s --path-as-is -X", method, "-H", shell_quote("X-Auth-Token: " .. TOKEN),
    "-D", tmp_headers, "-o", tmp_body, "-w", "'%{http_code} %{time_total}'",
    "--max-time", tostring(opts.max_time or 5) }
  if opts.body then
    args[#args + 1] = "-H 'content-type: application/json' --data-binary " .. shell_quote(opts.body)
  end
  args[#args + 1] = shell_quote(url)
  os.remove(tmp_body)
  os.remove(tmp_headers)
  local p = assert(io.popen(table.concat(args, " ") .. " 2>/dev/null; echo \" $?\""))
  local out = p:read("*a")
  p:close()
  local code, time, rc = out:match("^(%d+) ([%d.]+) (%d+)")
  local headers = {}
  for name, value in (read_all(tmp_headers) or ""):gmatch("([%w-]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return { rc = tonumber(rc), code = tonumber(code), time = tonumber(time), body = read_all(tmp_body) or "",
    headers = headers }
end

describe("emulator faults", function()
  local emu

  local function api(method, path, opts)
    return curl(method, emu.endpoint .. path, opts)
  end

  -- Faults off, then the groups the state holds.
  local function groups()
    assert(emu:configure{ fault_rate = 0 })
    local r = api("GET", "/security-groups")
    assert.are.equal(200, r.code)
    return json.decode(r.body).security_groups
  end

  local function create_unfaulted()
    assert(emu:configure{ fault_rate = 0 })
    local r = api("POST", "/security-groups", { body = BODY })
    assert.are.equal(201, r.code)
    return json.decode(r.body).security_group.id
  end

  -- Every API request gets a fault of this kind from now on.
  local function only(kind, extra)
    local settings = { fault_rate = 1, faults = { kind } }
    for k, v in pairs(extra or {}) do settings[k] = v end
    assert(emu:configure(settings))
    assert(emu:clear_requests())
  end

  local function last_log()
    local log = assert(emu:requests())
    return log[#log], #log
  end

  lazy_setup(function()
    emu = assert(emulator.start{ token = TOKEN, create_delay = 0, update_delay = 0, delete_delay = 0, seed = 5 })
  end)

  lazy_teardown(function()
    if emu then emu:stop() end
    os.remove(tmp_body)
    os.remove(tmp_headers)
  end)

  before_each(function()
    assert(emu:reset())
    assert(emu:configure{
      fault_rate = 0, faults = KINDS, fault_status = 503, retry_after = false, latency = 0,
      stall_seconds = 30, oversize_bytes = DEFAULT_OVERSIZE, fault_methods = "all",
    })
  end)

  describe("fault_rate", function()
    it("0 (the default) faults nothing and logs applied = true without a fault", function()
      for _ = 1, 10 do
        assert.are.equal(200, api("GET", "/security-groups").code)
      end
      assert.are.equal(201, api("POST", "/security-groups", { body = BODY }).code)
      local log = assert(emu:requests())
      assert.are.equal(11, #log)
      for _, e in ipairs(log) do
        assert.is_true(e.applied)
        assert.is_nil(e.fault)
      end
    end)

    it("1 faults every API request, never a control route", function()
      only("status")
      for _ = 1, 5 do
        assert.are.equal(503, api("GET", "/security-groups").code)
      end
      -- the handle's control calls all still work
      local log = assert(emu:requests())
      assert.are.equal(5, #log)
      assert.is_table(assert(emu:configure{}))
      assert(emu:reset())
      assert.are.equal(200, curl("GET", emu.url .. "/_emulator/config").code)
      for _, e in ipairs(log) do assert.are.equal("status", e.fault) end
    end)

    it("0.5 faults some requests and not others", function()
      assert(emu:configure{ fault_rate = 0.5, faults = { "status" }, fault_seed = 1 })
      local seen = {}
      for _ = 1, 30 do
        local code = api("GET", "/security-groups").code
        seen[code] = (seen[code] or 0) + 1
      end
      assert.is_true(seen[200] >= 5, "some answered")
      assert.is_true(seen[503] >= 5, "some faulted")
      assert.are.equal(30, seen[200] + seen[503])
    end)

    it("fault_methods keeps faults to the methods given", function()
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_methods = { "POST" } })
      assert.are.equal(200, api("GET", "/security-groups").code)
      assert.are.equal(503, api("POST", "/security-groups", { body = BODY }).code)
      assert.are.equal(200, api("GET", "/security-groups").code)
    end)
  end)

  describe("status", function()
    it("answers the chosen status with a JSON error and does not apply the request", function()
      only("status")
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(503, r.code)
      assert.are.equal("application/json", r.headers["content-type"])
      assert.is_nil(r.headers["retry-after"])
      local err = json.decode(r.body)
      assert.are.same({ code = "00503", message = "Injected fault: HTTP 503" }, err)
      local e = last_log()
      assert.are.same({ "status", false, 503, BODY }, { e.fault, e.applied, e.status, e.body })
      assert.are.same({}, groups())
    end)

    it("does not apply a DELETE either", function()
      local id = create_unfaulted()
      only("status", { fault_status = 500 })
      assert.are.equal(500, api("DELETE", "/security-groups/" .. id).code)
      assert.are.equal(1, #groups())
    end)

    it("sends Retry-After in seconds when asked", function()
      only("status", { fault_status = 429, retry_after = 7 })
      local r = api("GET", "/security-groups")
      assert.are.equal(429, r.code)
      assert.are.equal("7", r.headers["retry-after"])
    end)

    it("sends Retry-After as an HTTP-date when asked", function()
      only("status", { retry_after = "date+3" })
      local before = os.time()
      local r = api("GET", "/security-groups")
      assert.are.equal(503, r.code)
      local value = r.headers["retry-after"]
      assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", value)
      -- within a few seconds of now + 3
      local ok = false
      for t = before + 3, before + 6 do
        if http_date(t) == value then ok = true end
      end
      assert.is_true(ok, value)
    end)

    it("picks from a list of statuses", function()
      only("status", { fault_status = { 429, 502 }, fault_seed = 3 })
      local seen = {}
      for _ = 1, 20 do seen[api("GET", "/security-groups").code] = true end
      assert.are.same({ [429] = true, [502] = true }, seen)
    end)
  end)

  describe("close_before_body", function()
    it("closes without an answer and without applying the request", function()
      only("close_before_body")
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(0, r.code)
      assert.is_true(r.rc == 52 or r.rc == 56, "curl exit " .. r.rc) -- empty reply, or reset
      local e = last_log()
      assert.are.same({ "close_before_body", false }, { e.fault, e.applied })
      assert.is_nil(e.status)
      assert.is_nil(e.body)
      assert.are.same({}, groups())
    end)

    it("does not apply a DELETE", function()
      local id = create_unfaulted()
      only("close_before_body")
      assert.are.equal(0, api("DELETE", "/security-groups/" .. id).code)
      assert.are.equal(1, #groups())
    end)
  end)

  describe("close_after_body", function()
    it("applies a create, then closes without an answer", function()
      only("close_after_body")
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(0, r.code)
      assert.are.equal(52, r.rc) -- empty reply from server
      local e = last_log()
      assert.are.same({ "close_after_body", true, 201, BODY }, { e.fault, e.applied, e.status, e.body })
      local list = groups()
      assert.are.equal(1, #list)
      assert.are.equal("web", list[1].name)
    end)

    it("applies a delete", function()
      local id = create_unfaulted()
      only("close_after_body")
      assert.are.equal(0, api("DELETE", "/security-groups/" .. id).code)
      assert.are.same({}, groups())
    end)
  end)

  describe("truncate", function()
    it("announces the length, sends half the body and closes; the create is applied", function()
      only("truncate")
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(18, r.rc) -- partial file
      assert.are.equal(201, r.code)
      local length = tonumber(r.headers["content-length"])
      assert.is_true(#r.body > 0 and #r.body < length, #r.body .. " of " .. tostring(length))
      assert.is_nil(json.decode(r.body))
      local e = last_log()
      assert.are.same({ "truncate", true, 201 }, { e.fault, e.applied, e.status })
      assert.are.equal(1, #groups())
    end)

    it("cuts the status line of a 204, and the delete is applied", function()
      local id = create_unfaulted()
      only("truncate")
      local r = api("DELETE", "/security-groups/" .. id)
      assert.are.equal(0, r.code)
      assert.are_not.equal(0, r.rc)
      assert.are.same({}, groups())
    end)
  end)

  describe("invalid_json", function()
    it("answers the usual status with a body that is not JSON; the create is applied", function()
      only("invalid_json")
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(0, r.rc)
      assert.are.equal(201, r.code)
      assert.are.equal("application/json", r.headers["content-type"])
      assert.are.equal(#r.body, tonumber(r.headers["content-length"]))
      assert.is_nil(json.decode(r.body))
      assert.matches('^{"security_group":', r.body)
      assert.are.equal(1, #groups())
    end)

    it("turns a 204 into a 200 with a broken body", function()
      local id = create_unfaulted()
      only("invalid_json")
      local r = api("DELETE", "/security-groups/" .. id)
      assert.are.equal(200, r.code)
      assert.is_nil(json.decode(r.body))
      assert.are.equal(200, last_log().status)
      assert.are.same({}, groups())
    end)
  end)

  describe("stall", function()
    it("sends half the answer, then stalls past the client's timeout; the request is applied", function()
      only("stall", { stall_seconds = 1 })
      local r = api("POST", "/security-groups", { body = BODY, max_time = 0.3 })
      assert.are.equal(28, r.rc) -- timeout
      assert.are.equal(201, r.code)
      assert.is_true(#r.body > 0 and #r.body < tonumber(r.headers["content-length"]))
      assert.are.same({ "stall", true }, { last_log().fault, last_log().applied })
      assert.are.equal(1, #groups())
    end)

    it("completes after stall_seconds for a patient client", function()
      only("stall", { stall_seconds = 0.3 })
      local r = api("GET", "/security-groups", { max_time = 5 })
      assert.are.equal(0, r.rc)
      assert.are.equal(200, r.code)
      assert.is_true(r.time >= 0.28, "took " .. r.time)
      assert.is_table(json.decode(r.body))
    end)

    it("holds a 204 whole", function()
      local id = create_unfaulted()
      only("stall", { stall_seconds = 1 })
      local r = api("DELETE", "/security-groups/" .. id, { max_time = 0.3 })
      assert.are.equal(28, r.rc)
      assert.are.equal(0, r.code)
    end)
  end)

  describe("oversize", function()
    it("sends a valid JSON body just over oversize_bytes; the request is applied", function()
      only("oversize", { oversize_bytes = 100000 })
      local r = api("POST", "/security-groups", { body = BODY })
      assert.are.equal(0, r.rc)
      assert.are.equal(201, r.code)
      assert.are.equal(100001, #r.body)
      assert.are.equal("100001", r.headers["content-length"])
      local doc = assert(json.decode(r.body))
      assert.are.equal("web", doc.response.security_group.name)
      assert.are.equal(1, #groups())
    end)

    it("defaults to more than 20 MiB, streamed", function()
      only("oversize")
      local p = assert(io.popen("curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "
        .. shell_quote("X-Auth-Token: " .. TOKEN) .. " " .. shell_quote(emu.endpoint .. "/security-groups")))
      local out = p:read("*a")
      p:close()
      local code, size = out:match("^(%d+) (%d+)$")
      assert.are.equal("200", code)
      assert.are.equal(20 * 1024 * 1024 + 1, tonumber(size))
    end)

    it("trips the core's max_response_bytes", function()
      only("oversize", { oversize_bytes = 2 * 1024 * 1024 })
      local core = require "genesiscloud.core"
      local client = assert(core.new(helper.core_options{ token = TOKEN, endpoint = emu.endpoint,
        max_response_bytes = 1024 * 1024 }))
      local status, kind = client:perform("GET", "/security-groups")
      client:close()
      assert.is_nil(status)
      assert.are.equal("too_large", kind)
    end)
  end)

  describe("latency", function()
    it("is added to every API answer, not to control routes", function()
      assert(emu:configure{ latency = 0.3 })
      local r = api("GET", "/security-groups")
      assert.are.equal(200, r.code)
      assert.is_true(r.time >= 0.28, "took " .. r.time)
      local control = curl("GET", emu.url .. "/_emulator/config")
      assert.are.equal(200, control.code)
      assert.is_true(control.time < 0.28, "control took " .. control.time)
    end)

    it("comes before a fault too", function()
      only("close_after_body", { latency = 0.3 })
      local r = api("GET", "/security-groups")
      assert.are.equal(52, r.rc)
      assert.is_true(r.time >= 0.28, "took " .. r.time)
    end)
  end)

  describe("the C core sees", function()
    local function perform(method, path, body, opts)
      local core = require "genesiscloud.core"
      local o = { token = TOKEN, endpoint = emu.endpoint }
      for k, v in pairs(opts or {}) do o[k] = v end
      local client = assert(core.new(helper.core_options(o)))
      local r = { client:perform(method, path, body) }
      client:close()
      return r
    end

    it("a transport failure for close_after_body and truncate", function()
      for _, kind in ipairs{ "close_before_body", "close_after_body", "truncate" } do
        only(kind)
        local r = perform("POST", "/security-groups", BODY)
        assert.is_nil(r[1], kind)
        assert.are.equal("transport", r[2], kind)
      end
    end)

    it("a timeout for stall", function()
      only("stall", { stall_seconds = 2 })
      local r = perform("GET", "/security-groups", nil, { timeout = 0.3 })
      assert.is_nil(r[1])
      assert.are.equal("timeout", r[2])
    end)

    it("a status and Retry-After for status", function()
      only("status", { fault_status = 429, retry_after = 2 })
      local r = perform("GET", "/security-groups")
      assert.are.equal(429, r[1])
      assert.are.equal("2", r[3]["retry-after"])
    end)
  end)

  describe("seed", function()
    -- The answers a fresh server gives to 16 GETs.
    local function sequence(opts)
      local o = { token = TOKEN, create_delay = 0, fault_rate = 0.5,
        faults = { "status", "invalid_json" }, fault_status = { 500, 503 } }
      for k, v in pairs(opts) do o[k] = v end
      local e = assert(emulator.start(o))
      local seq = {}
      for i = 1, 16 do
        local r = curl("GET", e.endpoint .. "/security-groups")
        seq[i] = r.code .. (json.decode(r.body) and "" or "!")
      end
      local log = assert(e:requests())
      e:stop()
      return table.concat(seq, " "), log
    end

    it("makes the fault sequence repeatable, and another seed gives another", function()
      local a, log = sequence{ fault_seed = 42 }
      local b = sequence{ fault_seed = 42 }
      local c = sequence{ fault_seed = 43 }
      assert.are.equal(a, b)
      assert.are_not.equal(a, c)
      for _, want in ipairs{ "200 ", "500", "503", "200!" } do
        assert.truthy(a:find(want, 1, true), want .. " in " .. a)
      end
      assert.are.equal(16, #log)
    end)

    it("defaults to `seed`", function()
      assert.are.equal(sequence{ seed = 9 }, sequence{ seed = 9, fault_seed = 9 })
    end)

    it("restarts the sequence when fault_seed is set again", function()
      local function run()
        assert(emu:configure{ fault_rate = 0.5, faults = { "status" }, fault_seed = 77 })
        local codes = {}
        for i = 1, 12 do codes[i] = api("GET", "/security-groups").code end
        return table.concat(codes, " ")
      end
      local first = run()
      assert.are.equal(first, run())
      assert.truthy(first:find("503", 1, true))
      assert.truthy(first:find("200", 1, true))
    end)

    it("shows the seed in use in the config", function()
      local config = assert(emu:configure{ fault_seed = 1234 })
      assert.are.equal(1234, config.fault_seed)
    end)
  end)

  describe("the log", function()
    it("is enough to compute the state after a chaos run", function()
      assert(emu:configure{ fault_rate = 0.6, fault_seed = 11,
        faults = { "status", "close_before_body", "close_after_body", "truncate", "invalid_json" } })
      for i = 1, 25 do
        api("POST", "/security-groups", { body = BODY:gsub('"web"', '"g' .. i .. '"') })
      end
      local log = assert(emu:requests())
      local expected, kinds = {}, {}
      for _, e in ipairs(log) do
        kinds[e.fault or "none"] = true
        if e.applied and e.status == 201 then
          expected[#expected + 1] = assert(json.decode(e.body)).name
        end
      end
      assert.are.equal(25, #log)
      for _, kind in ipairs{ "none", "status", "close_before_body", "close_after_body" } do
        assert.is_true(kinds[kind], kind)
      end
      local names = {}
      for i, g in ipairs(groups()) do names[i] = g.name end
      assert.are.same(expected, names)
      assert.is_true(#names > 0 and #names < 25)
    end)
  end)

  describe("settings", function()
    it("are checked by configure", function()
      for _, bad in ipairs{
        { fault_rate = 1.5 }, { fault_rate = -0.1 }, { faults = {} }, { faults = { "explode" } },
        { fault_status = 200 }, { fault_status = { 503, "x" } }, { retry_after = "soon" },
        { retry_after = -1 }, { latency = -1 }, { oversize_bytes = 1.5 }, { fault_seed = 0.5 },
        { fault_methods = { "HEAD" } }, { stall_seconds = "long" },
      } do
        local ok, err = emu:configure(bad)
        assert.is_nil(ok, next(bad))
        assert.is_string(err)
      end
      -- nothing changed
      local config = assert(emu:configure{})
      assert.are.equal(0, config.fault_rate)
      assert.are.equal(503, config.fault_status)
    end)

    it("are checked by start", function()
      for _, bad in ipairs{ { fault_rate = 2 }, { faults = { "nope" } }, { retry_after = "later" } } do
        bad.stderr = "/dev/null" -- before 5.3 only the server itself checks them
        local e, err = emulator.start(bad)
        assert.is_nil(e)
        assert.is_string(err)
      end
    end)

    it("accept null for retry_after and normalise numbers", function()
      local faults, state = server_modules()
      if not faults then return end
      assert.are.equal(false, (faults.check("retry_after", json.null, json.null)))
      assert.are.equal(503, math.tointeger(state.check_config("fault_status", 503.0)))
      assert.are.equal("date", state.check_config("retry_after", "date"))
      assert.are.same({ "GET" }, state.check_config("fault_methods", "GET"))
    end)
  end)

  describe("the choice", function()
    it("draws nothing when the rate is 0 or the method is not eligible", function()
      local faults = server_modules()
      if not faults then return end
      assert.are.same(faults.KINDS, KINDS)
      assert.are.equal(faults.DEFAULT_OVERSIZE, DEFAULT_OVERSIZE)
      local calls = 0
      local function draw() calls = calls + 1 return 0 end
      local config = { fault_rate = 0, faults = KINDS, fault_status = 503, fault_methods = "all" }
      assert.is_nil(faults.choose(config, draw, "GET"))
      config.fault_rate = 1
      assert.is_nil(faults.choose(config, draw, "HEAD"))
      assert.are.equal(0, calls)
      assert.are.same({ kind = "status", status = 503 }, faults.choose(config, draw, "GET"))
    end)
  end)
end)

describe("bin/genesiscloud-emulator fault flags", function()
  it("take effect", function()
    local p = assert(io.popen("GENESISCLOUD_TOKEN=" .. TOKEN .. " exec lua5.4 bin/genesiscloud-emulator"
      .. " --fault-rate 1 --faults status --fault-status 429,502 --retry-after 4 --fault-seed 2"
      .. " --latency 0 --fault-methods GET --stall-seconds 1 --oversize-bytes 10", "r"))
    local url = p:read("*l")
    local pid = tonumber(((p:read("*l") or ""):match("^pid=(%d+)$")))
    finally(function()
      if pid then os.execute("kill " .. pid) end
      p:close()
    end)
    local r = curl("GET", url .. "/security-groups")
    assert.truthy(r.code == 429 or r.code == 502, r.code)
    assert.are.equal("4", r.headers["retry-after"])
    assert.are.equal(201, curl("POST", url .. "/security-groups", { body = BODY }).code)
    local root = url:gsub("/compute/v1$", "")
    local config = json.decode(curl("GET", root .. "/_emulator/config").body).config
    assert.are.same({ 429, 502 }, config.fault_status)
    assert.are.same({ "GET" }, config.fault_methods)
    assert.are.equal(2, config.fault_seed)
    assert.are.equal(10, config.oversize_bytes)
  end)

  it("are checked (exit 2)", function()
    for _, flags in ipairs{ "--fault-rate 3", "--faults status,nope", "--fault-status 200", "--retry-after x",
      "--fault-seed 1.5", "--latency" } do
      local p = assert(io.popen("lua5.4 bin/genesiscloud-emulator " .. flags .. " 2>&1; echo \"exit=$?\""))
      local out = p:read("*a")
      p:close()
      assert.are.equal("2", out:match("exit=(%d+)%s*$"), flags)
      assert.matches("genesiscloud%-emulator: ", out)
    end
  end)
end)
