-- The generic commands with the library's own registry and services:
-- bin/genesiscloud as a separate process against the emulator (SSH keys,
-- images, availability), whose request log shows what was sent. (Security
-- groups: cli_spec.lua.)
local helper = require "helper"
local cjson = require("cjson.safe").new()

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

describe("genesiscloud commands of the registry's resources", function()
  local emu, endpoint
  local key_file = os.tmpname()
  local KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPe+FlnGEtg0rb07b1B8ZNDlGZ+w0MmLLT3+oPMHAl+C me@host"

  setup(function()
    emu = helper.start_emulator{ token = "t" }
    endpoint = emu.endpoint
    local f = assert(io.open(key_file, "w"))
    f:write(KEY, "\n")
    f:close()
  end)

  teardown(function()
    if emu then emu:stop() end
    os.remove(key_file)
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

  -- The requests the emulator saw since the last call, "METHOD raw path" each.
  local function requests()
    local new = {}
    for i, entry in ipairs(assert(emu:requests())) do new[i] = entry.method .. " " .. entry.raw_path end
    assert(emu:clear_requests())
    return new
  end

  it("ssh-keys: create from a file, list, get, update and delete by name", function()
    requests()
    local key = json(cli{ "-o", "json", "ssh-keys", "create", "--name", "laptop", "--value", "@" .. key_file })
    assert.are.equal(KEY, key.value)
    local log = requests()
    assert.are.equal("POST /compute/v1/ssh-keys", log[#log])

    local page = json(cli{ "-o", "json", "ssh-keys", "list" })
    assert.are.equal(1, page.total_count)
    assert.are.equal(key.id, page.ssh_keys[1].id)

    local shown = ok(cli{ "-o", "table", "ssh-keys", "get", "laptop" }).out
    assert.matches("^id%s+" .. key.id:gsub("%p", "%%%0") .. "\nname%s+laptop\n", shown)
    requests()
    assert.are.equal("desk", json(cli{ "-o", "json", "ssh-keys", "update", "laptop", "--name", "desk" }).name)
    log = requests()
    -- the name is no id (404), then found by name, then the update by id (PUT: every field the
    -- resource can change is given)
    assert.are.equal("PUT /compute/v1/ssh-keys/" .. key.id, log[#log])

    assert.are.equal("deleted " .. key.id .. "\n", ok(cli{ "-o", "table", "ssh-keys", "delete", "desk" }).out)
    assert.are.equal(0, json(cli{ "-o", "json", "ssh-keys", "list" }).total_count)
  end)

  it("images list --type sends the filter", function()
    requests()
    local page = json(cli{ "-o", "json", "images", "list", "--type", "base-os" })
    assert.are.same({ "GET /compute/v1/images?page=1&per_page=50&type=base-os" }, requests())
    assert.are.equal(3, #page.images)
    assert.are.equal("Ubuntu 20.04", page.images[1].name)
  end)

  it("availability REGION shows the region's instance types", function()
    local r = ok(cli{ "-o", "table", "availability", "NORD-NO-KRS-1" })
    assert.matches("region%s+NORD%-NO%-KRS%-1\n", r.out)
    assert.matches("instance_types:\nAVAILABLE%s+COUNT%s+TYPE\ntrue%s+39%s+vcpu%-2_memory%-4g_disk%-80g\n", r.out)
    assert.matches("\nfalse%s+0%s+vcpu%-32_memory%-192g_disk%-80g_nvidia3090%-8\n$", r.out)
    assert.are.same({ "GET /compute/v1/availability/NORD-NO-KRS-1/instances" }, requests())
  end)
end)
