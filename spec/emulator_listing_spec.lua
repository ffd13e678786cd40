-- The emulator's fast listing: pages sliced from the store without walking
-- every group, groups' JSON cached between writes, pending removals kept
-- in time order, the request log as a ring. Driven through state:handle
-- with a fake clock, like emulator_app_spec.lua.

if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"
local store = require "genesiscloud.emulator.store"
local heap = require "genesiscloud.emulator.heap"
local json = require "genesiscloud.emulator.wire_json"

local T0, AUTH = helper.EMULATOR_T0, helper.EMULATOR_AUTH
local new, call = helper.emulator_state, helper.emulator_call

local function create(st, name, extra)
  local g = { name = name, rules = { { protocol = "tcp", direction = "ingress", port_range_min = 22,
    port_range_max = 22 } } }
  for k, v in pairs(extra or {}) do g[k] = v end
  local status, body = call(st, "POST", "/security-groups", g)
  assert.are.equal(201, status)
  return body.security_group
end

local function page(st, query)
  local status, body = call(st, "GET", "/security-groups" .. (query or "?per_page=100"))
  assert.are.equal(200, status)
  return body
end

-- name -> status on the first page, and that page's total_count
local function statuses(st)
  local out, body = {}, page(st)
  for _, g in ipairs(body.security_groups) do out[g.name] = g.status end
  return out, body.total_count
end

local function names(st, per_page)
  local out, n = {}, 1
  repeat
    local body = page(st, ("?per_page=%d&page=%d"):format(per_page, n))
    for _, g in ipairs(body.security_groups) do out[#out + 1] = g.name end
    n = n + 1
  until #body.security_groups < per_page
  return table.concat(out, " ")
end

describe("emulator listing", function()
  it("shows each status change in pages as it settles", function()
    local st, clock = new{ create_delay = 2, update_delay = 1, delete_delay = 1 }
    local a, b = create(st, "a"), create(st, "b")
    create(st, "c")
    assert.are.same({ a = "creating", b = "creating", c = "creating" }, statuses(st))
    clock.t = T0 + 2
    assert.are.same({ a = "created", b = "created", c = "created" }, statuses(st))
    call(st, "PATCH", "/security-groups/" .. a.id, { description = "x" })
    assert.are.same({ a = "updating", b = "created", c = "created" }, statuses(st))
    call(st, "DELETE", "/security-groups/" .. b.id)
    assert.are.same({ { a = "updating", b = "deleting", c = "created" }, 3 }, { statuses(st) })
    clock.t = T0 + 3
    assert.are.same({ { a = "created", c = "created" }, 2 }, { statuses(st) })
    assert(st:set_status(a.id, 'odd "status"/x'))
    assert.are.same({ a = 'odd "status"/x', c = "created" }, statuses(st))
  end)

  it("shows a group's new fields in pages and GETs after PATCH and PUT", function()
    local st, clock = new()
    local g = create(st, "a", { description = "old", tag = "v1" })
    page(st)                                  -- the group's JSON is now cached
    call(st, "GET", "/security-groups/" .. g.id)
    clock.t = T0 + 5.25
    call(st, "PATCH", "/security-groups/" .. g.id, { description = "new", tag = "v2", region = "NORD-NO-KRS-1" })
    local listed = page(st).security_groups[1]
    assert.are.same({ "new", "v2", "NORD-NO-KRS-1", "2026-11-27T12:00:05.250Z" },
      { listed.description, listed.tag, listed.region, listed.updated_at })
    call(st, "PUT", "/security-groups/" .. g.id, { name = "b", rules = { { protocol = "all", direction = "egress" } } })
    local _, one = call(st, "GET", "/security-groups/" .. g.id)
    listed = page(st).security_groups[1]
    assert.are.same(one.security_group, listed)
    assert.are.same({ "b", "all", "new" }, { listed.name, listed.rules[1].protocol, listed.description })
  end)

  it("lists each group exactly as its own GET shows it", function()
    local st, clock = new{ create_delay = 1, update_delay = 1, delete_delay = 3 }
    local ids = {}
    for i = 1, 12 do ids[i] = create(st, "g" .. i, i % 3 == 0 and { extra = { list = {}, n = 1e15 } } or nil).id end
    clock.t = T0 + 1
    call(st, "PATCH", "/security-groups/" .. ids[2], { name = "renamed" })
    call(st, "DELETE", "/security-groups/" .. ids[4])
    assert(st:set_status(ids[5], "error"))
    clock.t = T0 + 1.5
    local body, text = page(st), select(4, call(st, "GET", "/security-groups?per_page=100"))
    assert.are.equal(12, #body.security_groups)
    for i, g in ipairs(body.security_groups) do
      local _, _, _, one = call(st, "GET", "/security-groups/" .. ids[i])
      -- byte for byte: the page holds the GET's group text
      assert.truthy(text:find(one:match('^{"security_group":(.*)}$'), 1, true), g.name)
    end
  end)

  it("keeps creation order and an exact total_count across deletes", function()
    local st, clock = new()
    local ids = {}
    for i = 1, 25 do ids[i] = create(st, "g" .. i).id end
    call(st, "DELETE", "/security-groups/" .. ids[3])
    call(st, "DELETE", "/security-groups/" .. ids[10])
    assert(st:configure{ delete_delay = 2 })
    call(st, "DELETE", "/security-groups/" .. ids[20])
    assert.are.equal(23, page(st, "?per_page=7&page=4").total_count)
    local expected = {}
    for i = 1, 25 do if i ~= 3 and i ~= 10 then expected[#expected + 1] = "g" .. i end end
    assert.are.equal(table.concat(expected, " "), names(st, 7))
    clock.t = T0 + 2
    create(st, "g26")
    table.remove(expected, 18) -- g20
    expected[#expected + 1] = "g26"
    assert.are.equal(table.concat(expected, " "), names(st, 7))
    assert.are.equal(23, page(st, "?per_page=7&page=99").total_count)
  end)

  it("settles removals in the order they fall due, not the order they were asked", function()
    local st, clock = new{ delete_delay = 5 }
    local a, b = create(st, "a"), create(st, "b")
    create(st, "c")
    call(st, "DELETE", "/security-groups/" .. a.id)
    assert(st:configure{ delete_delay = 1 })
    call(st, "DELETE", "/security-groups/" .. b.id)
    clock.t = T0 + 1
    assert.are.same({ { a = "deleting", c = "created" }, 2 }, { statuses(st) })
    clock.t = T0 + 5
    assert.are.same({ { c = "created" }, 1 }, { statuses(st) })
  end)

  it("a forced status cancels a pending removal", function()
    local st, clock = new{ delete_delay = 1 }
    local a = create(st, "a")
    call(st, "DELETE", "/security-groups/" .. a.id)
    assert(st:set_status(a.id, "error"))
    clock.t = T0 + 10
    assert.are.same({ a = "error" }, statuses(st))
  end)
end)

describe("emulator store slices", function()
  it("settles only the records of the slice", function()
    local now = 0
    local s = store.new{ clock = function() return now end, seed = 1 }
    for i = 1, 300 do
      local r = s:insert("thing", { n = i })
      s:transition("thing", r.id, "creating", 1, "created")
    end
    now = 1
    local slice = s:slice("thing", 101, 100)
    assert.are.same({ 100, 101, 200 }, { #slice, slice[1].n, slice[100].n })
    -- read in place, since a read through the store would settle them
    local order = s.kinds.thing.order
    assert.are.same({ "creating", "created", "created", "creating" },
      { order[100].status, order[101].status, order[200].status, order[201].status })
    assert.are.equal(300, s:count("thing"))
    assert.are.same({}, s:slice("thing", 301, 100))
    assert.are.equal("created", s:list("thing")[300].status)
  end)
end)

describe("emulator heap", function()
  it("pops items by `at`, smallest first", function()
    local h, ats = heap.new(), { 5, 1, 9, 3, 3, 7, 0.5, 8, 2, 6 }
    for _, at in ipairs(ats) do h:push({ at = at }) end
    table.sort(ats)
    local out = {}
    while h:peek() do out[#out + 1] = h:pop().at end
    assert.are.same(ats, out)
    assert.is_nil(h:pop())
  end)
end)

describe("emulator json.raw", function()
  it("writes pre-encoded parts verbatim inside a value", function()
    assert.are.equal('{"a":[{"x":1},2],"b":[]}',
      json.encode{ a = json.array{ json.raw({ '{"x"', ":1}" }, 0), 2 }, b = json.array() })
  end)

  it("keeps the nesting limit as if the text were encoded in place", function()
    local deep = json.array()
    for _ = 1, 98 do deep = json.array{ deep } end
    local text, depth = json.encode_with_depth(deep)
    assert.are.equal(98, depth)
    local raw = json.raw({ text }, depth)
    -- its deepest table at depth 100: allowed; at 101: too deep, as in place
    assert.are.equal(json.encode{ x = json.array{ deep } }, json.encode{ x = json.array{ raw } })
    assert.are.same({ nil, "nesting too deep" }, { json.encode{ x = json.array{ json.array{ deep } } } })
    assert.are.same({ nil, "nesting too deep" }, { json.encode{ x = json.array{ json.array{ raw } } } })
  end)
end)

describe("emulator request log", function()
  it("keeps the last 10000 entries, oldest first", function()
    local st = new()
    for i = 1, 10005 do st:handle("GET", "/compute/v1/security-groups/g" .. i, nil, nil, AUTH) end
    local log = st:requests()
    assert.are.same({ 10000, "/security-groups/g6", "/security-groups/g10005" },
      { #log, log[1].path, log[10000].path })
    local _, text = st:handle("GET", "/_emulator/requests", nil, nil, {})
    assert.are.equal(10000, #json.decode(text).requests)
    st:clear_requests()
    st:handle("GET", "/compute/v1/security-groups/again", nil, nil, AUTH)
    assert.are.same({ 1, "/security-groups/again" }, { #st:requests(), st:requests()[1].path })
  end)
end)
