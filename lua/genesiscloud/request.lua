--- The generic request pipeline every operation goes through:
-- encode the body, send it with the C core, check the status, decode and
-- unwrap the answer, and turn every failure into an error object.
-- Resources describe *what* to send; this module knows *how*.
-- @module genesiscloud.request
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local json = require "genesiscloud.json"
local retry = require "genesiscloud.retry"

-- libcurl re-sends a request by itself when a reused connection dies before
-- any answer. Harmless for GET, PUT and PATCH; a POST could create twice
-- and a DELETE could come back 404 after it worked, so those two always
-- go over a fresh connection.
local FRESH_CONNECTION = require("genesiscloud.service.operation").FRESH

local request = {}

local EXCERPT = 200 -- characters of a non-JSON body quoted in an error

-- A short, printable excerpt of a body for error messages.
local function excerpt(body)
  if body == nil or body == "" then return "empty response body" end
  local text = body:sub(1, EXCERPT):gsub("[%c]+", " "):gsub("^%s+", ""):gsub("%s+$", "")
  if #body > EXCERPT then text = text .. "..." end
  return text
end
request.excerpt = excerpt

local function format_query_value(v)
  if type(v) == "number" and v % 1 == 0 and v >= -2^53 and v <= 2^53 then
    return string.format("%d", v)
  end
  return tostring(v)
end

--- Builds `?a=1&b=2` from a table (keys sorted so requests are stable).
-- Returns "" for an empty or absent query.
function request.query_string(query)
  if query == nil then return "" end
  local keys = {}
  for k, v in pairs(query) do
    if v ~= nil then keys[#keys + 1] = tostring(k) end
  end
  if #keys == 0 then return "" end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    parts[i] = core.escape(k) .. "=" .. core.escape(format_query_value(query[k]))
  end
  return "?" .. table.concat(parts, "&")
end

-- The error for a response whose status was not the expected one. The API
-- sends {"code": ..., "message": ...}; anything else still gives a sane
-- error with the status and an excerpt of what came back.
local function api_error(method, path, status, body, headers, expect)
  local decoded = body ~= "" and json.decode(body) or nil
  local code, message
  if status < 400 then
    -- not an error status, just not the one this operation answers with:
    -- say so, rather than print whatever body came with it
    message = ("unexpected status %d (expected %d)"):format(status, expect)
    if body ~= "" then message = message .. ": " .. excerpt(body) end
  elseif type(decoded) == "table" then
    code = decoded.code
    -- {"code","message"} from the API; RFC 7807 problem details elsewhere
    message = decoded.message or decoded.detail or decoded.title or decoded.error
  end
  if type(message) ~= "string" or message == "" then
    message = excerpt(body)
  end
  return errors.new{
    kind = "api", status = status, code = code, message = message,
    method = method, path = path,
    retry_after = headers and headers["retry-after"],
  }
end

-- A server may reflect the request's headers, the token among them, into
-- its answer. The core redacts a failure's body and headers; what JSON
-- escapes hid from it shows after decoding, so every string an error
-- carries goes through the core's redaction once more.
local SCRUBBED = { "message", "code", "retry_after" }
local function scrub(st, err)
  for _, field in ipairs(SCRUBBED) do
    local v = err[field]
    if type(v) == "string" then err[field] = st.core:redact(v) end
  end
  return err
end

--- The error for an answer the core did not accept (its "response"
-- shape): `decode` with the core's `reason` when the status was the
-- expected one, else `api`, built from what the server sent.
-- @treturn table the error object (not yet redacted)
function request.answer_error(method, target, expect, status, body, headers, reason)
  if reason then
    return errors.new{ kind = "decode", status = status, method = method, path = target,
      message = reason }
  end
  return api_error(method, target, status, body, headers, expect)
end

-- What one attempt's core answer means: -> result, nil, status | nil, err, status
-- (the core's shapes: decoded `status, value`; response `status, body,
-- headers[, reason]`; failure `nil, kind, message, curl_code, sent`)
local function outcome(st, op, target, status, payload, headers, curl_code, sent)
  if status == nil then
    -- payload is the kind ("transport", "timeout", ...), headers the message;
    -- `sent` tells whether any of the request left this machine.
    return nil, errors.new{ kind = payload, message = headers, curl_code = curl_code,
      sent = sent, method = op.method, path = target }
  end
  if type(payload) ~= "string" then return payload, nil, status end -- decoded by the core
  -- An answer the core did not accept is an error, never a success: with
  -- the expected status the core says why its body was unusable (reason),
  -- else the body is the server's account of the failure.
  local err = request.answer_error(op.method, target, op.expect, status, payload, headers,
    type(curl_code) == "string" and curl_code or nil)
  return nil, scrub(st, err), status
end

-- Tells the client's debug hook about one attempt. The event holds the
-- method, path, status, attempt, duration and error line, never the token.
local function report(policy, event)
  local hook = policy.debug
  if type(hook) == "function" then
    hook(event)
  elseif hook then
    io.stderr:write(("genesiscloud: %s %s -> %s (attempt %d, %.1f ms)%s\n"):format(event.method,
      event.path, tostring(event.status or event.kind), event.attempt, event.duration * 1000,
      event.error and (": " .. event.error) or ""))
  end
end

-- The JSON text of a body: -> text | nil (no body) | false, err
local function encode_body(method, target, body)
  if body == nil then return nil end
  local text, err = json.encode(body)
  if not text then
    return false, errors.new{ kind = "usage", message = "cannot send the request body: " .. err,
      method = method, path = target }
  end
  return text
end

-- A request ready to be sent, and its retry bookkeeping.
-- -> job | nil, err
local function prepare(op, target, body)
  local text, err = encode_body(op.method, target, body)
  if text == false then return nil, err end
  return { op = op, method = op.method, target = target, body = text, attempt = 0,
    maybe_done = false }
end

-- Decides after an attempt of `job`: -> result | nil, err (final) |
-- nil, nil, wait (send again after `wait` seconds). The same rules for a
-- single request and for each request of a concurrent batch.
local function judge(policy, job, result, err, status, t0)
  if policy.debug then
    report(policy, { method = job.method, path = job.target, status = status or (err and err.status),
      kind = err and err.kind, attempt = job.attempt, duration = policy.now() - t0,
      error = err and tostring(err) })
  end
  if result ~= nil then return result end
  local method = job.method
  -- A DELETE whose earlier attempt may have gone through: gone is done.
  if method == "DELETE" and job.maybe_done and err.kind == "api" and err.status == 404 then
    return true
  end
  local class = retry.classify(method, err)
  err.attempts = job.attempt
  err.retryable = class ~= "final"
  if class == "ambiguous" then
    err.ambiguous = true
    return nil, err
  end
  if class == "final" or job.attempt > policy.max_retries then return nil, err end
  if err.kind ~= "api" and err.sent ~= false then job.maybe_done = true end
  local wait = retry.delay(job.attempt, policy, err)
  if policy.deadline and policy.now() - job.started + wait > policy.deadline then
    err.deadline_exceeded = true
    return nil, err
  end
  return nil, nil, wait
end

--- Runs one request of an operation, retrying what is safe to retry.
-- @param st the client's private state (core handle, retry policy)
-- @param op the operation record: method, expect, envelope, fresh
-- @tparam string target the path (parameters escaped) and query
-- @tparam[opt] table body sent as JSON
-- @return the decoded (and unwrapped) result, `true` for an expected empty
--   answer, or `nil, err`; `err.attempts` counts the attempts made,
--   `err.retryable` says whether more attempts might have helped, and
--   `err.ambiguous` marks a POST that may have taken effect.
function request.run(st, op, target, body)
  -- The common case (no body, first attempt succeeds, no debug hook) makes
  -- no table of its own: the job is only built when judge() has something
  -- to decide.
  local text, err = encode_body(op.method, target, body)
  if text == false then return nil, err end
  local policy = st.policy
  local now = policy.now
  -- Only a deadline and the debug hook read the clock: without them no
  -- request pays for reading it.
  local clocked = policy.deadline or policy.debug
  local started = clocked and now()
  local job
  local attempt = 0
  while true do
    attempt = attempt + 1
    local t0 = clocked and (attempt == 1 and started or now())
    -- The core decodes an answer with the expected status itself and
    -- hands back the (unwrapped) object; anything else goes to outcome.
    local status, payload, headers, curl_code, sent = st.transfer.perform(st.core, op, target, text)
    local result
    local tp = type(payload)
    if tp == "table" or tp == "boolean" then
      if not policy.debug then return payload end
      result, err = payload, nil
    else
      result, err, status = outcome(st, op, target, status, payload, headers, curl_code, sent)
    end
    if not job then
      job = { op = op, method = op.method, target = target, body = text, attempt = 0,
        maybe_done = false, started = started }
    end
    job.attempt = attempt
    local final, ferr, wait = judge(policy, job, result, err, status, t0)
    if not wait then return final, ferr end
    policy.sleep(wait)
  end
end

--- The operation record of a request not described by a resource.
-- @param method the HTTP method
-- @tparam[opt] table spec `expect` (default 200), `unwrap` (the envelope)
function request.operation(method, spec)
  spec = spec or {}
  return { method = method, expect = spec.expect or 200, envelope = spec.unwrap,
    fresh = FRESH_CONNECTION[method] or false }
end

--- Sends any request: `client:request` and callers without an operation.
-- @param st the client's private state
-- @param method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @param path path below the endpoint, ids already escaped
-- @param spec table: `query` (table), `body` (table, sent as JSON),
--   `expect` (status number, default 200), `unwrap` (key of the object
--   to return from the response body)
-- @return as `request.run`
function request.send(st, method, path, spec)
  spec = spec or {}
  return request.run(st, request.operation(method, spec), path .. request.query_string(spec.query),
    spec.body)
end

-- ---- concurrent requests -------------------------------------------------
--
-- A pipeline runs many requests over the client's multi handle with at
-- most `concurrency` in flight, each through the same outcome/judge steps
-- as request.send. A request to be retried waits for its own backoff while
-- the others go on. Completions come back in the order they finish, with
-- the key they were submitted under.
--
-- Tags are per client; several pipelines may use one client at once (a
-- concurrent listing whose loop body runs a bulk call), so a completion
-- that belongs to another pipeline is handed to it.

local unpack = table.unpack or unpack -- luacheck: ignore 143
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local Pipeline = {}
Pipeline.__index = Pipeline

--- The largest `concurrency` accepted.
request.MAX_CONCURRENCY = 64
--- The default `concurrency` of bulk calls.
request.DEFAULT_CONCURRENCY = 8

--- A new pipeline over a client (its private state `st`) with at most
-- `concurrency` requests in flight.
function request.pipeline(st, concurrency)
  return setmetatable({
    st = st, policy = st.policy, router = st.router,
    concurrency = concurrency or request.DEFAULT_CONCURRENCY,
    queue = {}, active = {}, nactive = 0, inbox = {}, ready = {}, rhead = 1,
  }, Pipeline)
end

--- Queues a request; its completion comes back from `next` with `key`.
-- @param op the operation record
-- @tparam string target path (parameters escaped) and query
-- @tparam[opt] table body sent as JSON
function Pipeline:submit(key, op, target, body)
  local job, err = prepare(op, target, body)
  if not job then
    self.ready[#self.ready + 1] = { key, nil, err }
    return
  end
  job.key = key
  self.queue[#self.queue + 1] = job
end

--- Requests submitted and not yet returned by `next`.
function Pipeline:pending()
  return #self.queue + self.nactive + #self.inbox + (#self.ready - self.rhead + 1)
end

function Pipeline:finish(job, result, err, status, t0)
  local final, ferr, wait = judge(self.policy, job, result, err, status, t0)
  if wait then
    job.ready_at = self.policy.now() + wait
    self.queue[#self.queue + 1] = job
  else
    self.ready[#self.ready + 1] = { job.key, final, ferr }
  end
end

-- Starts queued requests whose time has come while there is room.
function Pipeline:fill()
  local policy, queue = self.policy, self.queue
  local now = policy.now()
  local i = 1
  while self.nactive < self.concurrency and i <= #queue do
    local job = queue[i]
    if job.ready_at == nil or job.ready_at <= now then
      table.remove(queue, i)
      job.attempt = job.attempt + 1
      job.t0 = policy.now()
      job.started = job.started or job.t0
      local router = self.router
      router.tag = router.tag + 1
      local tag = router.tag
      local ok, kind, message, curl_code, sent = self.st.transfer.start(self.st.core, tag, job.op,
        job.target, job.body)
      if ok then
        self.active[tag] = job
        router.owners[tag] = self
        self.nactive = self.nactive + 1
      else
        local _, err = outcome(self.st, job.op, job.target, nil, kind, message, curl_code, sent)
        self:finish(job, nil, err, nil, job.t0)
      end
    else
      i = i + 1
    end
  end
end

-- Seconds until the earliest queued retry may start (0: now), or nil.
function Pipeline:next_start()
  local earliest
  for _, job in ipairs(self.queue) do
    local at = job.ready_at or 0
    if not earliest or at < earliest then earliest = at end
  end
  if earliest then return math.max(0, earliest - self.policy.now()) end
end

function Pipeline:complete(packed)
  local tag = packed[1]
  local job = self.active[tag]
  if not job then return end
  self.active[tag] = nil
  self.nactive = self.nactive - 1
  local result, err, status = outcome(self.st, job.op, job.target, unpack(packed, 2, packed.n))
  self:finish(job, result, err, status, job.t0)
end

--- The next finished request: `key, result` or `key, nil, err`; nil when
-- nothing is left. Blocks while requests are in flight.
function Pipeline:next()
  while true do
    local ready = self.ready
    if self.rhead <= #ready then
      local item = ready[self.rhead]
      ready[self.rhead] = nil
      self.rhead = self.rhead + 1
      if self.rhead > #ready then self.ready, self.rhead = {}, 1 end
      return item[1], item[2], item[3]
    end
    self:fill()
    if self.rhead <= #self.ready then -- luacheck: ignore 542
      -- a request could not even start: the loop returns it first
    elseif #self.inbox > 0 then
      self:complete(table.remove(self.inbox, 1))
    elseif self.nactive == 0 then
      local wait = self:next_start()
      if not wait then return nil end
      if wait > 0 then self.policy.sleep(wait) end
    else
      local timeout
      if self.nactive < self.concurrency then timeout = self:next_start() end
      local got = pack(self.st.transfer.wait_any(self.st.core, timeout, self))
      local tag = got[1]
      if tag == nil then
        -- The core has nothing in flight: the client was closed under us.
        for t, job in pairs(self.active) do
          self.active[t] = nil
          self.nactive = self.nactive - 1
          job.attempt = math.max(job.attempt, 1)
          self:finish(job, nil, errors.new{ kind = "usage", message = "the client is closed",
            method = job.method, path = job.target }, nil, job.t0)
        end
      elseif tag ~= false then
        local owner = self.router.owners[tag]
        self.router.owners[tag] = nil
        if owner == self then
          self:complete(got)
        elseif owner then
          owner.inbox[#owner.inbox + 1] = got
        end
      end
    end
  end
end

--- Drops everything not yet returned; requests in flight are cancelled.
function Pipeline:close()
  for tag in pairs(self.active) do
    self.st.transfer.cancel(self.st.core, tag)
    self.router.owners[tag] = nil
  end
  self.active, self.nactive, self.queue, self.inbox, self.ready, self.rhead = {}, 0, {}, {}, {}, 1
end

--- Sends many requests concurrently, each with the retries of `run`.
-- @param st the client's private state
-- @param calls array of `{ op, target, body }`
-- @param concurrency requests in flight at most (default 8)
-- @return array of results in the order of `calls`, each the call's result
--   or its error object, and the number of errors
function request.send_many(st, calls, concurrency)
  local p = request.pipeline(st, concurrency)
  for i, call in ipairs(calls) do p:submit(i, call[1], call[2], call[3]) end
  local results, failed = {}, 0
  while true do
    local key, result, err = p:next()
    if key == nil then break end
    if result == nil then failed = failed + 1 end
    results[key] = result == nil and err or result
  end
  p:close()
  return results, failed
end

return request
