rockspec_format = "3.0"
package = "genesiscloud"
version = "0.1.0-1"

source = {
  url = "git+https://github.com/lua-genesiscloud/lua-genesiscloud.git",
  tag = "v0.1.0",
}

description = {
  summary = "Genesis Cloud compute API client: C core over libcurl, pure-Lua layer, local emulator",
  detailed = [[
    Security groups on the Genesis Cloud compute API: create, update, list,
    get and delete, with rule builders, validation before sending,
    pagination iterators, waiting and declarative ensure, plus a local
    in-memory emulator of the API for testing automation.
  ]],
  homepage = "https://github.com/lua-genesiscloud/lua-genesiscloud",
  license = "MIT",
}

-- One rock for the library, its command-line tool and its emulator (see
-- README "Install"): the library needs lua-cjson (and libcurl, below); the
-- CLI adds argparse; the emulator, which runs on Lua 5.3+, adds lua-http,
-- cqueues and luaossl. On Debian these are apt packages, declared as
-- provided in .luarocks/config-5.x.lua, so LuaRocks takes them as installed.
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
  "argparse",
  "http",
  "cqueues",
  "luaossl",
}

-- `luarocks test` runs busted (provided by Debian's lua-busted, see
-- .luarocks/config-5.x.lua); the specs' servers use lua-http, above.
test_dependencies = {
  "busted",
}

external_dependencies = {
  CURL = { header = "curl/curl.h" },
}

build = {
  type = "builtin",
  modules = {
    ["genesiscloud.core"] = {
      sources = { "src/core.c", "src/client.c", "src/buffer.c", "src/multi.c", "src/multi_watch.c",
                  "src/transfer.c", "src/json_decode.c", "src/url.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "pthread" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["genesiscloud"] = "lua/genesiscloud/init.lua",
    ["genesiscloud.client"] = "lua/genesiscloud/client.lua",
    ["genesiscloud.clock"] = "lua/genesiscloud/clock.lua",
    ["genesiscloud.errors"] = "lua/genesiscloud/errors.lua",
    ["genesiscloud.json"] = "lua/genesiscloud/json.lua",
    ["genesiscloud.loop.cqueues"] = "lua/genesiscloud/loop/cqueues.lua",
    ["genesiscloud.loop.luv"] = "lua/genesiscloud/loop/luv.lua",
    ["genesiscloud.options"] = "lua/genesiscloud/options.lua",
    ["genesiscloud.request"] = "lua/genesiscloud/request.lua",
    ["genesiscloud.retry"] = "lua/genesiscloud/retry.lua",
    ["genesiscloud.rules"] = "lua/genesiscloud/rules.lua",
    ["genesiscloud.validate"] = "lua/genesiscloud/validate.lua",
    ["genesiscloud.emulator"] = "lua/genesiscloud/emulator/init.lua",
    ["genesiscloud.emulator.app"] = "lua/genesiscloud/emulator/app.lua",
    ["genesiscloud.emulator.api_version"] = "lua/genesiscloud/emulator/api_version.lua",
    ["genesiscloud.http.transfer"] = "lua/genesiscloud/http/transfer.lua",
    ["genesiscloud.loop.driver"] = "lua/genesiscloud/loop/driver.lua",
    ["genesiscloud.loop.loop_transfer"] = "lua/genesiscloud/loop/loop_transfer.lua",
    ["genesiscloud.loop.task"] = "lua/genesiscloud/loop/task.lua",
    ["genesiscloud.resources"] = "lua/genesiscloud/resources/init.lua",
    ["genesiscloud.resources.filesystems"] = "lua/genesiscloud/resources/filesystems.lua",
    ["genesiscloud.resources.floating_ips"] = "lua/genesiscloud/resources/floating_ips.lua",
    ["genesiscloud.resources.grow_only"] = "lua/genesiscloud/resources/grow_only.lua",
    ["genesiscloud.resources.instances"] = "lua/genesiscloud/resources/instances/init.lua",
    ["genesiscloud.resources.instances.instance_checks"] = "lua/genesiscloud/resources/instances/instance_checks.lua",
    ["genesiscloud.resources.quotas"] = "lua/genesiscloud/resources/quotas.lua",
    ["genesiscloud.resources.reservations"] = "lua/genesiscloud/resources/reservations.lua",
    ["genesiscloud.resources.snapshots"] = "lua/genesiscloud/resources/snapshots.lua",
    ["genesiscloud.resources.volumes"] = "lua/genesiscloud/resources/volumes.lua",
    ["genesiscloud.resources.security_groups"] = "lua/genesiscloud/resources/security_groups/init.lua",
    ["genesiscloud.resources.security_groups.plan"] = "lua/genesiscloud/resources/security_groups/plan.lua",
    ["genesiscloud.resources.security_groups.group_checks"] =
      "lua/genesiscloud/resources/security_groups/group_checks.lua",
    ["genesiscloud.resources.ssh_keys"] = "lua/genesiscloud/resources/ssh_keys.lua",
    ["genesiscloud.resources.images"] = "lua/genesiscloud/resources/images.lua",
    ["genesiscloud.resources.availability"] = "lua/genesiscloud/resources/availability.lua",
    ["genesiscloud.service.aliases"] = "lua/genesiscloud/service/aliases.lua",
    ["genesiscloud.service.arguments"] = "lua/genesiscloud/service/arguments.lua",
    ["genesiscloud.service.bulk"] = "lua/genesiscloud/service/bulk.lua",
    ["genesiscloud.service.calls"] = "lua/genesiscloud/service/calls.lua",
    ["genesiscloud.service.create"] = "lua/genesiscloud/service/create.lua",
    ["genesiscloud.service.ensure"] = "lua/genesiscloud/service/ensure.lua",
    ["genesiscloud.service.fields"] = "lua/genesiscloud/service/fields.lua",
    ["genesiscloud.service.operation"] = "lua/genesiscloud/service/operation.lua",
    ["genesiscloud.service.paginate"] = "lua/genesiscloud/service/paginate.lua",
    ["genesiscloud.service.service"] = "lua/genesiscloud/service/service.lua",
    ["genesiscloud.service.wait"] = "lua/genesiscloud/service/wait.lua",
    ["genesiscloud.emulator.faults"] = "lua/genesiscloud/emulator/faults.lua",
    ["genesiscloud.emulator.heap"] = "lua/genesiscloud/emulator/heap.lua",
    ["genesiscloud.emulator.hostile"] = "lua/genesiscloud/emulator/hostile.lua",
    ["genesiscloud.emulator.reply"] = "lua/genesiscloud/emulator/reply.lua",
    ["genesiscloud.emulator.request_checks"] = "lua/genesiscloud/emulator/request_checks.lua",
    ["genesiscloud.emulator.request_log"] = "lua/genesiscloud/emulator/request_log.lua",
    ["genesiscloud.emulator.collection"] = "lua/genesiscloud/emulator/collection.lua",
    ["genesiscloud.emulator.control"] = "lua/genesiscloud/emulator/control.lua",
    ["genesiscloud.emulator.kinds"] = "lua/genesiscloud/emulator/kinds.lua",
    ["genesiscloud.emulator.object_routes"] = "lua/genesiscloud/emulator/object_routes.lua",
    ["genesiscloud.emulator.behaviours"] = "lua/genesiscloud/emulator/behaviours/init.lua",
    ["genesiscloud.emulator.behaviours.availability_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/availability_behaviour.lua",
    ["genesiscloud.emulator.behaviours.images_behaviour"] = "lua/genesiscloud/emulator/behaviours/images_behaviour.lua",
    ["genesiscloud.emulator.behaviours.security_groups_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/security_groups_behaviour.lua",
    ["genesiscloud.emulator.behaviours.ssh_keys_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/ssh_keys_behaviour.lua",
    ["genesiscloud.emulator.behaviours.instances_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/instances_behaviour.lua",
    ["genesiscloud.emulator.behaviours.instance_links"] =
      "lua/genesiscloud/emulator/behaviours/instance_links.lua",
    ["genesiscloud.emulator.behaviours.volumes_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/volumes_behaviour.lua",
    ["genesiscloud.emulator.behaviours.snapshots_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/snapshots_behaviour.lua",
    ["genesiscloud.emulator.behaviours.floating_ips_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/floating_ips_behaviour.lua",
    ["genesiscloud.emulator.behaviours.filesystems_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/filesystems_behaviour.lua",
    ["genesiscloud.emulator.behaviours.quotas_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/quotas_behaviour.lua",
    ["genesiscloud.emulator.behaviours.reservations_behaviour"] =
      "lua/genesiscloud/emulator/behaviours/reservations_behaviour.lua",
    ["genesiscloud.emulator.behaviours.field_checks"] =
      "lua/genesiscloud/emulator/behaviours/field_checks.lua",
    ["genesiscloud.emulator.ssh_public_key"] = "lua/genesiscloud/emulator/ssh_public_key.lua",
    ["genesiscloud.emulator.timestamps"] = "lua/genesiscloud/emulator/timestamps.lua",
    ["genesiscloud.emulator.transitions"] = "lua/genesiscloud/emulator/transitions.lua",
    ["genesiscloud.emulator.router"] = "lua/genesiscloud/emulator/router.lua",
    ["genesiscloud.emulator.server"] = "lua/genesiscloud/emulator/server.lua",
    ["genesiscloud.emulator.store"] = "lua/genesiscloud/emulator/store.lua",
    ["genesiscloud.emulator.wire_json"] = "lua/genesiscloud/emulator/wire_json.lua",
    ["genesiscloud.cli.config"] = "lua/genesiscloud/cli/config.lua",
    ["genesiscloud.cli.fail"] = "lua/genesiscloud/cli/fail.lua",
    ["genesiscloud.cli.flags"] = "lua/genesiscloud/cli/flags.lua",
    ["genesiscloud.cli.main"] = "lua/genesiscloud/cli/main.lua",
    ["genesiscloud.cli.output"] = "lua/genesiscloud/cli/output.lua",
    ["genesiscloud.cli.parser"] = "lua/genesiscloud/cli/parser.lua",
    ["genesiscloud.cli.commands.emulator_passthrough"] = "lua/genesiscloud/cli/commands/emulator_passthrough.lua",
    ["genesiscloud.cli.commands.resource"] = "lua/genesiscloud/cli/commands/resource.lua",
    ["genesiscloud.cli.commands.resource_calls"] = "lua/genesiscloud/cli/commands/resource_calls.lua",
    ["genesiscloud.cli.commands.sg"] = "lua/genesiscloud/cli/commands/sg.lua",
    ["genesiscloud.cli.commands.sg_apply"] = "lua/genesiscloud/cli/commands/sg_apply.lua",
    ["genesiscloud.cli.commands.sg_apply_file"] = "lua/genesiscloud/cli/commands/sg_apply_file.lua",
  },
  install = {
    bin = { "bin/genesiscloud", "bin/genesiscloud-emulator" },
  },
  copy_directories = { "docs", "examples" },
}

-- `luarocks test [spec files]`: busted, run by scripts/luarocks-test.lua in
-- the Lua that LuaRocks targets (in-process, not as a rock: Debian's busted
-- is an apt package, and the "busted" test type would install a busted rock
-- from a rocks server). It tests lua/ of the checkout with the C core that
-- `luarocks make` or `make build` built; it builds and installs nothing.
test = {
  type = "command",
  script = "scripts/luarocks-test.lua",
}
