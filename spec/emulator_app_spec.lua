-- The emulator's store and API logic, driven directly through app:handle
-- with a fake clock: no sockets, no sleeps.

-- The server's modules use 5.3 operators (the server runs on lua5.4).
if not math.type then
  pending("the server's modules need Lua 5.3+")
  return
end

local helper = require "helper"
local state = require "genesiscloud.emulator.app"
local router = require "genesiscloud.emulator.router"
local json = require "genesiscloud.emulator.wire_json"

local null = json.null
local T0, AUTH = helper.EMULATOR_T0, helper.EMULATOR_AUTH
local new, call = helper.emulator_state, helper.emulator_call

local function group(over)
  local g = {
    name = "web",
    description = "web servers",
    rules = {
      { protocol = "icmp", direction = "ingress", port_range_min = null, port_range_max = null },
      { protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = 22 },
      { protocol = "tcp", direction = "ingress", port_range_min = 8080, port_range_max = 8085 },
      { protocol = "all", direction = "egress" },
    },
  }
  for k, v in pairs(over or {}) do g[k] = v end
  return g
end

local function create(st, over)
  local status, body = call(st, "POST", "/security-groups", group(over))
  assert.are.equal(201, status)
  return body.security_group
end

local function one_rule(rule)
  return group{ rules = { rule } }
end

describe("emulator router", function()
  it("splits a target into path and query", function()
    assert.are.same({ "/a/b", "x=1" }, { router.split_target("/a/b?x=1") })
    assert.are.same({ "/a/b" }, { router.split_target("/a/b") })
  end)

  it("parses and decodes query strings, the last repeated name winning", function()
    assert.are.same({ a = "1 2", b = "x/y", c = "" , d = "3" },
      router.parse_query("a=1+2&b=x%2Fy&c=&d=1&d=3"))
    assert.are.same({}, router.parse_query(nil))
  end)

  it("decodes percent escapes", function()
    assert.are.equal("a b/c%zz", router.decode("a%20b%2Fc%zz"))
  end)

  it("matches patterns, tells a wrong method from an unknown route", function()
    local r = router.new{ { pattern = "/things/{id}", methods = { GET = "get", PUT = "put" } } }
    local handler, params = r:match("GET", "/things/a%2Fb")
    assert.are.equal("get", handler)
    assert.are.same({ id = "a/b" }, params)
    assert.are.same({ nil, "method", "GET, PUT" }, { r:match("POST", "/things/x") })
    assert.are.same({ nil, "no_route" }, { r:match("GET", "/things/x/y") })
    assert.are.same({ nil, "no_route" }, { r:match("GET", "/things/") })
  end)
end)

describe("emulator json", function()
  it("encodes empty arrays as [] and empty objects as {}", function()
    assert.are.equal('{"a":[],"b":{}}', json.encode{ a = json.array(), b = {} })
  end)

  it("sorts keys, keeps integers exact and does not escape slashes", function()
    assert.are.equal('{"a":1,"b":"x/y","c":12345678901234567,"d":0.5,"e":null}',
      json.encode{ c = 12345678901234567, a = 1.0, b = "x/y", d = 0.5, e = null })
  end)
end)

describe("emulator state", function()
  describe("create", function()
    it("answers 201 with the whole group, newer fields included", function()
      local st = new{ seed = 1 }
      local status, body, headers = call(st, "POST", "/security-groups", group())
      assert.are.equal(201, status)
      assert.are.equal("application/json", headers["content-type"])
      local g = body.security_group
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x+$", g.id)
      assert.are.equal(36, #g.id)
      assert.are.equal("web", g.name)
      assert.are.equal("web servers", g.description)
      assert.are.equal("creating", g.status)
      assert.are.equal("ARC-IS-HAF-1", g.region)
      assert.is_false(g.is_internal)
      assert.are.equal("2026-11-27T12:00:00.000Z", g.created_at)
      assert.are.equal("2026-11-27T12:00:00.000Z", g.updated_at)
      assert.are.same({ protocol = "icmp", direction = "ingress", port_range_min = null, port_range_max = null },
        g.rules[1])
      assert.are.same({ protocol = "tcp", direction = "ingress", port_range_min = 8080, port_range_max = 8085 },
        g.rules[3])
      -- ports left out of the request come back as explicit nulls
      assert.are.same({ protocol = "all", direction = "egress", port_range_min = null, port_range_max = null },
        g.rules[4])
      assert.are.equal(4, #g.rules)
    end)

    it("writes milliseconds in timestamps", function()
      local st, clock = new()
      clock.t = T0 + 1.25
      assert.are.equal("2026-11-27T12:00:01.250Z", create(st).created_at)
    end)

    it("defaults description to an empty string", function()
      assert.are.equal("", create(new(), { description = null }).description)
    end)

    it("makes ids repeatable with a seed", function()
      local a, b, c = new{ seed = 7 }, new{ seed = 7 }, new{ seed = 8 }
      local ida, idb, idc = create(a).id, create(b).id, create(c).id
      assert.are.equal(ida, idb)
      assert.are_not.equal(ida, idc)
      assert.are_not.equal(ida, create(a).id)
    end)

    it("keeps a region given on create", function()
      assert.are.equal("NORD-NO-KRS-1", create(new(), { region = "NORD-NO-KRS-1" }).region)
    end)

    it("passes unknown fields through and ignores server-owned ones", function()
      local st = new()
      local g = create(st, { labels = { team = "a" }, tier = 3, id = "mine", status = "created", is_internal = true })
      assert.are.same({ team = "a" }, g.labels)
      assert.are.equal(3, g.tier)
      assert.are_not.equal("mine", g.id)
      assert.are.equal("creating", g.status)
      assert.is_false(g.is_internal)
      local _, got = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.same({ team = "a" }, got.security_group.labels)
      local _, list = call(st, "GET", "/security-groups")
      assert.are.equal(3, list.security_groups[1].tier)
    end)

    it("passes unknown rule fields through", function()
      local g = create(new(), { rules = { { protocol = "udp", direction = "egress", cidr = "10.0.0.0/8" } } })
      assert.are.equal("10.0.0.0/8", g.rules[1].cidr)
    end)

    it("allows duplicate names", function()
      local st = new()
      assert.are_not.equal(create(st).id, create(st).id)
    end)
  end)

  describe("validation", function()
    local function rejects(body, field_pattern)
      local st = new()
      local status, err = call(st, "POST", "/security-groups", body)
      assert.are.equal(400, status)
      assert.are.equal("02004", err.code)
      assert.matches(field_pattern, err.message)
      local _, list = call(st, "GET", "/security-groups")
      assert.are.equal(0, list.total_count)
    end

    it("rejects invalid JSON", function() rejects('{"name": ', "JSON object") end)
    it("rejects a missing body", function() rejects(nil, "JSON object") end)
    it("rejects a JSON array body", function() rejects('[1, 2]', "JSON object") end)
    it("rejects a JSON string body", function() rejects('"x"', "JSON object") end)
    it("rejects a JSON null body", function() rejects('null', "JSON object") end)
    it("requires name", function() rejects(group{ name = null }, "^name is required") end)
    it("rejects an empty name", function() rejects(group{ name = "" }, "^name must be a non%-empty string") end)
    it("rejects a non-string name", function() rejects(group{ name = 5 }, "^name must be") end)
    it("rejects the reserved name default", function()
      rejects(group{ name = "default" }, "^name 'default' is reserved")
    end)
    it("rejects the reserved name standard", function()
      rejects(group{ name = "standard" }, "^name 'standard' is reserved")
    end)
    it("rejects a non-string description", function()
      rejects(group{ description = 1 }, "^description must be a string")
    end)
    it("requires rules", function() rejects(group{ rules = null }, "^rules is required") end)
    it("rejects rules that are not an array", function()
      rejects(group{ rules = { a = 1 } }, "^rules must be an array")
    end)
    it("rejects empty rules", function()
      rejects(group{ rules = json.array() }, "^rules must have at least one item")
    end)
    it("rejects a rule that is not an object", function()
      rejects(group{ rules = { "tcp" } }, "^rules%[1%] must be an object")
    end)
    it("requires protocol", function()
      rejects(one_rule{ direction = "ingress" }, "^rules%[1%]%.protocol is required")
    end)
    it("rejects an unknown protocol", function()
      rejects(one_rule{ protocol = "sctp", direction = "ingress" }, "^rules%[1%]%.protocol must be one of")
    end)
    it("requires direction", function()
      rejects(one_rule{ protocol = "tcp" }, "^rules%[1%]%.direction is required")
    end)
    it("rejects an unknown direction", function()
      rejects(one_rule{ protocol = "tcp", direction = "inbound" }, "^rules%[1%]%.direction must be one of")
    end)
    it("rejects a fractional port", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = 22.5, port_range_max = 23 },
        "^rules%[1%]%.port_range_min must be an integer")
    end)
    it("rejects a port given as a string", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = 22, port_range_max = "22" },
        "^rules%[1%]%.port_range_max must be an integer")
    end)
    it("rejects port 0", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = 0, port_range_max = 10 },
        "^rules%[1%]%.port_range_min must be an integer between 1 and 65535")
    end)
    it("rejects port 65536", function()
      rejects(one_rule{ protocol = "udp", direction = "ingress", port_range_min = 1, port_range_max = 65536 },
        "^rules%[1%]%.port_range_max must be an integer between 1 and 65535")
    end)
    it("rejects a minimum port without a maximum", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = 22 }, "both be set or both be null")
    end)
    it("rejects a maximum port without a minimum", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = null, port_range_max = 22 },
        "both be set or both be null")
    end)
    it("rejects min > max", function()
      rejects(one_rule{ protocol = "tcp", direction = "ingress", port_range_min = 90, port_range_max = 80 },
        "^rules%[1%]%.port_range_min must not be greater than port_range_max")
    end)
    it("rejects ports on icmp", function()
      rejects(one_rule{ protocol = "icmp", direction = "ingress", port_range_min = 1, port_range_max = 1 },
        "^rules%[1%]: protocol icmp takes no ports")
    end)
    it("rejects ports on all", function()
      rejects(one_rule{ protocol = "all", direction = "egress", port_range_min = 1, port_range_max = 65535 },
        "^rules%[1%]: protocol all takes no ports")
    end)
    it("names the position of the bad rule", function()
      rejects(group{ rules = { { protocol = "tcp", direction = "ingress" }, { protocol = "tcp" } } },
        "^rules%[2%]%.direction is required")
    end)

    it("accepts boundary ports, tcp without ports and udp", function()
      local g = create(new(), { rules = {
        { protocol = "udp", direction = "ingress", port_range_min = 1, port_range_max = 65535 },
        { protocol = "tcp", direction = "egress" },
        { protocol = "tcp", direction = "egress", port_range_min = 443, port_range_max = 443 },
      } })
      assert.are.equal(65535, g.rules[1].port_range_max)
      assert.are.equal(null, g.rules[2].port_range_min)
      assert.are.equal(443, g.rules[3].port_range_min)
    end)
  end)

  describe("get", function()
    it("answers 200 with the group", function()
      local st = new()
      local g = create(st)
      local status, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal(200, status)
      assert.are.equal(g.id, body.security_group.id)
      assert.are.equal("web", body.security_group.name)
    end)

    it("answers 404 02003 for an unknown id", function()
      local status, body = call(new(), "GET", "/security-groups/nope")
      assert.are.equal(404, status)
      assert.are.same({ code = "02003", message = "Security group not found" }, body)
    end)

    it("decodes a percent-encoded id before the lookup", function()
      local st = new()
      local g = create(st)
      local encoded = g.id:gsub(".", function(c) return string.format("%%%02X", c:byte()) end)
      local status, body = call(st, "GET", "/security-groups/" .. encoded)
      assert.are.equal(200, status)
      assert.are.equal(g.id, body.security_group.id)
    end)

    it("treats an encoded slash as part of the id, not a route", function()
      local status, body = call(new(), "GET", "/security-groups/a%2Fb")
      assert.are.equal(404, status)
      assert.are.equal("02003", body.code)
    end)
  end)

  describe("update", function()
    it("PUT replaces name and rules and answers 200 updating", function()
      local st, clock = new{ update_delay = 5 }
      local g = create(st)
      clock.t = T0 + 2
      local status, body = call(st, "PUT", "/security-groups/" .. g.id,
        { name = "new", rules = {
          { protocol = "udp", direction = "egress", port_range_min = 53, port_range_max = 53 },
        } })
      assert.are.equal(200, status)
      local u = body.security_group
      assert.are.equal("new", u.name)
      assert.are.equal("web servers", u.description)
      assert.are.equal(1, #u.rules)
      assert.are.equal("updating", u.status)
      assert.are.equal(g.created_at, u.created_at)
      assert.are.equal("2026-11-27T12:00:02.000Z", u.updated_at)
    end)

    it("PUT requires name", function()
      local st = new()
      local status, body = call(st, "PUT", "/security-groups/" .. create(st).id, { rules = group().rules })
      assert.are.equal(400, status)
      assert.matches("^name is required", body.message)
    end)

    it("PUT requires rules", function()
      local st = new()
      local status, body = call(st, "PUT", "/security-groups/" .. create(st).id, { name = "x" })
      assert.are.equal(400, status)
      assert.matches("^rules is required", body.message)
    end)

    it("PATCH changes only the fields given", function()
      local st = new()
      local g = create(st)
      local status, body = call(st, "PATCH", "/security-groups/" .. g.id, { description = "changed" })
      assert.are.equal(200, status)
      assert.are.equal("web", body.security_group.name)
      assert.are.equal("changed", body.security_group.description)
      assert.are.equal(4, #body.security_group.rules)
    end)

    it("PATCH accepts an empty object", function()
      local st = new()
      assert.are.equal(200, (call(st, "PATCH", "/security-groups/" .. create(st).id, "{}")))
    end)

    it("PATCH still validates what is given", function()
      local st = new()
      local status, body = call(st, "PATCH", "/security-groups/" .. create(st).id, { rules = json.array() })
      assert.are.equal(400, status)
      assert.matches("^rules must have at least one item", body.message)
    end)

    it("passes unknown fields through on update", function()
      local st = new()
      local g = create(st, { tier = 1 })
      local _, body = call(st, "PATCH", "/security-groups/" .. g.id, { tier = 2, region = "NORD-NO-KRS-1" })
      assert.are.equal(2, body.security_group.tier)
      assert.are.equal("NORD-NO-KRS-1", body.security_group.region)
    end)

    it("answers 404 for an unknown id (PUT and PATCH)", function()
      local st = new()
      assert.are.equal(404, (call(st, "PUT", "/security-groups/nope", group())))
      assert.are.equal(404, (call(st, "PATCH", "/security-groups/nope", {})))
    end)

    it("with put_405, PUT answers 405 with an error body and PATCH works", function()
      local st = new{ put_405 = true }
      local g = create(st)
      local status, body, headers = call(st, "PUT", "/security-groups/" .. g.id, group{ name = "x" })
      assert.are.equal(405, status)
      assert.are.equal("02002", body.code)
      assert.are.equal("DELETE, GET, PATCH", headers.allow)
      local _, still = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("web", still.security_group.name)
      status, body = call(st, "PATCH", "/security-groups/" .. g.id, { name = "x" })
      assert.are.equal(200, status)
      assert.are.equal("x", body.security_group.name)
    end)

    it("answers 409 while the group is being deleted", function()
      local st = new{ delete_delay = 10 }
      local g = create(st)
      assert.are.equal(204, (call(st, "DELETE", "/security-groups/" .. g.id)))
      local status, body = call(st, "PATCH", "/security-groups/" .. g.id, { name = "x" })
      assert.are.equal(409, status)
      assert.are.equal("02005", body.code)
    end)
  end)

  describe("delete", function()
    it("answers 204 with no body and the group is gone at once", function()
      local st = new()
      local g = create(st)
      local status, body, headers = call(st, "DELETE", "/security-groups/" .. g.id)
      assert.are.equal(204, status)
      assert.is_nil(body)
      assert.is_nil(headers["content-type"])
      assert.are.equal(404, (call(st, "GET", "/security-groups/" .. g.id)))
    end)

    it("answers 404 for an unknown id", function()
      assert.are.equal(404, (call(new(), "DELETE", "/security-groups/nope")))
    end)
  end)

  describe("status", function()
    it("reads creating until create_delay has passed, then created", function()
      local st, clock = new{ create_delay = 3 }
      local g = create(st)
      local function status_now()
        local _, body = call(st, "GET", "/security-groups/" .. g.id)
        return body.security_group.status
      end
      clock.t = T0 + 2.9
      assert.are.equal("creating", status_now())
      clock.t = T0 + 3
      assert.are.equal("created", status_now())
    end)

    it("reads created at once with create_delay 0 (the create answer still says creating)", function()
      local st = new{ create_delay = 0 }
      local g = create(st)
      assert.are.equal("creating", g.status)
      local _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("created", body.security_group.status)
    end)

    it("reads updating after a write until update_delay has passed", function()
      local st, clock = new{ update_delay = 2 }
      local g = create(st)
      call(st, "PATCH", "/security-groups/" .. g.id, { name = "n" })
      clock.t = T0 + 1
      local _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("updating", body.security_group.status)
      clock.t = T0 + 2
      _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("created", body.security_group.status)
    end)

    it("reads deleting until delete_delay has passed, then 404; a second DELETE changes nothing", function()
      local st, clock = new{ delete_delay = 2 }
      local g = create(st)
      assert.are.equal(204, (call(st, "DELETE", "/security-groups/" .. g.id)))
      clock.t = T0 + 1
      local _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("deleting", body.security_group.status)
      assert.are.equal(204, (call(st, "DELETE", "/security-groups/" .. g.id)))
      local _, list = call(st, "GET", "/security-groups")
      assert.are.equal("deleting", list.security_groups[1].status)
      clock.t = T0 + 2
      assert.are.equal(404, (call(st, "GET", "/security-groups/" .. g.id)))
      _, list = call(st, "GET", "/security-groups")
      assert.are.equal(0, list.total_count)
    end)

    it("keeps a forced status until the next write", function()
      local st, clock = new{ create_delay = 1, update_delay = 1 }
      local g = create(st)
      assert(st:set_status(g.id, "error"))
      clock.t = T0 + 10
      local _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("error", body.security_group.status)
      call(st, "PATCH", "/security-groups/" .. g.id, { name = "n" })
      _, body = call(st, "GET", "/security-groups/" .. g.id)
      assert.are.equal("updating", body.security_group.status)
    end)

    it("set_status rejects unknown ids and empty statuses", function()
      local st = new()
      assert.are.same({ nil, "not found" }, { st:set_status("nope", "error") })
      assert.are.same({ nil, "status must be a non-empty string" }, { st:set_status(create(st).id, "") })
    end)
  end)

  describe("list", function()
    local function list(st, query)
      return call(st, "GET", "/security-groups" .. (query or ""))
    end

    local function with_groups(n)
      local st = new()
      for i = 1, n do create(st, { name = "g" .. i }) end
      return st
    end

    it("with no groups answers an empty array (not an object)", function()
      local status, body, _, text = list((new()))
      assert.are.equal(200, status)
      assert.matches('"security_groups":%[%]', text)
      assert.are.same({ total_count = 0, page = 1, per_page = 50 },
        { total_count = body.total_count, page = body.page, per_page = body.per_page })
    end)

    it("with 1 group", function()
      local _, body = list(with_groups(1))
      assert.are.equal(1, #body.security_groups)
      assert.are.equal(1, body.total_count)
      assert.are.equal("g1", body.security_groups[1].name)
    end)

    it("with 50 groups fits one default page", function()
      local st = with_groups(50)
      local _, body = list(st)
      assert.are.equal(50, #body.security_groups)
      assert.are.equal(50, body.total_count)
      _, body = list(st, "?page=2")
      assert.are.equal(0, #body.security_groups)
    end)

    it("with 51 groups spills one onto page 2, in creation order", function()
      local st = with_groups(51)
      local _, body = list(st)
      assert.are.equal(50, #body.security_groups)
      assert.are.equal("g1", body.security_groups[1].name)
      assert.are.equal("g50", body.security_groups[50].name)
      _, body = list(st, "?page=2")
      assert.are.equal(1, #body.security_groups)
      assert.are.equal("g51", body.security_groups[1].name)
      assert.are.equal(51, body.total_count)
      assert.are.equal(2, body.page)
    end)

    it("per_page=1 gives one group per page", function()
      local _, body = list(with_groups(3), "?per_page=1&page=3")
      assert.are.equal(1, #body.security_groups)
      assert.are.equal("g3", body.security_groups[1].name)
      assert.are.equal(1, body.per_page)
    end)

    it("per_page=100 is allowed", function()
      local _, body = list(with_groups(51), "?per_page=100")
      assert.are.equal(51, #body.security_groups)
      assert.are.equal(100, body.per_page)
    end)

    it("a page far past the end is empty", function()
      local _, body = list(with_groups(2), "?page=999999999999999999")
      assert.are.equal(0, #body.security_groups)
      assert.are.equal(2, body.total_count)
    end)

    for _, case in ipairs{
      { "?per_page=0", "^per_page" }, { "?per_page=101", "^per_page" }, { "?per_page=x", "^per_page" },
      { "?per_page=", "^per_page" }, { "?per_page=1.5", "^per_page" }, { "?page=0", "^page" },
      { "?page=x", "^page" }, { "?page=-1", "^page" },
    } do
      it("rejects " .. case[1] .. " with 400", function()
        local status, body = list((new()), case[1])
        assert.are.equal(400, status)
        assert.are.equal("02004", body.code)
        assert.matches(case[2], body.message)
      end)
    end
  end)

  describe("routes", function()
    it("answers 404 02001 for an unknown route", function()
      local status, body = call(new(), "GET", "/instances-of-nothing")
      assert.are.equal(404, status)
      assert.are.same({ code = "02001", message = "Invalid route" }, body)
    end)

    it("answers 404 02001 for extra path segments", function()
      local status, body = call(new(), "GET", "/security-groups/a/b")
      assert.are.equal(404, status)
      assert.are.equal("02001", body.code)
    end)

    it("answers 404 02001 outside /compute/v1 and does not log it", function()
      local st = new()
      local status, text = st:handle("GET", "/security-groups", nil, nil, AUTH)
      assert.are.equal(404, status)
      assert.are.equal("02001", json.decode(text).code)
      assert.are.equal(0, #st:requests())
    end)

    it("answers 405 with Allow for a wrong method on a known route", function()
      local status, body, headers = call(new(), "DELETE", "/security-groups")
      assert.are.equal(405, status)
      assert.are.equal("02002", body.code)
      assert.are.equal("GET, POST", headers.allow)
      local _
      status, _, headers = call(new(), "POST", "/security-groups/x")
      assert.are.equal(405, status)
      assert.are.equal("DELETE, GET, PATCH, PUT", headers.allow)
    end)
  end)

  describe("auth", function()
    it("accepts X-Auth-Token", function()
      assert.are.equal(200, (call(new(), "GET", "/security-groups", nil, { ["x-auth-token"] = "t" })))
    end)

    it("accepts Authorization: Bearer", function()
      assert.are.equal(200, (call(new(), "GET", "/security-groups", nil, { authorization = "Bearer t" })))
    end)

    for name, headers in pairs{
      ["a wrong X-Auth-Token"] = { ["x-auth-token"] = "wrong" },
      ["a wrong bearer token"] = { authorization = "Bearer wrong" },
      ["another auth scheme"] = { authorization = "Basic dDp0" },
      ["no token"] = {},
    } do
      it("answers 401 with a JSON error for " .. name, function()
        local status, body, h = call(new(), "GET", "/security-groups", nil, headers)
        assert.are.equal(401, status)
        assert.are.equal("application/json", h["content-type"])
        assert.are.equal("01001", body.code)
        assert.is_string(body.message)
      end)
    end

    it("checks auth before routing", function()
      assert.are.equal(401, (call(new(), "GET", "/nowhere", nil, {})))
    end)
  end)

  describe("request log", function()
    it("records every API request, rejected ones too, without the token", function()
      local st = new{ token = "very-secret-token" }
      local good = { ["x-auth-token"] = "very-secret-token" }
      call(st, "POST", "/security-groups", group(), good)
      call(st, "GET", "/security-groups/a%20b?x=1", nil, { authorization = "Bearer very-secret-token" })
      call(st, "GET", "/security-groups", nil, { ["x-auth-token"] = "wrong" })
      call(st, "GET", "/nowhere", nil, {})
      st:handle("GET", "/_emulator/requests", nil, nil, {})
      local log = st:requests()
      assert.are.equal(4, #log)
      assert.are.same({ "POST", "/security-groups", "/compute/v1/security-groups", "x-auth-token", 201 },
        { log[1].method, log[1].path, log[1].raw_path, log[1].auth, log[1].status })
      assert.are.equal(json.encode(group()), log[1].body)
      assert.are.same({ "/security-groups/a b", "/compute/v1/security-groups/a%20b?x=1", { x = "1" }, "bearer", 404 },
        { log[2].path, log[2].raw_path, log[2].query, log[2].auth, log[2].status })
      assert.is_nil(log[2].body)
      assert.are.same({ "x-auth-token", 401 }, { log[3].auth, log[3].status })
      assert.is_nil(log[4].auth)
      assert.are.equal(401, log[4].status)
      local _, text = st:handle("GET", "/_emulator/requests", nil, nil, {})
      assert.is_nil(text:find("very-secret-token", 1, true))
    end)
  end)

  describe("control routes", function()
    local function control(st, method, path, body)
      local status, text, headers, action = st:handle(method, "/_emulator" .. path, nil, body, {})
      return status, text and json.decode(text), headers, action
    end

    it("GET /requests lists the log; DELETE /requests clears it", function()
      local st = new()
      call(st, "GET", "/security-groups")
      local status, body = control(st, "GET", "/requests")
      assert.are.equal(200, status)
      assert.are.equal(1, #body.requests)
      assert.are.equal(204, (control(st, "DELETE", "/requests")))
      status, body = control(st, "GET", "/requests")
      assert.are.equal(200, status)
      assert.are.equal(0, #body.requests)
    end)

    it("POST /reset drops groups and the log", function()
      local st = new()
      create(st)
      assert.are.equal(204, (control(st, "POST", "/reset")))
      assert.are.equal(0, #st:requests())
      local _, list = call(st, "GET", "/security-groups")
      assert.are.equal(0, list.total_count)
    end)

    it("POST /config changes settings and GET /config shows them", function()
      local st = new()
      local status, body = control(st, "POST", "/config", '{"create_delay": 0.2, "put_405": true}')
      assert.are.equal(200, status)
      assert.are.equal(0.2, body.config.create_delay)
      assert.is_true(body.config.put_405)
      status, body = control(st, "GET", "/config")
      assert.are.equal(200, status)
      assert.is_true(body.config.put_405)
      assert.are.equal(405, (call(st, "PUT", "/security-groups/x", group())))
    end)

    for _, case in ipairs{
      { '{"create_delay": -1}', "create_delay must be" },
      { '{"put_405": "yes"}', "put_405 must be a boolean" },
      { '{"bogus": 1}', "unknown setting 'bogus'" },
      { 'nope', "JSON object" },
    } do
      it("POST /config rejects " .. case[1], function()
        local st = new()
        local status, body = control(st, "POST", "/config", case[1])
        assert.are.equal(400, status)
        assert.matches(case[2], body.message, 1, true)
        assert.are.equal(0, st.config.update_delay)
      end)
    end

    it("POST /security-groups/{id}/status forces a status", function()
      local st = new()
      local g = create(st)
      local status, body = control(st, "POST", "/security-groups/" .. g.id .. "/status", '{"status":"error"}')
      assert.are.equal(200, status)
      assert.are.equal("error", body.security_group.status)
      assert.are.equal(404, (control(st, "POST", "/security-groups/nope/status", '{"status":"error"}')))
      assert.are.equal(400, (control(st, "POST", "/security-groups/" .. g.id .. "/status", '{"status":5}')))
    end)

    it("POST /shutdown answers 202 and asks the server to stop", function()
      local status, _, _, action = control(new(), "POST", "/shutdown")
      assert.are.equal(202, status)
      assert.are.equal("shutdown", action)
    end)

    it("answers 404 and 405 like the API", function()
      assert.are.equal(404, (control(new(), "GET", "/nothing")))
      assert.are.equal(405, (control(new(), "GET", "/reset")))
    end)

    it("are never logged", function()
      local st = new()
      control(st, "GET", "/requests")
      control(st, "POST", "/reset")
      assert.are.equal(0, #st:requests())
    end)
  end)

  describe("faults", function()
    local faults = require "genesiscloud.emulator.faults"

    it("are chosen for API requests only", function()
      local st = new{ fault_rate = 1, faults = { "truncate" } }
      assert.are.same({ kind = "truncate" }, st:choose_fault("GET", "/compute/v1/security-groups"))
      assert.is_nil(st:choose_fault("GET", "/_emulator/requests"))
      assert.is_nil(st:choose_fault("POST", "/_emulator/config"))
      assert.is_nil(st:choose_fault("GET", "/elsewhere"))
      assert.is_nil(st:choose_fault("HEAD", "/compute/v1/security-groups"))
    end)

    it("a status fault is answered and logged, not applied", function()
      local st = new{ retry_after = "date" }
      local fault = { kind = "status", status = 429 }
      local status, text, h = st:handle("POST", "/compute/v1/security-groups", nil, json.encode(group()), AUTH, fault)
      assert.are.equal(429, status)
      assert.are.same({ code = "00429", message = "Injected fault: HTTP 429" }, json.decode(text))
      assert.are.equal(faults.http_date(T0 + 1), h["retry-after"])
      assert.are.equal("Sat, 28 Nov 2026 12:00:01 GMT", faults.http_date(T0 + 86401))
      local e = st:requests()[1]
      assert.are.same({ "status", false, 429 }, { e.fault, e.applied, e.status })
      assert.are.equal(0, #st.store:list("security_group"))
    end)

    it("close_before_body is logged without a body or status, not applied", function()
      local st = new()
      local status = st:handle("POST", "/compute/v1/security-groups", nil, nil, AUTH, { kind = "close_before_body" })
      assert.is_nil(status)
      local e = st:requests()[1]
      assert.are.same({ "close_before_body", false }, { e.fault, e.applied })
      assert.is_nil(e.status)
      assert.are.equal(0, #st.store:list("security_group"))
    end)

    it("close_after_body and invalid_json are applied", function()
      local st = new()
      st:handle("POST", "/compute/v1/security-groups", nil, json.encode(group()), AUTH, { kind = "close_after_body" })
      local status, text = st:handle("POST", "/compute/v1/security-groups", nil, json.encode(group()), AUTH,
        { kind = "invalid_json" })
      assert.are.equal(201, status)
      assert.is_nil(json.decode(text))
      assert.are.equal(2, #st.store:list("security_group"))
      for _, e in ipairs(st:requests()) do
        assert.is_true(e.applied)
        assert.are.equal(201, e.status)
      end
    end)

    it("settings go through POST /config; null turns retry_after off; fault_seed restarts the sequence", function()
      local st = new{ fault_rate = 0.5, faults = { "status" }, retry_after = 3, fault_seed = 8 }
      local function seq()
        local out = {}
        for i = 1, 16 do out[i] = st:choose_fault("GET", "/compute/v1/x") and "F" or "." end
        return table.concat(out)
      end
      local first = seq()
      assert.matches("F", first)
      assert.matches("%.", first)
      local status, text = st:handle("POST", "/_emulator/config", nil, '{"retry_after": null, "fault_seed": 8}', {})
      assert.are.equal(200, status)
      local config = json.decode(text).config
      assert.are.equal(false, config.retry_after)
      assert.are.equal(8, config.fault_seed)
      assert.are.equal(first, seq())
    end)

    it("fault_seed defaults to seed", function()
      assert.are.equal(5, new{ seed = 5 }.config.fault_seed)
    end)
  end)

  describe("new", function()
    it("rejects bad settings", function()
      assert.are.same({ nil, "create_delay must be a number of seconds >= 0" }, { state.new{ create_delay = -1 } })
      assert.are.same({ nil, "token must be a non-empty string" }, { state.new{ token = "" } })
    end)

    it("reset keeps the id sequence going", function()
      local st = new{ seed = 3 }
      local first = create(st).id
      st:reset()
      assert.are_not.equal(first, create(st).id)
    end)
  end)
end)
