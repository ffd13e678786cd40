-- `make bench`: the benchmark harness. Starts nginx (static JSON) and the
-- emulator on loopback, runs every contender as its own process under
-- /usr/bin/time, side by side and interleaved, and prints the medians as
-- markdown tables; writes them to bench/results/results.md
-- and charts to bench/results/*.png (gnuplot). Run from the checkout root
-- with lua/ and build/ on the paths (the Makefile does that).
--
-- Settings (environment):
--   BENCH_N        GETs of one group per contender run        (3000)
--   BENCH_N_PAGE   GETs of the 100-item page per run           (500)
--   BENCH_N_CLI    requests per run for the curl command line  (60)
--   BENCH_REQUEST_REPS  runs of every per-request contender    (15)
--                  (many short runs, each between two runs of the raw C
--                  program: the machine's load comes in bursts of about a
--                  second, and neighbouring short runs see the same burst)
--   BENCH_REPS     repetitions of the listing and memory runs  (3)
--   BENCH_GROUPS   groups in the emulator for the listing      (10000)
--   BENCH_LATENCY  seconds the emulator adds per response      (0.02)
--   BENCH_MEM_N    requests on one client for the RSS check    (100000)
--   BENCH_LOOP_REPS rounds of the loop mode against blocking walk (11)
--   BENCH_BASELINE another checkout of this module, already built (`make
--                  bench-compare` makes one): its GET and its listing run
--                  side by side with this one's, as ratios
--   BENCH_ONLY     sections to run, a comma list of per_request, listing,
--                  memory (all). A partial run prints its tables but
--                  leaves bench/results/ alone.
local genesiscloud = require "genesiscloud"
local core = require "genesiscloud.core"
local emulator = require "genesiscloud.emulator"

local function env_num(name, default)
  local v = tonumber(os.getenv(name) or "")
  return v or default
end

local N        = env_num("BENCH_N", 3000)
local N_PAGE   = env_num("BENCH_N_PAGE", 500)
local N_CLI    = env_num("BENCH_N_CLI", 60)
local REQUEST_REPS = env_num("BENCH_REQUEST_REPS", 15)
local REPS     = env_num("BENCH_REPS", 3)
local GROUPS   = env_num("BENCH_GROUPS", 10000)
local LATENCY  = env_num("BENCH_LATENCY", 0.02)
local MEM_N    = env_num("BENCH_MEM_N", 100000)
local LOOP_REPS = env_num("BENCH_LOOP_REPS", 11)
local SECTIONS = { per_request = true, listing = true, memory = true }
local ONLY     = os.getenv("BENCH_ONLY")
if ONLY and ONLY:match("%S") then
  local chosen = {}
  for name in ONLY:gmatch("[^,%s]+") do
    assert(SECTIONS[name], "BENCH_ONLY: unknown section '" .. name .. "' (per_request, listing, memory)")
    chosen[name] = true
  end
  SECTIONS = chosen
end
local ALL      = SECTIONS.per_request and SECTIONS.listing and SECTIONS.memory
local TOKEN    = "bench-token"
local PAGES    = math.ceil(GROUPS / 100)

local ROOT     = assert(os.getenv("BENCH_ROOT"), "BENCH_ROOT (the checkout) is not set")
local RAW_GET  = assert(os.getenv("BENCH_RAW_GET"), "BENCH_RAW_GET (the raw C program) is not set")
local CORE_51  = os.getenv("BENCH_CORE_51")   -- directory holding genesiscloud/core.so for 5.1
local BASELINE = os.getenv("BENCH_BASELINE")  -- another built checkout, compared side by side
if BASELINE == "" then BASELINE = nil end
local RESULTS  = ROOT .. "/bench/results"
local C        = ROOT .. "/bench/contenders"

---------------------------------------------------------------------------
-- small helpers

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function read_cmd(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

local function log(fmt, ...) io.stderr:write(("bench: " .. fmt .. "\n"):format(...)) end

local function fmt_int(x)
  if x == nil then return "n/a" end
  local s = ("%d"):format(math.floor(x + 0.5))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function fmt(x, digits)
  if x == nil then return "n/a" end
  return ("%." .. (digits or 2) .. "f"):format(x)
end

local TMP = read_cmd("mktemp -d /tmp/genesiscloud-bench.XXXXXX"):gsub("%s+$", "")
assert(TMP:match("^/tmp/genesiscloud%-bench%."), "mktemp failed")
os.execute("chmod 755 " .. q(TMP))

local CLK_TCK = tonumber(read_cmd("getconf CLK_TCK")) or 100

-- User + system CPU seconds a process has used so far (Linux /proc).
local function process_cpu(pid)
  local stat = read_file("/proc/" .. tostring(pid) .. "/stat") or ""
  local fields = {}
  for f in (stat:match("%)%s+(.*)$") or ""):gmatch("%S+") do fields[#fields + 1] = f end
  return ((tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0)) / CLK_TCK
end

-- Runs one command under /usr/bin/time; returns { elapsed =, cpu =, rss_kb =, out = }
-- or nil, message. `elapsed` and `cpu` are what the program measured around
-- its request loop when it prints elapsed=... cpu=..., else the wall time
-- and user + system time of the whole process (startup included).
local function timed(env, cmd)
  local tfile, ofile, efile = TMP .. "/time.txt", TMP .. "/out.txt", TMP .. "/err.txt"
  local ok = sh(("env %s /usr/bin/time -f '%%e %%U %%S %%M' -o %s %s >%s 2>%s")
    :format(env, q(tfile), cmd, q(ofile), q(efile)))
  local out, err = read_file(ofile) or "", read_file(efile) or ""
  if not ok then return nil, (err:gsub("%s+$", "")) end
  local e, u, s, m = (read_file(tfile) or ""):match("([%d.]+) ([%d.]+) ([%d.]+) (%d+)")
  if not e then return nil, "no /usr/bin/time output" end
  local inner = tonumber(out:match("elapsed=([%d.]+)"))
  local inner_cpu = tonumber(out:match("cpu=([%d.]+)"))
  return { elapsed = inner or tonumber(e), cpu = inner_cpu or tonumber(u) + tonumber(s),
           rss_kb = tonumber(m), out = out }
end

local function free_port()
  local socket = require "socket"
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

local function machine()
  local cpu = read_file("/proc/cpuinfo") or ""
  local model = cpu:match("model name%s*:%s*([^\n]+)") or "unknown CPU"
  local cores = read_cmd("nproc"):gsub("%s+", "")
  local os_name = (read_file("/etc/os-release") or ""):match('PRETTY_NAME="([^"]+)"') or "Linux"
  local kernel = read_cmd("uname -r"):gsub("%s+", "")
  return ("%s, kernel %s, %s cores (%s)"):format(os_name, kernel, cores, model)
end

---------------------------------------------------------------------------
-- nginx serving the same JSON as the API, as static files

local GROUP_ID = "3f2a6c1e-8d4b-4e9a-b7c2-5a1d0e9f4b10"

local function group_json(id, i)
  return ('{"created_at":"2024-05-01T12:00:00.000Z","description":"bench group %d",'
    .. '"id":"%s","is_internal":false,"name":"bench-%05d","region":"ARC-IS-HAF-1",'
    .. '"rules":[{"direction":"ingress","port_range_max":443,"port_range_min":443,"protocol":"tcp"},'
    .. '{"direction":"ingress","port_range_max":22,"port_range_min":22,"protocol":"tcp"},'
    .. '{"direction":"egress","port_range_max":null,"port_range_min":null,"protocol":"all"}],'
    .. '"status":"created","updated_at":"2024-05-01T12:00:00.000Z"}'):format(i, id, i)
end

local nginx = {}

function nginx.start()
  local prefix = TMP .. "/nginx"
  local data = prefix .. "/data"
  assert(sh("mkdir -p " .. q(data .. "/compute/v1/security-groups") .. " " .. q(prefix .. "/logs")))
  write_file(data .. "/compute/v1/security-groups/" .. GROUP_ID,
    '{"security_group":' .. group_json(GROUP_ID, 1) .. '}')
  local items = {}
  for i = 1, 100 do
    items[i] = group_json(("%08x-0000-4000-8000-%012x"):format(i, i), i)
  end
  write_file(data .. "/list.json", '{"page":1,"per_page":100,"security_groups":['
    .. table.concat(items, ",") .. '],"total_count":' .. GROUPS .. '}')
  -- Every page of GROUPS groups, for the listing against nginx with an
  -- added delay (echo module: echo_sleep, then the page file).
  assert(sh("mkdir -p " .. q(data .. "/pages")))
  local pages = math.ceil(GROUPS / 100)
  for p = 1, pages do
    local its = {}
    for i = (p - 1) * 100 + 1, math.min(p * 100, GROUPS) do
      its[#its + 1] = group_json(("%08x-0000-4000-8000-%012x"):format(i, i), i)
    end
    write_file(("%s/pages/list-%d.json"):format(data, p), ('{"page":%d,"per_page":100,"security_groups":['
      .. table.concat(its, ",") .. '],"total_count":%d}'):format(p, GROUPS))
  end
  local port = free_port()
  -- One process (no master, so no switch to another user), one worker
  -- connection per client, keep-alive for as many requests as we send.
  write_file(prefix .. "/nginx.conf", ([[
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon on;
master_process off;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  open_file_cache max=100 inactive=300s;
  open_file_cache_valid 300s;
  client_body_temp_path %s/tmp;
  proxy_temp_path %s/tmp;
  fastcgi_temp_path %s/tmp;
  uwsgi_temp_path %s/tmp;
  scgi_temp_path %s/tmp;
  default_type application/json;
  server {
    listen 127.0.0.1:%d;
    root %s;
    location = /compute/v1/security-groups { try_files /list.json =404; }
    location /compute/v1/security-groups/ { }
    location = /slow/compute/v1/security-groups {
      echo_sleep %g;
      echo_location /pages/list-$arg_page.json;
    }
    location /pages/ { internal; }
  }
}
]]):format(prefix, prefix, prefix, prefix, prefix, prefix, prefix, port, data, LATENCY))
  assert(sh(("nginx -e %s -p %s -c %s"):format(q(prefix .. "/logs/error.log"), q(prefix),
    q(prefix .. "/nginx.conf"))), "nginx did not start; see " .. prefix .. "/logs/error.log")
  nginx.pidfile = prefix .. "/nginx.pid"
  nginx.base = ("http://127.0.0.1:%d/compute/v1"):format(port)
  nginx.slow = ("http://127.0.0.1:%d/slow/compute/v1"):format(port)
  for _ = 1, 50 do
    if sh("curl -sf -o /dev/null " .. q(nginx.base .. "/security-groups/" .. GROUP_ID)) then
      return
    end
    core.sleep(0.1)
  end
  error("nginx does not answer on " .. nginx.base)
end

function nginx.stop()
  local pid = nginx.pidfile and (read_file(nginx.pidfile) or ""):match("%d+")
  if pid then os.execute("kill " .. pid) end
  nginx.pidfile = nil
end

---------------------------------------------------------------------------
-- 1. per-request cost

local LUA54_ENV = ("LUA_PATH_5_4=%s LUA_CPATH_5_4=%s"):format(
  q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"), q(ROOT .. "/build/?.so;;"))
local LUA51_ENV = ("LUA_PATH=%s LUA_CPATH=%s"):format(
  q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"), q((CORE_51 or "/nonexistent") .. "/?.so;;"))

-- The baseline runs the same contender scripts (this checkout's) with its
-- own modules and core.
local BASELINE_ENV = BASELINE and ("LUA_PATH_5_4=%s LUA_CPATH_5_4=%s"):format(
  q(BASELINE .. "/lua/?.lua;" .. BASELINE .. "/lua/?/init.lua;;"), q(BASELINE .. "/build/?.so;;"))

-- The User-Agent the module sends by default (lua5.4, like the module runs).
local MODULE_UA = assert(require("genesiscloud.options").resolve({ token = TOKEN },
  function() return nil end)).user_agent

local function contenders(kind)
  local path = kind == "one" and "/security-groups/" .. GROUP_ID or "/security-groups?page=1&per_page=100"
  local url = nginx.base .. path
  local n = kind == "one" and N or N_PAGE
  local list = {
    { key = "raw", name = "raw libcurl C program (no decoding)", n = n,
      cmd = ("%s %s %d %s"):format(q(RAW_GET), q(url), n, TOKEN), env = "" },
    -- The same program sending the very request the module sends: its
    -- User-Agent and Accept-Encoding too (about 70 more header bytes,
    -- which libcurl formats a byte at a time).
    { key = "rawsame", name = "raw libcurl C program, the module's request headers", n = n,
      cmd = ("%s %s %d %s %s %s"):format(q(RAW_GET), q(url), n, TOKEN, q("User-Agent: " .. MODULE_UA),
        q("Accept-Encoding: gzip")), env = "" },
    { key = "module", name = "this module (Lua 5.4)", n = n,
      cmd = ("lua5.4 %s %s %s %s %s %d"):format(q(C .. "/module.lua"), q(nginx.base), TOKEN, kind,
        GROUP_ID, n), env = LUA54_ENV },
  }
  if BASELINE then
    list[#list + 1] = { key = "baseline", name = "the module at BENCH_BASELINE (Lua 5.4)", n = n,
      cmd = ("lua5.4 %s %s %s %s %s %d"):format(q(C .. "/module.lua"), q(nginx.base), TOKEN, kind,
        GROUP_ID, n), env = BASELINE_ENV }
  end
  -- The breakdown: the same client with fewer layers (see module.lua).
  list[#list + 1] = { key = "core", name = "  breakdown: its C core alone (client:perform, no decoding)", n = n,
    cmd = ("lua5.4 %s %s %s %s %s %d core"):format(q(C .. "/module.lua"), q(nginx.base), TOKEN, kind,
      GROUP_ID, n), env = LUA54_ENV }
  list[#list + 1] = { key = "decode", name = "  breakdown: C core + its JSON decode (core.decode)", n = n,
    cmd = ("lua5.4 %s %s %s %s %s %d decode"):format(q(C .. "/module.lua"), q(nginx.base), TOKEN, kind,
      GROUP_ID, n), env = LUA54_ENV }
  if CORE_51 then
    list[#list + 1] = { key = "module51", name = "this module (Lua 5.1)", n = n,
      cmd = ("lua5.1 %s %s %s %s %s %d"):format(q(C .. "/module.lua"), q(nginx.base), TOKEN, kind,
        GROUP_ID, n), env = LUA51_ENV }
  end
  list[#list + 1] = { key = "luacurl", name = "Debian lua-curl (luacurl 0.3) + cjson (Lua 5.1)", n = n,
    cmd = ("lua5.1 %s %s %s %d"):format(q(C .. "/luacurl.lua"), q(url), TOKEN, n), env = "" }
  list[#list + 1] = { key = "luasocket", name = "LuaSocket socket.http + cjson (Lua 5.4)", n = n,
    cmd = ("lua5.4 %s %s %s %d"):format(q(C .. "/luasocket.lua"), q(url), TOKEN, n), env = "" }
  local n_cli = kind == "one" and N_CLI or math.max(1, N_CLI // 2)
  list[#list + 1] = { key = "cli", name = "curl command line, one process per request", n = n_cli,
    cmd = ("sh %s %s %s %d"):format(q(C .. "/curl-cli.sh"), q(url), TOKEN, n_cli), env = "" }
  return list
end

-- Each run's requests/s relative to the raw C program, run right before
-- and right after it (the mean of the two): load from other jobs on this
-- machine comes in bursts of about a second, and a ratio to the runs on
-- either side cancels a burst that rises or falls across the three.
-- a's ratio to b is the median over rounds of a's relative figure over
-- b's in the same round.
-- Returns the median and a 95% confidence interval for it (bootstrap over
-- the rounds, fixed seed: the same runs give the same interval).
local function paired_ratio(a, b)
  local ratios = {}
  for rep, rel in pairs(a.rel) do
    if b.rel[rep] then ratios[#ratios + 1] = rel / b.rel[rep] end
  end
  local mid = median(ratios)
  if not mid then return nil end
  math.randomseed(1)
  local medians, n = {}, #ratios
  for i = 1, 2000 do
    local sample = {}
    for j = 1, n do sample[j] = ratios[math.random(n)] end
    medians[i] = median(sample)
  end
  table.sort(medians)
  return mid, medians[50], medians[1951]
end

local function per_request(kind)
  local list = contenders(kind)
  local runs = {}
  for _, c in ipairs(list) do runs[c.key] = { rps = {}, rel = {}, cpu = {}, rss = {} } end
  local raw, raw_runs = list[1], runs[list[1].key]
  assert(raw.key == "raw")
  local function run(c, rep)
    local t = runs[c.key]
    if t.failed then return nil end
    local r, err = timed(c.env, c.cmd)
    if not r then
      t.failed = err
      log("%s %s failed: %s", kind, c.key, err)
      return nil
    end
    local rps = c.n / r.elapsed
    t.rps[#t.rps + 1] = rps
    t.cpu[#t.cpu + 1] = r.cpu / c.n * 1e6
    t.rss[#t.rss + 1] = r.rss_kb
    log("%s %s rep %d: %.0f req/s, %.1f us CPU/req, %d KB", kind, c.key, rep, rps, r.cpu / c.n * 1e6, r.rss_kb)
    return rps
  end
  for rep = 1, REQUEST_REPS do
    raw_runs.rel[rep] = 1
    -- raw, A, raw, B, raw, ...: every contender between two raw runs. Each
    -- round starts one contender further on, so none always runs first or
    -- right after the slow curl command line.
    local before = run(raw, rep)
    for i = 0, #list - 2 do
      local c = list[(rep - 1 + i) % (#list - 1) + 2]
      local rps = run(c, rep)
      local after = run(raw, rep)
      if rps and before and after then runs[c.key].rel[rep] = rps / ((before + after) / 2) end
      before = after
    end
  end
  local rows = {}
  for _, c in ipairs(list) do
    local t = runs[c.key]
    rows[#rows + 1] = { key = c.key, name = c.name, n = c.n, rps = median(t.rps), cpu = median(t.cpu),
      rss = median(t.rss), runs = t, failed = t.failed }
    rows[#rows].ratio, rows[#rows].lo, rows[#rows].hi = paired_ratio(t, raw_runs)
  end
  return rows
end

---------------------------------------------------------------------------
-- 2. listing at scale, 3. memory

-- Times the walk over every group: sequential, concurrency 8 and 16 with
-- LATENCY added per response, and (as a reference) sequential with none.
-- `set_latency(seconds)` switches the server; nil when it cannot (the
-- reference row is then left out). Client CPU is os.clock() around the walk;
-- server CPU is the server process's user + system time (/proc) around it.
local function walks(client, what, server_pid, set_latency)
  local cases = { { conc = 1, latency = LATENCY }, { conc = 8, latency = LATENCY },
    { conc = 16, latency = LATENCY } }
  if set_latency then cases[#cases + 1] = { conc = 1, latency = 0 } end
  for _, c in ipairs(cases) do c.times, c.cpu, c.server = {}, {}, {} end
  for rep = 1, REPS do
    for _, c in ipairs(cases) do
      if set_latency then set_latency(c.latency) end
      local count = 0
      local t0, c0, s0 = core.now(), os.clock(), process_cpu(server_pid)
      for _ in client:security_groups{ per_page = 100, concurrency = c.conc } do count = count + 1 end
      local dt, cpu, server = core.now() - t0, os.clock() - c0, process_cpu(server_pid) - s0
      assert(count == GROUPS, ("walk saw %d groups, not %d"):format(count, GROUPS))
      c.times[#c.times + 1], c.cpu[#c.cpu + 1], c.server[#c.server + 1] = dt, cpu, server
      log("listing (%s) concurrency %d latency %g rep %d: %.3f s, client CPU %.3f s, server CPU %.3f s", what,
        c.conc, c.latency, rep, dt, cpu, server)
    end
  end
  local rows = {}
  local seq = median(cases[1].times)
  for _, c in ipairs(cases) do
    local t = median(c.times)
    rows[#rows + 1] = { conc = c.conc, latency = c.latency, seconds = t, speedup = seq / t,
      groups_per_s = GROUPS / t, cpu = median(c.cpu), server_ms = median(c.server) * 1000 / PAGES }
  end
  return rows
end

local function listing_nginx()
  local client = assert(genesiscloud.new{ token = TOKEN, endpoint = nginx.slow, timeout = 120 })
  local rows = walks(client, "nginx", tonumber((read_file(nginx.pidfile) or ""):match("%d+")))
  client:close()
  return rows
end

-- An emulator holding GROUPS groups, and a client on it.
local function emulator_with_groups()
  local emu = assert(emulator.start{ token = TOKEN, create_delay = 0, latency = 0 })
  local client = assert(genesiscloud.new{ token = TOKEN, endpoint = emu.endpoint, timeout = 120 })
  local specs = {}
  for i = 1, GROUPS do
    specs[i] = { name = ("bench-%05d"):format(i), description = "bench group " .. i,
      rules = { { protocol = "tcp", direction = "ingress", port_range_min = 443, port_range_max = 443 },
                { protocol = "all", direction = "egress" } } }
  end
  local t0 = core.now()
  local made = assert(client:create_security_groups(specs, { concurrency = 16 }))
  for i, g in ipairs(made) do
    if genesiscloud.is_error(g) then error("creating group " .. i .. ": " .. tostring(g)) end
  end
  log("created %d groups in %.1f s", GROUPS, core.now() - t0)
  emu:clear_requests()
  return emu, client
end

local function listing(emu, client)
  -- One untimed walk first, so that no timed case alone pays for the first
  -- read of the groups just made (each settles from "creating" then).
  for _ in client:security_groups{ per_page = 100 } do end
  assert(emu:configure{ latency = LATENCY })
  local result = { rows = walks(client, "emulator", emu.pid, function(latency)
    assert(emu:configure{ latency = latency })
  end) }
  result.floor = math.ceil(GROUPS / 100) * LATENCY   -- the latency alone, sequentially
  return result
end

-- The listing speed-up of this checkout and of the baseline, side by side:
-- each walk its own process (iterate.lua), sequential and concurrency 8,
-- interleaved round by round. -> { current = {seq, c8}, baseline = ... }
local function baseline_walks(emu)
  assert(emu:configure{ latency = LATENCY })
  local trees = { { key = "current", env = LUA54_ENV }, { key = "baseline", env = BASELINE_ENV } }
  local times = {}
  for _, t in ipairs(trees) do times[t.key] = { [1] = {}, [8] = {} } end
  for rep = 1, REPS do
    for i = 0, 1 do
      local t = trees[(rep + i) % 2 + 1]
      for _, conc in ipairs{ 1, 8 } do
        local r = assert(timed(t.env, ("lua5.4 %s %s %s %d iterate"):format(q(C .. "/iterate.lua"),
          q(emu.endpoint), TOKEN, conc)))
        assert(r.out:match("count=(%d+)") == tostring(GROUPS), "walk saw " .. r.out)
        local list = times[t.key][conc]
        list[#list + 1] = r.elapsed
        log("listing (%s) concurrency %d rep %d: %.3f s", t.key, conc, rep, r.elapsed)
      end
    end
  end
  local out = {}
  for key, t in pairs(times) do
    out[key] = { seq = median(t[1]), c8 = median(t[8]), speedup = median(t[1]) / median(t[8]) }
  end
  return out
end

-- The walk with concurrency 8 by a client in loop mode (a coroutine on
-- luv, genesiscloud.loop.luv) and by a blocking one, each its own process
-- (iterate.lua), on the same emulator, in LOOP_REPS rounds, which of the
-- two goes first alternating. The ratio is loop mode's speed over
-- blocking's (the blocking walk's time over the loop walk's), per round;
-- its median and 95% interval over the rounds, as the per-request ratios.
local function loop_walks(emu)
  assert(emu:configure{ latency = LATENCY })
  local modes = { "iterate", "loop" }
  local runs = { iterate = { times = {}, cpu = {}, rel = {} }, loop = { times = {}, cpu = {}, rel = {} } }
  for rep = 1, LOOP_REPS do
    for i = 0, 1 do
      local mode = modes[(rep + i) % 2 + 1]
      local r = assert(timed(LUA54_ENV, ("lua5.4 %s %s %s 8 %s"):format(q(C .. "/iterate.lua"),
        q(emu.endpoint), TOKEN, mode)))
      assert(r.out:match("count=(%d+)") == tostring(GROUPS), "walk saw " .. r.out)
      local t = runs[mode]
      t.times[rep], t.cpu[rep], t.rel[rep] = r.elapsed, r.cpu, 1 / r.elapsed
      log("listing (%s) concurrency 8 round %d: %.3f s, client CPU %.3f s", mode, rep, r.elapsed, r.cpu)
    end
  end
  local out = { rounds = LOOP_REPS }
  for mode, t in pairs(runs) do
    out[mode] = { seconds = median(t.times), cpu = median(t.cpu) }
  end
  out.ratio, out.lo, out.hi = paired_ratio(runs.loop, runs.iterate)
  return out
end

-- Peak RSS of processes walking the same groups (no added latency: the
-- memory does not depend on it).
local function memory(emu)
  assert(emu:configure{ latency = 0 })
  local mem = {}
  local cases = {
    { label = "baseline: interpreter + module + one request", conc = 1, mode = "none" },
    { label = "iterate " .. fmt_int(GROUPS) .. " groups, sequential", conc = 1, mode = "iterate" },
    { label = "iterate " .. fmt_int(GROUPS) .. " groups, concurrency = 8", conc = 8, mode = "iterate" },
    { label = "iterate " .. fmt_int(GROUPS) .. " groups, concurrency = 16", conc = 16, mode = "iterate" },
    { label = "all_security_groups (holds all " .. fmt_int(GROUPS) .. "), concurrency = 8", conc = 8,
      mode = "all" },
  }
  for _, case in ipairs(cases) do
    local rss = {}
    for _ = 1, REPS do
      local r, err = timed(LUA54_ENV, ("lua5.4 %s %s %s %d %s"):format(q(C .. "/iterate.lua"),
        q(emu.endpoint), TOKEN, case.conc, case.mode))
      if not r then error(case.label .. ": " .. err) end
      rss[#rss + 1] = r.rss_kb
    end
    mem[#mem + 1] = { label = case.label, rss = median(rss) }
    log("memory %s: %d KB", case.label, median(rss))
  end
  return mem
end

local function rss_growth()
  local r, err = timed(LUA54_ENV, ("lua5.4 %s %s %s %s %d"):format(q(C .. "/rss.lua"), q(nginx.base),
    TOKEN, GROUP_ID, MEM_N))
  if not r then error("rss run: " .. err) end
  local marks = {}
  for n, kb, heap in r.out:gmatch("rss n=(%d+) kb=(%d+) heap_kb=(%d+)") do
    marks[#marks + 1] = { n = tonumber(n), kb = tonumber(kb), heap = tonumber(heap) }
  end
  local reqs, conns = r.out:match("stats requests=(%d+) new_connections=(%d+)")
  return { marks = marks, peak = r.rss_kb, requests = tonumber(reqs), connections = tonumber(conns),
    rps = MEM_N / r.elapsed }
end

---------------------------------------------------------------------------
-- report

local function per_request_table(out, title, rows)
  out[#out + 1] = "### " .. title .. "\n"
  out[#out + 1] = "| contender | requests/run | requests/s | ratio to raw C | 95% interval | CPU µs/request "
    .. "| peak RSS (MB) |"
  out[#out + 1] = "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for _, r in ipairs(rows) do
    if r.failed then
      out[#out + 1] = ("| %s | %s | failed: %s | | | | |"):format(r.name, fmt_int(r.n),
        r.failed:gsub("\n", " "):sub(1, 80))
    else
      local interval = r.key == "raw" and "" or ("%s–%s"):format(fmt(r.lo, 2), fmt(r.hi, 2))
      out[#out + 1] = ("| %s | %s | %s | %sx | %s | %s | %s |"):format(r.name, fmt_int(r.n), fmt_int(r.rps),
        fmt(r.ratio, 2), interval, fmt(r.cpu, 1), fmt(r.rss / 1024, 1))
    end
  end
  out[#out + 1] = ""
end

local function row(rows, key)
  for _, r in ipairs(rows) do if r.key == key then return r end end
end

-- Each target from the sections that ran (`r` as main builds it).
local function targets(r)
  local out = {}
  local function verdict(ok) return ok and "**met**" or "**not met**" end
  -- A ratio target judged with the 95% interval of the median ratio: met
  -- when all of it is past the line, not met when none of it is, and
  -- "within the noise" otherwise.
  local function judged(mid, lo, hi, line, strictly)
    local past = strictly and function(v) return v > line end or function(v) return v >= line end
    local word = past(lo) and "**met**" or not past(hi) and "**not met**"
      or ("within the noise, so **not shown met** (median %s)"):format(past(mid) and "past the line" or "short of it")
    return ("%.2fx (95%% interval %.2f–%.2f), %s"):format(mid, lo, hi, word)
  end
  local m, lc = r.one and row(r.one, "module"), r.one and row(r.one, "luacurl")
  if m and m.ratio then
    out[#out + 1] = ("- GET one group at >= 0.85x the raw libcurl C program: %s."):format(
      judged(m.ratio, m.lo, m.hi, 0.85))
    local same = row(r.one, "rawsame")
    if same and same.ratio then
      local mid, lo, hi = paired_ratio(m.runs, same.runs)
      out[#out + 1] = ("- The same against the C program sending the module's headers: %s."):format(
        judged(mid, lo, hi, 0.85))
    end
  end
  local base = r.one and row(r.one, "baseline")
  if m and base and base.ratio then
    local mid, lo, hi = paired_ratio(m.runs, base.runs)
    out[#out + 1] = ("- GET one group within 3%% of the baseline (its requests/s over the baseline's): %s.")
      :format(judged(mid, lo, hi, 0.97))
  end
  if r.compare then
    local cur, old = r.compare.current, r.compare.baseline
    out[#out + 1] = ("- Listing speed-up (concurrency 8 over sequential, %g ms latency) within 3%% of the "
      .. "baseline: %.2fx against %.2fx (%.3f of it), %s."):format(LATENCY * 1000, cur.speedup, old.speedup,
      cur.speedup / old.speedup, verdict(cur.speedup / old.speedup >= 0.97))
  end
  if m and lc and lc.ratio then
    local mid, lo, hi = paired_ratio(m.runs, lc.runs)
    out[#out + 1] = ("- GET one group faster than lua-curl + cjson (its requests/s over theirs): %s."):format(
      judged(mid, lo, hi, 1, true))
  end
  local list = r.list
  if list then
    local c8
    for _, w in ipairs(list.rows) do if w.conc == 8 then c8 = w end end
    out[#out + 1] = ("- Listing %s groups with concurrency = 8 at >= 6x the sequential walk (emulator): %.2fx, %s.")
      :format(fmt_int(GROUPS), c8.speedup, verdict(c8.speedup >= 6))
    for _, w in ipairs(list.nginx) do
      if w.conc == 8 then
        out[#out + 1] = ("- The same against nginx with the same added latency: %.2fx, %s."):format(w.speedup,
          verdict(w.speedup >= 6))
      end
    end
  end
  local lw = r.loop_walk
  if lw and lw.ratio then
    out[#out + 1] = ("- Listing %s groups with concurrency = 8 in loop mode (luv) at >= 0.9x blocking: %s.")
      :format(fmt_int(GROUPS), judged(lw.ratio, lw.lo, lw.hi, 0.9))
  end
  local growth = r.growth
  if growth then
    local first, last = growth.marks[2] or growth.marks[1], growth.marks[#growth.marks]
    local grew = last.kb - first.kb
    out[#out + 1] = ("- No memory growth over %s requests: VmRSS %s KB at %s requests, %s KB at %s (%+d KB), %s.")
      :format(fmt_int(MEM_N), fmt_int(first.kb), fmt_int(first.n), fmt_int(last.kb), fmt_int(last.n), grew,
        verdict(grew <= 256))
  end
  return out
end

local function report(r)
  local out = {}
  out[#out + 1] = "## Results\n"
  out[#out + 1] = ("Machine: %s. %s. Medians of %d runs per contender (per-request) and %d "
    .. "(listing, memory); each contender is its own process, run interleaved with the others, "
    .. "with a run of the raw C program before and after each one. A ratio is the median over the "
    .. "rounds of each run's requests/s over the mean of the two raw runs around it (load from other "
    .. "jobs comes in bursts of about a second and slows neighbouring runs alike).\n"):format(machine(), os.date("!%Y-%m-%d %H:%M UTC"),
    REQUEST_REPS, REPS)
  if r.one then
    per_request_table(out, "GET one group (nginx, static JSON, one kept-alive connection where the client keeps one)",
      r.one)
    per_request_table(out, "GET a 100-item page (" .. #read_file(TMP .. "/nginx/data/list.json") .. " bytes)", r.page)
    out[#out + 1] = "Requests/s and CPU (user + system time of the process) are measured around the request "
      .. "loop, startup left out; for the curl command line both cover the whole script, the shell and every "
      .. "curl process included.\n"
  end

  local function walk_table(title, rows)
    out[#out + 1] = title .. "\n"
    out[#out + 1] = "| walk | added latency | wall time (s) | groups/s | speed-up vs sequential | client CPU (s) "
      .. "| server CPU per page (ms) |"
    out[#out + 1] = "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for _, w in ipairs(rows) do
      out[#out + 1] = ("| %s | %g ms | %s | %s | %sx | %s | %s |"):format(
        w.conc == 1 and "sequential" or "concurrency = " .. w.conc, w.latency * 1000,
        fmt(w.seconds, 3), fmt_int(w.groups_per_s), fmt(w.speedup, 2), fmt(w.cpu, 2), fmt(w.server_ms, 1))
    end
    out[#out + 1] = ""
  end
  local list = r.list
  if list then
    walk_table(("### Listing %s groups, per_page = 100, %g ms added per response, emulator"):format(
      fmt_int(GROUPS), LATENCY * 1000), list.rows)
    walk_table(("### The same listing against nginx (%g ms echo_sleep, then the static page)"):format(
      LATENCY * 1000), list.nginx)
    out[#out + 1] = ("%d pages; the added latency alone is %.2f s sequentially. The emulator is one "
      .. "single-threaded Lua process: the latency-0 row is its own time per page (plus the client's), "
      .. "which concurrency cannot overlap. Server CPU per page is the server process's user + system "
      .. "time over the walk (/proc), divided by the pages.\n"):format(PAGES, list.floor)
  end

  local lw = r.loop_walk
  if lw then
    out[#out + 1] = ("### Loop mode beside blocking: listing %s groups, concurrency = 8, %g ms added per "
      .. "response, emulator\n"):format(fmt_int(GROUPS), LATENCY * 1000)
    out[#out + 1] = "| walk | wall time (s) | groups/s | client CPU (s) | speed over blocking | 95% interval |"
    out[#out + 1] = "| --- | ---: | ---: | ---: | ---: | ---: |"
    out[#out + 1] = ("| blocking (`for _ in client:security_groups{...}`) | %s | %s | %s | 1.00x | |"):format(
      fmt(lw.iterate.seconds, 3), fmt_int(GROUPS / lw.iterate.seconds), fmt(lw.iterate.cpu, 3))
    out[#out + 1] = ("| loop mode: the same in `client:spawn` on luv | %s | %s | %s | %sx | %s–%s |"):format(
      fmt(lw.loop.seconds, 3), fmt_int(GROUPS / lw.loop.seconds), fmt(lw.loop.cpu, 3), fmt(lw.ratio, 2),
      fmt(lw.lo, 2), fmt(lw.hi, 2))
    out[#out + 1] = ""
    out[#out + 1] = ("Each walk its own process (bench/contenders/iterate.lua), %d rounds, which goes first "
      .. "alternating; medians; the speed ratio is the median over the rounds of the blocking walk's time "
      .. "over the loop walk's, with a bootstrap interval.\n"):format(lw.rounds)
  end

  if r.mem then
    out[#out + 1] = "### Memory\n"
    out[#out + 1] = "| process | peak RSS (MB) |"
    out[#out + 1] = "| --- | ---: |"
    for _, m in ipairs(r.mem) do
      out[#out + 1] = ("| %s | %s |"):format(m.label, fmt(m.rss / 1024, 1))
    end
    out[#out + 1] = ""
    local growth = r.growth
    out[#out + 1] = ("GET one group %s times on one client (%s new connection(s), %s requests/s):\n"):format(
      fmt_int(MEM_N), tostring(growth.connections), fmt_int(growth.rps))
    out[#out + 1] = "| after requests | VmRSS (KB) | Lua heap (KB) |"
    out[#out + 1] = "| ---: | ---: | ---: |"
    for _, mk in ipairs(growth.marks) do
      out[#out + 1] = ("| %s | %s | %s |"):format(fmt_int(mk.n), fmt_int(mk.kb), fmt_int(mk.heap))
    end
    out[#out + 1] = ""
  end
  out[#out + 1] = "### Targets\n"
  for _, l in ipairs(targets(r)) do out[#out + 1] = l end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

local function charts(one, page, list)
  local dat = {}
  for i, r in ipairs(one) do
    local p = page[i]
    local label = ({ raw = "raw C", rawsame = "raw C+hdrs", module = "module 5.4", module51 = "module 5.1",
      core = "core", decode = "core+decode",
      luacurl = "lua-curl", luasocket = "LuaSocket", cli = "curl CLI" })[r.key]
    dat[#dat + 1] = ('"%s" %s %s'):format(label, r.rps and fmt(r.rps, 1) or "0", p.rps and fmt(p.rps, 1) or "0")
  end
  write_file(RESULTS .. "/per_request.dat", table.concat(dat, "\n") .. "\n")
  local ldat = {}
  for i = 1, 3 do
    local r, n = list.rows[i], list.nginx[i]
    ldat[#ldat + 1] = ('"%s" %s %s'):format(r.conc == 1 and "sequential" or "concurrency " .. r.conc,
      fmt(r.seconds, 3), fmt(n.seconds, 3))
  end
  write_file(RESULTS .. "/listing.dat", table.concat(ldat, "\n") .. "\n")
  write_file(RESULTS .. "/charts.gp", ([[
set terminal pngcairo size 1000,560 font "sans,11" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics nomirror
set output "%s/per_request.png"
set title "Per-request cost: requests/s against nginx (log scale, higher is better)"
set ylabel "requests/s"
set logscale y
set yrange [1:*]
plot "%s/per_request.dat" using 2:xtic(1) title "GET one group", \
     "" using 3 title "GET 100-item page"
unset logscale y
set output "%s/listing.png"
set title "Listing %s groups, per_page 100, %g ms latency per response (lower is better)"
set ylabel "wall time (s)"
set yrange [0:*]
plot "%s/listing.dat" using 2:xtic(1) title "emulator", "" using 3 title "nginx (echo_sleep)"
]]):format(RESULTS, RESULTS, RESULTS, fmt_int(GROUPS), LATENCY * 1000, RESULTS))
  if not sh("gnuplot " .. q(RESULTS .. "/charts.gp")) then log("gnuplot failed: no charts") end
end

---------------------------------------------------------------------------

local function main()
  log("machine: %s", machine())
  nginx.start()
  log("nginx on %s", nginx.base)
  local r = {}
  if SECTIONS.per_request then
    r.one = per_request("one")
    r.page = per_request("page")
  end
  if SECTIONS.memory then r.growth = rss_growth() end
  local list_nginx = SECTIONS.listing and listing_nginx()
  nginx.stop()
  if SECTIONS.listing or SECTIONS.memory then
    local emu, client = emulator_with_groups()
    if SECTIONS.listing then
      r.list = listing(emu, client)
      r.list.nginx = list_nginx
    end
    if SECTIONS.listing and BASELINE then r.compare = baseline_walks(emu) end
    if SECTIONS.listing then r.loop_walk = loop_walks(emu) end
    if SECTIONS.memory then r.mem = memory(emu) end
    client:close()
    emu:stop()
  end
  local md = report(r)
  print(md)
  if ALL and not BASELINE then
    assert(sh("mkdir -p " .. q(RESULTS)))
    write_file(RESULTS .. "/results.md", md)
    charts(r.one, r.page, r.list)
    log("wrote %s/results.md, %s/per_request.png, %s/listing.png", RESULTS, RESULTS, RESULTS)
  else
    log("BENCH_ONLY or BENCH_BASELINE: %s left as it was", RESULTS)
  end
end

local ok, err = xpcall(main, debug.traceback)
nginx.stop()
os.execute("rm -rf " .. q(TMP))
if not ok then
  io.stderr:write("bench: ", tostring(err), "\n")
  os.exit(1)
end
