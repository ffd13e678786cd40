--- An independent reading of one HTTP response, for checking the C core
-- against: what an answer means for an operation expecting status `expect`
-- under `envelope`, decoded here with lua-cjson. Never on the request path
-- (there the core alone decides, see request.lua); the fuzz target
-- (fuzz_response.c) and core_spec compare the core's shapes with it.
local errors = require "genesiscloud.errors"
local json = require "genesiscloud.json"
local request = require "genesiscloud.request"

local excerpt = request.excerpt
local oracle = {}

--- Turns one HTTP response into the call's result: checks the status,
-- decodes and unwraps the body. Pure (no I/O), so it can be tested and
-- fuzzed on its own.
-- @param method, target the request, for error messages
-- @param spec `expect` (default 200) and `unwrap`, as for send
-- @param status, body, headers the response (headers keyed in lower case)
-- @return the result, or `nil, err`
function oracle.interpret(method, target, spec, status, body, headers)
  return oracle.interpret_status(method, target, spec.expect or 200, spec.unwrap, status, body,
    headers)
end

--- `interpret` with the expected status and the envelope given apart.
function oracle.interpret_status(method, target, expect, envelope, status, body, headers)
  if status ~= expect then
    return nil, request.answer_error(method, target, expect, status, body, headers)
  end
  if expect == 204 then return true end -- "No Content": nothing to decode

  local decoded, err = json.decode(body)
  if type(decoded) ~= "table" then
    return errors.fail{ kind = "decode", status = status, method = method, path = target,
      message = "the response is not a JSON object (" .. (err or excerpt(body)) .. ")" }
  end
  if envelope then
    local inner = decoded[envelope]
    if type(inner) ~= "table" then
      return errors.fail{ kind = "decode", status = status, method = method, path = target,
        message = "the response has no '" .. envelope .. "' object: " .. excerpt(body) }
    end
    return inner
  end
  return decoded
end


return oracle
