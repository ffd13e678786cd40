-- An in-memory stand-in for a service (its `def` and the plain methods
-- list, get, create, update, delete the loops call), recording every call,
-- plus a fake clock. For unit specs of the loops (paginate, wait, ensure):
-- no network, no C core.
local errors = require "genesiscloud.errors"

local fake = {}

fake.res = {
  name = "security_group", plural = "security_groups", path = "/security-groups",
  list_key = "security_groups", identity = "name",
  statuses = { ready = { "created" }, failed = { "error" }, deleting = "deleting" },
}

local function copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = copy(v) end
  return out
end
fake.copy = copy

local function not_found(id, method)
  return errors.new{ kind = "api", status = 404, code = "02003", method = method,
    path = "/security-groups/" .. tostring(id), message = "not found" }
end

local Fake = {}
Fake.__index = Fake

-- opts.omit_total: list pages carry no total_count.
function fake.new(res, opts)
  res = res or fake.res
  opts = opts or {}
  local self = setmetatable({
    def = res, res = res, objects = {}, order = {}, calls = {}, next_id = 1,
    omit_total = opts.omit_total,
    -- fail(op, call) -> err to make that call fail; scripted[id] = statuses
    -- returned by successive gets; repeat_from = page the server gets stuck on.
    fail = nil, scripted = {}, repeat_from = nil, create_status = "created",
  }, Fake)
  return self
end

function Fake:list(q) return self:_list(q) end
function Fake:get(id) return self:_get(id) end
function Fake:create(spec) return self:_create(spec) end
function Fake:update(id, spec) return self:_update(id, spec) end
function Fake:delete(id) return self:_delete(id) end

function Fake:_record(op, ...)
  local call = { op = op, args = copy({ ... }) }
  self.calls[#self.calls + 1] = call
  if self.fail then return self.fail(op, call, self:count(op)) end
end

function Fake:count(op)
  local n = 0
  for _, call in ipairs(self.calls) do
    if op == nil or call.op == op then n = n + 1 end
  end
  return n
end

function Fake:writes()
  return self:count("create") + self:count("update") + self:count("delete")
end

-- Adds an object directly (no call recorded). Returns it.
function Fake:put(fields)
  local obj = copy(fields)
  if obj.id == nil then
    obj.id = string.format("sg-%04d", self.next_id)
    self.next_id = self.next_id + 1
  end
  obj.status = obj.status or "created"
  obj.created_at = obj.created_at or "2024-01-01T00:00:00.000Z"
  self.objects[obj.id] = obj
  self.order[#self.order + 1] = obj.id
  return obj
end

-- Adds n groups named "group-0001".. with one ssh rule each.
function Fake:add(n)
  for _ = 1, n do
    self:put{ name = string.format("group-%04d", self.next_id), description = "",
      rules = { { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 } } }
  end
  return self
end

function Fake:_list(q)
  local err = self:_record("list", q)
  if err then return nil, err end
  q = q or {}
  local per_page, page = q.per_page or 50, q.page or 1
  if self.repeat_from and page > self.repeat_from then page = self.repeat_from end
  local items = {}
  for i = (page - 1) * per_page + 1, math.min(page * per_page, #self.order) do
    items[#items + 1] = copy(self.objects[self.order[i]])
  end
  return { [self.res.list_key] = items, page = page, per_page = per_page,
           total_count = not self.omit_total and #self.order or nil }
end

function Fake:_get(id)
  local err = self:_record("get", id)
  if err then return nil, err end
  local obj = self.objects[id]
  if not obj then return nil, not_found(id, "GET") end
  local script = self.scripted[id]
  if script and #script > 0 then
    local status = table.remove(script, 1)
    if status == 404 then
      self:_forget(id)
      return nil, not_found(id, "GET")
    end
    obj.status = status
  end
  return copy(obj)
end

function Fake:_create(spec)
  local err = self:_record("create", spec)
  if err then return nil, err end
  local fields = copy(spec)
  fields.status = self.create_status
  return copy(self:put(fields))
end

function Fake:_update(id, spec)
  local err = self:_record("update", id, spec)
  if err then return nil, err end
  local obj = self.objects[id]
  if not obj then return nil, not_found(id, "PUT") end
  for k, v in pairs(copy(spec)) do obj[k] = v end
  return copy(obj)
end

function Fake:_forget(id)
  self.objects[id] = nil
  for i, v in ipairs(self.order) do
    if v == id then table.remove(self.order, i) break end
  end
end

function Fake:_delete(id)
  local err = self:_record("delete", id)
  if err then return nil, err end
  if not self.objects[id] then return nil, not_found(id, "DELETE") end
  if self.delete_keeps then
    self.objects[id].status = "deleting"
  else
    self:_forget(id)
  end
  return true
end

-- A clock that only moves when slept on; `sleeps` records each sleep.
function fake.clock(start)
  local c = { t = start or 1000, sleeps = {} }
  function c.now() return c.t end
  function c.sleep(s)
    c.sleeps[#c.sleeps + 1] = s
    c.t = c.t + s
  end
  return c
end

return fake
