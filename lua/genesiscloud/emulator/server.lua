-- The emulator's HTTP server: lua-http on a cqueues controller. It moves
-- bytes between sockets and app:handle, keeps control routes to loopback
-- peers, and stops on a shutdown request, SIGINT/SIGTERM, or (optionally)
-- when the process that started it has died. It also puts injected faults
-- on the wire (latency, closed connections, cut, stalled and oversized
-- bodies; see faults.lua) and serves HTTPS when given a certificate.

local cqueues = require "cqueues"
local signal = require "cqueues.signal"
local ce = require "cqueues.errno"
local http_server = require "http.server"
local http_headers = require "http.headers"
local app = require "genesiscloud.emulator.app"
local reply = require "genesiscloud.emulator.reply"
local json = require "genesiscloud.emulator.wire_json"

local server = {}

-- Limits on what a client can make the server hold (docs/emulator.md,
-- "Hostile clients").
local REQUEST_TIMEOUT = 10 -- default seconds for a request, headers and body, to arrive whole
local IO_TIMEOUT = 10      -- seconds for each write of a response
local MAX_BODY = 1048576   -- larger request bodies get 413
local LINGER_SECONDS = 2   -- after a refusal, unread request bytes are drained
local LINGER_BYTES = 1048576 -- for at most this long and this much, then closed

local Server = {}
Server.__index = Server

-- Wall-clock seconds with sub-second resolution: os.time() gives the date,
-- the monotonic clock the fraction, and delays never jump with the wall clock.
local function make_clock()
  local wall0, mono0 = os.time(), cqueues.monotime()
  return function() return wall0 + (cqueues.monotime() - mono0) end
end

-- Linux: the fields after the ")" that ends the command name.
local function proc_stat(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local rest = s:match("%)%s+(.*)$")
  if not rest then return nil end
  local fields = {}
  for field in rest:gmatch("%S+") do fields[#fields + 1] = field end
  return fields, tonumber(s:match("^(%d+)"))
end

-- Our pid and our parent's pid, or nil when /proc is not there.
function server.process_ids()
  local fields, pid = proc_stat("self")
  if not fields then return nil end
  return pid, tonumber(fields[2])
end

local function is_loopback(addr)
  return type(addr) == "string"
    and (addr:match("^127%.") ~= nil or addr == "::1" or addr:match("^::ffff:127%.") ~= nil)
end
server.is_loopback = is_loopback

local function plain_headers(headers)
  local out = {}
  for name, value in headers:each() do
    if name:sub(1, 1) ~= ":" then out[name] = value end
  end
  return out
end

-- Why the body reading below is ours and bounded. lua-http's
-- h1_stream:shutdown(), which lua-http runs after every onstream, "reads
-- any remaining" request body by calling stream:step(0) until the stream
-- is complete. When the client has closed its side before sending the
-- whole body (Content-Length: 10, 2 bytes, close), each read returns nil
-- with no error (EOF), step() calls that success, and the loop spins
-- without ever yielding: 100% CPU, no other client answered, SIGTERM and
-- the parent watchdog never run. A header lua-http refuses
-- (Content-Length: abc) ends the same way, after its automatic 503. So:
-- the declared length is checked before reading, the whole request must
-- arrive by a deadline, EOF before the end is told from the end, and a
-- stream that is not complete when onstream returns has its socket taken
-- away and closed (Server:onstream), which makes that loop stop at once.

-- The declared body length: a number, false for none, or nil, status,
-- message for a request to refuse.
local function declared_length(headers)
  local te = headers:get_comma_separated("transfer-encoding")
  local lengths = headers:get_as_sequence("content-length")
  if te then
    if lengths.n > 0 then
      return nil, 400, "Transfer-Encoding and Content-Length must not both be given"
    end
    -- (lua-http has refused most others already; it would inflate gzip
    -- and deflate, whose output a small body does not bound)
    if te:lower():match("^%s*chunked%s*$") == nil then
      return nil, 400, "Transfer-Encoding must be chunked (or absent)"
    end
    return false
  end
  if lengths.n == 0 then return 0 end
  local n
  for i = 1, lengths.n do
    local digits = lengths[i]:match("^%s*(%d+)%s*$")
    if not digits then return nil, 400, "invalid Content-Length" end
    if #digits > 15 then return nil, 413, "request body too large" end
    local m = tonumber(digits)
    if n and m ~= n then return nil, 400, "conflicting Content-Length headers" end
    n = m
  end
  if n > MAX_BODY then return nil, 413, "request body too large" end
  return n
end

-- The size the next chunk of a chunked body declares, read ahead of
-- lua-http (which buffers a whole chunk, up to 4 GiB, before handing it
-- over), or nil and the reason read_body gives.
local function peek_chunk_size(stream, timeout)
  local socket = stream.connection.socket
  if not socket then return nil, "closed" end
  local line, err, errno = socket:xread("*L", timeout)
  if not line then
    if errno == ce.ETIMEDOUT then return nil, "timeout" end
    return nil, err == nil and "closed" or "malformed"
  end
  socket:unget(line)
  local hex = line:match("^(%x+)")
  if not hex then return nil, "malformed" end
  return tonumber(hex, 16)
end

-- Reads the whole body by `deadline` (monotonic seconds); `chunked`: the
-- body is chunked. Returns the body, or nil and "too large" (past
-- MAX_BODY), "timeout", "malformed" (broken chunked framing) or "closed"
-- (the client went away).
local function read_body(stream, deadline, chunked)
  local chunks, size = {}, 0
  while true do
    local left = deadline - cqueues.monotime()
    if left <= 0 then return nil, "timeout" end
    if chunked and stream.state == "open" then
      local next_size, why = peek_chunk_size(stream, left)
      if not next_size then return nil, why end
      if next_size > MAX_BODY - size then return nil, "too large" end
      left = deadline - cqueues.monotime()
      if left <= 0 then return nil, "timeout" end
    end
    local chunk, err, errno = stream:get_next_chunk(left)
    if chunk == nil then
      if errno == ce.ETIMEDOUT then return nil, "timeout" end
      if errno == ce.EILSEQ then return nil, "malformed" end
      if err ~= nil then return nil, "closed" end
      -- nil and no error: the end of the body, or EOF before it
      if stream.state ~= "half closed (remote)" and stream.state ~= "closed" then
        return nil, "closed"
      end
      break
    end
    size = size + #chunk
    if size > MAX_BODY then return nil, "too large" end
    chunks[#chunks + 1] = chunk
  end
  return table.concat(chunks)
end

local function response_headers(status, headers, length)
  local h = http_headers.new()
  h:append(":status", tostring(status))
  for name, value in pairs(headers or {}) do h:append(name, value) end
  if length then h:append("content-length", tostring(length)) end
  return h
end

local function respond(stream, status, body, headers)
  local ok, err = stream:write_headers(response_headers(status, headers, body and #body), body == nil, IO_TIMEOUT)
  if ok and body then ok, err = stream:write_chunk(body, true, IO_TIMEOUT) end
  return ok, err
end

-- The connection's socket, taken from lua-http (which then writes and
-- reads nothing more on it), or nil when it is gone already.
local function take_socket(stream)
  local socket = stream.connection:take_socket()
  if socket then
    -- errors are returned from here on (the default handler raises some),
    -- and none left by lua-http (a bad header sets EILSEQ for reads) stops
    -- a refusal from draining what the client still sends
    socket:onerror(function(_, _, why) return why end)
    socket:clearerr()
  end
  return socket
end

-- Ends the connection at once, without a response or the rest of one.
-- Whatever was written is flushed first. Unread request bytes make the
-- kernel send a reset instead of a plain close; both are "no answer".
local function abort(stream)
  local socket = take_socket(stream)
  if socket then
    socket:flush("n", 1)
    socket:close()
  end
end

local REASONS = { [400] = "Bad Request", [408] = "Request Timeout", [413] = "Content Too Large" }

-- Answers a request that cannot be read (or need not be) with `status`
-- and an API error body, then closes the connection: what follows is not
-- a request boundary. The rest of the request is drained for a bounded
-- time first, so that the client reads the answer rather than a reset.
local function refuse(stream, status, message)
  local socket = take_socket(stream)
  if not socket then return end
  local _, body = reply.error("bad_request", message)
  local text = json.encode(body)
  socket:xwrite(("HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    .. "connection: close\r\n\r\n%s"):format(status, REASONS[status], #text, text), "n", IO_TIMEOUT)
  socket:flush("n", IO_TIMEOUT)
  socket:shutdown("w")
  local deadline, drained = cqueues.monotime() + LINGER_SECONDS, 0
  while drained < LINGER_BYTES do
    local left = deadline - cqueues.monotime()
    if left <= 0 then break end
    local data = socket:xread(-65536, "b", left)
    if not data then break end
    drained = drained + #data
  end
  socket:close()
end

local OVERSIZE_CHUNK = 65536

-- A JSON body larger than `limit` bytes, written in chunks so it is never
-- whole in memory: {"padding":"xxxx...","response":<the real answer>}.
local function write_oversize(stream, status, text, headers, limit)
  local head, tail = '{"padding":"', '","response":' .. (text or "null") .. "}"
  local pad = math.max(0, limit + 1 - #head - #tail)
  local ok, err = stream:write_headers(response_headers(status, headers, #head + pad + #tail), false, IO_TIMEOUT)
  if ok then ok, err = stream:write_chunk(head, false, IO_TIMEOUT) end
  local block = string.rep("x", OVERSIZE_CHUNK)
  while ok and pad > 0 do
    local n = math.min(pad, OVERSIZE_CHUNK)
    ok, err = stream:write_chunk(n == OVERSIZE_CHUNK and block or block:sub(1, n), false, IO_TIMEOUT)
    pad = pad - n
  end
  if ok then ok, err = stream:write_chunk(tail, true, IO_TIMEOUT) end
  return ok, err
end

-- Sends an API answer the way `kind` (a fault, or nil) says.
local function deliver(self, stream, kind, status, text, headers)
  if kind == nil or kind == "status" or kind == "invalid_json" or kind == "hostile" then
    return respond(stream, status, text, headers)
  elseif kind == "close_after_body" then
    return abort(stream)
  elseif kind == "oversize" then
    return write_oversize(stream, status, text, headers, self.app.config.oversize_bytes)
  elseif kind == "truncate" then
    if text then
      -- the whole length is announced, the first half of the body follows
      local ok = stream:write_headers(response_headers(status, headers, #text), false, IO_TIMEOUT)
      if ok and #text > 1 then stream:write_chunk(text:sub(1, #text // 2), false, IO_TIMEOUT) end
    else
      -- No body to cut (204): cut the status line ("HTTP/1.1 204"). libcurl
      -- takes a header block cut after a whole status line as a complete 204.
      local socket = stream.connection.socket
      if socket then socket:xwrite("HTTP/1.1 " .. status, "n", IO_TIMEOUT) end
    end
    return abort(stream)
  elseif kind == "stall" then
    local wait = self.app.config.stall_seconds
    if not text then
      cqueues.sleep(wait)
      return respond(stream, status, text, headers)
    end
    -- headers and the first half now, the rest after the stall
    local half = #text // 2
    local ok, err = stream:write_headers(response_headers(status, headers, #text), false, IO_TIMEOUT)
    if ok and half > 0 then ok, err = stream:write_chunk(text:sub(1, half), false, IO_TIMEOUT) end
    if not ok then return ok, err end
    cqueues.sleep(wait)
    return stream:write_chunk(text:sub(half + 1), true, IO_TIMEOUT)
  end
  error("unknown fault " .. tostring(kind))
end

local function error_response(kind, message)
  local status, body = reply.error(kind, message)
  return status, json.encode(body), { ["content-type"] = "application/json" }
end

-- One request and its answer. Whatever happens in it, a stream that is
-- not complete when it returns loses its socket (see read_body's comment).
function Server:onstream(stream)
  local ok, err = pcall(self.exchange, self, stream)
  if stream.state ~= "closed" then abort(stream) end
  if not ok then error(err, 0) end
end

-- Logs an API request refused before it was handled (413, a bad
-- Content-Length, a body that did not arrive in time).
function Server:log_refused(method, target, headers, status)
  if method and app.is_api(target) then
    self.app:log_refused(method, target, plain_headers(headers), status)
  end
end

-- The request headers, or nil when there is no request to answer: a
-- request line or header that cannot be parsed gets 400 here; a client
-- gone quiet or away gets no answer. There is no method and path to log.
local function read_headers(stream, timeout)
  -- lua-http raises on some headers (a Transfer-Encoding it cannot decode)
  local got, headers, herr, herrno = pcall(stream.get_headers, stream, timeout)
  if got and headers then return headers end
  if not got or (herr ~= nil and herrno ~= ce.ETIMEDOUT and herrno ~= ce.EPIPE and herrno ~= ce.ECONNRESET) then
    local why = "malformed request line or header"
    if herrno == ce.E2BIG then
      why = "too many header lines"
    elseif herr == "invalid content-length" then
      why = "invalid Content-Length"
    elseif not got or herrno == nil then
      why = "unsupported request framing"
    end
    refuse(stream, 400, why)
  end
  return nil
end

-- Refuses a request whose body could not be read (`err` from read_body)
-- and logs it as refused; a client that closed gets no answer.
function Server:refuse_body(stream, method, target, headers, err)
  if err == "too large" then
    self:log_refused(method, target, headers, 413)
    refuse(stream, 413, "request body too large")
  elseif err == "malformed" then
    self:log_refused(method, target, headers, 400)
    refuse(stream, 400, "malformed chunked body")
  elseif err == "timeout" then
    self:log_refused(method, target, headers, 408)
    refuse(stream, 408, "the request did not arrive within " .. self.request_timeout .. " s")
  else
    -- "closed": nobody to answer; the request never reached the API
    self:log_refused(method, target, headers, nil)
  end
end

-- Handles a request read whole and sends its answer, spoiled by `fault`.
function Server:answer(stream, method, target, headers, body, fault)
  local kind = fault and fault.kind
  local ok, status, out, out_headers, action =
    pcall(self.app.handle, self.app, method, target, nil, body, plain_headers(headers), fault)
  if not ok then
    io.stderr:write("genesiscloud-emulator: ", tostring(status), "\n")
    status, out, out_headers = error_response("internal")
    kind = nil
  end
  -- a HEAD response has no body (the 405 it gets says so in the status)
  if method == "HEAD" then out = nil end
  if app.is_api(target) then self:add_latency() end
  deliver(self, stream, kind, status, out, out_headers)
  if action == "shutdown" then self:stop("shutdown requested") end
end

function Server:exchange(stream)
  local deadline = cqueues.monotime() + self.request_timeout
  local headers = read_headers(stream, self.request_timeout)
  if not headers then return end
  local method, target = headers:get(":method"), headers:get(":path") or "/"
  local length, refusal, message = declared_length(headers)
  if length == nil then
    self:log_refused(method, target, headers, refusal)
    return refuse(stream, refusal, message)
  end
  local control = target:sub(1, #app.CONTROL_PREFIX + 1) == app.CONTROL_PREFIX .. "/"
  if not control and self.tls and not stream.connection:checktls() then
    -- like nginx's "plain HTTP request was sent to HTTPS port"; not logged, not faulted
    if read_body(stream, deadline, length == false) then
      respond(stream, error_response("bad_request", "This port speaks HTTPS; plain HTTP is for /_emulator/ only"))
    end
    return
  end
  local fault = self.app:choose_fault(method, target)
  local kind = fault and fault.kind
  if kind == "close_before_body" then
    self.app:handle(method, target, nil, nil, plain_headers(headers), fault)
    self:add_latency()
    return abort(stream)
  end
  local body, err = read_body(stream, deadline, length == false)
  if not body then return self:refuse_body(stream, method, target, headers, err) end

  if control then
    local _, addr = stream:peername()
    if not is_loopback(addr) then
      respond(stream, error_response("forbidden"))
      return
    end
  end

  self:answer(stream, method, target, headers, body, fault)
end

-- The configured latency, before every API answer (faulted or not).
function Server:add_latency()
  local latency = self.app.config.latency
  if latency > 0 then cqueues.sleep(latency) end
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- A TLS context from PEM files: the first certificate in `cert_file` is the
-- server's, any others are sent as its chain. HTTP/1.1 only (ALPN), so the
-- faults behave the same as over plain HTTP.
function server.tls_context(cert_file, key_file)
  if type(cert_file) ~= "string" or type(key_file) ~= "string" then
    return nil, "tls_cert and tls_key must be given together"
  end
  local http_tls = require "http.tls"
  local x509 = require "openssl.x509"
  local chain = require "openssl.x509.chain"
  local pkey = require "openssl.pkey"
  local cert_pem, err = read_file(cert_file)
  if not cert_pem then return nil, "cannot read tls_cert: " .. tostring(err) end
  local key_pem, kerr = read_file(key_file)
  if not key_pem then return nil, "cannot read tls_key: " .. tostring(kerr) end
  local certs = {}
  for block in cert_pem:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-") do
    local ok, crt = pcall(x509.new, block, "PEM")
    if not ok then return nil, "tls_cert: " .. tostring(crt) end
    certs[#certs + 1] = crt
  end
  if #certs == 0 then return nil, "tls_cert: no PEM certificate in " .. cert_file end
  local ok, key = pcall(pkey.new, key_pem, "PEM")
  if not ok then return nil, "tls_key: " .. tostring(key) end

  local ctx = http_tls.new_server_context()
  local set_ok, set_err = pcall(function()
    assert(ctx:setCertificate(certs[1]))
    if #certs > 1 then
      local c = chain.new()
      for i = 2, #certs do c:add(certs[i]) end
      assert(ctx:setCertificateChain(c))
    end
    assert(ctx:setPrivateKey(key))
  end)
  if not set_ok then
    return nil, "tls_cert/tls_key: " .. tostring(set_err) .. " (does the key belong to the certificate?)"
  end
  if http_tls.has_alpn then
    ctx:setAlpnSelect(function(_, protos)
      for _, proto in ipairs(protos) do
        if proto == "http/1.1" then return proto end
      end
      return nil
    end)
  end
  return ctx
end

local STATE_OPTIONS = { "token", "seed", "create_delay", "update_delay", "delete_delay", "put_405" }
for key in pairs(app.CONFIG) do STATE_OPTIONS[#STATE_OPTIONS + 1] = key end

-- opts: host, port, token, create_delay, update_delay, delete_delay,
-- put_405, seed, the fault settings (faults.lua), tls_cert and tls_key,
-- request_timeout (default 10 s), signals (default true),
-- exit_with_parent (default false).
-- Returns the server, bound and listening, or nil and a message.
function server.new(opts)
  opts = opts or {}
  local settings = { clock = make_clock() }
  for _, key in ipairs(STATE_OPTIONS) do settings[key] = opts[key] end
  local st, err = app.new(settings)
  if not st then return nil, err end

  local ctx
  if opts.tls_cert ~= nil or opts.tls_key ~= nil then
    ctx, err = server.tls_context(opts.tls_cert, opts.tls_key)
    if not ctx then return nil, err end
  end

  local request_timeout = opts.request_timeout or REQUEST_TIMEOUT
  if type(request_timeout) ~= "number" or not (request_timeout > 0 and request_timeout <= 86400) then
    return nil, "request_timeout must be a number of seconds, more than 0 and at most 86400"
  end

  local self = setmetatable({ app = st, cq = cqueues.new(), stopping = false,
    request_timeout = request_timeout }, Server)
  local ok, lerr = self:listen(opts.host or "127.0.0.1", opts.port or 0, ctx)
  if not ok then return nil, lerr end
  if opts.signals ~= false then self:watch_signals() end
  if opts.exit_with_parent then self:watch_parent() end
  return self
end

-- Binds and listens (TLS with `ctx`); sets url, endpoint, host, port, pid.
function Server:listen(host, port, ctx)
  local request_timeout = self.request_timeout
  local srv, lerr = http_server.listen{
    host = host,
    port = port,
    -- with a certificate, TLS and plain connections are told apart by
    -- their first bytes; plain ones only reach the control routes
    tls = (ctx == nil) and false or nil,
    ctx = ctx,
    -- HTTP/1.1 only: no HTTP/2 over plain connections either
    version = 1.1,
    -- a client that connects and sends nothing, or keeps an idle
    -- connection, is dropped after this long
    connection_setup_timeout = request_timeout,
    intra_stream_timeout = request_timeout,
    cq = self.cq,
    reuseaddr = true,
    onstream = function(_, stream) return self:onstream(stream) end,
    onerror = function(_, _, op, e)
      -- a client hanging up is not worth a line, nor is a TLS client that
      -- refuses our certificate (a failed "wrap"); anything else is
      if (op ~= "onstream" or not tostring(e):match("EPIPE")) and not (ctx and op == "wrap") then
        io.stderr:write("genesiscloud-emulator: ", tostring(op), ": ", tostring(e), "\n")
      end
    end,
  }
  if not srv then return nil, "cannot listen on " .. host .. ": " .. tostring(lerr) end
  local ok, berr = srv:listen()
  if not ok then return nil, "cannot listen on " .. host .. ": " .. tostring(berr) end
  self.http = srv
  self.tls = ctx ~= nil

  local _, addr, bound = srv:localname()
  local shown = addr:find(":", 1, true) and ("[" .. addr .. "]") or addr
  self.host, self.port = addr, bound
  self.url = (ctx and "https://" or "http://") .. shown .. ":" .. bound
  self.endpoint = self.url .. app.PREFIX
  self.pid = server.process_ids()
  return true
end

-- SIGINT/SIGTERM end the loop cleanly (exit code 0 from the bin script).
function Server:watch_signals()
  signal.block(signal.SIGINT, signal.SIGTERM)
  local listener = signal.listen(signal.SIGINT, signal.SIGTERM)
  self.cq:wrap(function()
    while not self.stopping do
      local signo = listener:wait(1)
      if signo then self:stop("signal " .. tostring(signo)) end
    end
  end)
end

-- Once a second: if our parent pid changed, the parent died (we were
-- re-parented), so nobody will ever stop us: stop now.
function Server:watch_parent()
  local _, ppid = server.process_ids()
  if not ppid then return end
  self.cq:wrap(function()
    while not self.stopping do
      cqueues.sleep(1)
      local _, now = server.process_ids()
      if now ~= ppid then self:stop("parent process exited") end
    end
  end)
end

function Server:stop(reason)
  if not self.stopping then
    self.stopping = true
    self.stop_reason = reason
  end
end

-- Serves until stop(); returns true and the reason it stopped.
function Server:run()
  while not self.stopping do
    local ok, err = self.cq:step(1)
    if not ok then io.stderr:write("genesiscloud-emulator: ", tostring(err), "\n") end
  end
  self.http:close()
  return true, self.stop_reason
end

return server
