-- The emulator's error catalogue and response shapes. Handlers return
-- `status, body_table_or_nil, extra_headers`; these helpers build the error
-- cases so every error body has the API's shape {"code": ..., "message": ...}.
-- Codes 02001 and 02003 are the API's own; the others are the emulator's.

local reply = {}

local ERRORS = {
  bad_request        = { 400, "02004", "Bad request" },
  unauthorized       = { 401, "01001", "Invalid or missing authentication token" },
  forbidden          = { 403, "01003", "Control routes answer on loopback only" },
  invalid_route      = { 404, "02001", "Invalid route" },
  not_found          = { 404, "02003", "Not found" },
  method_not_allowed = { 405, "02002", "Method not allowed" },
  conflict           = { 409, "02005", "Conflict" },
  internal           = { 500, "00001", "Internal emulator error" },
}
reply.ERRORS = ERRORS

-- reply.error("not_found", "Security group not found", { allow = ... })
function reply.error(kind, message, headers)
  local e = assert(ERRORS[kind], kind)
  return e[1], { code = e[2], message = message or e[3] }, headers
end

-- An injected status fault (see faults.lua): the code is the status, padded.
function reply.fault(status)
  return status, { code = string.format("%05d", status), message = "Injected fault: HTTP " .. status }
end

return reply
