--- Waiting for transfers: the one step of the pipeline that blocks. Every
-- request the layer sends goes through here, so a later version can yield
-- to a host event loop instead of blocking, without touching the rest.
--
-- Each function hands back the C core's answer unchanged, in one of three
-- shapes (see the core's `perform`):
--   decoded:  status, value             (value: the object, or true for 204)
--   response: status, body, headers     (any other answer)
--   failure:  nil, kind, message, curl_code, sent
-- @module genesiscloud.http.transfer
local transfer = {}

--- Sends one request of operation record `op` on `handle` and waits for it.
-- @param handle the client's C core handle
-- @param op an operation record (method, expect, envelope, fresh)
-- @tparam string target path and query below the endpoint
-- @tparam[opt] string body the JSON body
function transfer.perform(handle, op, target, body)
  return handle:perform(op.method, target, body, op.fresh, op.expect, op.envelope)
end

--- Starts one request of a concurrent batch under `tag`.
-- @return true, or the failure shape without a status
function transfer.start(handle, tag, op, target, body)
  return handle:multi_add(tag, op.method, target, body, op.fresh, op.expect, op.envelope)
end

--- Waits up to `timeout` seconds (nil: until one finishes) for a request
-- of a batch: `tag` and one of the three shapes; `false` when the time ran
-- out; nil when nothing is in flight.
function transfer.wait_any(handle, timeout)
  return handle:multi_next(timeout)
end

--- Cancels the request of a batch started under `tag`.
function transfer.cancel(handle, tag)
  return handle:multi_cancel(tag)
end

return transfer
