--- Walks every object of a resource across the pages of its service's
-- `list`, fetching a page only when the previous one is used up (or, with
-- `concurrency`, a bounded number of pages ahead).
--
-- Iterators (pages, items) raise the error object, because a generic `for`
-- cannot return `nil, err`; each and all return `nil, err`.
-- @module genesiscloud.service.paginate

local core = require "genesiscloud.core"
local errors = require "genesiscloud.errors"
local json = require "genesiscloud.json"
local request = require "genesiscloud.request"
local validate = require "genesiscloud.validate"

local paginate = {}

-- PUC Lua 5.1 cannot yield across pcall: there, inside a coroutine (a loop
-- client waits by yielding), a concurrent walk runs without it, and pages
-- fetched ahead of an error in fn are dropped when they arrive instead.
local PCALL_BLOCKS_YIELD = _VERSION == "Lua 5.1" and rawget(_G, "jit") == nil

--- The most pages a walk without `max_pages` fetches: a server that
-- answers full pages of new objects for ever (or a list of more than a
-- million objects at 100 a page) ends with a `too_large` error there.
paginate.PAGE_LIMIT = 10000

local function new_walk(svc, opts)
  opts = opts or {}
  local ok, err = validate.list_query(opts)
  if not ok then return nil, err end
  ok, err = validate.integer(opts.max_pages, "max_pages", { optional = true, min = 1 })
  if not ok then return nil, err end
  ok, err = validate.integer(opts.concurrency, "concurrency",
    { optional = true, min = 1, max = request.MAX_CONCURRENCY })
  if not ok then return nil, err end
  -- What is sent: `query` (parameters this module does not know), then
  -- per_page; page is set per request. The other options steer the walk.
  local extra, query = {}, {}
  if type(opts.query) == "table" then
    for k, v in pairs(opts.query) do extra[k], query[k] = v, v end
  end
  query.per_page = opts.per_page
  return {
    svc = svc, def = svc.def, list_key = svc.def.list_key, query = query, extra = extra,
    page = opts.page or 1, first_page = opts.page or 1, max_pages = opts.max_pages,
    fetched = 0, seen = 0, seen_ids = {}, seen_pages = {}, done = false, concurrency = opts.concurrency or 1,
  }
end

local function repeated_page(w, page)
  return errors.new{
    -- "decode" like any other response whose content cannot be used.
    kind = "decode", status = 200, code = "repeated_page", method = "GET", path = w.def.path, page = page,
    message = string.format(
      "page %d of %s holds only %s already seen on earlier pages: the server repeats pages, so the walk stops",
      page, w.def.path or w.def.plural, (w.def.plural:gsub("_", " "))),
  }
end

-- True when the page ends the walk without asking for another one.
local function last_page(w, resp)
  local total = tonumber(resp.total_count)
  if not total then return false end
  if w.seen >= total then return true end
  -- Started past page 1: the count seen misses the skipped pages, so the
  -- server's own page numbers tell where we are.
  if w.first_page == 1 then return false end
  local page, per_page = tonumber(resp.page), tonumber(resp.per_page)
  return page ~= nil and per_page ~= nil and page * per_page >= total
end

-- Stops fetching ahead: requests in flight are cancelled, buffered pages
-- dropped.
local function stop_prefetch(w)
  if w.pre then
    w.pre.pipeline:close()
    w.pre = nil
  end
end

local function bad_page(w, what)
  return errors.new{
    kind = "decode", status = 200, method = "GET", path = w.def.path, page = w.page,
    message = string.format("page %d of %s %s", w.page, w.def.path or w.def.plural, what),
  }
end

-- Checks the list of one page: a JSON list of objects, each with a string
-- or number `id` when it has one. The decoder drops `null` from a list
-- (a hole, or nothing at the end) and marks such a list with the
-- metatable `core.list_with_nulls`.
-- -> number of items | nil, err
local function check_items(w, items)
  if getmetatable(items) == core.list_with_nulls then
    return nil, bad_page(w, "has null in place of an item")
  end
  local n, count = #items, 0
  for k in pairs(items) do
    if type(k) ~= "number" then
      return nil, bad_page(w, string.format("has no %q list (an object in its place)", w.list_key))
    end
    count = count + 1
  end
  if count ~= n then
    for i = 1, count + 1 do
      if items[i] == nil then return nil, bad_page(w, "has null in place of item " .. i) end
    end
  end
  for i = 1, n do
    local item = items[i]
    if type(item) ~= "table" or item[1] ~= nil then
      return nil, bad_page(w, string.format("has item %d that is not an object (%s)", i,
        type(item) == "table" and "a list" or type(item)))
    end
    local id = item.id
    if id ~= nil and type(id) ~= "string" and type(id) ~= "number" then
      return nil, bad_page(w, string.format("has item %d whose id is a %s", i, type(id)))
    end
  end
  return n
end

-- True when the page was seen before in this walk: every item has an id
-- and every id was seen, or (items without ids) the whole page equals an
-- earlier one. Pages whose items all have ids need no copy of their
-- content: a page equal to one of them has those same ids.
local function seen_before(w, items)
  local fresh, anonymous = false, false
  for _, item in ipairs(items) do
    local id = item.id
    if id == nil then
      anonymous = true
    elseif not w.seen_ids[id] then
      fresh = true
      w.seen_ids[id] = true
    end
  end
  if not anonymous then return not fresh end
  local text = json.encode(items) -- sorted keys: equal pages encode alike
  if not text or w.seen_pages[text] then return true end
  w.seen_pages[text] = true
  return false
end

-- The page size the server uses, when known: the smaller of the one asked
-- for and the one the answer states, so a short page is never mistaken.
local function page_size(w, resp)
  local asked, stated = tonumber(w.query.per_page), tonumber(resp.per_page)
  if stated and stated < 1 then stated = nil end
  if asked and stated then return math.min(asked, stated) end
  return asked or stated
end

-- Takes the answer for page w.page (the list response or nil, err).
-- -> items, response | nil (walk over) | nil, err
-- Every answer ends the walk or moves it on by one page; what stops it:
-- an error, an empty page, a short page, total_count reached, a page seen
-- before (an error), max_pages (next_page).
local function take(w, resp, err)
  w.fetched = w.fetched + 1
  if not resp then
    w.done = true
    return nil, err
  end
  local items = type(resp) == "table" and resp[w.list_key] or nil
  if type(items) ~= "table" then
    w.done = true
    return nil, bad_page(w, string.format("has no %q list", w.list_key))
  end
  local n, ierr = check_items(w, items)
  if not n then
    w.done = true
    return nil, ierr
  end
  if n == 0 then
    w.done = true
    return nil
  end
  if seen_before(w, items) then
    w.done = true
    return nil, repeated_page(w, w.page)
  end
  w.seen = w.seen + n
  w.page = w.page + 1
  local size = page_size(w, resp)
  if (size and n < size) or last_page(w, resp) then w.done = true end
  return items, resp
end

local function page_query(w, page)
  local query = {}
  for k, v in pairs(w.query) do query[k] = v end
  query.page = page
  return query
end

-- The options of the list method for one page (its own `query` field
-- holds the parameters this module does not know).
local function page_options(w, page)
  return { page = page, per_page = w.query.per_page, query = next(w.extra) ~= nil and w.extra or nil }
end

-- After the first page: with `concurrency` > 1 and a total count, the
-- pages up to the last one are fetched ahead, at most `concurrency` pages
-- past the one being used (in flight or waiting), so memory stays bounded.
local function start_prefetch(w, resp)
  local st = w.svc.st -- a real service (a stand-in of a spec fetches one by one)
  if w.concurrency <= 1 or w.done or not st then return end
  local total = tonumber(resp.total_count)
  local per_page = tonumber(resp.per_page) or tonumber(w.query.per_page)
  if not total or not per_page or per_page < 1 then return end
  local last = math.ceil(total / per_page)
  if w.max_pages then last = math.min(last, w.first_page + w.max_pages - 1) end
  if last < w.page then return end
  w.pre = { pipeline = request.pipeline(st, w.concurrency), next_submit = w.page,
    last = last, got = {} }
end

-- The answer for page w.page from the pages fetched ahead.
local function prefetched(w)
  local pre = w.pre
  while pre.next_submit <= pre.last and pre.next_submit < w.page + w.concurrency do
    pre.pipeline:submit(pre.next_submit, w.svc.ops.list,
      w.def.path .. request.query_string(page_query(w, pre.next_submit)))
    pre.next_submit = pre.next_submit + 1
  end
  while pre.got[w.page] == nil do
    local page, resp, err = pre.pipeline:next()
    if page == nil then break end
    pre.got[page] = { resp, err }
  end
  local got = pre.got[w.page] or { nil, errors.new{ kind = "usage",
    message = "page " .. w.page .. " was not fetched", method = "GET", path = w.def.path } }
  pre.got[w.page] = nil
  return got[1], got[2]
end

-- -> items, response | nil (walk over) | nil, err
local function next_page(w)
  if w.done then
    stop_prefetch(w)
    return nil
  end
  if w.max_pages and w.fetched >= w.max_pages then
    w.done = true
    stop_prefetch(w)
    return nil
  end
  if not w.max_pages and w.fetched >= paginate.PAGE_LIMIT then
    w.done = true
    stop_prefetch(w)
    return nil, errors.new{
      kind = "too_large", code = "page_limit", method = "GET", path = w.def.path, page = w.page,
      message = string.format("%s still has more after %d pages: the walk stops (give max_pages to walk part of it)",
        w.def.path or w.def.plural, paginate.PAGE_LIMIT),
    }
  end
  local items, resp
  if w.pre and w.page <= w.pre.last then
    items, resp = take(w, prefetched(w))
  else
    stop_prefetch(w)
    local first = w.fetched == 0
    items, resp = take(w, w.svc:list(page_options(w, w.page)))
    if first and items then start_prefetch(w, resp) end
  end
  if w.done then stop_prefetch(w) end
  return items, resp
end

-- On 5.4 the generic for closes this 4th value on break, error or end, so a
-- loop left early drops the buffered page. Earlier versions ignore it.
local function closer(w)
  return setmetatable({}, { __close = function()
    stop_prefetch(w)
    w.done, w.buffer, w.seen_ids, w.seen_pages = true, nil, nil, nil
  end })
end

-- for items, response in paginate.pages(svc, { per_page = 100 }) do
function paginate.pages(svc, opts)
  local w, err = new_walk(svc, opts)
  if not w then error(err, 2) end
  local function step()
    local items, resp = next_page(w)
    if items then return items, resp end
    if resp then error(resp, 0) end
    return nil
  end
  return step, nil, nil, closer(w)
end

-- for obj in paginate.items(svc, { per_page = 100 }) do
function paginate.items(svc, opts)
  local w, err = new_walk(svc, opts)
  if not w then error(err, 2) end
  local function step()
    while true do
      if w.buffer then
        w.index = w.index + 1
        local item = w.buffer[w.index]
        if item ~= nil then return item end
        w.buffer = nil
      end
      local items, failure = next_page(w)
      if not items then
        if failure then error(failure, 0) end
        return nil
      end
      w.buffer, w.index = items, 0
    end
  end
  return step, nil, nil, closer(w)
end

-- Calls fn(obj) for every object; fn returning false stops the walk.
-- -> true | nil, err
function paginate.each(svc, fn, opts)
  local w, err = new_walk(svc, opts)
  if not w then return nil, err end
  local function walk()
    while true do
      local items, failure = next_page(w)
      if not items then
        if failure then return nil, failure end
        return true
      end
      for _, item in ipairs(items) do
        if fn(item) == false then return true end
      end
    end
  end
  if w.concurrency <= 1 then return walk() end
  if PCALL_BLOCKS_YIELD and coroutine.running() then
    local ok, failure = walk()
    stop_prefetch(w)
    return ok, failure
  end
  -- Pages fetched ahead are dropped however the walk ends, an error in fn too.
  local results = table.pack and table.pack(pcall(walk)) or { n = 3, pcall(walk) }
  stop_prefetch(w)
  if not results[1] then error(results[2], 0) end
  return results[2], results[3]
end

-- -> array of every object | nil, err
function paginate.all(svc, opts)
  local out = {}
  local ok, err = paginate.each(svc, function(item) out[#out + 1] = item end, opts)
  if not ok then return nil, err end
  return out
end

return paginate
