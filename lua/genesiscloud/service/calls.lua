--- What every public method does before and after its work: the check that
-- it was called on its object (`c.get_security_group(id)` instead of
-- `c:...`), argument errors that point at the caller's line, and raise mode
-- (`new{ errors = "raise" }`), which turns a `nil, err` return into raising
-- `err`. The layer's own code calls the unwrapped functions, so that inside
-- it a failure is always a value.
-- @module genesiscloud.service.calls
local errors = require "genesiscloud.errors"

local calls = {}

-- True for a frame inside the library (not the CLI nor the emulator, whose
-- own callers are what an argument error should point at).
local function inside(source)
  local module = source:match("genesiscloud/([%w_/]+)%.lua$")
  return module ~= nil and not module:find("^cli/") and not module:find("^emulator/")
end

--- Raises `message` as an error at the first caller outside the library,
-- so that "bad argument" points at the line that made the mistake however
-- deep inside the check ran.
function calls.arg_error(message)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    -- Lua 5.1 shows a tail call as a frame of its own: skip it too.
    if not info or not (inside(info.source) or info.what == "tail") then break end
    level = level + 1
  end
  error(message, level)
end

local function deliver(st, v, ...)
  if v == nil and st.raise then
    local err = ...
    if errors.is(err) then errors.raise(err) end
  end
  return v, ...
end
calls.deliver = deliver

--- The public method `label` of object `owner` (a client or a service):
-- `impl(target, label, a, b, c)` run on `target`, with the receiver
-- checked and raise mode applied.
-- @param st the client's private state
-- @param owner what the method must be called on
-- @tparam string label the name messages give (`get_security_group`, `security_groups:get`)
-- @tparam string expected what the receiver should be ("client", "service")
-- @param impl `function(target, label, a, b, c)`
-- @param target the first argument of impl
-- @param[opt] redirect `function(self, a, b, c)` for a receiver that is
--   another object of the right kind (its own method of that name)
function calls.method(st, owner, label, expected, impl, target, redirect)
  return function(self, a, b, c)
    if self ~= owner then
      if redirect then
        local other = redirect(self)
        if other then return other(self, a, b, c) end
      end
      calls.arg_error(("bad argument #1 to '%s' (%s expected, got %s; call it as %s(...))")
        :format(label, expected, type(self), (label:find(":") and "client." or "client:") .. label))
    end
    return deliver(st, impl(target, label, a, b, c))
  end
end

return calls
