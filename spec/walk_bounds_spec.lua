-- Every walk over the list ends, whatever the pages hold: the iterators,
-- all_security_groups, sequential and concurrent, against a canned server
-- that serves one broken shape of page per endpoint (spec/support/
-- canned_server.lua, /walk/<shape>/...). The server answers 500 past 60
-- list requests to one shape, so a walk that would not end fails here
-- instead of hanging, and each walk is timed.
local helper = require "helper"
local genesiscloud = helper.genesiscloud
local core = require "genesiscloud.core"
local clock = require "genesiscloud.clock"

local function pack(...) return { n = select("#", ...), ... } end

local SECONDS = 5 -- a walk here makes a few loopback requests; far below this

describe("walks over broken pages", function()
  local server

  setup(function() server = helper.start_canned_server() end)
  teardown(function() if server then server.stop() end end)

  local function root(shape) return server.line .. "/walk/" .. shape end

  local function control(shape, what)
    local c = assert(core.new(helper.core_options{ endpoint = root(shape) }))
    local status, body = c:perform("GET", "/" .. what, nil, false)
    c:close()
    assert.are.equal(200, status)
    return tonumber(body:match('"count":(%d+)'))
  end

  local function client(shape)
    control(shape, "_reset")
    return assert(genesiscloud.new{ token = "t", endpoint = root(shape) .. "/compute/v1",
      timeout = 2, max_retries = 0 })
  end

  -- Runs `walk(c)`; -> what it returned (or the error it raised: ok=false),
  -- the list requests it made. Fails when it took too long.
  local function timed(shape, walk)
    local c = client(shape)
    local t0 = clock.now()
    local out = pack(pcall(walk, c))
    local elapsed = clock.now() - t0
    c:close()
    assert.is_true(elapsed < SECONDS, shape .. ": the walk took " .. elapsed .. " s")
    return out, control(shape, "_count")
  end

  -- The four ways to walk, each returning (items seen, error or nil).
  local WALKS = {
    items = function(c, opts)
      local seen = {}
      local ok, err = pcall(function()
        for sg in c:security_groups(opts) do seen[#seen + 1] = sg end
      end)
      if not ok then
        assert.is_true(genesiscloud.is_error(err), "raised a non-error: " .. tostring(err))
        return seen, err
      end
      return seen
    end,
    pages = function(c, opts)
      local seen = {}
      local ok, err = pcall(function()
        for items in c:security_group_pages(opts) do
          for _, sg in ipairs(items) do seen[#seen + 1] = sg end
        end
      end)
      if not ok then
        assert.is_true(genesiscloud.is_error(err), "raised a non-error: " .. tostring(err))
        return seen, err
      end
      return seen
    end,
    all = function(c, opts)
      local all, err = c:all_security_groups(opts)
      if all == nil then
        assert.is_true(genesiscloud.is_error(err), "not an error object: " .. tostring(err))
        return {}, err
      end
      return all
    end,
  }

  -- shape -> what every walk must end with
  local CASES = {
    { "no-ids", { per_page = 2 }, "repeated_page", 2, 2 },
    { "no-ids", {}, "repeated_page", 2, 2 },
    { "no-ids-total", { per_page = 2 }, "repeated_page", 2, 2 },
    { "cycle", { per_page = 2 }, "repeated_page", 4, 3 },
    { "numbers", {}, "not an object", 0, 1 },
    { "strings", { per_page = 3 }, "not an object", 0, 1 },
    { "lists", {}, "not an object", 0, 1 },
    { "id-objects", {}, "id is a table", 0, 1 },
    { "object-list", {}, "an object in its place", 0, 1 },
    { "null-first", {}, "null in place of an item", 0, 1 },
    { "null-middle", {}, "null in place of an item", 0, 1 },
    { "null-only", {}, "null in place of an item", 0, 1 },
    { "null-last", {}, "null in place of an item", 0, 1 },
    { "null-list", {}, "security_groups", 0, 1 },
    { "huge-total", { per_page = 2 }, nil, 4, 3 },
    { "endless", { per_page = 2, max_pages = 5 }, nil, 10, 5 },
    { "no-ids-endless", { per_page = 2, max_pages = 4 }, nil, 8, 4 },
  }

  for _, case in ipairs(CASES) do
    local shape, opts, want, n_items, n_requests = case[1], case[2], case[3], case[4], case[5]
    for name in pairs(WALKS) do
      for _, concurrency in ipairs{ 1, 4 } do
        local label = ("%s %s, concurrency %d: %s"):format(shape, name, concurrency,
          want and ("ends with " .. want) or "ends")
        it(label, function()
          local o = { concurrency = concurrency }
          for k, v in pairs(opts) do o[k] = v end
          local out, requests = timed(shape, function(c) return WALKS[name](c, o) end)
          assert.is_true(out[1], tostring(out[2]))
          local seen, err = out[2], out[3]
          for _, sg in ipairs(seen) do assert.is_table(sg) end
          if want == nil then
            assert.is_nil(err, tostring(err))
          elseif want == "repeated_page" then
            assert.is_table(err, "no error")
            assert.are.equal("decode", err.kind)
            assert.are.equal("repeated_page", err.code)
          else
            assert.is_table(err, "no error")
            assert.are.equal("decode", err.kind)
            assert.matches(want, err.message, 1, true)
          end
          -- `all` hands back nothing on an error; the iterators what came first
          if not (name == "all" and err) then assert.are.equal(n_items, #seen) end
          if concurrency == 1 then
            assert.are.equal(n_requests, requests)
          else
            -- fetched ahead: at most `concurrency` pages past the last one used
            assert.is_true(requests >= n_requests and requests <= n_requests + concurrency,
              requests .. " requests")
          end
        end)
      end
    end
  end
end)
