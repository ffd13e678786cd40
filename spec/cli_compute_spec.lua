-- The commands below one object, made from the definitions (actions,
-- nested collections, calls) and the compute resources' creates and
-- lists: bin/genesiscloud as a separate process against the emulator,
-- whose request log shows what was sent.
local helper = require "helper"
local cjson = require("cjson.safe").new()

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local REGION = "NORD-NO-KRS-1"
local TYPE = "vcpu-4_memory-24g_disk-80g_nvidia3090-1"
local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"

describe("genesiscloud commands of the compute resources", function()
  local emu, endpoint
  local script_file = os.tmpname()

  setup(function()
    -- a stop takes one read of the instance (stopping), then it is stopped
    emu = helper.start_emulator{ token = "t", transitions = { instances = { stop = { reads = 1 } } } }
    endpoint = emu.endpoint
    local f = assert(io.open(script_file, "w"))
    f:write("#!/bin/sh\necho hello\n")
    f:close()
  end)

  teardown(function()
    if emu then emu:stop() end
    os.remove(script_file)
  end)

  -- -> { out =, err =, code = }
  local function cli(args)
    local parts = { "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u GENESISCLOUD_DEBUG",
      "GENESISCLOUD_TOKEN=t", "GENESISCLOUD_ENDPOINT=" .. q(endpoint), "bin/genesiscloud" }
    for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
    local err_file = os.tmpname()
    local out, _, _, code = helper.run(table.concat(parts, " ") .. " 2>" .. err_file)
    local f = assert(io.open(err_file, "r"))
    local err = f:read("*a")
    f:close()
    os.remove(err_file)
    return { out = out, err = err, code = code }
  end

  local function ok(r)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("", r.err)
    return r
  end

  local function json(r)
    return assert(cjson.decode(ok(r).out), r.out)
  end

  local function failed(r, code, pattern)
    assert.are.equal(code, r.code, r.out .. r.err)
    assert.matches(pattern, r.err)
    return r
  end

  -- The requests the emulator saw since the last call, "METHOD raw path" each.
  local function requests()
    local new = {}
    for i, entry in ipairs(assert(emu:requests())) do new[i] = entry.method .. " " .. entry.raw_path end
    assert(emu:clear_requests())
    return new
  end

  -- The last request with `method` in the log, with its decoded body.
  local function last_body(method)
    local found
    for _, entry in ipairs(assert(emu:requests())) do
      if entry.method == method then found = entry end
    end
    return found and cjson.decode(found.body)
  end

  local box, volume, group, key

  it("volumes create --size --region, then resize by name; shrinking is refused before sending", function()
    volume = json(cli{ "-o", "json", "volumes", "create", "--name", "data", "--size", "50", "--region", REGION,
      "--wait", "--wait-timeout", "10" })
    assert.are.same({ 50, REGION, "created" }, { volume.size, volume.region, volume.status })
    requests()
    assert.are.equal(80, json(cli{ "-o", "json", "volumes", "resize", "data", "--size", "80" }).size)
    local log = requests()
    assert.are.equal("PATCH /compute/v1/volumes/" .. volume.id, log[#log])

    local r = failed(cli{ "volumes", "resize", volume.id, "--size", "60" }, 2, "size can only grow")
    assert.matches("nothing was sent", r.err)
    for _, line in ipairs(requests()) do assert.is_nil(line:find("^PATCH")) end
    failed(cli{ "volumes", "resize", volume.id, "--size", "many" }, 2, "%-%-size must be a whole number")
    failed(cli{ "volumes", "resize", volume.id }, 2, "%-%-size")
  end)

  it("instances create with repeated list flags and --metadata KEY=@FILE", function()
    key = json(cli{ "-o", "json", "ssh-keys", "create", "--name", "laptop", "--value", KEY })
    group = json(cli{ "-o", "json", "security-groups", "create", "--name", "ssh", "--rule", "ingress tcp 22" })
    requests()
    box = json(cli{ "-o", "json", "instances", "create", "--name", "box", "--hostname", "box", "--region", REGION,
      "--type", TYPE, "--image", "ubuntu:22.04", "--ssh-key", key.id, "--security-group", group.id,
      "--volume", volume.id, "--metadata", "startup_script=@" .. script_file, "--wait", "--wait-timeout", "10" })
    assert.are.same({ "active", key.id, group.id, volume.id },
      { box.status, box.ssh_keys[1].id, box.security_groups[1].id, box.volumes[1].id })
    local body = last_body("POST")
    assert.are.same({ key.id }, body.ssh_keys)
    assert.are.same({ group.id }, body.security_groups)
    assert.are.same({ volume.id }, body.volumes)
    assert.are.same({ startup_script = "#!/bin/sh\necho hello" }, body.metadata)
    failed(cli{ "instances", "create", "--name", "x", "--hostname", "x", "--region", REGION, "--type", TYPE,
      "--image", "ubuntu:22.04", "--metadata", "startup_script" }, 2, "%-%-metadata takes KEY=VALUE")
  end)

  it("instances stop NAME --wait ends stopped; actions lists what is allowed; start sends", function()
    requests()
    local stopped = json(cli{ "-o", "json", "instances", "stop", "box", "--wait", "--wait-timeout", "20" })
    assert.are.same({ box.id, "stopped" }, { stopped.id, stopped.status })
    assert.are.same({ action = "stop" }, last_body("POST"))
    local log = requests()
    assert.are.equal("GET /compute/v1/instances/box", log[1]) -- no such id: then by name
    local posts = {}
    for _, line in ipairs(log) do if line:find("^POST") then posts[#posts + 1] = line end end
    assert.are.same({ "POST /compute/v1/instances/" .. box.id .. "/actions" }, posts)

    assert.are.same({ actions = { "start" } }, json(cli{ "-o", "json", "instances", "actions", "box" }))
    assert.are.equal("start\n", ok(cli{ "-o", "table", "instances", "actions", box.id }).out)
    assert.are.equal("start sent to " .. box.id .. "\n", ok(cli{ "-o", "table", "instances", "start", box.id }).out)
  end)

  it("an action's --wait that runs out prints the id and exits 3", function()
    assert(emu:configure{ transitions = { instances = { reset = { reads = 1000 } } } })
    local r = cli{ "-o", "table", "instances", "reset", box.id, "--wait", "--wait-timeout", "0" }
    assert.are.equal(3, r.code, r.err)
    assert.matches("^reset sent to " .. box.id:gsub("%p", "%%%0") .. " %(still ", r.out)
    assert.matches("last status", r.err)
    assert(emu:configure{ transitions = { instances = { reset = false } } })
    assert(emu:set_status(box.id, "active", "instances"))
  end)

  it("create-snapshot, snapshots, snapshots clone and user-metadata", function()
    requests()
    local snap = json(cli{ "-o", "json", "instances", "create-snapshot", "box", "--name", "box-1" })
    assert.are.equal(box.id, snap.source_instance_id)
    assert.are.same({ name = "box-1" }, last_body("POST"))
    local page = json(cli{ "-o", "json", "instances", "snapshots", box.id })
    assert.are.equal(snap.id, page.snapshots[1].id)
    assert.matches("1 snapshot\n$", ok(cli{ "-o", "table", "instances", "snapshots", "box" }).out)

    requests()
    local copy = json(cli{ "-o", "json", "snapshots", "clone", snap.id, "--name", "box-copy", "--region", REGION })
    assert.are.equal("box-copy", copy.name)
    assert.are.same({ "POST /compute/v1/snapshots/" .. snap.id .. "/clone" }, requests())
    failed(cli{ "snapshots", "clone", snap.id, "--name", "c" }, 2, "%-%-region")

    local meta = json(cli{ "-o", "json", "instances", "user-metadata", "box" })
    assert.are.equal("table", type(meta))
  end)

  it("instances update by name sends a PATCH of the flags given; a protected one is not deleted", function()
    requests()
    assert.is_true(json(cli{ "-o", "json", "instances", "update", "box", "--is-protected", "true" }).is_protected)
    assert.are.same({ is_protected = true }, last_body("PATCH"))
    local r = failed(cli{ "-o", "table", "instances", "delete", "box" }, 1, "is protected")
    assert.are.equal("", r.out)
    assert.is_false(json(cli{ "-o", "json", "instances", "update", box.id, "--is-protected", "false" }).is_protected)
    failed(cli{ "instances", "update", "box", "--is-protected", "yes" }, 2, "must be one of 'true', 'false'")
  end)

  it("instances --help names every command made from the definition", function()
    local out = ok(cli{ "instances", "--help" }).out
    local commands = { "start", "stop", "reset", "actions", "snapshots", "create%-snapshot", "user%-metadata" }
    for _, command in ipairs(commands) do
      assert.matches("\n   " .. command .. " ", out)
    end
    assert.matches("%-%-size SIZE", ok(cli{ "filesystems", "resize", "--help" }).out)
  end)

  it("quotas and reservations list (one request each, no pages)", function()
    requests()
    local quotas = json(cli{ "-o", "json", "quotas", "list" })
    assert.are.equal("table", type(quotas.quotas))
    assert.is_true(#quotas.quotas > 0)
    assert.are.equal("table", type(json(cli{ "-o", "json", "reservations", "list" }).reservations))
    assert.are.same({ "GET /compute/v1/quotas", "GET /compute/v1/reservations" }, requests())
    failed(cli{ "quotas", "list", "--page", "2" }, 2, "unknown option '%-%-page'")
  end)

  it("a bad flag on an action is a usage error, nothing sent", function()
    requests()
    failed(cli{ "instances", "stop", "box", "--force" }, 2, "unknown option '%-%-force'")
    failed(cli{ "instances", "stop", "box", "--wait-timeout", "soon" }, 2, "%-%-wait%-timeout must be")
    failed(cli{ "instances", "start" }, 2, "missing argument")
    assert.are.same({}, requests())
  end)
end)
