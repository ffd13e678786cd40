-- The emulator's in-memory records, generic over resource kinds (the
-- store kind is the definition's `name`: "security_group", "ssh_key"). A
-- record is a plain table with an `id` and maybe a `status`; a pending
-- transition (status -> next status, or -> gone, at a clock time or after
-- a number of reads) is applied lazily whenever the record is read, so the
-- store needs no timers and stays free of I/O.

local heap = require "genesiscloud.emulator.heap"

local store = {}

local Store = {}
Store.__index = Store

-- splitmix64: a tiny seeded generator, private to each store, so `seed`
-- makes ids repeatable without touching math.random.
local function splitmix64(seed)
  local x = seed
  return function()
    x = x + 0x9E3779B97F4A7C15
    local z = x
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
end

-- A version-4-looking UUID from 128 random bits.
local function uuid(next64)
  local a, b = next64(), next64()
  local hex = string.format("%016x%016x", a, b)
  local variant = string.format("%x", 8 + (tonumber(hex:sub(17, 17), 16) % 4))
  return hex:sub(1, 8) .. "-" .. hex:sub(9, 12) .. "-4" .. hex:sub(14, 16)
    .. "-" .. variant .. hex:sub(18, 20) .. "-" .. hex:sub(21, 32)
end

-- opts.clock: function returning the time in seconds (float, wall clock);
-- opts.seed: integer for repeatable ids (default: from the time).
function store.new(opts)
  opts = opts or {}
  local seed = opts.seed
  if seed == nil then
    seed = os.time() ~ math.floor(os.clock() * 1e6) ~ tonumber(tostring({}):match("0x(%x+)") or "0", 16)
  end
  return setmetatable({
    clock = opts.clock or os.time,
    next64 = splitmix64(math.tointeger(seed) or 0),
    kinds = {},
  }, Store)
end

function Store:now()
  return self.clock()
end

function Store:new_id()
  return uuid(self.next64)
end

-- A kind's records: `order` holds them in creation order (removed ones are
-- left as holes until the next read compacts it, so a delete costs O(1));
-- `removals` holds their pending removals, soonest first. Other transitions
-- only change a status, so they wait until the record itself is read.
local function collection(self, kind)
  local c = self.kinds[kind]
  if not c then
    c = { order = {}, by_id = {}, holes = false, removals = heap.new() }
    self.kinds[kind] = c
  end
  return c
end

local function drop(c, record)
  if c.by_id[record.id] == record then
    c.by_id[record.id] = nil
    c.holes = true
  end
end

-- Apply a due transition; returns the record, or nil when it is now gone.
local function settle(c, record, now)
  local t = record._transition
  if t and now >= t.at then
    record._transition = nil
    if t.to == nil then
      drop(c, record)
      return nil
    end
    record.status = t.to
  end
  return record
end

-- Brings a kind's membership up to date: every removal now due is applied
-- and removed records leave `order`. Returns `order` and the time used.
-- An entry whose record has since lost that transition (a forced status)
-- does nothing: settle goes by the record's own transition.
local function settle_removals(self, c)
  local removals, now = c.removals, self:now()
  local top = removals:peek()
  while top and top.at <= now do
    removals:pop()
    settle(c, top.record, now)
    top = removals:peek()
  end
  if c.holes then
    local order, by_id, n = c.order, c.by_id, 0
    for i = 1, #order do
      local record = order[i]
      if by_id[record.id] == record then
        n = n + 1
        order[n] = record
      end
    end
    for i = #order, n + 1, -1 do order[i] = nil end
    c.holes = false
  end
  return c.order, now
end

-- Records first..last of `order`, each settled, as a new array (none is
-- removed here: settle_removals has just applied every due removal).
local function settled_range(c, order, first, last, now)
  local out = {}
  for i = first, last do out[#out + 1] = settle(c, order[i], now) end
  return out
end

-- Adds a record (assigning a fresh id) at the end of the kind's order.
function Store:insert(kind, record)
  local c = collection(self, kind)
  repeat record.id = self:new_id() until not c.by_id[record.id]
  c.by_id[record.id] = record
  c.order[#c.order + 1] = record
  return record
end

function Store:get(kind, id)
  local c = collection(self, kind)
  local record = c.by_id[id]
  return record and settle(c, record, self:now())
end

-- All live records of a kind, in creation order (a new array).
function Store:list(kind)
  local c = collection(self, kind)
  local order, now = settle_removals(self, c)
  return settled_range(c, order, 1, #order, now)
end

-- How many live records a kind has.
function Store:count(kind)
  return #settle_removals(self, collection(self, kind))
end

-- Up to `n` live records from position `first` (1-based) in creation
-- order, without walking the others.
function Store:slice(kind, first, n)
  local c = collection(self, kind)
  local order, now = settle_removals(self, c)
  return settled_range(c, order, first, math.min(first + n - 1, #order), now)
end

function Store:remove(kind, id)
  local c = collection(self, kind)
  local record = c.by_id[id]
  if record then drop(c, record) end
end

-- Sets `status` now; the record reads `final` (or is gone when `final` is
-- nil) after `progression`: { seconds = S } (a number is taken as seconds)
-- or { reads = N } (see Store:read). Removal with no time to wait is at once.
function Store:transition(kind, id, status, progression, final)
  local c = collection(self, kind)
  local record = c.by_id[id]
  if not record then return nil end
  if type(progression) == "number" then progression = { seconds = progression } end
  local reads = progression.reads
  if final == nil and not reads and progression.seconds <= 0 then
    drop(c, record)
    return nil
  end
  record.status = status
  local t = { at = reads and math.huge or self:now() + progression.seconds, reads = reads, to = final,
    record = record }
  record._transition = t
  if final == nil and not reads then c.removals:push(t) end
  return record
end

-- A record as one GET of it shows it: a transition that progresses by
-- reads counts this one, and is applied when none is left to count. nil
-- when there is no such record (or it is gone now).
function Store:read(kind, id)
  local c = collection(self, kind)
  local record = c.by_id[id]
  if not record then return nil end
  local t = record._transition
  if t and t.reads then
    if t.reads <= 0 then
      t.at = -math.huge
    else
      t.reads = t.reads - 1
    end
  end
  return settle(c, record, self:now())
end

-- Forces a status and cancels any pending transition: it sticks until the
-- next write.
function Store:force_status(kind, id, status)
  local record = self:get(kind, id)
  if not record then return nil end
  record.status = status
  record._transition = nil
  return record
end

function Store:clear()
  self.kinds = {}
end

return store
