--- The transfer step of a client made with `loop = adapter`: the same
-- functions as genesiscloud.http.transfer, which the request pipeline calls
-- the same way. Inside a coroutine a request goes through the client's
-- multi handle and the coroutine waits in the loop driver; on the main
-- thread every function blocks exactly as in a client without a loop.
-- @module genesiscloud.loop.loop_transfer
local blocking = require "genesiscloud.http.transfer"
local driver = require "genesiscloud.loop.driver"

local in_coroutine = driver.in_coroutine
local unpack = table.unpack or unpack -- luacheck: ignore 143
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local loop_transfer = {}

--- The transfer step over driver `d` (see genesiscloud.http.transfer for
-- each function's arguments and results).
function loop_transfer.new(d)
  local t = {}

  function t.perform(handle, op, target, body)
    if d.closed or not in_coroutine() then return blocking.perform(handle, op, target, body) end
    return d:perform(op, target, body)
  end

  function t.start(handle, tag, op, target, body)
    if not d.closed then d:check_cancel(coroutine.running()) end -- a cancelled task sends nothing more
    local ok, kind, message, code, sent = blocking.start(handle, tag, op, target, body)
    if ok and not d.closed then d:started(tag) end
    return ok, kind, message, code, sent
  end

  -- `owner`: the pipeline waiting. In a coroutine its completions arrive in
  -- its inbox, and `false` sends it to look there.
  function t.wait_any(handle, timeout, owner)
    if in_coroutine() and not d.closed then
      if #owner.inbox == 0 then d:wait(owner, timeout) end
      if d.closed and #owner.inbox == 0 then return nil end
      return false
    end
    local got = pack(blocking.wait_any(handle, timeout))
    if d.closed then return unpack(got, 1, got.n) end
    d:sync()
    local tag = got[1]
    -- finished: no longer in flight (t.start noted it, main thread or not)
    if tag then d.owner_co[tag] = nil end
    local other = tag and d.router.owners[tag]
    if other and other ~= owner then
      -- a coroutine's transfer, finished by this blocking wait: its
      -- coroutine resumes on the loop's next turn
      d.router.owners[tag], d.owner_co[tag] = nil, nil
      d:deliver(other, got)
      d:arm()
      return false
    end
    return unpack(got, 1, got.n)
  end

  function t.cancel(handle, tag)
    if d.closed then return blocking.cancel(handle, tag) end
    return d:cancel(tag)
  end

  return t
end

return loop_transfer
