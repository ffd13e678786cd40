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

--- The emulator's state driven in process, with no server: the clock is
-- a table the spec moves ({ t = seconds }, from EMULATOR_T0), the token
-- is "t" unless given, creates and updates take no time unless asked.
-- The emulator's modules need Lua 5.3+, so they load on first use.
helper.EMULATOR_T0 = 1795780800 -- 2026-11-27T12:00:00Z
helper.EMULATOR_AUTH = { ["x-auth-token"] = "t" }

function helper.emulator_state(opts)
  opts = opts or {}
  local clock = { t = helper.EMULATOR_T0 }
  opts.clock = function() return clock.t end
  opts.token = opts.token or "t"
  opts.create_delay = opts.create_delay or 0
  opts.update_delay = opts.update_delay or 0
  return assert(require("genesiscloud.emulator.app").new(opts)), clock
end

--- One API call on such a state (a table body is sent as JSON):
-- status, decoded body (or nil), response headers, raw body.
function helper.emulator_call(st, method, path, body, headers)
  local json = require "genesiscloud.emulator.wire_json"
  if type(body) == "table" then body = assert(json.encode(body)) end
  local status, text, h = st:handle(method, "/compute/v1" .. path, nil, body, headers or helper.EMULATOR_AUTH)
  return status, text and assert(json.decode(text)), h, text
end

--- A client for the emulator `emu`, with extra options.
function helper.client(emu, opts)
  local merged = { token = emu.token, endpoint = emu.endpoint }
  for k, v in pairs(opts or {}) do merged[k] = v end
  return assert(helper.genesiscloud.new(merged))
end

--- The table `core.new` takes, made as `genesiscloud.new` makes it: `opts`
-- (options of `new`; the token "core-options-token" unless given) resolved
-- through `options.resolve`, so the C core gets values in its units
-- (timeout_ms, connect_timeout_ms, max_response_bytes). `core` fields set
-- after resolving, to give the C core what `new` would refuse, e.g.
-- `core_options({ endpoint = e }, { timeout_ms = 1 })`.
function helper.core_options(opts, core)
  local merged = { token = "core-options-token" }
  for k, v in pairs(opts or {}) do merged[k] = v end
  local resolved = assert(require("genesiscloud.options").resolve(merged, function() end))
  for k, v in pairs(core or {}) do resolved[k] = v end
  return resolved
end

--- Runs a shell command; returns its output, true when it exited with
-- status 0, "exit" and the status. Portable: io.popen's close() reports
-- the status on Lua 5.2+ only, so the status travels on a last line.
function helper.run(command)
  local pipe = assert(io.popen("( " .. command .. "\n); echo \"@exit $?\"", "r"))
  local out = pipe:read("*a")
  pipe:close()
  local text, code = out:match("^(.-)@exit (%d+)\n?$")
  code = tonumber(code)
  return text or out, code == 0, "exit", code
end

--- The package.cpath for a separate, uninstrumented interpreter that a
-- spec starts (a script run as a user would): package.cpath itself, except
-- under `make asan`, whose ASan-built core ($(BUILD)/asan/) cannot load
-- into a process without the ASan runtime preloaded ("ASan runtime does
-- not come first in initial library list"); there the normal build
-- ($(BUILD)/, which `make asan` builds too), the core the examples use.
function helper.child_cpath()
  return (package.cpath:gsub("/asan/%?%.so", "/?.so"))
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

--- Runs `command` as a child process whose stdout is read until a line
-- matching `ready` appears. Returns { line = that line, stop = function }.
function helper.spawn(command, ready)
  -- `echo $$` before exec gives the pid of the process the command becomes.
  local pipe = assert(io.popen("exec sh -c 'echo $$; exec " .. command .. " 2>&1'", "r"))
  local pid = tonumber(pipe:read("*l"))
  local line, output = wait_for_line(pipe, ready, 2000)
  local child = { line = line }
  function child.stop()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    pid = nil
    if pipe then pipe:close() end
    pipe = nil
  end
  if not line then
    child.stop()
    error("`" .. command .. "` did not start:\n" .. tostring(output))
  end
  return child
end

--- Starts the OpenAPI mock server (prism, installed by `make tools`) with
-- request validation on, serving the vendor's OpenAPI file.
function helper.start_prism()
  local prism = "tools/node_modules/.bin/prism"
  assert(io.open(prism), "prism is not installed: run `make tools`")
  local port = helper.free_port()
  local child = helper.spawn(("%s mock --errors -h 127.0.0.1 -p %d %s"):format(prism, port,
    "spec/contract/genesiscloud-compute-v1-openapi-2023-07.yaml"), "Prism is listening")
  child.endpoint = ("http://127.0.0.1:%d/compute/v1"):format(port)
  return child
end

--- Starts spec/support/canned_server.lua (fixed, misbehaving responses).
function helper.start_canned_server()
  -- The servers need lua-http on cqueues, which Debian builds for 5.4.
  local child = helper.spawn("lua5.4 spec/support/canned_server.lua", "^http://")
  child.endpoint = child.line .. "/compute/v1"
  return child
end

return helper
