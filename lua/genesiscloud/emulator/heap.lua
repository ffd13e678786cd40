-- A binary min-heap of tables ordered by their `at` field: the store's
-- pending status transitions, so that settling the due ones costs their
-- number, not the number of records.

local heap = {}

local Heap = {}
Heap.__index = Heap

function heap.new()
  return setmetatable({ n = 0 }, Heap)
end

function Heap:push(item)
  local n = self.n + 1
  self.n = n
  local i = n
  while i > 1 do
    local parent = i // 2
    local p = self[parent]
    if p.at <= item.at then break end
    self[i] = p
    i = parent
  end
  self[i] = item
end

-- The item with the smallest `at`, or nil when empty; left in place.
function Heap:peek()
  return self[1]
end

-- Removes and returns the item with the smallest `at`.
function Heap:pop()
  local n = self.n
  if n == 0 then return nil end
  local top, last = self[1], self[n]
  self[n] = nil
  n = n - 1
  self.n = n
  if n == 0 then return top end
  local i = 1
  while true do
    local child = 2 * i
    if child > n then break end
    if child < n and self[child + 1].at < self[child].at then child = child + 1 end
    if last.at <= self[child].at then break end
    self[i] = self[child]
    i = child
  end
  self[i] = last
  return top
end

return heap
