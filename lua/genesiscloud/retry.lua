--- Which failures are worth another attempt, and how long to wait first.
--
-- A request that provably never reached the server can always be sent
-- again. One that may have reached it can be sent again only when doing it
-- twice is harmless (GET, PUT, PATCH, DELETE); for POST such a failure is
-- "ambiguous" and the caller must find out what happened first.
-- @module genesiscloud.retry
local retry = {}

-- Statuses that say "try again later" rather than "you are wrong".
local RETRYABLE_STATUS = { [408] = true, [429] = true, [500] = true, [502] = true,
  [503] = true, [504] = true }

-- libcurl codes: the connection failed before anything was sent.
local NOT_SENT = {
  [7] = true,  -- CURLE_COULDNT_CONNECT (refused, unreachable)
}

-- libcurl codes for a connection that broke or went quiet after the
-- request may have been sent: reset, nothing answered, cut short, timeout.
local BROKEN = {
  [18] = true, -- CURLE_PARTIAL_FILE (truncated body)
  [28] = true, -- CURLE_OPERATION_TIMEDOUT
  [52] = true, -- CURLE_GOT_NOTHING (closed without an answer)
  [55] = true, -- CURLE_SEND_ERROR
  [56] = true, -- CURLE_RECV_ERROR (reset)
  [16] = true, -- CURLE_HTTP2
  [92] = true, -- CURLE_HTTP2_STREAM
}

local IDEMPOTENT = { GET = true, PUT = true, PATCH = true, DELETE = true }

--- Classifies a failed attempt.
-- @param method the HTTP method
-- @param err the error object
-- @return "retry" (send again), "ambiguous" (a POST that may have taken
--   effect: look before sending again) or "final"
function retry.classify(method, err)
  local kind = err.kind
  if kind == "api" then
    if not RETRYABLE_STATUS[err.status] then return "final" end
    if method == "POST" then
      -- A 429 means the request was refused, not carried out.
      return err.status == 429 and "retry" or "final"
    end
    return "retry"
  elseif kind == "transport" or kind == "timeout" then
    if NOT_SENT[err.curl_code] or (err.sent == false and BROKEN[err.curl_code]) then
      return "retry"
    end
    if not BROKEN[err.curl_code] then return "final" end -- TLS, DNS, protocol...
    return IDEMPOTENT[method] and "retry" or "ambiguous"
  elseif kind == "decode" then
    -- An answer came but could not be read: a garbled success.
    return IDEMPOTENT[method] and "retry" or (method == "POST" and "ambiguous" or "final")
  elseif kind == "too_large" then
    -- Asking again brings the same body; but a POST may have worked.
    return method == "POST" and "ambiguous" or "final"
  end
  return "final" -- usage, validation, too_large, ...
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
  Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a proleptic Gregorian date (no time zone
-- involved, unlike os.time).
local function days_from_civil(y, m, d)
  local floor = math.floor
  y = m <= 2 and y - 1 or y
  local era = floor((y >= 0 and y or y - 399) / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds to wait from a Retry-After header value: delta-seconds or an
-- HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past is 0;
-- a value that cannot be read is nil.
-- @param value the header value
-- @param now_epoch current time in seconds since the epoch (UTC)
function retry.parse_retry_after(value, now_epoch)
  if type(value) ~= "string" then return nil end
  value = value:match("^%s*(.-)%s*$")
  if value:match("^%d+$") then return tonumber(value) end
  local d, mon, y, hh, mm, ss = value:match("^%a+,%s+(%d+)%s+(%a+)%s+(%d+)%s+(%d+):(%d+):(%d+)%s+GMT$")
  if not d or not MONTHS[mon] then return nil end
  local epoch = days_from_civil(tonumber(y), MONTHS[mon], tonumber(d)) * 86400
    + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
  return math.max(0, epoch - now_epoch)
end

--- Seconds to wait before attempt `attempt + 1`: exponential backoff with
-- full jitter, capped by `max_wait`; a Retry-After the server sent wins,
-- but is never honoured beyond `max_wait`.
-- @param attempt attempts made so far (1 after the first failure)
-- @param policy `retry_base`, `retry_max_wait`, `random` (0..1), `wall_clock`
-- @param err the failure, whose `retry_after` may say how long
function retry.delay(attempt, policy, err)
  local max_wait = policy.retry_max_wait
  local after = retry.parse_retry_after(err and err.retry_after, policy.wall_clock())
  if after then return math.min(after, max_wait) end
  local ceiling = math.min(max_wait, policy.retry_base * 2 ^ (attempt - 1))
  return policy.random() * ceiling
end

return retry
