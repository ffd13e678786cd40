--- Per-client Lua state: the resolved options and what the client has
-- learned (e.g. that updates must be PATCH). Keyed weakly by the client
-- userdata, so it goes away with the client. The token is not kept here.
-- @module genesiscloud.state
local states = setmetatable({}, { __mode = "k" })

return {
  get = function(client) return states[client] end,
  set = function(client, state) states[client] = state end,
}
