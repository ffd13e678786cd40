-- Hostile clients of the emulator: whatever one sends, or however it
-- leaves, the server keeps answering others within a second, and SIGTERM
-- ends it within two. Each case runs against its own server process,
-- spoken to with raw cqueues sockets (no HTTP library in between).

local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local json = require "genesiscloud.emulator.wire_json"
local helper = require "helper"

local TOKEN = "robust-spec-token"
local REQUEST_TIMEOUT = 1 -- the server's --request-timeout, so the cut-offs are quick to see
local POST = "POST /compute/v1/security-groups HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " .. TOKEN .. "\r\n"
local GET = "GET /compute/v1/security-groups HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " .. TOKEN .. "\r\n\r\n"

local function running(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local s = f:read("*a")
  f:close()
  return s:match("%)%s+(%S)") ~= "Z"
end

-- Polls fn until it returns true or `seconds` pass; returns what it last said.
local function within(seconds, fn)
  local deadline = cqueues.monotime() + seconds
  while true do
    local v = fn()
    if v or cqueues.monotime() > deadline then return v end
    cqueues.sleep(0.02)
  end
end

-- A server process: { port, pid, stop }.
local function start_server(extra)
  local command = "GENESISCLOUD_TOKEN=" .. TOKEN .. " exec lua5.4 bin/genesiscloud-emulator --port 0"
    .. " --create-delay 0 --request-timeout " .. REQUEST_TIMEOUT .. " " .. (extra or "") .. " </dev/null"
  local pipe = assert(io.popen(command, "r"))
  local url, pid = pipe:read("*l"), pipe:read("*l")
  local server = {
    port = tonumber(url and url:match(":(%d+)/")),
    pid = tonumber(pid and pid:match("^pid=(%d+)$")),
  }
  function server.stop()
    if server.pid and running(server.pid) then os.execute("kill -KILL " .. server.pid .. " 2>/dev/null") end
    if pipe then pipe:close() end
    pipe = nil
  end
  assert(server.port and server.pid, "the emulator did not start")
  return server
end

local function connect(port)
  local s = assert(socket.connect{ host = "127.0.0.1", port = port })
  s:setmode("b", "b")
  s:onerror(function(_, _, why) return why end) -- errors are returned, never raised
  assert(s:connect(2))
  return s
end

-- Reads until the server closes (or `seconds` pass): the text, and
-- whether the server had closed.
local function read_all(s, seconds)
  local parts, deadline = {}, cqueues.monotime() + seconds
  while true do
    local left = deadline - cqueues.monotime()
    if left <= 0 then return table.concat(parts), false end
    local data, err = s:xread(-65536, "b", left)
    s:clearerr() -- cqueues raises once too many errors go unchecked
    if data then
      parts[#parts + 1] = data
    elseif err == nil then
      return table.concat(parts), true
    else
      return table.concat(parts), err ~= 110 -- ETIMEDOUT: still open; a reset is an end
    end
  end
end

-- Sends raw bytes; `close`: then close at once (the rude way). Otherwise
-- the write side is shut and the answer is read: status, text.
local function send(port, bytes, close)
  local s = connect(port)
  s:xwrite(bytes, "n", 2)
  s:flush("n", 2)
  if close then
    s:close()
    return
  end
  s:shutdown("w")
  local text = read_all(s, 3)
  s:close()
  return tonumber(text:match("^HTTP/1%.%d (%d%d%d) ")), text
end

-- Another client, answered within a second?
local function answered(port)
  local s = connect(port)
  s:xwrite(GET, "n", 1)
  s:flush("n", 1)
  local line = s:xread("*l", "b", 1)
  s:close()
  return line ~= nil and line:match("^HTTP/1%.1 200 ") ~= nil
end

local function request_log(port)
  local s = connect(port)
  s:xwrite("GET /_emulator/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "n", 1)
  local text = read_all(s, 2)
  s:close()
  return assert(json.decode(assert(text:match("\r\n\r\n(.*)$")))).requests
end

local function terminated_within(pid, seconds)
  os.execute("kill -TERM " .. pid)
  return within(seconds, function() return not running(pid) end)
end

describe("emulator against hostile clients", function()
  local server

  before_each(function() server = start_server() end)
  after_each(function() server.stop() end)

  -- Every case ends with the same checks: others are still answered, and
  -- SIGTERM still ends the process.
  local function still_serving()
    assert.is_true(answered(server.port), "another client was not answered within a second")
    assert.is_true(terminated_within(server.pid, 2), "SIGTERM did not end the server within 2 s")
  end

  it("drops a client that closes in the middle of a declared body", function()
    send(server.port, POST .. "Content-Length: 10\r\n\r\nab", true)
    still_serving()
  end)

  it("logs the body that never arrived whole as not applied and unanswered", function()
    send(server.port, POST .. "Content-Length: 10\r\n\r\nab", true)
    local log = within(1, function()
      local l = request_log(server.port)
      return #l == 1 and l
    end)
    assert.is_truthy(log, "the request is not in the log")
    assert.are.equal("POST", log[1].method)
    assert.are.equal("/security-groups", log[1].path)
    assert.is_false(log[1].applied)
    assert.is_nil(log[1].status)
    still_serving()
  end)

  it("answers 400 to Content-Length: abc and closes, even when the client leaves", function()
    local status, text = send(server.port, POST .. "Content-Length: abc\r\n\r\nab")
    assert.are.equal(400, status)
    assert.matches('"code":"02004"', text)
    assert.matches("invalid Content%-Length", text)
    send(server.port, POST .. "Content-Length: abc\r\n\r\nab", true)
    still_serving()
  end)

  it("answers 413 to a huge declared length without reading it, and logs it", function()
    assert.are.equal(413, (send(server.port, POST .. "Content-Length: 99999999999999999999\r\n\r\nab")))
    assert.are.equal(413, (send(server.port, POST .. "Content-Length: 1048577\r\n\r\nab")))
    send(server.port, POST .. "Content-Length: 99999999999999999999\r\n\r\nab", true)
    local log = request_log(server.port)
    assert.are.equal(3, #log)
    for _, entry in ipairs(log) do
      assert.are.equal(413, entry.status)
      assert.is_false(entry.applied)
      assert.are.equal("x-auth-token", entry.auth)
    end
    still_serving()
  end)

  it("answers 413 to a chunked body past 1 MiB, and logs it", function()
    local chunk = string.rep("x", 65536)
    local parts = { POST, "Transfer-Encoding: chunked\r\n\r\n" }
    for _ = 1, 17 do parts[#parts + 1] = "10000\r\n" .. chunk .. "\r\n" end
    parts[#parts + 1] = "0\r\n\r\n"
    assert.are.equal(413, (send(server.port, table.concat(parts))))
    local log = request_log(server.port)
    assert.are.equal(413, log[1].status)
    still_serving()
  end)

  it("answers 400 to negative, conflicting or doubled framing headers", function()
    assert.are.equal(400, (send(server.port, POST .. "Content-Length: -5\r\n\r\nab")))
    assert.are.equal(400, (send(server.port, POST .. "Content-Length: 2\r\nContent-Length: 3\r\n\r\nab")))
    assert.are.equal(400, (send(server.port, POST .. "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nab")))
    assert.are.equal(3, #request_log(server.port))
    still_serving()
  end)

  it("answers 400 to transfer codings it does not take, and does not raise", function()
    assert.are.equal(400, (send(server.port, POST .. "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")))
    assert.are.equal(400, (send(server.port, POST .. "Transfer-Encoding: ;;;\r\n\r\n")))
    still_serving()
  end)

  it("drops a chunked body cut off mid-chunk, and refuses broken or huge chunks", function()
    send(server.port, POST .. "Transfer-Encoding: chunked\r\n\r\n10\r\nab", true)
    assert.are.equal(400, (send(server.port, POST .. "Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n")))
    -- a chunk size past 8 hex digits
    assert.are.equal(413, (send(server.port, POST .. "Transfer-Encoding: chunked\r\n\r\n123456789\r\nab")))
    -- one chunk of 64 MiB is refused on its size line, not buffered whole
    assert.are.equal(413, (send(server.port, POST .. "Transfer-Encoding: chunked\r\n\r\n4000000\r\nab")))
    still_serving()
  end)

  it("answers 408 to a body that stops coming, after --request-timeout", function()
    local s = connect(server.port)
    s:xwrite(POST .. "Content-Length: 10\r\n\r\nab", "n", 1)
    local t0 = cqueues.monotime()
    local text, closed = read_all(s, REQUEST_TIMEOUT + 2)
    s:close()
    assert.is_true(closed)
    assert.matches("^HTTP/1%.1 408 ", text)
    assert.is_true(cqueues.monotime() - t0 >= REQUEST_TIMEOUT - 0.1)
    assert.are.equal(408, request_log(server.port)[1].status)
    still_serving()
  end)

  it("closes a connection whose headers trickle in past --request-timeout (slowloris)", function()
    local s = connect(server.port)
    s:xwrite("GET /compute/v1/security-groups HTTP/1.1\r\n", "n", 1)
    local t0, closed = cqueues.monotime(), false
    while cqueues.monotime() - t0 < REQUEST_TIMEOUT + 2 do
      assert.is_true(answered(server.port))
      s:xwrite("X-Slow: y\r\n", "n", 1)
      local _, done = read_all(s, 0.2)
      if done then closed = true break end
    end
    s:close()
    assert.is_true(closed, "the slow client was never cut off")
    still_serving()
  end)

  it("closes a connection that never sends a byte, after --request-timeout", function()
    local s = connect(server.port)
    local _, closed = read_all(s, REQUEST_TIMEOUT + 2)
    s:close()
    assert.is_true(closed)
    still_serving()
  end)

  it("answers 400 to garbage, an endless request line, HTTP/2 and too many headers", function()
    assert.are.equal(400, (send(server.port, "\0\1\2\255 garbage\r\n\r\n")))
    assert.are.equal(400, (send(server.port, string.rep("A", 100000))))
    assert.are.equal(400, (send(server.port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")))
    local lines = {}
    for i = 1, 500 do lines[i] = "X-" .. i .. ": y\r\n" end
    assert.are.equal(400, (send(server.port, "GET / HTTP/1.1\r\n" .. table.concat(lines) .. "\r\n")))
    assert.are.equal(400, (send(server.port, "GET / HTTP/1.1\r\nX: " .. string.rep("a", 100000) .. "\r\n\r\n")))
    still_serving()
  end)

  it("answers a pipelined request, then 400 to the junk after it", function()
    local _, text = send(server.port, GET .. "JUNK JUNK\r\n\r\n")
    assert.matches("^HTTP/1%.1 200 .-HTTP/1%.1 400 ", text)
    send(server.port, GET .. POST .. "Content-Length: 10\r\n\r\nab", true)
    still_serving()
  end)

  it("survives many connections opened and dropped", function()
    for i = 1, 300 do
      local s = connect(server.port)
      if i % 3 == 1 then s:xwrite("GET /comp", "n", 1) end
      if i % 3 == 2 then s:xwrite(POST .. "Content-Length: 10\r\n\r\na", "n", 1) end
      s:close()
    end
    still_serving()
  end)
end)

describe("emulator wedge attempts against its watchdogs", function()
  it("still exits with its parent (--exit-with-parent)", function()
    local out = os.tmpname()
    -- the parent shell lives until we close its stdin
    local parent = assert(io.popen("GENESISCLOUD_TOKEN=" .. TOKEN .. " lua5.4 bin/genesiscloud-emulator"
      .. " --port 0 --exit-with-parent >" .. out .. " 2>&1 </dev/null & read x", "w"))
    local text = within(5, function()
      local f = io.open(out)
      local t = f and f:read("*a")
      if f then f:close() end
      return t and t:match("pid=%d+") and t
    end)
    local port, pid = tonumber(text:match(":(%d+)/")), tonumber(text:match("pid=(%d+)"))
    send(port, POST .. "Content-Length: 10\r\n\r\nab", true)
    local still = answered(port)
    parent:close()
    local gone = within(3, function() return not running(pid) end)
    if not gone then os.execute("kill -KILL " .. pid) end
    os.remove(out)
    assert.is_true(still, "another client was not answered within a second")
    assert.is_true(gone, "the emulator outlived its parent")
  end)

  it("lets a script that started it and never stopped it end", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      local socket = require "cqueues.socket"
      local emu = assert(require("genesiscloud.emulator").start{ token = "t" })
      local port = tonumber(emu.endpoint:match(":(%d+)/"))
      local s = assert(socket.connect{ host = "127.0.0.1", port = port })
      s:setmode("b", "b")
      assert(s:connect(2))
      s:xwrite("POST /compute/v1/security-groups HTTP/1.1\r\nContent-Length: 10\r\n\r\nab", "n", 2)
      s:flush("n", 2)
      s:close()
      -- the server has it when it answers another request
      local c = assert(socket.connect{ host = "127.0.0.1", port = port })
      c:setmode("b", "b")
      c:xwrite("GET /compute/v1/security-groups HTTP/1.1\r\nX-Auth-Token: t\r\n\r\n", "n", 2)
      c:flush("n", 2)
      c:xread("*l", "b", 2)
      c:close()
      io.stdout:write("pid=", emu.pid, "\n")
    ]])
    f:close()
    local t0 = cqueues.monotime()
    local out, ok = helper.run("timeout -s KILL 10 lua5.4 " .. script)
    os.remove(script)
    local pid = tonumber(out:match("pid=(%d+)"))
    if pid and running(pid) then os.execute("kill -KILL " .. pid) end
    assert.is_true(ok, out)
    assert.is_true(cqueues.monotime() - t0 < 5, "the script took " .. (cqueues.monotime() - t0) .. " s to end")
  end)
end)

describe("emulator request_timeout option", function()
  it("is checked by emulator.start and the command line", function()
    local emulator = require "genesiscloud.emulator"
    for _, bad in ipairs{ 0, -1, "1", 86401, 0 / 0 } do
      local emu, err = emulator.start{ request_timeout = bad }
      assert.is_nil(emu)
      assert.matches("request_timeout must be a number of seconds", err)
    end
    local out, ok = helper.run("lua5.4 bin/genesiscloud-emulator --request-timeout 0 2>&1")
    assert.is_false(ok)
    assert.matches("%-%-request%-timeout expects seconds", out)
  end)

  it("reaches the server from emulator.start", function()
    local emu = assert(require("genesiscloud.emulator").start{ token = TOKEN, request_timeout = 0.5 })
    local s = connect(tonumber(emu.endpoint:match(":(%d+)/")))
    local t0 = cqueues.monotime()
    local _, closed = read_all(s, 3)
    s:close()
    local took = cqueues.monotime() - t0
    assert(emu:stop())
    assert.is_true(closed)
    assert.is_true(took < 2, "an idle connection was closed after " .. took .. " s")
  end)
end)
