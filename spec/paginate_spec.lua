local paginate = require "genesiscloud.service.paginate"
local errors = require "genesiscloud.errors"
local fake = require "fake_client"

local res = fake.res
local HAS_CLOSE = _VERSION == "Lua 5.4"

local function ceil_div(a, b) return math.floor((a + b - 1) / b) end

-- Ends a walk that would otherwise never stop, so a broken guard fails
-- the test instead of hanging it.
local function runaway_stop(client)
  client.fail = function(op, _, n)
    if op == "list" and n > 20 then return errors.new{ kind = "usage", message = "runaway walk" } end
  end
end

describe("paginate.items", function()
  for _, total in ipairs{ 0, 1, 50, 51, 237 } do
    for _, per_page in ipairs{ 1, 10, 50, 100 } do
      for _, omit_total in ipairs{ false, true } do
        local label = string.format("%d groups, per_page %d%s",
          total, per_page, omit_total and ", no total_count" or "")
        it("walks every group once, lazily: " .. label, function()
          local client = fake.new(res, { omit_total = omit_total }):add(total)
          local seen, n = {}, 0
          for sg in paginate.items(client, { per_page = per_page }) do
            n = n + 1
            assert.is_nil(seen[sg.id], "seen twice: " .. sg.id)
            seen[sg.id] = true
            -- the page holding item n is the last one fetched so far
            assert.equal(ceil_div(n, per_page), client:count("list"))
          end
          assert.equal(total, n)
          local pages = ceil_div(total, per_page)
          -- with total_count the walk stops on it; without, on a short page,
          -- or on the empty page after a full one
          local full = total % per_page == 0
          local expected = omit_total and (full and pages + 1 or pages) or math.max(pages, 1)
          assert.equal(expected, client:count("list"))
          for i, call in ipairs(client.calls) do
            assert.same({ page = i, per_page = per_page }, call.args[1])
          end
        end)
      end
    end
  end

  it("leaves per_page to the server when not given", function()
    local client = fake.new(res):add(51)
    local n = 0
    for _ in paginate.items(client) do n = n + 1 end
    assert.equal(51, n)
    assert.same({ page = 1 }, client.calls[1].args[1])
    assert.equal(2, client:count("list"))
  end)

  it("starts at opts.page and stops at total_count", function()
    local client = fake.new(res):add(237)
    local ids = {}
    for sg in paginate.items(client, { page = 3, per_page = 50 }) do ids[#ids + 1] = sg.id end
    assert.equal(137, #ids)
    assert.equal("sg-0101", ids[1])
    assert.equal("sg-0237", ids[#ids])
    assert.equal(3, client:count("list"))
  end)

  it("passes the parameters given in query to the list call, but not max_pages", function()
    local client = fake.new(res):add(3)
    for _ in paginate.items(client, { per_page = 10, query = { region = "NORD-NO-KRS-1" }, max_pages = 5 }) do end
    assert.same({ page = 1, per_page = 10, query = { region = "NORD-NO-KRS-1" } }, client.calls[1].args[1])
  end)

  it("stops after max_pages", function()
    local client = fake.new(res):add(237)
    local n = 0
    for _ in paginate.items(client, { per_page = 50, max_pages = 2 }) do n = n + 1 end
    assert.equal(100, n)
    assert.equal(2, client:count("list"))
  end)

  for _, omit_total in ipairs{ false, true } do
    it("raises on a server that repeats a page" .. (omit_total and " (no total_count)" or ""), function()
      local client = fake.new(res, { omit_total = omit_total }):add(237)
      client.repeat_from = 2  -- pages 3, 4, ... answer with page 2
      runaway_stop(client)
      local n = 0
      local ok, err = pcall(function()
        for _ in paginate.items(client, { per_page = 50 }) do n = n + 1 end
      end)
      assert.is_false(ok)
      assert.is_true(errors.is(err))
      assert.equal("decode", err.kind)
      assert.equal("repeated_page", err.code)
      assert.equal(3, err.page)
      assert.truthy(tostring(err):find("page 3", 1, true))
      assert.equal(100, n)
      assert.equal(3, client:count("list"))
    end)
  end

  it("raises on a server that ignores page altogether", function()
    local client = fake.new(res, { omit_total = true }):add(5)
    client.repeat_from = 1
    runaway_stop(client)
    local ok, err = pcall(function()
      for _ in paginate.items(client, { per_page = 2 }) do end
    end)
    assert.is_false(ok)
    assert.equal("repeated_page", err.code)
    assert.equal(2, client:count("list"))
  end)

  it("raises an error met mid-walk, intact for pcall, and fetches no more", function()
    local client = fake.new(res):add(237)
    local boom = errors.new{ kind = "transport", message = "connection reset" }
    client.fail = function(op, _, n) if op == "list" and n == 3 then return boom end end
    local n = 0
    local ok, err = pcall(function()
      for _ in paginate.items(client, { per_page = 50 }) do n = n + 1 end
    end)
    assert.is_false(ok)
    assert.equal(boom, err)       -- the very same object, not a string
    assert.equal(100, n)
    assert.equal(3, client:count("list"))
  end)

  it("raises a validation error for bad options at the call", function()
    local ok, err = pcall(paginate.items, fake.new(res), { per_page = 500 })
    assert.is_false(ok)
    assert.is_true(errors.is(err))
    assert.equal("per_page", err.field)
    ok, err = pcall(paginate.items, fake.new(res), { max_pages = 0 })
    assert.is_false(ok)
    assert.equal("max_pages", err.field)
  end)

  it("raises a decode error when the list key is missing", function()
    local client = fake.new(res)
    client.list = function() return { total_count = 0 } end
    local ok, err = pcall(function() for _ in paginate.items(client) do end end)
    assert.is_false(ok)
    assert.equal("decode", err.kind)
  end)

  it("returns a closing value whose __close ends the walk and drops the page", function()
    local client = fake.new(res):add(30)
    local step, _, _, closing = paginate.items(client, { per_page = 10 })
    assert.is_table(step())
    local close = getmetatable(closing).__close
    assert.is_function(close)
    close(closing)
    assert.is_nil(step())
    assert.equal(1, client:count("list"))
  end)

  it("on Lua 5.4, break closes the walk", function()
    if not HAS_CLOSE then
      pending("no to-be-closed variables before Lua 5.4")
      return
    end
    local client = fake.new(res):add(30)
    local step, s, c, closing = paginate.items(client, { per_page = 10 })
    local n = 0
    for _ in step, s, c, closing do
      n = n + 1
      if n == 5 then break end
    end
    assert.is_nil(step())        -- the buffered page was dropped
    assert.equal(1, client:count("list"))
  end)

  it("on Lua 5.4, an error in the loop body closes the walk", function()
    if not HAS_CLOSE then
      pending("no to-be-closed variables before Lua 5.4")
      return
    end
    local client = fake.new(res):add(30)
    local step, s, c, closing = paginate.items(client, { per_page = 10 })
    local ok = pcall(function()
      for _ in step, s, c, closing do error("body failed") end
    end)
    assert.is_false(ok)
    assert.is_nil(step())
  end)
end)

describe("paginate.pages", function()
  it("yields whole pages and the response", function()
    local client = fake.new(res):add(237)
    local sizes = {}
    for items, resp in paginate.pages(client, { per_page = 100 }) do
      sizes[#sizes + 1] = #items
      assert.equal(237, resp.total_count)
      assert.equal(#sizes, client:count("list"))
    end
    assert.same({ 100, 100, 37 }, sizes)
  end)

  it("yields nothing for no groups", function()
    local client = fake.new(res)
    for _ in paginate.pages(client) do error("no page expected") end
    assert.equal(1, client:count("list"))
  end)

  it("raises errors and honours max_pages", function()
    local client = fake.new(res):add(237)
    local n = 0
    for _ in paginate.pages(client, { per_page = 10, max_pages = 4 }) do n = n + 1 end
    assert.equal(4, n)
    local boom = errors.new{ kind = "timeout", message = "slow" }
    client.fail = function() return boom end
    local ok, err = pcall(function() for _ in paginate.pages(client) do end end)
    assert.is_false(ok)
    assert.equal(boom, err)
  end)
end)

describe("paginate.all and each", function()
  it("all returns one array in server order", function()
    local client = fake.new(res):add(237)
    local list = assert(paginate.all(client, { per_page = 100 }))
    assert.equal(237, #list)
    for i, sg in ipairs(list) do assert.equal(string.format("sg-%04d", i), sg.id) end
    assert.same({}, assert(paginate.all(fake.new(res))))
  end)

  it("all returns nil, err instead of raising", function()
    local client = fake.new(res):add(237)
    local boom = errors.new{ kind = "api", status = 500, message = "oops" }
    client.fail = function(_, _, n) if n == 2 then return boom end end
    local list, err = paginate.all(client, { per_page = 100 })
    assert.is_nil(list)
    assert.equal(boom, err)
    client.fail = nil
    client.repeat_from = 1
    list, err = paginate.all(client, { per_page = 100 })
    assert.is_nil(list)
    assert.equal("repeated_page", err.code)
    list, err = paginate.all(client, { per_page = 0 })
    assert.is_nil(list)
    assert.equal("per_page", err.field)
  end)

  it("each stops when the callback returns false", function()
    local client = fake.new(res):add(237)
    local n = 0
    local function count_to_12()
      n = n + 1
      if n == 12 then return false end
    end
    assert.is_true(paginate.each(client, count_to_12, { per_page = 10 }))
    assert.equal(12, n)
    assert.equal(2, client:count("list"))
  end)
end)

describe("paginate bounds", function()
  it("ends a walk without max_pages at PAGE_LIMIT pages with a too_large error", function()
    local saved = paginate.PAGE_LIMIT
    paginate.PAGE_LIMIT = 3
    local client = fake.new(res, { omit_total = true }):add(237)
    local list, err = paginate.all(client, { per_page = 10 })
    paginate.PAGE_LIMIT = saved
    assert.is_nil(list)
    assert.equal("too_large", err.kind)
    assert.equal("page_limit", err.code)
    assert.equal(3, client:count("list"))
    -- max_pages given: the walk is the caller's to bound, and ends quietly
    paginate.PAGE_LIMIT = 3
    list = paginate.all(client, { per_page = 10, max_pages = 5 })
    paginate.PAGE_LIMIT = saved
    assert.equal(50, #list)
  end)

  it("stops on a page shorter than the smaller of per_page asked and stated", function()
    local client = fake.new(res, { omit_total = true }):add(25)
    assert.equal(25, #assert(paginate.all(client, { per_page = 10 })))
    assert.equal(3, client:count("list"))
  end)
end)
