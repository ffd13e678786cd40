--- The generic request pipeline every operation goes through:
-- encode the body, send it with the C core, check the status, decode and
-- unwrap the answer, and turn every failure into an error object.
-- Resources describe *what* to send; this module knows *how*.
-- @module genesiscloud.request
local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local json = require "genesiscloud.json"
local retry = require "genesiscloud.retry"
local state = require "genesiscloud.state"

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
local function api_error(method, path, status, body, headers)
  local decoded = body ~= "" and json.decode(body) or nil
  local code, message
  if type(decoded) == "table" then
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

-- libcurl re-sends a request by itself when a reused connection dies before
-- any answer. Harmless for GET, PUT and PATCH; a POST could create twice
-- and a DELETE could come back 404 after it worked, so those two always
-- go over a fresh connection.
local FRESH_CONNECTION = { POST = true, DELETE = true }

-- One attempt: -> result, nil, status | nil, err
local function attempt_once(client, method, target, body, spec)
  local status, payload, headers, curl_code, sent =
    client:perform(method, target, body, FRESH_CONNECTION[method])
  if status == nil then
    -- payload is the kind ("transport", "timeout", ...), headers the message;
    -- `sent` tells whether any of the request left this machine.
    return nil, errors.new{ kind = payload, message = headers, curl_code = curl_code,
      sent = sent, method = method, path = target }
  end
  local result, err = request.interpret(method, target, spec, status, payload, headers)
  return result, err, status
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

-- Defaults for a client without Lua state (not made by genesiscloud.new).
local NO_RETRY = { max_retries = 0, now = core.now, sleep = core.sleep }

--- Sends one request, retrying what is safe to retry.
-- @param client the client userdata
-- @param method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @param path path below the endpoint, ids already escaped
-- @param spec table: `query` (table), `body` (table, sent as JSON),
--   `expect` (status number, default 200), `unwrap` (key of the object
--   to return from the response body)
-- @return the decoded (and unwrapped) result, `true` for an expected empty
--   answer, or `nil, err`; `err.attempts` counts the attempts made,
--   `err.retryable` says whether more attempts might have helped, and
--   `err.ambiguous` marks a POST that may have taken effect.
function request.send(client, method, path, spec)
  spec = spec or {}
  local target = path .. request.query_string(spec.query)
  local body
  if spec.body ~= nil then
    local err
    body, err = json.encode(spec.body)
    if not body then
      return errors.fail{ kind = "usage", message = "cannot send the request body: " .. err,
        method = method, path = target }
    end
  end

  local st = state.get(client)
  local policy = st and st.policy or NO_RETRY -- a bare core handle
  local started = policy.now()
  local maybe_done = false -- an earlier attempt may have taken effect
  local attempt = 0
  while true do
    attempt = attempt + 1
    local t0 = policy.now()
    local result, err, status = attempt_once(client, method, target, body, spec)
    if policy.debug then
      report(policy, { method = method, path = target, status = status or (err and err.status),
        kind = err and err.kind, attempt = attempt, duration = policy.now() - t0,
        error = err and tostring(err) })
    end
    if result ~= nil then return result end
    -- A DELETE whose earlier attempt may have gone through: gone is done.
    if method == "DELETE" and maybe_done and err.kind == "api" and err.status == 404 then
      return true
    end
    local class = retry.classify(method, err)
    err.attempts = attempt
    err.retryable = class ~= "final"
    if class == "ambiguous" then
      err.ambiguous = true
      return nil, err
    end
    if class == "final" or attempt > policy.max_retries then return nil, err end
    if err.kind ~= "api" and err.sent ~= false then maybe_done = true end
    local wait = retry.delay(attempt, policy, err)
    if policy.deadline and policy.now() - started + wait > policy.deadline then
      err.deadline_exceeded = true
      return nil, err
    end
    policy.sleep(wait)
  end
end

--- Turns one HTTP response into the call's result: checks the status,
-- decodes and unwraps the body. Pure (no I/O), so it can be tested and
-- fuzzed on its own.
-- @param method, target the request, for error messages
-- @param spec `expect` (default 200) and `unwrap`, as for send
-- @param status, body, headers the response (headers keyed in lower case)
-- @return the result, or `nil, err`
function request.interpret(method, target, spec, status, body, headers)
  local expect = spec.expect or 200
  if status ~= expect then
    return nil, api_error(method, target, status, body, headers)
  end
  if expect == 204 then return true end -- "No Content": nothing to decode

  local decoded, err = json.decode(body)
  if type(decoded) ~= "table" then
    return errors.fail{ kind = "decode", status = status, method = method, path = target,
      message = "the response is not a JSON object (" .. (err or excerpt(body)) .. ")" }
  end
  if spec.unwrap then
    local inner = decoded[spec.unwrap]
    if type(inner) ~= "table" then
      return errors.fail{ kind = "decode", status = status, method = method, path = target,
        message = "the response has no '" .. spec.unwrap .. "' object: " .. excerpt(body) }
    end
    return inner
  end
  return decoded
end

return request
