-- The chaos run: thousands of mixed operations against an emulator that
-- spoils a share of its answers. It checks what an unattended script needs:
-- no crash, every result a value or an error object, no group created
-- twice, and a final state that matches what the operations reported.
-- Used by spec/chaos_spec.lua and by `make chaos` (scripts/chaos.lua).
local genesiscloud = require "genesiscloud"
local emulator = require "genesiscloud.emulator"

local chaos = {}

local RULES = { genesiscloud.rules.ssh(), genesiscloud.rules.https() }

-- Picks an operation by weight.
local MIX = { { "create", 30 }, { "get", 25 }, { "list", 15 }, { "update", 20 }, { "delete", 10 } }

local function pick(random)
  local r, acc = random(100), 0
  for _, entry in ipairs(MIX) do
    acc = acc + entry[2]
    if r <= acc then return entry[1] end
  end
end

--- Runs the chaos scenario; returns the figures table, or raises on a broken
-- rule (with a message saying which).
-- opts: operations (2000), fault_rate (0.3), seed (1)
function chaos.run(opts)
  opts = opts or {}
  local operations = opts.operations or 2000
  local seed = opts.seed or 1
  local emu = assert(emulator.start{ token = "chaos-token", create_delay = 0, update_delay = 0,
    delete_delay = 0, seed = seed })
  local ok, result = pcall(chaos.run_against, emu, operations, opts.fault_rate or 0.3, seed)
  emu:stop()
  if not ok then error(result, 0) end
  return result
end

-- `opts` (optional): `client`, options added to the client's (e.g. `loop`);
-- `events`, a list the debug hook adds one line an attempt to;
-- `keep_open`: the client is left open, in `figures.client`.
function chaos.run_against(emu, operations, fault_rate, seed, opts)
  opts = opts or {}
  local rng_state = seed
  local function random(n) -- a small LCG, so the operation mix repeats exactly
    rng_state = (rng_state * 1103515245 + 12345) % 2147483648
    return rng_state % n + 1
  end

  local retries = 0
  local client_opts = { token = emu.token, endpoint = emu.endpoint,
    timeout = 0.3, connect_timeout = 1, max_retries = 6, retry_base = 0.002, retry_max_wait = 0.01,
    max_response_bytes = 256 * 1024,
    debug = function(event)
      if event.attempt > 1 then retries = retries + 1 end
      if opts.events then
        opts.events[#opts.events + 1] = ("%s %s %s attempt %d"):format(event.method, event.path,
          tostring(event.status or event.kind), event.attempt)
        if opts.errors then opts.errors[#opts.events] = event.error end
      end
    end }
  for k, v in pairs(opts.client or {}) do client_opts[k] = v end
  local client = assert(genesiscloud.new(client_opts))

  assert(emu:configure{ fault_rate = fault_rate, fault_seed = seed,
    fault_status = { 429, 500, 502, 503, 504 }, retry_after = false, stall_seconds = 1,
    oversize_bytes = 300 * 1024 })

  local model = {}          -- id -> { name, description } the API confirmed
  local live = {}           -- ids believed to exist, for picking targets
  -- Writes whose outcome a failure left open, for the report at the end:
  -- id -> the last failed update or delete of that group (a later
  -- successful write settles it); name -> a failed create.
  -- Each is { op, n (operation number), id, name, wanted, error }.
  local uncertain_ids = {}
  local uncertain_names = {}
  local figures = { operations = 0, successes = 0, failures = 0, by_kind = {}, attempts = 0 }

  local function failed(err, what)
    if not genesiscloud.is_error(err) then
      error(what .. " returned something that is neither a value nor an error object: " .. tostring(err))
    end
    figures.failures = figures.failures + 1
    figures.by_kind[err.kind] = (figures.by_kind[err.kind] or 0) + 1
    figures.attempts = figures.attempts + (tonumber(err.attempts) or 1)
  end

  local function target()
    if #live == 0 then return nil end
    return live[random(#live)]
  end

  local function forget(id)
    for i, v in ipairs(live) do
      if v == id then table.remove(live, i) return end
    end
  end

  for n = 1, operations do
    local op = pick(random)
    local id = target()
    if op ~= "create" and op ~= "list" and not id then op = "create" end
    figures.operations = figures.operations + 1
    local call_ok, value, err = pcall(function()
      if op == "create" then
        local name = "chaos-" .. n
        local sg, cerr = client:create_security_group{ name = name, description = "d0", rules = RULES }
        if sg then
          model[sg.id] = { name = name, description = "d0" }
          live[#live + 1] = sg.id
        elseif cerr.created ~= false then -- false: provably not created
          uncertain_names[name] = { op = "create", n = n, name = name, error = cerr }
        end
        return sg, cerr
      elseif op == "get" then
        return client:get_security_group(id)
      elseif op == "list" then
        return client:list_security_groups{ page = random(3), per_page = 50 }
      elseif op == "update" then
        local description = "d" .. n
        local sg, uerr = client:update_security_group(id, { name = model[id] and model[id].name or "x",
          description = description, rules = RULES })
        if sg then
          if model[id] then model[id].description = description end
          uncertain_ids[id] = nil
        else
          uncertain_ids[id] = { op = "update", n = n, id = id, name = model[id] and model[id].name,
            wanted = description, error = uerr }
        end
        return sg, uerr
      else
        local done, derr = client:delete_security_group(id)
        if done then
          model[id] = nil
          uncertain_ids[id] = nil
          forget(id)
        else
          uncertain_ids[id] = { op = "delete", n = n, id = id, name = model[id] and model[id].name, error = derr }
        end
        return done, derr
      end
    end)
    if not call_ok then error("operation " .. n .. " (" .. op .. ") raised: " .. tostring(value)) end
    if value then
      figures.successes = figures.successes + 1
    else
      failed(err, op)
    end
  end

  -- Faults off: read the final state and the log.
  assert(emu:configure{ fault_rate = 0 })
  local log = assert(emu:requests())
  figures.requests = #log
  figures.faults = 0
  -- the log, one line a request: two runs that met the same faults in the
  -- same order have the same lines
  figures.log = {}
  for i, req in ipairs(log) do
    if req.fault then figures.faults = figures.faults + 1 end
    figures.log[i] = ("%s %s %s %s"):format(req.method, req.path, tostring(req.status),
      type(req.fault) == "table" and tostring(req.fault.kind) or tostring(req.fault))
  end
  figures.retries = retries

  local final = assert(client:all_security_groups{ per_page = 100 })
  if opts.keep_open then figures.client = client else client:close() end
  local by_name, seen = {}, {}
  for _, sg in ipairs(final) do
    seen[sg.id] = sg
    by_name[sg.name] = (by_name[sg.name] or 0) + 1
    if by_name[sg.name] > 1 then error("two groups named " .. sg.name .. ": a create was duplicated") end
    local expected = model[sg.id]
    if expected then
      if not uncertain_ids[sg.id] and sg.description ~= expected.description then
        error(("group %s has description %q, the operations said %q"):format(sg.id, sg.description,
          expected.description))
      end
    elseif not uncertain_ids[sg.id] and not uncertain_names[sg.name] then
      error("group " .. sg.id .. " (" .. sg.name .. ") exists, but no operation created it")
    end
  end
  for id in pairs(model) do
    if not seen[id] and not uncertain_ids[id] then
      error("group " .. id .. " was created and never deleted, but is gone")
    end
  end
  figures.groups = #final
  figures.duplicates = 0
  -- Groups whose fate a failed write left open: checked only for existing
  -- at most once, not for their fields. Each is reported with what the
  -- final state says happened, in operation order.
  local ids_by_name = {}
  for _, sg in ipairs(final) do ids_by_name[sg.name] = sg.id end
  local uncertain = {}
  for _, u in pairs(uncertain_names) do
    u.id = ids_by_name[u.name]
    u.outcome = u.id and "exists: the create took effect" or "does not exist: the create did not take effect"
    uncertain[#uncertain + 1] = u
  end
  for id, u in pairs(uncertain_ids) do
    local now = seen[id]
    if u.op == "delete" then
      u.outcome = now and "still there: the delete did not take effect" or "gone: the delete took effect"
    elseif not now then
      u.outcome = "gone: an earlier failed delete took effect"
    elseif now.description == u.wanted then
      u.outcome = "description is " .. u.wanted .. ": the update took effect"
    else
      u.outcome = ("description is %s, not %s: the update did not take effect"):format(now.description, u.wanted)
    end
    uncertain[#uncertain + 1] = u
  end
  table.sort(uncertain, function(a, b) return a.n < b.n end)
  figures.uncertain_groups = uncertain
  figures.uncertain = #uncertain
  return figures
end

--- The groups a failed write left uncertain, one line each, in operation
-- order: which write, on which group, how it failed, what the end state
-- shows. Empty when there are none.
function chaos.report(f)
  local lines = {}
  for _, u in ipairs(f.uncertain_groups or {}) do
    lines[#lines + 1] = ("  #%d %s %s%s failed (%s); %s"):format(u.n, u.op, u.id or "-",
      u.name and (" (" .. u.name .. ")") or "", tostring(u.error), u.outcome)
  end
  if #lines == 0 then return "" end
  return "chaos: groups left uncertain by failed writes (operation, write, id, name, error; end state):\n"
    .. table.concat(lines, "\n")
end

--- The figures as one line.
function chaos.summary(f)
  local kinds = {}
  for kind, count in pairs(f.by_kind) do kinds[#kinds + 1] = kind .. " " .. count end
  table.sort(kinds)
  return ("chaos: %d operations, %d requests, %d faults injected, %d retries, %d failures surfaced%s, "
    .. "%d duplicates, %d groups at the end, %d left uncertain by failed writes"):format(f.operations,
    f.requests, f.faults, f.retries, f.failures, #kinds > 0 and (" (" .. table.concat(kinds, ", ") .. ")") or "",
    f.duplicates, f.groups, f.uncertain)
end

return chaos
