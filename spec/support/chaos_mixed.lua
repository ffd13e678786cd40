-- The mixed chaos run: creates, reads, updates, deletes, instance actions
-- and snapshots over every resource that can be written, against an
-- emulator that spoils a share of its answers (the fault kinds of
-- spec/support/chaos.lua). It checks, per kind: no object created twice for
-- one create (in the final state and in the emulator's log of applied
-- POSTs), no Lua error escaping, every failure an error object, the
-- emulator still up and never answering 500 by itself, and a final state
-- that matches what the operations reported; what a failed write left
-- open is listed per kind. Used by `make chaos` and spec/chaos_mixed_spec.lua.
local genesiscloud = require "genesiscloud"
local emulator = require "genesiscloud.emulator"

local mixed = {}

-- Every kind written, in report order, with the short tag of its names
-- ("mx-<tag>-<operation number>").
mixed.KINDS = { "ssh_keys", "security_groups", "volumes", "floating_ips", "filesystems", "instances",
  "snapshots" }
local TAG = { ssh_keys = "key", security_groups = "sg", volumes = "vol", floating_ips = "fip",
  filesystems = "fs", instances = "box", snapshots = "snap" }
local KIND_OF_ROUTE = { ["ssh-keys"] = "ssh_keys", ["security-groups"] = "security_groups",
  volumes = "volumes", ["floating-ips"] = "floating_ips", filesystems = "filesystems",
  instances = "instances", snapshots = "snapshots" }

local REGION = "NORD-NO-KRS-1"
local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"
local TYPE = "vcpu-4_memory-24g_disk-80g_nvidia3090-1"
local RULES = { genesiscloud.rules.ssh() }
local WAIT = { interval = 0.01, timeout = 2 }
-- Actions take a moment, so a wait can see the status leave its old value
-- (a reset goes from active to active); a poll that stalls past it can
-- still miss it, and that wait runs out (a `timeout` failure).
local ACTION_STEP = { seconds = 0.1 }
mixed.TRANSITIONS = { instances = { stop = ACTION_STEP, start = ACTION_STEP, reset = ACTION_STEP } }

--- The kind a request path belongs to (an instance's snapshots are
-- snapshots'), or "other".
function mixed.kind_of_path(path)
  local first, rest = tostring(path):match("^/([^/?]+)(.*)$")
  if first == "instances" and rest:match("^/[^/?]+/snapshots") then return "snapshots" end
  return KIND_OF_ROUTE[first] or "other"
end

local function name_of(kind, n) return "mx-" .. TAG[kind] .. "-" .. n end

--- The operation number in a name this run gave, or nil.
function mixed.number_of(name)
  return tonumber(tostring(name):match("^mx%-%a+%-(%d+)"))
end

local function new_figures()
  local f = { kinds = {}, by_op = {} }
  for _, kind in ipairs(mixed.KINDS) do
    f.kinds[kind] = { operations = 0, successes = 0, failures = 0, by_kind = {}, requests = 0, faults = 0,
      retries = 0, duplicates = 0, applied_twice = 0, duplicate_names = {}, objects = 0, uncertain = {},
      applied_creates = {} }
  end
  f.kinds.other = { requests = 0, faults = 0, retries = 0 }
  return f
end

-- A failure that provably changed nothing: the client says so, nothing was
-- sent, or the one attempt was refused with a 4xx (after a retry an earlier
-- attempt may have taken effect).
local function not_applied(err)
  if err.created == false or err.kind == "validation" or err.kind == "usage" then return true end
  local status = err.kind == "api" and err.attempts == 1 and tonumber(err.status)
  return status and status >= 400 and status < 500 and status ~= 404 and status ~= 429 or false
end

-- The run's state: the model of what the API confirmed, and what failed
-- writes left open.
local function new_state(client, seed)
  local s = { client = client, rng = seed, live = {}, model = {}, open_creates = {}, open_ids = {},
    attached = {}, groups_used = {}, figures = new_figures() }
  for _, kind in ipairs(mixed.KINDS) do
    s.live[kind], s.model[kind], s.open_creates[kind], s.open_ids[kind] = {}, {}, {}, {}
  end
  return s
end

-- A small LCG, so the operation mix repeats exactly: 1..n.
local function random(s, n)
  s.rng = (s.rng * 1103515245 + 12345) % 2147483648
  return s.rng % n + 1
end

local function pick_id(s, kind, ok)
  local ids = s.live[kind]
  if #ids == 0 then return nil end
  local start = random(s, #ids)
  for i = 0, #ids - 1 do
    local id = ids[(start + i - 1) % #ids + 1]
    if not ok or ok(id) then return id end
  end
  return nil
end

local function add(s, kind, obj, n, fields)
  s.model[kind][obj.id] = { n = n, fields = fields or {} }
  s.live[kind][#s.live[kind] + 1] = obj.id
end

local function forget(s, kind, id)
  s.model[kind][id] = nil
  for i, v in ipairs(s.live[kind]) do
    if v == id then table.remove(s.live[kind], i) return end
  end
end

-- Records a failed write of `id` (or of a create, by its number) whose
-- outcome is open. A later successful write of the object settles it.
-- Open writes of an object are kept per field ("exists" for a delete).
local function open(s, kind, u)
  if u.op == "create" or u.op == "snapshot" or u.op == "clone" then
    s.open_creates[kind][u.n] = u
    return
  end
  local per_field = s.open_ids[kind][u.id] or {}
  per_field[u.field or "exists"] = u
  s.open_ids[kind][u.id] = per_field
end

local function settle(s, kind, id, field)
  local per_field = s.open_ids[kind][id]
  if per_field then
    per_field[field] = nil
    if next(per_field) == nil then s.open_ids[kind][id] = nil end
  end
end

-- Creates: each returns the call's result; the spec's references are
-- counted as in use until the create is known not to have happened.
local CREATE = {}
function CREATE.ssh_keys(_, n) return { name = name_of("ssh_keys", n), value = KEY } end
function CREATE.security_groups(_, n)
  return { name = name_of("security_groups", n), description = "d0", rules = RULES, region = REGION }
end
function CREATE.volumes(_, n)
  return { name = name_of("volumes", n), description = "d0", size = 10, region = REGION }
end
function CREATE.floating_ips(_, n) return { name = name_of("floating_ips", n), description = "d0", region = REGION } end
function CREATE.filesystems(_, n)
  return { name = name_of("filesystems", n), description = "d0", size = 10, region = REGION }
end
function CREATE.instances(s, n)
  local spec = { name = name_of("instances", n), hostname = name_of("instances", n), region = REGION,
    type = TYPE, image = "ubuntu:22.04" }
  local key = pick_id(s, "ssh_keys", function(id) return not s.open_ids.ssh_keys[id] end)
  if key then spec.ssh_keys = { key } else spec.password = "Chaos1234" end
  local group = pick_id(s, "security_groups", function(id) return not s.open_ids.security_groups[id] end)
  if group then spec.security_groups = { group } end
  local volume = pick_id(s, "volumes", function(id) return not s.attached[id] and not s.open_ids.volumes[id] end)
  if volume then spec.volumes = { volume } end
  return spec
end

-- Counts (or, with -1, releases) the volume and group an instance holds.
local function hold(s, spec, delta)
  for _, v in ipairs(spec.volumes or {}) do s.attached[v] = delta > 0 or nil end
  for _, g in ipairs(spec.security_groups or {}) do s.groups_used[g] = (s.groups_used[g] or 0) + delta end
end

local function create(s, kind, n)
  local spec = CREATE[kind](s, n)
  if kind == "instances" then hold(s, spec, 1) end
  local obj, err = s.client[kind]:create(spec)
  if obj then
    add(s, kind, obj, n, { description = spec.description })
    if kind == "instances" then
      s.model.instances[obj.id].status = "active"
      s.model.instances[obj.id].spec = spec
    end
  elseif not_applied(err) then
    if kind == "instances" then hold(s, spec, -1) end
  else
    open(s, kind, { op = "create", n = n, name = spec.name, error = err })
  end
  return obj, err
end

-- A snapshot of an instance (nested create) or a clone of a snapshot: no
-- identity, so a lost answer stays open.
local function create_snapshot(s, n, clone)
  local name = name_of("snapshots", n)
  local obj, err
  local source = clone and pick_id(s, "snapshots")
    or pick_id(s, "instances", function(i) return s.model.instances[i].status ~= nil end)
  if not source then return "instances", create(s, "instances", n) end
  if clone then
    obj, err = s.client.snapshots:clone(source, { name = name, region = REGION })
  else
    obj, err = s.client.instances:create_snapshot(source, { name = name })
  end
  if obj then
    add(s, "snapshots", obj, n, { name = name })
  elseif not not_applied(err) then
    open(s, "snapshots", { op = clone and "clone" or "snapshot", n = n, name = name, error = err })
  end
  return "snapshots", obj, err
end

-- An update of one field per kind; each value is new (it holds the
-- operation number), so the final state tells whether it took effect.
local UPDATE = {
  ssh_keys = function(m, n) return { name = "mx-key-" .. m.n .. "-r" .. n }, "name" end,
  security_groups = function(m, n)
    return { name = "mx-sg-" .. m.n, description = "d" .. n, rules = RULES }, "description"
  end,
  volumes = function(_, n) return { description = "d" .. n }, "description" end,
  floating_ips = function(_, n) return { description = "d" .. n }, "description" end,
  filesystems = function(_, n) return { description = "d" .. n }, "description" end,
  instances = function(_, n) return { disk_size = 80 + n }, "disk_size" end,
  snapshots = function(m, n) return { name = "mx-snap-" .. m.n .. "-r" .. n }, "name" end,
}

local function update(s, kind, id, n)
  local m = s.model[kind][id]
  local spec, field = UPDATE[kind](m, n)
  local obj, err = s.client[kind]:update(id, spec)
  if obj then
    m.fields[field] = spec[field]
    settle(s, kind, id, field)
  else
    open(s, kind, { op = "update", n = n, id = id, field = field, wanted = spec[field], error = err })
  end
  return obj, err
end

-- Whether the model lets `id` be deleted now: no volume attached to an
-- instance, no group in use.
local function deletable(s, kind, id)
  if kind == "volumes" then return not s.attached[id] end
  if kind == "security_groups" then return (s.groups_used[id] or 0) <= 0 end
  return true
end

-- A delete; half the instance deletes wait until it is gone (a failed
-- wait after a successful DELETE fails the operation, not the delete).
local function delete(s, kind, id, n)
  local done, err = s.client[kind]:delete(id)
  if done then
    if kind == "instances" then hold(s, s.model.instances[id].spec, -1) end
    forget(s, kind, id)
    s.open_ids[kind][id] = nil
    if kind == "instances" and random(s, 2) == 1 then return s.client.instances:wait_deleted(id, WAIT) end
  elseif not not_applied(err) then
    open(s, kind, { op = "delete", n = n, id = id, error = err })
  end
  return done, err
end

-- An action the instance's status allows, with or without waiting.
local function action(s, id, n)
  local m = s.model.instances[id]
  local name
  if m.status == "stopped" then
    name = "start"
  else
    name = random(s, 2) == 1 and "stop" or "reset"
  end
  local waited = random(s, 2) == 1
  local result, err = s.client.instances[name](s.client.instances, id, waited and { wait = WAIT } or nil)
  local target = name == "stop" and "stopped" or "active"
  if result then
    if waited and result.status ~= target then
      error(("%s of %s waited, but returned status %s"):format(name, id, tostring(result.status)))
    end
    m.status = target
    settle(s, "instances", id, "status")
  else
    m.status = nil
    open(s, "instances", { op = name, n = n, id = id, field = "status", wanted = target, error = err })
  end
  return result, err
end

-- A read: the object, a page of the list, or an instance's actions.
local function read(s, kind, id)
  local r = random(s, 4)
  if r == 1 or not id then return s.client[kind]:list{ page = random(s, 2), per_page = 50 } end
  if kind == "instances" and r == 2 then
    local obj, err = s.client.instances:get(id)
    if obj and (obj.status == "active" or obj.status == "stopped") then
      s.model.instances[id].status = obj.status
    end
    return obj, err
  end
  if kind == "instances" and r == 3 then return s.client.instances:actions(id) end
  return s.client[kind]:get(id)
end

-- The mix: { weight, what }. Creates of every kind, snapshots, reads,
-- updates, deletes and instance actions.
mixed.MIX = {
  { 5, "create ssh_keys" }, { 4, "create security_groups" }, { 6, "create volumes" },
  { 4, "create floating_ips" }, { 4, "create filesystems" }, { 9, "create instances" },
  { 5, "snapshot" }, { 2, "clone" }, { 14, "read" }, { 14, "update" }, { 17, "delete" }, { 16, "action" },
}

local function pick_op(s)
  local r, acc = random(s, 100), 0
  for _, entry in ipairs(mixed.MIX) do
    acc = acc + entry[1]
    if r <= acc then return entry[2] end
  end
end

-- One operation: -> kind it counts for, result, err.
local function operate(s, n)
  local what = pick_op(s)
  local kind = what:match("^create (.+)$")
  if kind then return kind, create(s, kind, n) end
  if what == "snapshot" or what == "clone" then return create_snapshot(s, n, what == "clone") end
  if what == "action" then
    local id = pick_id(s, "instances")
    if not id then return "instances", create(s, "instances", n) end
    if s.model.instances[id].status == nil then return "instances", read(s, "instances", id) end
    return "instances", action(s, id, n)
  end
  kind = mixed.KINDS[random(s, #mixed.KINDS)]
  local id = pick_id(s, kind, what == "delete" and function(i) return deletable(s, kind, i) end or nil)
  if what == "read" then return kind, read(s, kind, id) end
  if not id and kind == "snapshots" then return create_snapshot(s, n, false) end
  if not id then return kind, create(s, kind, n) end
  if what == "update" then return kind, update(s, kind, id, n) end
  return kind, delete(s, kind, id, n)
end

-- Counts one operation's outcome for its kind; a result that is neither
-- a value nor an error object breaks a rule.
local function count(s, kind, n, value, err)
  local f = s.figures.kinds[kind]
  f.operations = f.operations + 1
  if value then
    f.successes = f.successes + 1
    return
  end
  if not genesiscloud.is_error(err) then
    error(("operation %d (%s) returned neither a value nor an error object: %s"):format(n, kind, tostring(err)))
  end
  f.failures = f.failures + 1
  f.by_kind[err.kind] = (f.by_kind[err.kind] or 0) + 1
end

-- Reads the emulator's log since the last harvest and empties it: requests
-- and faults per kind, the applied creates per name, and no 500 the
-- emulator answered by itself.
local function harvest(s, emu)
  local log = assert(emu:requests())
  assert(emu:clear_requests())
  local kinds = s.figures.kinds
  for _, req in ipairs(log) do
    local f = kinds[mixed.kind_of_path(req.path)]
    f.requests = f.requests + 1
    if req.fault then f.faults = f.faults + 1 end
    if not req.fault and req.status == 500 then
      error("the emulator answered 500 by itself to " .. req.method .. " " .. req.path)
    end
    local name = req.method == "POST" and req.applied and req.status == 201 and req.body
      and req.body:match('"name":"(mx%-%a+%-%d+)"')
    if name and f.applied_creates then
      f.applied_creates[name] = (f.applied_creates[name] or 0) + 1
      if f.applied_creates[name] == 2 then
        f.applied_twice = f.applied_twice + 1
        f.duplicate_names[#f.duplicate_names + 1] = name .. " (applied twice in the log)"
      end
    end
  end
end

-- An action accepted just before the end may still be under way: the
-- status it ends in.
local ON_ITS_WAY = { stopping = "stopped", starting = "active", resetting = "active" }

-- Compares one object the model knows with the final state: the fields
-- confirmed by successful writes, except those a failed write left open.
local function compare(s, kind, obj, m)
  local open_fields = s.open_ids[kind][obj.id] or {}
  for field, want in pairs(m.fields) do
    if not open_fields[field] and obj[field] ~= want then
      error(("%s %s has %s %s, the operations said %s"):format(kind, obj.id, field, tostring(obj[field]),
        tostring(want)))
    end
  end
  local status = ON_ITS_WAY[obj.status] or obj.status
  if m.status and not open_fields.status and status ~= m.status then
    error(("%s %s has status %s, the operations said %s"):format(kind, obj.id, tostring(obj.status), m.status))
  end
end

-- What the final state says of each write a failure left open.
local function outcome(u, now)
  if u.op == "create" or u.op == "snapshot" or u.op == "clone" then
    return u.id and ("exists (" .. u.id .. "): it took effect") or "does not exist: it did not take effect"
  elseif u.op == "delete" then
    return now and "still there: the delete did not take effect" or "gone: the delete took effect"
  elseif not now then
    return "gone: an earlier failed delete took effect"
  end
  local value = tostring(now[u.field])
  if u.op == "reset" then
    return ("status is %s: a reset ends where it began, so the end state cannot tell"):format(value)
  end
  if value == tostring(u.wanted) then return ("%s is %s: it took effect"):format(u.field, value) end
  return ("%s is %s, not %s: it did not take effect"):format(u.field, value, tostring(u.wanted))
end

-- The open writes of one kind, with their outcome, in operation order.
local function open_list(s, kind, seen, by_number)
  local list = {}
  for n, u in pairs(s.open_creates[kind]) do
    u.id = by_number[n]
    u.outcome = outcome(u)
    list[#list + 1] = u
  end
  for id, per_field in pairs(s.open_ids[kind]) do
    for _, u in pairs(per_field) do
      u.outcome = outcome(u, seen[id])
      list[#list + 1] = u
    end
  end
  table.sort(list, function(a, b) return a.n < b.n end)
  return list
end

-- The objects of one kind by the operation that created them (the number
-- in their names): -> first id, count per number. Two for one operation
-- are a duplicate.
local function group_by_create(f, kind, final)
  local by_number, per_number = {}, {}
  for _, obj in ipairs(final) do
    local n = mixed.number_of(obj.name)
    if not n then error(("%s %s (%s) exists, but no operation made it"):format(kind, obj.id, tostring(obj.name))) end
    if by_number[n] then
      f.duplicates = f.duplicates + 1
      f.duplicate_names[#f.duplicate_names + 1] = ("%s and %s (operation %d)"):format(by_number[n], obj.id, n)
    end
    by_number[n] = by_number[n] or obj.id
    per_number[n] = (per_number[n] or 0) + 1
  end
  return by_number, per_number
end

-- The final state of one kind against the model and the open writes;
-- raises on a broken rule. Duplicates are counted (check_duplicates).
local function check_kind(s, kind)
  local f = s.figures.kinds[kind]
  local final = assert(s.client[kind]:all{ per_page = 100 })
  local by_number, per_number = group_by_create(f, kind, final)
  local seen = {}
  for _, obj in ipairs(final) do
    seen[obj.id] = obj
    local n = mixed.number_of(obj.name)
    local m = s.model[kind][obj.id]
    if m then
      compare(s, kind, obj, m)
    elseif per_number[n] == 1 and not s.open_ids[kind][obj.id] and not s.open_creates[kind][n] then
      error(("%s %s (%s) exists, but no operation created it"):format(kind, obj.id, obj.name))
    end
  end
  for id in pairs(s.model[kind]) do
    local per_field = s.open_ids[kind][id]
    if not seen[id] and not (per_field and per_field.exists) then
      error(("%s %s was created and never deleted, but is gone"):format(kind, id))
    end
  end
  f.objects = #final
  f.uncertain = open_list(s, kind, seen, by_number)
end

local function check_duplicates(figures)
  for _, kind in ipairs(mixed.KINDS) do
    local f = figures.kinds[kind]
    if f.duplicates > 0 or f.applied_twice > 0 then
      error(("%d duplicate %s, %d creates applied twice: %s"):format(f.duplicates, kind, f.applied_twice,
        table.concat(f.duplicate_names, "; ")))
    end
  end
end

local function client_for(emu, s)
  return assert(genesiscloud.new{ token = emu.token, endpoint = emu.endpoint,
    timeout = 0.3, connect_timeout = 1, max_retries = 6, retry_base = 0.002, retry_max_wait = 0.01,
    max_response_bytes = 256 * 1024,
    debug = function(event)
      if event.attempt > 1 then
        local f = s.figures.kinds[mixed.kind_of_path(event.path)]
        f.retries = f.retries + 1
      end
    end })
end

--- Runs `operations` mixed operations against `emu` with `fault_rate` of
-- its answers faulted, then checks the final state with faults off.
-- `before_check(client)`, when given, runs with faults off just before the
-- last read of the log and the final checks (a spec plants a duplicate).
-- -> figures | raises on a broken rule (the message says which)
function mixed.run_against(emu, operations, fault_rate, seed, before_check)
  local s = new_state(nil, seed)
  s.client = client_for(emu, s)
  assert(emu:clear_requests())
  assert(emu:configure{ fault_rate = fault_rate, fault_seed = seed,
    fault_status = { 429, 500, 502, 503, 504 }, retry_after = false, stall_seconds = 1,
    oversize_bytes = 300 * 1024 })
  for n = 1, operations do
    local ok, kind, value, err = pcall(operate, s, n)
    if not ok then error(("operation %d raised: %s"):format(n, tostring(kind)), 0) end
    count(s, kind, n, value, err)
    if n % 250 == 0 then harvest(s, emu) end
  end
  assert(emu:configure{ fault_rate = 0 })
  if before_check then before_check(s.client) end
  harvest(s, emu)
  for _, kind in ipairs(mixed.KINDS) do check_kind(s, kind) end
  s.client:close()
  assert(emu:configure{}, "the emulator is not up any more")
  s.figures.operations = operations
  check_duplicates(s.figures)
  return s.figures
end

--- Starts an emulator (no delays), runs, stops it.
-- opts: operations (600), fault_rate (0.3), seed (1)
function mixed.run(opts)
  opts = opts or {}
  local seed = opts.seed or 1
  local emu = assert(emulator.start{ token = "chaos-token", create_delay = 0, update_delay = 0,
    delete_delay = 0, seed = seed, transitions = mixed.TRANSITIONS })
  local ok, result = pcall(mixed.run_against, emu, opts.operations or 600, opts.fault_rate or 0.3, seed)
  emu:stop()
  if not ok then error(result, 0) end
  return result
end

--- The writes failures left open, per kind, one line each (operation,
-- write, id, name, error; end state). Empty when there are none.
function mixed.report(figures)
  local out = {}
  for _, kind in ipairs(mixed.KINDS) do
    local list = figures.kinds[kind].uncertain
    if #list > 0 then
      out[#out + 1] = ("chaos mixed: %s left uncertain by failed writes (%d):"):format(kind, #list)
      for _, u in ipairs(list) do
        out[#out + 1] = ("  #%d %s %s%s failed (%s); %s"):format(u.n, u.op, u.id or "-",
          u.name and (" (" .. u.name .. ")") or "", tostring(u.error), u.outcome)
      end
    end
  end
  return table.concat(out, "\n")
end

local function by_kind(f)
  local kinds = {}
  for kind, n in pairs(f.by_kind) do kinds[#kinds + 1] = kind .. " " .. n end
  table.sort(kinds)
  return #kinds > 0 and (" (" .. table.concat(kinds, ", ") .. ")") or ""
end

--- The figures, one line per kind and a total line (last).
function mixed.summary(figures)
  local lines, total = {}, { operations = 0, requests = 0, faults = 0, retries = 0, failures = 0, duplicates = 0,
    applied_twice = 0, uncertain = 0 }
  for _, kind in ipairs(mixed.KINDS) do
    local f = figures.kinds[kind]
    lines[#lines + 1] = ("chaos mixed: %-15s %4d operations, %5d requests, %4d faults, %4d retries, "
      .. "%3d failures%s, %d duplicates (%d in the log), %d at the end, %d uncertain"):format(kind, f.operations,
      f.requests, f.faults, f.retries, f.failures, by_kind(f), f.duplicates, f.applied_twice, f.objects,
      #f.uncertain)
    for key in pairs(total) do total[key] = total[key] + (key == "uncertain" and #f.uncertain or f[key]) end
  end
  local other = figures.kinds.other
  lines[#lines + 1] = ("chaos mixed: %d operations, %d requests (%d elsewhere), %d faults injected, %d retries, "
    .. "%d failures surfaced, %d duplicates (%d in the log), 0 crashes, %d left uncertain by failed writes"):format(
    figures.operations, total.requests + other.requests, other.requests, total.faults + other.faults,
    total.retries + other.retries, total.failures, total.duplicates, total.applied_twice, total.uncertain)
  return table.concat(lines, "\n")
end

return mixed
