-- Shared set-up for the specs: servers on loopback, random ports, and
-- clients pointed at them.
local helper = {}

helper.genesiscloud = require "genesiscloud"
helper.TOKEN = "spec-token-8c1f"

--- Starts an emulator process with no delays unless asked; stop it in teardown.
function helper.start_emulator(opts)
  opts = opts or {}
  local merged = { token = helper.TOKEN, create_delay = 0, update_delay = 0, delete_delay = 0 }
  for k, v in pairs(opts) do merged[k] = v end
  local emulator = require "genesiscloud.emulator"
  return assert(emulator.start(merged))
end

--- A client for the emulator `emu`, with extra options.
function helper.client(emu, opts)
  local merged = { token = emu.token, endpoint = emu.endpoint }
  for k, v in pairs(opts or {}) do merged[k] = v end
  return assert(helper.genesiscloud.new(merged))
end

--- A free TCP port on 127.0.0.1, for servers that cannot take port 0.
function helper.free_port()
  local socket = require "cqueues.socket"
  local listener = assert(socket.listen{ host = "127.0.0.1", port = 0 })
  local _, _, port = assert(listener:localname())
  listener:close()
  return port
end

--- Reads one line from a pipe, failing after `limit` lines without `pattern`.
local function wait_for_line(pipe, pattern, limit)
  local seen = {}
  for _ = 1, limit do
    local line = pipe:read("*l")
    if not line then break end
    seen[#seen + 1] = line
    if line:find(pattern) then return line end
  end
  return nil, table.concat(seen, "\n")
end

--- Starts the OpenAPI mock server (prism, installed by `make tools`) with
-- request validation on, serving the vendor's OpenAPI file.
function helper.start_prism()
  local prism = "tools/node_modules/.bin/prism"
  assert(io.open(prism), "prism is not installed: run `make tools`")
  local port = helper.free_port()
  -- `echo $$` before exec gives the pid of the process prism becomes.
  local cmd = ("exec sh -c 'echo $$; exec %s mock --errors -h 127.0.0.1 -p %d %s 2>&1'")
    :format(prism, port, "spec/contract/genesiscloud-compute-v1-openapi-2023-07.yaml")
  local pipe = assert(io.popen(cmd, "r"))
  local pid = tonumber(pipe:read("*l"))
  local ready, output = wait_for_line(pipe, "Prism is listening", 2000)
  local server = {
    endpoint = ("http://127.0.0.1:%d/compute/v1"):format(port),
    stop = function()
      if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
      pid = nil
      pipe:close()
    end,
  }
  if not ready then
    server.stop()
    error("prism did not start:\n" .. tostring(output))
  end
  return server
end

return helper
