-- The `genesiscloud` command, run as a user runs it: bin/genesiscloud as a
-- separate process (no LUA_PATH: the script finds the checkout itself),
-- stdout and stderr captured apart, against an emulator.
local helper = require "helper"
local cjson = require("cjson.safe").new()

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_command(command)
  local pipe = assert(io.popen(command, "r"))
  local out = pipe:read("*a")
  pipe:close()
  return out
end

local function slurp(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local ROOT = assert(read_command("pwd"):match("^(.-)\n?$"))
local OUT, ERR, IN = os.tmpname(), os.tmpname(), os.tmpname()
local tmp_files = { OUT, ERR, IN }

local function tmpfile(suffix, text)
  local base = os.tmpname() -- creates the file `base`: removed at the end too
  local path = base .. suffix
  tmp_files[#tmp_files + 1] = base
  tmp_files[#tmp_files + 1] = path
  return write_file(path, text)
end

-- A token file only its owner can read (else the tool warns).
local function token_file(text, mode)
  local path = tmpfile(".token", text)
  assert(os.execute("chmod " .. (mode or "600") .. " " .. q(path)))
  return path
end

-- os.execute: true on success from Lua 5.2 on, 0 on 5.1 and LuaJIT.
local function succeeds(command)
  local result = os.execute(command)
  return result == true or result == 0
end

local function has_script()
  return succeeds("command -v script >/dev/null 2>&1")
end

-- The environment every run starts from: none of the caller's Lua paths
-- or Genesis Cloud settings leak in.
local CLEAN_ENV = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4"
  .. " -u GENESISCLOUD_TOKEN -u GENESISCLOUD_ENDPOINT -u GENESISCLOUD_DEBUG"

describe("genesiscloud (command line)", function()
  local emu

  -- Runs bin/genesiscloud with the list `args`. opts.env: variables to set
  -- (false unsets one of the defaults); opts.stdin: text on standard input;
  -- opts.stdout: a shell redirection instead of the capture (">/dev/full");
  -- opts.timeout: seconds before the run is killed (it then exits 137).
  -- -> { out =, err =, code = }
  local function cli(args, opts)
    opts = opts or {}
    local env = { GENESISCLOUD_TOKEN = emu.token, GENESISCLOUD_ENDPOINT = emu.endpoint }
    for k, v in pairs(opts.env or {}) do env[k] = v end
    local parts = { CLEAN_ENV }
    local names = {}
    for k in pairs(env) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      if env[k] then parts[#parts + 1] = k .. "=" .. q(env[k]) end
    end
    if opts.timeout then parts[#parts + 1] = "timeout -s KILL " .. opts.timeout end
    parts[#parts + 1] = "bin/genesiscloud"
    for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
    write_file(IN, opts.stdin or "")
    write_file(OUT, "")
    local command = ("cd %s && %s <%s %s 2>%s; echo $?"):format(q(ROOT), table.concat(parts, " "), q(IN),
      opts.stdout or (">" .. q(OUT)), q(ERR))
    local code = tonumber(read_command(command):match("(%d+)%s*$"))
    return { out = slurp(OUT), err = slurp(ERR), code = code, command = command }
  end

  -- r.err may be missing (json{ out = text }); format's %s takes nil on 5.4 only.
  local function show(r)
    return ("exit %s\n--- stdout\n%s--- stderr\n%s"):format(tostring(r.code), r.out or "", r.err or "")
  end

  local function ok(r)
    assert.are.equal(0, r.code, show(r))
    assert.are.equal("", r.err, show(r))
    return r
  end

  -- A failure: the exit code, nothing on stdout, one line on stderr
  -- starting "genesiscloud: " and matching `pattern`, no stack trace.
  local function failed(r, code, pattern)
    assert.are.equal(code, r.code, show(r))
    assert.are.equal("", r.out, show(r))
    assert.matches("^genesiscloud: [^\n]+\n$", r.err, show(r))
    assert.is_nil(r.err:find("traceback", 1, true), show(r))
    -- no location inside the tool or the library (a user's Lua file may be named)
    assert.is_nil(r.err:find("genesiscloud/[%w_/]+%.lua:%d+:"), show(r))
    assert.is_nil(r.err:find("bin/genesiscloud:%d+:"), show(r))
    if pattern then assert.matches(pattern, r.err, show(r)) end
    return r
  end

  local function json(r)
    local data, err = cjson.decode(r.out)
    assert.is_table(data, "not JSON (" .. tostring(err) .. "):\n" .. show(r))
    return data
  end

  local function requests()
    return assert(emu:requests())
  end

  local function assert_no_writes()
    for _, req in ipairs(requests()) do
      assert.are.equal("GET", req.method, "wrote: " .. req.method .. " " .. req.path)
    end
  end

  local function assert_no_requests()
    assert.are.same({}, requests())
  end


  local client

  -- Groups made through the library; -> list of groups.
  local function make_groups(n, prefix)
    local groups = {}
    for i = 1, n do
      groups[i] = assert(client:create_security_group{ name = (prefix or "g") .. i,
        rules = { { direction = "ingress", protocol = "tcp", port_range_min = 1000 + i, port_range_max = 1000 + i } } })
    end
    assert(emu:clear_requests())
    return groups
  end

  lazy_setup(function()
    emu = helper.start_emulator()
    client = helper.client(emu)
  end)

  lazy_teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
    for _, path in ipairs(tmp_files) do os.remove(path) end
  end)

  before_each(function()
    assert(emu:reset())
    assert(emu:configure{ create_delay = 0, update_delay = 0, delete_delay = 0, put_405 = false })
  end)

  describe("help and version", function()
    local HELP = {
      { {}, "Usage: genesiscloud %[", "sg%s+Security groups", "emulator%s+Run the local emulator",
        "Exit codes: 0 success, 1 API or network error, 2 usage error,\n3 written but %-%-wait ran out",
        "70 internal error", "%-%-detailed%-exitcode: 0 no changes, 2 changes made or planned, 1 error" },
      { { "sg" }, "Usage: genesiscloud sg ", "list", "get", "create", "update", "delete", "apply" },
      { { "sg", "list" }, "Usage: genesiscloud sg list ", "%-%-per%-page N", "%-%-page N", "%-%-all",
        "%-%-endpoint URL" },
      { { "sg", "get" }, "Usage: genesiscloud sg get ", "ID|NAME", "id, or its name" },
      { { "sg", "create" }, "Usage: genesiscloud sg create ", "%-%-name NAME", "%-%-description TEXT", "%-%-rule RULE",
        "%-%-wait" },
      { { "sg", "update" }, "Usage: genesiscloud sg update ", "ID|NAME", "%-%-rule replaces ALL the rules" },
      { { "sg", "delete" }, "Usage: genesiscloud sg delete ", "ID|NAME %[ID|NAME%]", "%-%-wait" },
      { { "sg", "apply" }, "Usage: genesiscloud sg apply ", "FILE", "%-%-dry%-run", "%-%-detailed%-exitcode" },
      { { "emulator" }, "usage: genesiscloud emulator %[FLAG%.%.%.%]", "usage: genesiscloud%-emulator", "%-%-port N",
        "%-%-create%-delay S" },
    }
    for _, case in ipairs(HELP) do
      local args = case[1]
      for _, flag in ipairs{ "--help", "-h" } do
        local argv = { table.unpack(args) }
        argv[#argv + 1] = flag
        it("genesiscloud " .. table.concat(argv, " ") .. " prints the help and exits 0", function()
          local r = ok(cli(argv))
          for i = 2, #case do assert.matches(case[i], r.out, nil, nil, show(r)) end
          assert_no_requests()
        end)
      end
    end

    it("--help works without a token", function()
      local r = ok(cli({ "sg", "list", "--help" }, { env = { GENESISCLOUD_TOKEN = false } }))
      assert.matches("Usage: genesiscloud sg list", r.out)
    end)

    it("--version prints the library version", function()
      local r = ok(cli{ "--version" })
      assert.are.equal("genesiscloud " .. helper.genesiscloud._VERSION .. " (lua-genesiscloud, Lua 5.4)\n", r.out)
    end)
  end)

  describe("usage errors exit 2 with one line", function()
    local CASES = {
      { {}, "a command is required %(see 'genesiscloud %-%-help'%)" },
      { { "frobnicate" }, "unknown command 'frobnicate'" },
      { { "sg" }, "sg: a command is required %(see 'genesiscloud sg %-%-help'%)" },
      { { "sg", "lst" }, "sg: unknown command 'lst'; Did you mean 'list'%?" },
      { { "sg", "list", "--bogus" }, "sg list: unknown option '%-%-bogus'" },
      { { "sg", "list", "--per-page", "0" }, "%-%-per%-page must be a whole number from 1 to 100, got '0'" },
      { { "sg", "list", "--per-page", "many" }, "%-%-per%-page must be a whole number" },
      { { "sg", "list", "--page", "2", "--all" },
        "sg list: option '%-%-[allpge]+' can not be used together with option '%-%-[allpge]+'" },
      { { "sg", "list", "--output", "yaml" }, "'%-%-output' must be one of 'table', 'json'" },
      { { "sg", "list", "extra" }, "sg list: too many arguments" },
      { { "sg", "get" }, "sg get: missing argument 'id'" },
      { { "sg", "delete" }, "sg delete: missing argument 'ids'" },
      { { "sg", "create", "--rule", "ingress tcp 22" }, "sg create: missing option '%-%-name'" },
      { { "sg", "create", "--name", "web" }, "sg create: give at least one %-%-rule" },
      { { "sg", "create", "--name", "web", "--rule", "ingress tcp 22", "--rule", "inbound tcp 80" },
        "sg create: %-%-rule #2: cannot read rule \"inbound tcp 80\": direction \"inbound\" is not ingress or egress" },
      { { "sg", "create", "--name", "default", "--rule", "ingress tcp 22" }, "validation: name" },
      { { "sg", "update", "some-id" }, "sg update: nothing to change: give %-%-name, %-%-description or %-%-rule" },
      { { "sg", "update", "some-id", "--rule", "ingress tcp 0" }, "sg update: %-%-rule #1: .*port 0 is out of range" },
      { { "sg", "create", "--name", "w", "--rule", "ingress tcp 1", "--wait-timeout", "soon" },
        "%-%-wait%-timeout must be a number of seconds" },
      { { "--timeout", "0", "sg", "list" }, "%-%-timeout must be a number of seconds from 0%.001 to 86400, got '0'" },
      -- below 1 ms is refused (libcurl would read 0 ms as "no timeout")
      { { "--timeout", "0.0009", "sg", "list" }, "%-%-timeout must be a number of seconds from 0%.001 to 86400" },
      { { "--timeout", "-1", "sg", "list" },
        "%-%-timeout must be a number of seconds from 0%.001 to 86400, got '%-1'" },
      -- a negative number is the option's value, not an unknown option
      { { "sg", "list", "--page", "-1" }, "sg list: %-%-page must be a whole number of at least 1, got '%-1'" },
      { { "sg", "list", "--per-page", "-5" }, "%-%-per%-page must be a whole number from 1 to 100, got '%-5'" },
      { { "--retries", "-1", "sg", "list" }, "%-%-retries must be a whole number from 0 to 100, got '%-1'" },
      { { "sg", "create", "--name", "w", "--rule", "ingress tcp 1", "--wait-timeout", "-3" },
        "%-%-wait%-timeout must be a number of seconds, got '%-3'" },
      { { "--retries", "101", "sg", "list" }, "%-%-retries must be a whole number from 0 to 100" },
    }
    for _, case in ipairs(CASES) do
      it("genesiscloud " .. table.concat(case[1], " "), function()
        failed(cli(case[1]), 2, case[2])
        assert_no_requests()
      end)
    end

    it("a missing token is a usage error naming both ways to give one", function()
      for _, value in ipairs{ false, "" } do
        local r = failed(cli({ "sg", "list" }, { env = { GENESISCLOUD_TOKEN = value } }), 2)
        assert.matches("no API token: set GENESISCLOUD_TOKEN or use %-%-token%-file FILE", r.err)
      end
      assert_no_requests()
    end)

    it("an http:// endpoint that is not loopback is refused, the token not sent", function()
      failed(cli{ "--endpoint", "http://example.com/compute/v1", "sg", "list" }, 2,
        "refusing the plain http:// endpoint http://example%.com/compute/v1: the token would travel in clear")
    end)
  end)

  describe("--token", function()
    local SECRET = "sekrit-on-the-command-line-5150"
    for _, argv in ipairs{
      { "--token", SECRET, "sg", "list" },
      { "sg", "list", "--token", SECRET },
      { "sg", "list", "--token=" .. SECRET },
      { "sg", "create", "--name", "w", "--rule", "ingress tcp 1", "--token", SECRET },
      { "sg", "list", "--token" },
    } do
      it("is refused with the reason, and its value never echoed: " .. table.concat(argv, " "), function()
        local r = failed(cli(argv), 2, "%-%-token is refused: a token on the command line is visible to every user")
        assert.matches("%(ps, /proc/PID/cmdline%)", r.err)
        assert.matches("set GENESISCLOUD_TOKEN or use %-%-token%-file FILE", r.err)
        assert.is_nil(r.err:find(SECRET, 1, true))
        assert_no_requests()
      end)
    end
  end)

  describe("--token-file", function()
    it("reads the token from a file (first line, blanks trimmed), over GENESISCLOUD_TOKEN", function()
      local path = token_file("  " .. emu.token .. "  \nsecond line\n")
      local r = ok(cli({ "--token-file", path, "sg", "list" }, { env = { GENESISCLOUD_TOKEN = "wrong" } }))
      assert.are.equal(0, json(r).total_count)
    end)

    it("'-' reads the token from standard input", function()
      local r = ok(cli({ "sg", "list", "--token-file", "-" }, { env = { GENESISCLOUD_TOKEN = false },
        stdin = emu.token .. "\n" }))
      assert.are.same({}, json(r).security_groups)
    end)

    it("warns on stderr when the file is readable by its group or others, like ssh", function()
      for _, mode in ipairs{ "644", "640", "604" } do
        local path = token_file(emu.token .. "\n", mode)
        local r = cli{ "--token-file", path, "sg", "list" }
        assert.are.equal(0, r.code, show(r))
        assert.are.equal(0, json(r).total_count)
        assert.are.equal(("genesiscloud: warning: --token-file %s is readable by others (mode %s): run chmod 600 %s\n")
          :format(path, mode, path), r.err)
      end
      for _, mode in ipairs{ "600", "400", "700" } do
        ok(cli{ "--token-file", token_file(emu.token .. "\n", mode), "sg", "list" })
      end
    end)

    it("reads a bounded amount: /dev/zero or a big file fails fast with a clear error", function()
      local r = failed(cli({ "--token-file", "/dev/zero", "sg", "list" }, { timeout = 20 }), 2,
        "^genesiscloud: %-%-token%-file /dev/zero is larger than 4096 bytes: not a token file\n$")
      assert.is_nil(r.err:find("warning", 1, true)) -- not a regular file
      failed(cli{ "--token-file", token_file(("x"):rep(4097)), "sg", "list" }, 2, "is larger than 4096 bytes")
      failed(cli({ "--token-file", "-", "sg", "list" }, { stdin = ("x"):rep(5000), timeout = 20 }), 2,
        "%-%-token%-file %- %(standard input%) is larger than 4096 bytes")
      -- 4096 bytes is still a (long) token file: it is sent (the server refuses it)
      local long = failed(cli{ "--token-file", token_file(("y"):rep(4096)), "sg", "list" }, 1, ": 40[01] ")
      assert.is_nil(long.err:find(("y"):rep(8), 1, true), show(long))
    end)

    it("a directory is a usage error", function()
      failed(cli{ "--token-file", "/tmp", "sg", "list" }, 2, "cannot read %-%-token%-file /tmp: Is a directory")
    end)

    it("a missing or empty file is a usage error", function()
      failed(cli{ "--token-file", "/nonexistent/token", "sg", "list" }, 2,
        "cannot read %-%-token%-file: /nonexistent/token: No such file")
      failed(cli{ "--token-file", token_file("\n"), "sg", "list" }, 2, "holds no token")
      assert_no_requests()
    end)
  end)

  describe("API and network errors exit 1", function()
    it("an unknown id (and no group of that name): the API's 404 as one line", function()
      failed(cli{ "sg", "get", "no-such-id" }, 1,
        "^genesiscloud: GET /security%-groups/no%-such%-id: 404 %(02003%) Security group not found;"
        .. " no security group is named \"no%-such%-id\" either\n$")
    end)

    it("a wrong token: 401", function()
      failed(cli({ "sg", "list" }, { env = { GENESISCLOUD_TOKEN = "wrong-token-77" } }), 1, ": 401 ")
    end)

    it("connection refused: a transport error", function()
      local closed = ("http://127.0.0.1:%d/compute/v1"):format(helper.free_port())
      failed(cli{ "--endpoint", closed, "--retries", "0", "sg", "list" }, 1,
        "^genesiscloud: GET /security%-groups%?page=1&per_page=50: transport: .*[Cc]onnect")
      failed(cli({ "sg", "get", "x", "--retries", "0" }, { env = { GENESISCLOUD_ENDPOINT = closed } }), 1, "transport")
    end)

    it("--endpoint wins over GENESISCLOUD_ENDPOINT", function()
      local closed = ("http://127.0.0.1:%d/compute/v1"):format(helper.free_port())
      local r = ok(cli({ "--endpoint", emu.endpoint, "sg", "list" }, { env = { GENESISCLOUD_ENDPOINT = closed } }))
      assert.are.equal(0, json(r).total_count)
    end)
  end)

  describe("an unexpected error", function()
    -- A module of the tool's that fails to load is a bug of the tool, not
    -- a usage error: LUA_PATH puts a broken cjson.safe first (Lua modules
    -- are searched before C ones), which the output module needs.
    local function broken_env(extra)
      local dir = os.tmpname()
      tmp_files[#tmp_files + 1] = dir
      os.remove(dir)
      assert(os.execute("mkdir -p " .. q(dir .. "/cjson")))
      write_file(dir .. "/cjson/safe.lua", "error('boom')\n")
      tmp_files[#tmp_files + 1] = dir .. "/cjson/safe.lua"
      tmp_files[#tmp_files + 1] = dir .. "/cjson"
      local env = { LUA_PATH = dir .. "/?.lua;;" }
      for k, v in pairs(extra or {}) do env[k] = v end
      return env
    end

    it("prints one line and exits 70, no stack trace", function()
      local r = failed(cli({ "sg", "list" }, { env = broken_env() }), 70, "^genesiscloud: internal error: .*boom")
      assert.is_nil(r.err:find("stack", 1, true))
    end)

    it("shows the traceback under GENESISCLOUD_DEBUG=1", function()
      local r = cli({ "sg", "list" }, { env = broken_env{ GENESISCLOUD_DEBUG = "1" } })
      assert.are.equal(70, r.code, show(r))
      assert.matches("^genesiscloud: internal error: .*boom\nstack traceback:\n", r.err)
    end)

    it("stays 70 under --detailed-exitcode", function()
      failed(cli({ "sg", "apply", "-", "--detailed-exitcode" }, { env = broken_env() }), 70, "internal error")
    end)
  end)

  describe("sg list", function()
    it("is JSON when stdout is not a terminal: the page as the API gives it", function()
      local groups = make_groups(3)
      local data = json(ok(cli{ "sg", "list" }))
      assert.are.equal(3, data.total_count)
      assert.are.equal(1, data.page)
      assert.are.equal(50, data.per_page)
      assert.are.equal(3, #data.security_groups)
      for i, g in ipairs(groups) do
        assert.are.equal(g.id, data.security_groups[i].id)
        assert.are.equal(1000 + i, data.security_groups[i].rules[1].port_range_min)
      end
    end)

    it("is the same as security-groups list (sg is its short name)", function()
      make_groups(2)
      local short = ok(cli{ "sg", "list", "--per-page", "1" }).out
      local long = ok(cli{ "security-groups", "list", "--per-page", "1" }).out
      assert.are.equal(short, long)
      assert.are.equal(2, json({ out = long }).total_count)
      assert.matches("Usage: genesiscloud security%-groups apply ", ok(cli{ "security-groups", "apply", "--help" }).out)
    end)

    it("is a table with aligned columns under --output table", function()
      assert(client:create_security_group{ name = "a-rather-long-name", description = "d",
        rules = { { direction = "ingress", protocol = "tcp", port_range_min = 443, port_range_max = 443 },
                  { direction = "egress", protocol = "all" }, { direction = "ingress", protocol = "icmp" } } })
      local groups = make_groups(2)
      local r = ok(cli{ "sg", "list", "--output", "table" })
      local lines = {}
      for line in r.out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(5, #lines, r.out)
      assert.matches("^ID%s+NAME%s+STATUS%s+RULES$", lines[1])
      local columns = { lines[1]:find("NAME", 1, true), lines[1]:find("STATUS", 1, true),
        lines[1]:find("RULES", 1, true) }
      assert.matches("^%S+%s+a%-rather%-long%-name  created  egress all, ingress icmp, ingress tcp 443$", lines[2])
      for i, line in ipairs{ lines[2], lines[3], lines[4] } do
        local name = i == 1 and "a-rather-long-name" or groups[i - 1].name
        assert.are.equal(columns[1], line:find(name, 37, true), line)
        assert.are.equal(columns[2], line:find("created", columns[1], true), line)
        assert.are.equal(columns[3], line:find("[ei][gn]g?ress", columns[2]), line)
      end
      assert.are.equal(groups[1].id, lines[3]:match("^(%S+)"))
      assert.matches("ingress tcp 1001$", lines[3])
      assert.are.equal("3 group(s)", lines[5])
    end)

    it("-o table on an empty account says so", function()
      assert.are.equal("no security groups\n", ok(cli{ "sg", "list", "-o", "table" }).out)
    end)

    it("--per-page and --page show one page, and say there is more", function()
      local groups = make_groups(5)
      local data = json(ok(cli{ "sg", "list", "--per-page", "2", "--page", "2" }))
      assert.are.equal(5, data.total_count)
      assert.are.equal(2, data.page)
      assert.are.equal(2, data.per_page)
      assert.are.same({ groups[3].id, groups[4].id }, { data.security_groups[1].id, data.security_groups[2].id })
      local r = ok(cli{ "sg", "list", "--per-page", "2", "-o", "table" })
      assert.matches("\npage 1: 2 of 5 group%(s%); %-%-page N for another page, %-%-all for every page\n$", r.out)
      assert.matches(groups[1].id, r.out, 1, true)
      assert.is_nil(r.out:find(groups[3].id, 1, true))
      for _, req in ipairs(requests()) do
        assert.are.equal("2", req.query.per_page)
      end
    end)

    it("--all walks every page", function()
      local groups = make_groups(5)
      local data = json(ok(cli{ "sg", "list", "--all", "--per-page", "2" }))
      assert.are.equal(5, data.total_count)
      assert.are.equal(5, #data.security_groups)
      for i, g in ipairs(groups) do assert.are.equal(g.id, data.security_groups[i].id) end
      local pages = {}
      for _, req in ipairs(requests()) do
        assert.are.equal("GET", req.method)
        assert.are.equal("2", req.query.per_page)
        pages[#pages + 1] = req.query.page
      end
      assert.are.same({ "1", "2", "3" }, pages)
      local r = ok(cli{ "sg", "list", "--all", "--per-page", "2", "-o", "table" })
      assert.matches("\n5 group%(s%)\n$", r.out)
    end)

    it("is a table by default on a terminal", function()
      if not has_script() then pending("util-linux `script` is not installed") return end
      make_groups(1)
      local command = ("cd %s && %s GENESISCLOUD_TOKEN=%s GENESISCLOUD_ENDPOINT=%s script -qec %s /dev/null")
        :format(q(ROOT), CLEAN_ENV, q(emu.token), q(emu.endpoint), q("bin/genesiscloud sg list"))
      local out = read_command(command)
      assert.matches("ID%s+NAME%s+STATUS%s+RULES\r?\n%S+%s+g1%s+created%s+ingress tcp 1001", out)
      -- and --output json still forces JSON there
      command = command:gsub("sg list", "sg list --output json")
      assert.matches('"total_count": 1', read_command(command))
    end)
  end)

  describe("sg get", function()
    it("prints the group as JSON, or as key/value lines", function()
      local g = assert(client:create_security_group{ name = "web", description = "web tier",
        rules = { { direction = "ingress", protocol = "tcp", port_range_min = 443, port_range_max = 443 },
                  { direction = "ingress", protocol = "icmp" } } })
      local data = json(ok(cli{ "sg", "get", g.id }))
      assert.are.equal(g.id, data.id)
      assert.are.equal("web tier", data.description)
      assert.are.equal(2, #data.rules)
      local r = ok(cli{ "sg", "get", g.id, "-o", "table" })
      assert.matches("^id%s+" .. g.id:gsub("%p", "%%%0") .. "\nname%s+web\ndescription%s+web tier\nstatus%s+created\n",
        r.out)
      assert.matches("\nrules%s+ingress tcp 443\n%s+ingress icmp\n$", r.out)
    end)
  end)

  describe("sg create", function()
    it("creates the group with the rules given as text", function()
      local data = json(ok(cli{ "sg", "create", "--name", "web", "--description", "web tier",
        "--rule", "ingress tcp 443", "--rule", "ingress icmp", "--rule", "ingress tcp 8000-8080" }))
      local g = assert(client:get_security_group(data.id))
      assert.are.equal("web", g.name)
      assert.are.equal("web tier", g.description)
      local rules = helper.genesiscloud.rules
      assert.is_true(rules.equal({ rules.https(), rules.ping(), rules.ingress.tcp(8000, 8080) }, g.rules))
      local posts = 0
      for _, req in ipairs(requests()) do
        if req.method == "POST" then posts = posts + 1 end
      end
      assert.are.equal(1, posts)
    end)

    it("--wait returns once the group is created", function()
      assert(emu:configure{ create_delay = 0.3 })
      local data = json(ok(cli{ "sg", "create", "--name", "slow", "--rule", "ingress tcp 22" }))
      assert.are.equal("creating", data.status)
      local r = ok(cli{ "sg", "create", "--name", "slow2", "--rule", "ingress tcp 22", "--wait", "-o", "table" })
      assert.matches("\nstatus%s+created\n", r.out)
      local log = requests()
      assert.are.equal("GET", log[#log].method)
      assert.matches("^/security%-groups/", log[#log].path)
    end)

    it("--wait that runs out prints the created group (its id) and exits 3", function()
      assert(emu:configure{ create_delay = 30 })
      local r = cli{ "sg", "create", "--name", "slow", "--rule", "ingress tcp 22", "--wait", "--wait-timeout", "0.2" }
      assert.are.equal(3, r.code, show(r))
      local data = json(r)
      assert.are.equal("slow", data.name)
      assert.are.equal("creating", data.status)
      local g = assert(client:get_security_group(data.id))
      assert.are.equal("slow", g.name)
      assert.are.equal(("genesiscloud: timeout: security group %s did not reach status created within 0.2 s"
        .. " (--wait-timeout; last status \"creating\")\n"):format(data.id), r.err)
      -- as a table too, the id is on stdout
      r = cli{ "sg", "create", "--name", "slow2", "--rule", "ingress tcp 22", "--wait", "--wait-timeout", "0.1",
        "-o", "table" }
      assert.are.equal(3, r.code, show(r))
      assert.matches("^id%s+%S+\nname%s+slow2\n", r.out)
    end)
  end)

  describe("sg update", function()
    local rules = helper.genesiscloud.rules
    local g

    before_each(function()
      g = assert(client:create_security_group{ name = "web", description = "web tier",
        rules = { rules.https(), rules.ssh() } })
      assert(emu:clear_requests())
    end)

    it("with only --description fetches the group and sends it whole", function()
      local data = json(ok(cli{ "sg", "update", g.id, "--description", "new words" }))
      assert.are.equal("new words", data.description)
      local now = assert(client:get_security_group(g.id))
      assert.are.equal("web", now.name)
      assert.are.equal("new words", now.description)
      assert.is_true(rules.equal({ rules.https(), rules.ssh() }, now.rules))
      local log = requests()
      assert.are.equal("GET", log[1].method)
      assert.are.equal("PUT", log[2].method)
      local body = cjson.decode(log[2].body)
      assert.are.equal("web", body.name)
      assert.are.equal("new words", body.description)
      assert.are.equal(2, #body.rules)
    end)

    it("--rule replaces all the rules; --name renames; the description stays", function()
      ok(cli{ "sg", "update", g.id, "--name", "www", "--rule", "egress all" })
      local now = assert(client:get_security_group(g.id))
      assert.are.equal("www", now.name)
      assert.are.equal("web tier", now.description)
      assert.is_true(rules.equal({ rules.egress.all() }, now.rules))
    end)

    it("works against a server that refuses PUT (falls back to PATCH with the whole group)", function()
      assert(emu:configure{ put_405 = true })
      ok(cli{ "sg", "update", g.id, "--description", "patched" })
      local log = requests()
      assert.are.equal("PATCH", log[#log].method)
      local body = cjson.decode(log[#log].body)
      assert.are.equal("web", body.name)
      assert.are.equal(2, #body.rules)
      assert.are.equal("patched", assert(client:get_security_group(g.id)).description)
    end)

    it("--wait waits until the group reads created again", function()
      assert(emu:configure{ update_delay = 0.3 })
      local r = ok(cli{ "sg", "update", g.id, "--name", "w2", "--wait", "-o", "table" })
      assert.matches("\nstatus%s+created\n", r.out)
    end)

    it("an unknown id exits 1 with the 404", function()
      failed(cli{ "sg", "update", "gone", "--name", "x" }, 1, "GET /security%-groups/gone: 404")
      assert_no_writes()
    end)
  end)

  describe("sg delete", function()
    it("deletes several groups", function()
      local groups = make_groups(3)
      local data = json(ok(cli{ "sg", "delete", groups[1].id, groups[3].id }))
      assert.are.same({ groups[1].id, groups[3].id }, data.deleted)
      assert.are.same({}, data.failed)
      local left = assert(client:all_security_groups())
      assert.are.equal(1, #left)
      assert.are.equal(groups[2].id, left[1].id)
    end)

    it("--wait returns once every group is gone", function()
      assert(emu:configure{ delete_delay = 0.3 })
      local groups = make_groups(2)
      local r = ok(cli{ "sg", "delete", groups[1].id, groups[2].id, "--wait", "-o", "table" })
      assert.are.equal(("deleted %s\ndeleted %s\n"):format(groups[1].id, groups[2].id), r.out)
      for _, g in ipairs(groups) do
        local _, err = client:get_security_group(g.id)
        assert.are.equal(404, err.status)
      end
    end)

    it("goes on past an id that fails, then exits 1", function()
      local groups = make_groups(2)
      local r = cli{ "sg", "delete", groups[1].id, "missing-id", groups[2].id, "-o", "table" }
      assert.are.equal(1, r.code, show(r))
      assert.are.equal("genesiscloud: DELETE /security-groups/missing-id: 404 (02003) Security group not found;"
        .. " no security group is named \"missing-id\" either\n", r.err)
      assert.are.equal(("deleted %s\ndeleted %s\n"):format(groups[1].id, groups[2].id), r.out)
      assert.are.same({}, assert(client:all_security_groups()))
    end)
  end)

  describe("sg apply", function()
    local rules = helper.genesiscloud.rules
    local DESIRED = [[
{"security_groups": [
  {"name": "web", "description": "web tier", "rules": ["ingress tcp 443", "ingress tcp 80"]},
  {"name": "db", "rules": [{"direction": "ingress", "protocol": "tcp", "port_range_min": 5432, "port_range_max": 5432}]}
]}
]]

    it("from JSON: prints the plan, creates the groups, and a second run writes nothing", function()
      local path = tmpfile(".json", DESIRED)
      local r = ok(cli{ "sg", "apply", path, "-o", "table" })
      assert.matches("^create web\n  description: \"web tier\"\n  %+ ingress tcp 80\n  %+ ingress tcp 443\n"
        .. "create db\n  %+ ingress tcp 5432\n"
        .. "plan: 2 to create, 0 to update, 0 unchanged\ncreated web %(%S+%)\ncreated db %(%S+%)\n$", r.out)
      local all = assert(client:all_security_groups())
      assert.are.equal(2, #all)
      assert.are.equal("web tier", all[1].description)
      assert.is_true(rules.equal({ rules.https(), rules.http() }, all[1].rules))

      assert(emu:clear_requests())
      r = ok(cli{ "sg", "apply", path, "-o", "table" })
      assert.matches("^unchanged web %(" .. all[1].id:gsub("%p", "%%%0") .. "%)\nunchanged db %(", r.out)
      assert.matches("plan: 0 to create, 0 to update, 2 unchanged\n", r.out)
      assert_no_writes()
    end)

    it("updates what differs and shows the differences", function()
      assert(client:create_security_group{ name = "web", description = "old",
        rules = { rules.http(), rules.ssh() } })
      assert(emu:clear_requests())
      local r = ok(cli{ "sg", "apply", tmpfile(".json", DESIRED), "-o", "table" })
      assert.matches("^update web %(%S+%)\n  description: \"old\" %-> \"web tier\"\n  %+ ingress tcp 443\n"
        .. "  %- ingress tcp 22\ncreate db\n", r.out)
      assert.matches("\nupdated web %(%S+%)\ncreated db %(%S+%)\n$", r.out)
      local web = assert(client:all_security_groups())[1]
      assert.is_true(rules.equal({ rules.https(), rules.http() }, web.rules))
    end)

    it("--dry-run prints the plan and writes nothing", function()
      assert(client:create_security_group{ name = "web", description = "old", rules = { rules.ssh() } })
      assert(emu:clear_requests())
      local r = ok(cli{ "sg", "apply", tmpfile(".json", DESIRED), "--dry-run", "-o", "table" })
      assert.matches("^update web .*\ncreate db\n.*plan: 1 to create, 1 to update, 0 unchanged\n"
        .. "dry run: nothing written\n$", r.out)
      assert.is_true(#requests() > 0)
      assert_no_writes()
      assert.are.equal(1, #assert(client:all_security_groups()))
    end)

    it("prints one JSON document when piped", function()
      local path = tmpfile(".json", DESIRED)
      local plan = json(ok(cli{ "sg", "apply", path, "--dry-run" }))
      assert.is_true(plan.dry_run)
      assert.are.same({}, plan.applied)
      assert.are.equal("created", plan.plan[1].action)
      assert.are.same({ "ingress tcp 80", "ingress tcp 443" }, plan.plan[1].rules.add)
      assert_no_writes()
      local done = json(ok(cli{ "sg", "apply", path }))
      assert.is_false(done.dry_run)
      assert.are.equal("created", done.applied[2].action)
      assert.are.equal("db", done.applied[2].name)
      assert.is_string(done.applied[2].id)
    end)

    it("reads a bare JSON array from standard input", function()
      ok(cli({ "sg", "apply", "-" }, { stdin = '[{"name": "solo", "rules": ["egress all"]}]' }))
      local all = assert(client:all_security_groups())
      assert.are.equal("solo", all[1].name)
    end)

    it("from a Lua file returning the table, with `rules` at hand", function()
      local path = tmpfile(".lua", [[
return {
  security_groups = {
    { name = "bastion", description = "jump host", rules = { rules.ssh(), "egress all" } },
  },
}
]])
      local r = ok(cli{ "sg", "apply", path, "-o", "table" })
      assert.matches("^create bastion\n  description: \"jump host\"\n  %+ egress all\n  %+ ingress tcp 22\n", r.out)
      local all = assert(client:all_security_groups())
      assert.are.equal("jump host", all[1].description)
      assert.is_true(rules.equal({ rules.ssh(), rules.egress.all() }, all[1].rules))
    end)

    it("--wait waits for each group written", function()
      assert(emu:configure{ create_delay = 0.3 })
      local done = json(ok(cli{ "sg", "apply", tmpfile(".json", DESIRED), "--wait" }))
      assert.are.equal("created", done.applied[1].status)
      assert.are.equal("created", done.applied[2].status)
    end)

    it("an API failure exits 1", function()
      failed(cli({ "sg", "apply", tmpfile(".json", DESIRED) }, { env = { GENESISCLOUD_TOKEN = "wrong" } }), 1, "401")
    end)

    local BAD = {
      { ".json", '{"security_groups": [{"name": "ok", "rules": ["egress all"]}, '
        .. '{"name": "web", "rules": ["ingress tcp 443", "ingress tcp 70000"]}]}',
        ': security_groups%[2%] %("web"%): rules%[2%]: cannot read rule "ingress tcp 70000": '
        .. "port 70000 is out of range" },
      { ".json", '[{"name": "web", "descripton": "typo", "rules": ["egress all"]}]',
        ': security_groups%[1%] %("web"%): unknown field "descripton"' },
      { ".json", '[{"description": "no name", "rules": ["egress all"]}]', ": security_groups%[1%]: name" },
      { ".json", '[{"name": "web", "rules": []}]', ': security_groups%[1%] %("web"%): rules' },
      { ".json", '[{"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp", "port_range_min": 99}]}]',
        ': security_groups%[1%] %("web"%): .*port_range_max' },
      { ".json", '[{"name": "web", "rules": [22]}]', ': security_groups%[1%] %("web"%): rules%[1%] must be a rule' },
      { ".json", '[{"name": "a", "rules": ["egress all"]}, {"name": "a", "rules": ["egress all"]}]',
        ': security_groups%[1%] and %[2%] are both named "a"' },
      { ".json", '{"groups": []}', ': unknown top%-level key "groups"' },
      { ".json", '{"security_groups": [', ": not valid JSON" },
      { ".json", '"web"', ": expected {\"security_groups\": %[%.%.%.%]} or a list" },
      { ".lua", "return {{ name = 'web', rules = { rules.ingress.tcp(80) }, }", ":%d+: .*expected" },
      { ".lua", "error('no config for you')", ":1: no config for you" },
      { ".lua", "return 42", ": expected {\"security_groups\"" },
    }
    for i, case in ipairs(BAD) do
      it(("refuses a bad file with exit 2, naming the group and field, before any request (%d)"):format(i), function()
        local path = tmpfile(case[1], case[2])
        failed(cli{ "sg", "apply", path }, 2, "^genesiscloud: " .. path:gsub("%p", "%%%0") .. case[3])
        assert_no_requests()
      end)
    end

    it("a file that cannot be read is exit 2", function()
      failed(cli{ "sg", "apply", "/nonexistent/groups.json" }, 2, "cannot read /nonexistent/groups%.json")
      failed(cli{ "sg", "apply", "/nonexistent/groups.lua" }, 2, "cannot read /nonexistent/groups%.lua: No such file")
    end)
  end)

  describe("sg apply for automation", function()
    local rules = helper.genesiscloud.rules

    -- A file of n groups named a1..an, each with one rule.
    local function groups_file(n, port)
      local list = {}
      for i = 1, n do
        list[i] = ('{"name": "a%d", "description": "app %d", "rules": ["ingress tcp %d"]}')
          :format(i, i, (port or 2000) + i)
      end
      return tmpfile(".json", "[" .. table.concat(list, ", ") .. "]")
    end

    -- Requests of the log: list walks (GET of the collection) and writes.
    local function count_requests()
      local lists, pages, writes = 0, {}, {}
      for _, req in ipairs(requests()) do
        if req.method == "GET" and req.path == "/security-groups" then
          lists = lists + 1
          pages[#pages + 1] = req.query.page
        elseif req.method ~= "GET" then
          writes[#writes + 1] = req.method
        end
      end
      return lists, pages, writes
    end

    it("reads the list once for an N-group file; a second run writes nothing; --detailed-exitcode 2 then 0",
      function()
        make_groups(150, "other") -- two pages of 100: one walk is two requests
        local path = groups_file(4)
        local r = cli{ "sg", "apply", path, "--detailed-exitcode", "-o", "table" }
        assert.are.equal(2, r.code, show(r))
        assert.are.equal("", r.err, show(r))
        local lists, pages, writes = count_requests()
        assert.are.equal(2, lists, "one walk of the list")
        assert.are.same({ "1", "2" }, pages)
        assert.are.same({ "POST", "POST", "POST", "POST" }, writes)
        assert.matches("plan: 4 to create, 0 to update, 0 unchanged\ncreated a1 %(%S+%)\n", r.out)

        assert(emu:clear_requests())
        r = cli{ "sg", "apply", path, "--detailed-exitcode", "-o", "table" }
        assert.are.equal(0, r.code, show(r))
        lists, pages, writes = count_requests()
        assert.are.equal(2, lists)
        assert.are.same({ "1", "2" }, pages)
        assert.are.same({}, writes)
        -- every line once, then "No changes." once
        local seen = {}
        for line in r.out:gmatch("[^\n]+") do
          assert.is_nil(seen[line], "printed twice: " .. line .. "\n" .. r.out)
          seen[line] = true
        end
        assert.matches("^unchanged a1 %(%S+%)\nunchanged a2 .*unchanged a4 %(%S+%)\n"
          .. "plan: 0 to create, 0 to update, 4 unchanged\nNo changes%.\n$", r.out)
        -- without the flag, no changes and changes both exit 0
        assert.are.equal(0, ok(cli{ "sg", "apply", path }).code)
      end)

    it("plans every group from the one walk: creates, updates and leaves alone", function()
      local path = groups_file(3)
      ok(cli{ "sg", "apply", path })
      local all = assert(client:all_security_groups())
      assert(client:update_security_group(all[2].id, { name = "a2", description = "changed by hand",
        rules = { rules.ssh() } }))
      assert(emu:clear_requests())
      local data = json(cli{ "sg", "apply", path, "--detailed-exitcode" })
      assert.is_true(data.changed)
      assert.are.same({ "unchanged", "updated", "unchanged" },
        { data.plan[1].action, data.plan[2].action, data.plan[3].action })
      assert.are.same({ "ingress tcp 2002" }, data.plan[2].rules.add)
      assert.are.same({ "ingress tcp 22" }, data.plan[2].rules.remove)
      assert.are.equal(1, #data.applied)
      assert.are.equal(all[2].id, data.applied[1].id)
      local lists, _, writes = count_requests()
      assert.are.equal(1, lists)
      assert.are.same({ "PUT" }, writes)
      local r = cli{ "sg", "apply", path, "--detailed-exitcode" }
      assert.are.equal(0, r.code, show(r))
      assert.is_false(json(r).changed)
    end)

    it("--dry-run --detailed-exitcode: 2 when changes are planned, nothing written", function()
      local r = cli{ "sg", "apply", groups_file(2), "--dry-run", "--detailed-exitcode", "-o", "table" }
      assert.are.equal(2, r.code, show(r))
      assert.matches("plan: 2 to create, 0 to update, 0 unchanged\ndry run: nothing written\n$", r.out)
      assert_no_writes()
    end)

    it("--detailed-exitcode: every error is 1 (usage errors too), so 2 always means changes", function()
      local path = groups_file(1)
      failed(cli{ "sg", "apply", path, "--detailed-exitcode", "--bogus" }, 1, "unknown option '%-%-bogus'")
      failed(cli{ "sg", "apply", "/nonexistent.json", "--detailed-exitcode" }, 1, "cannot read")
      failed(cli{ "sg", "apply", tmpfile(".json", '[{"rules": ["egress all"]}]'), "--detailed-exitcode" }, 1, "name")
      failed(cli({ "sg", "apply", path, "--detailed-exitcode" }, { env = { GENESISCLOUD_TOKEN = false } }), 1,
        "no API token")
      failed(cli({ "sg", "apply", path, "--detailed-exitcode" }, { env = { GENESISCLOUD_TOKEN = "wrong" } }), 1,
        ": 401 ")
      -- and without the flag a usage error is still 2
      failed(cli{ "sg", "apply", "/nonexistent.json" }, 2, "cannot read")
    end)

    it("a write that fails stops the run: exit 1, the reason on stderr", function()
      assert(emu:configure{ fault_rate = 1, faults = { "status" }, fault_status = 500 })
      local r = cli{ "sg", "apply", groups_file(1), "--detailed-exitcode", "-o", "table" }
      assert(emu:configure{ fault_rate = 0 })
      assert.are.equal(1, r.code, show(r))
    end)

    it("two groups with a name of the file: exit 1 naming their ids, nothing written", function()
      local a = assert(client:create_security_group{ name = "a1", rules = { rules.ssh() } })
      local b = assert(client:create_security_group{ name = "a1", rules = { rules.http() } })
      assert(emu:clear_requests())
      failed(cli{ "sg", "apply", groups_file(2) }, 1, ('2 security groups are named "a1" %%(ids %s, %s%%)')
        :format(a.id:gsub("%p", "%%%0"), b.id:gsub("%p", "%%%0")))
      assert_no_writes()
    end)

    it("--wait that runs out: every write done, the ids printed, exit 3", function()
      assert(emu:configure{ create_delay = 30 })
      local r = cli{ "sg", "apply", groups_file(2), "--wait", "--wait-timeout", "0.2", "--detailed-exitcode" }
      assert.are.equal(3, r.code, show(r))
      local data = json(r)
      assert.are.equal(2, #data.applied)
      for _, entry in ipairs(data.applied) do
        assert.is_string(entry.id)
        assert.are.equal("creating", entry.status)
        assert.matches("security group " .. entry.id:gsub("%p", "%%%0") .. " did not reach status created", r.err)
      end
      local _, _, writes = count_requests()
      assert.are.same({ "POST", "POST" }, writes)
    end)

    it("a file that is a directory, or a Lua file that raises, is exit 2 naming the file", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. q(dir)))
      finally(function() os.execute("rmdir " .. q(dir)) end)
      failed(cli{ "sg", "apply", dir }, 2, "^genesiscloud: sg apply: cannot read " .. dir:gsub("%p", "%%%0")
        .. ": Is a directory\n$")
      local lua_dir = dir .. ".lua"
      assert(os.execute("mkdir " .. q(lua_dir)))
      finally(function() os.execute("rmdir " .. q(lua_dir)) end)
      failed(cli{ "sg", "apply", lua_dir }, 2, "cannot read " .. lua_dir:gsub("%p", "%%%0") .. ": Is a directory")
      for _, body in ipairs{
        "error({})",
        "error(setmetatable({}, { __tostring = function() error('nested') end }))",
        "return { security_groups = { setmetatable({}, { __pairs = function() error('boom') end }) } }",
        "return { security_groups = { setmetatable({ name = 'x' }, { __index = function() error('boom') end }) } }",
        "local t = {} t.self = t return { security_groups = { t } }",
      } do
        local path = tmpfile(".lua", body)
        failed(cli{ "sg", "apply", path }, 2, "^genesiscloud: " .. path:gsub("%p", "%%%0"))
      end
      assert_no_requests()
    end)

    it("a group from a Lua file is read raw: __index defaults are not what gets sent", function()
      local path = tmpfile(".lua", [[
local defaults = { __index = { rules = { "egress all" } } }
return { security_groups = { setmetatable({ name = "meta" }, defaults) } }
]])
      failed(cli{ "sg", "apply", path }, 2, 'security_groups%[1%] %("meta"%): rules must be a list')
      assert_no_requests()
    end)
  end)

  describe("a name or an id", function()
    local rules = helper.genesiscloud.rules

    it("sg get NAME shows the one group of that name", function()
      make_groups(3, "n")
      local data = json(ok(cli{ "sg", "get", "n2" }))
      assert.are.equal("n2", data.name)
      assert.are.equal(1002, data.rules[1].port_range_min)
    end)

    it("sg update NAME and sg delete NAME act on that group", function()
      local groups = make_groups(2, "n")
      local data = json(ok(cli{ "sg", "update", "n1", "--description", "by name" }))
      assert.are.equal(groups[1].id, data.id)
      assert.are.equal("by name", assert(client:get_security_group(groups[1].id)).description)
      assert(emu:clear_requests())
      data = json(ok(cli{ "sg", "delete", "n2", groups[1].id }))
      assert.are.same({ groups[2].id, groups[1].id }, data.deleted)
      -- the id went straight to DELETE; the name was looked up in one walk
      local methods = {}
      for _, req in ipairs(requests()) do methods[#methods + 1] = req.method .. " " .. req.path end
      assert.are.same({ "DELETE /security-groups/n2", "GET /security-groups",
        "DELETE /security-groups/" .. groups[2].id,
        "DELETE /security-groups/" .. groups[1].id }, methods)
      assert.are.same({}, assert(client:all_security_groups()))
    end)

    it("a name that several groups have: exit 2 listing their ids, nothing written", function()
      local a = assert(client:create_security_group{ name = "twin", rules = { rules.ssh() } })
      local b = assert(client:create_security_group{ name = "twin", rules = { rules.http() } })
      assert(emu:clear_requests())
      local pattern = ('2 security groups are named "twin" %%(ids %s, %s%%): give the id of one')
        :format(a.id:gsub("%p", "%%%0"), b.id:gsub("%p", "%%%0"))
      failed(cli{ "sg", "get", "twin" }, 2, pattern)
      failed(cli{ "sg", "update", "twin", "--description", "x" }, 2, pattern)
      assert_no_writes()
      local r = cli{ "sg", "delete", "twin" }
      assert.are.equal(2, r.code, show(r))
      assert.matches(pattern, r.err)
      assert.are.equal(2, #assert(client:all_security_groups()))
      -- an id still picks one of them
      assert.are.equal(a.id, json(ok(cli{ "sg", "get", a.id })).id)
    end)

    it("a name no group has: the usual not-found exit 1", function()
      make_groups(1, "n")
      failed(cli{ "sg", "update", "nobody", "--name", "x" }, 1,
        "GET /security%-groups/nobody: 404 .*; no security group is named \"nobody\" either")
      assert_no_writes()
    end)
  end)

  describe("library usage errors", function()
    -- A usage error object of the library (not the tool's own) must exit 2
    -- like the tool's: these reach main or sg.delete as error objects.
    it("an empty id is the library's usage error: exit 2", function()
      failed(cli{ "sg", "get", "" }, 2, "^genesiscloud: usage: get_security_group: the id is empty\n$")
      failed(cli{ "sg", "update", "", "--name", "x" }, 2, "usage: get_security_group: the id is empty")
      local r = cli{ "sg", "delete", "" }
      assert.are.equal(2, r.code, show(r))
      assert.matches("usage: delete_security_group: the id is empty", r.err)
      assert_no_requests()
    end)

    it("an option genesiscloud.new refuses: exit 2", function()
      failed(cli({ "sg", "list" }, { env = { GENESISCLOUD_ENDPOINT = "ftp://127.0.0.1/compute/v1" } }), 2, "usage: ")
      failed(cli{ "--endpoint", "http://example.com/compute/v1", "sg", "list" }, 2, "usage: refusing")
    end)
  end)

  describe("--wait on a terminal", function()
    -- util-linux `script` gives the command a pty for stdout and stderr.
    local function on_pty(args)
      local env = ("GENESISCLOUD_TOKEN=%s GENESISCLOUD_ENDPOINT=%s"):format(q(emu.token), q(emu.endpoint))
      local inner = "bin/genesiscloud"
      for _, a in ipairs(args) do inner = inner .. " " .. q(a) end
      return read_command(("cd %s && %s %s timeout -s KILL 30 script -qfec %s /dev/null 2>&1; echo \"exit=$?\"")
        :format(q(ROOT), CLEAN_ENV, env, q(inner)))
    end

    it("shows the status and the seconds waited on stderr, then clears the line", function()
      if not has_script() then pending("util-linux `script` is not installed") return end
      assert(emu:configure{ create_delay = 1.3 })
      local out = on_pty{ "sg", "create", "--name", "slow", "--rule", "ingress tcp 22", "--wait", "-o", "json" }
      assert.matches("exit=0", out)
      assert.matches("\rwaiting for %S+: creating, 0s\27%[K", out)
      assert.matches("\rwaiting for %S+: creating, 1s\27%[K", out)
      assert.matches("\r\27%[K", out)
      assert.matches('"status": "created"', out)
    end)

    it("shows nothing when stderr is not a terminal", function()
      assert(emu:configure{ create_delay = 0.6 })
      local r = ok(cli{ "sg", "create", "--name", "slow", "--rule", "ingress tcp 22", "--wait" })
      assert.are.equal("created", json(r).status)
      assert.are.equal("", r.err)
    end)

    it("sg delete --wait that runs out: the id printed as still deleting, exit 3", function()
      assert(emu:configure{ delete_delay = 30 })
      local g = make_groups(1)[1]
      local r = cli{ "sg", "delete", g.id, "--wait", "--wait-timeout", "0.2" }
      assert.are.equal(3, r.code, show(r))
      assert.are.same({ g.id }, json(r).pending)
      assert.are.same({}, json(r).deleted)
      assert.matches("security group " .. g.id:gsub("%p", "%%%0") .. " was not deleted within 0%.2 s", r.err)
    end)

    it("sg update --wait that runs out prints the group and exits 3", function()
      local g = make_groups(1)[1]
      assert(emu:configure{ update_delay = 30 })
      local r = cli{ "sg", "update", g.id, "--description", "slow", "--wait", "--wait-timeout", "0.1" }
      assert.are.equal(3, r.code, show(r))
      assert.are.equal(g.id, json(r).id)
    end)
  end)

  describe("standard output that cannot be written", function()
    it("a full disk: exit 1 with a message (the command itself was done)", function()
      local r = cli({ "sg", "create", "--name", "full", "--rule", "egress all" }, { stdout = ">/dev/full" })
      assert.are.equal(1, r.code, show(r))
      assert.are.equal("genesiscloud: cannot write to standard output: No space left on device\n", r.err)
      assert.are.equal(1, #assert(client:all_security_groups()))
      r = cli({ "sg", "list", "--per-page", "100", "-o", "table" }, { stdout = ">/dev/full" })
      assert.are.equal(1, r.code, show(r))
      r = cli({ "--help" }, { stdout = ">/dev/full" })
      assert.are.equal(1, r.code, show(r))
      r = cli({ "--version" }, { stdout = ">/dev/full" })
      assert.are.equal(1, r.code, show(r))
    end)

    it("a closed stdout: exit 1 with a message, nothing sent", function()
      local r = cli({ "sg", "create", "--name", "closed", "--rule", "egress all" }, { stdout = ">&-" })
      assert.are.equal(1, r.code, show(r))
      assert.matches("^genesiscloud: standard output is closed", r.err)
      assert_no_requests()
      r = cli({ "--version" }, { stdout = ">&-" })
      assert.are.equal(1, r.code, show(r))
      assert.matches("cannot write to standard output: Bad file descriptor", r.err)
    end)
  end)

  describe("emulator", function()
    it("starts the emulator in-process, prints its URL, serves, and exits 0 on SIGTERM", function()
      local command = ("cd %s && %s GENESISCLOUD_TOKEN=emu-cli-token timeout -s KILL 30 bin/genesiscloud emulator"
        .. " --port 0 --create-delay 0 2>&1; echo \"exit=$?\""):format(q(ROOT), CLEAN_ENV)
      local pipe = assert(io.popen(command, "r"))
      local url = pipe:read("*l")
      local pid_line = pipe:read("*l")
      local pid = tonumber(pid_line and pid_line:match("^pid=(%d+)$"))
      if not pid then
        pipe:close()
        error("no pid line; got:\n" .. tostring(url) .. "\n" .. tostring(pid_line))
      end
      local finished = false
      finally(function()
        if not finished then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
        pipe:close()
      end)
      assert.matches("^http://127%.0%.0%.1:%d+/compute/v1$", url)
      -- The process that serves is the `genesiscloud` command itself.
      local cmdline = slurp("/proc/" .. pid .. "/cmdline"):gsub("%z", " ")
      assert.matches("bin/genesiscloud emulator %-%-port 0", cmdline)

      local r = ok(cli({ "sg", "create", "--name", "x", "--rule", "egress all" },
        { env = { GENESISCLOUD_TOKEN = "emu-cli-token", GENESISCLOUD_ENDPOINT = url } }))
      assert.are.equal("x", json(r).name)
      assert.are.equal(1, json(ok(cli({ "sg", "list" },
        { env = { GENESISCLOUD_TOKEN = "emu-cli-token", GENESISCLOUD_ENDPOINT = url } }))).total_count)

      assert.is_true(succeeds("kill -TERM " .. pid))
      local rest = pipe:read("*a")
      finished = true
      assert.matches("exit=0\n$", rest)
    end)

    it("passes its flags on: a bad one is the emulator's usage error (exit 2)", function()
      local r = cli{ "emulator", "--port", "lots" }
      assert.are.equal(2, r.code, show(r))
      assert.matches("%-%-port expects a number", r.err)
    end)
  end)

  it("never prints the token, whatever happens", function()
    local token = "canary-token-4f9a1c"
    local saved = emu.token
    -- Restart the emulator's world with a token we can look for.
    local canary = helper.start_emulator{ token = token }
    finally(function() canary:stop() end)
    local env = { GENESISCLOUD_TOKEN = token, GENESISCLOUD_ENDPOINT = canary.endpoint }
    local outputs = {}
    local function run(args, extra)
      local e = {}
      for k, v in pairs(env) do e[k] = v end
      for k, v in pairs(extra or {}) do e[k] = v end
      local r = cli(args, { env = e })
      outputs[#outputs + 1] = r
      return r
    end
    local created = json(run{ "sg", "create", "--name", "c", "--rule", "egress all" })
    run{ "sg", "list", "-o", "table" }
    run{ "--debug", "sg", "list" }
    run{ "--debug", "sg", "get", created.id, "-o", "table" }
    run{ "sg", "get", "missing" }
    run{ "sg", "update", created.id, "--description", "d" }
    run{ "sg", "apply", tmpfile(".json", '[{"name": "c", "rules": ["egress all", "ingress tcp 1"]}]') }
    run{ "sg", "delete", created.id, "missing" }
    run({ "--retries", "0", "sg", "list" }, { GENESISCLOUD_ENDPOINT = "http://127.0.0.1:1/compute/v1" })
    run({ "sg", "list" }, { GENESISCLOUD_ENDPOINT = "http://example.com/compute/v1" })
    run({ "--token-file", token_file(token .. "\n"), "--debug", "sg", "list" })
    run({ "--token", token, "sg", "list" })
    -- the token given by mistake where an id or a name goes: echoed in the
    -- 404 and in the name lookup, so the tool must hide it
    local echoed = run{ "sg", "get", token }
    assert.matches("no security group is named \"%*%*%*\"", echoed.err)
    run{ "sg", "update", token, "--name", "x" }
    run{ "--debug", "sg", "delete", token }
    run{ "sg", "delete", token, "-o", "json" }
    run{ "sg", "apply", tmpfile(".json", '[{"name": "' .. token .. '", "rules": ["egress all", "ingress tcp 1"]}]'),
      "--dry-run", "-o", "table" }
    -- a password in the endpoint's user info: never printed either
    local password = "canary-password-77d1"
    local with_user = canary.endpoint:gsub("^http://", "http://user:" .. password .. "@")
    local secret_outputs = {}
    for _, argv in ipairs{ { "--debug", "sg", "list" }, { "sg", "get", "x" }, { "--retries", "0", "sg", "list" } } do
      secret_outputs[#secret_outputs + 1] = run(argv, { GENESISCLOUD_ENDPOINT = with_user })
    end
    secret_outputs[#secret_outputs + 1] = run({ "sg", "list" },
      { GENESISCLOUD_ENDPOINT = "http://user:" .. password .. "@example.com/compute/v1" })
    assert.is_truthy(outputs[3].err:find("GET /security-groups", 1, true), "--debug printed nothing")
    for _, r in ipairs(outputs) do
      assert.is_nil(r.out:find(token, 1, true), show(r))
      assert.is_nil(r.err:find(token, 1, true), show(r))
      assert.is_nil(r.out:find(password, 1, true), show(r))
      assert.is_nil(r.err:find(password, 1, true), show(r))
    end
    assert.are.equal(saved, emu.token)
  end)
end)
