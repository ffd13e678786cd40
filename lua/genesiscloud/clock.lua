--- Monotonic time and sleeping, from the C core. Loops that wait take
-- `now`/`sleep` overrides so tests can run them on a fake clock.
-- @module genesiscloud.clock
local core = require "genesiscloud.core"

return {
  now = core.now,      -- seconds from a monotonic clock
  sleep = core.sleep,  -- sleep(seconds), resumed after signals
}
