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

dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}

external_dependencies = {
  CURL = { header = "curl/curl.h" },
}

build = {
  type = "builtin",
  modules = {
    ["genesiscloud.core"] = {
      sources = { "src/core.c", "src/client.c", "src/buffer.c", "src/multi.c", "src/json_decode.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "pthread" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["genesiscloud"] = "lua/genesiscloud/init.lua",
    ["genesiscloud.client"] = "lua/genesiscloud/client.lua",
    ["genesiscloud.clock"] = "lua/genesiscloud/clock.lua",
    ["genesiscloud.ensure"] = "lua/genesiscloud/ensure.lua",
    ["genesiscloud.errors"] = "lua/genesiscloud/errors.lua",
    ["genesiscloud.json"] = "lua/genesiscloud/json.lua",
    ["genesiscloud.options"] = "lua/genesiscloud/options.lua",
    ["genesiscloud.paginate"] = "lua/genesiscloud/paginate.lua",
    ["genesiscloud.request"] = "lua/genesiscloud/request.lua",
    ["genesiscloud.resource"] = "lua/genesiscloud/resource.lua",
    ["genesiscloud.retry"] = "lua/genesiscloud/retry.lua",
    ["genesiscloud.rules"] = "lua/genesiscloud/rules.lua",
    ["genesiscloud.security_group_plan"] = "lua/genesiscloud/security_group_plan.lua",
    ["genesiscloud.security_groups"] = "lua/genesiscloud/security_groups.lua",
    ["genesiscloud.state"] = "lua/genesiscloud/state.lua",
    ["genesiscloud.validate"] = "lua/genesiscloud/validate.lua",
    ["genesiscloud.wait"] = "lua/genesiscloud/wait.lua",
    ["genesiscloud.emulator"] = "lua/genesiscloud/emulator.lua",
    ["genesiscloud.emulator.faults"] = "lua/genesiscloud/emulator/faults.lua",
    ["genesiscloud.emulator.json"] = "lua/genesiscloud/emulator/json.lua",
    ["genesiscloud.emulator.router"] = "lua/genesiscloud/emulator/router.lua",
    ["genesiscloud.emulator.validate"] = "lua/genesiscloud/emulator/validate.lua",
    ["genesiscloud.emulator.store"] = "lua/genesiscloud/emulator/store.lua",
    ["genesiscloud.emulator.heap"] = "lua/genesiscloud/emulator/heap.lua",
    ["genesiscloud.emulator.request_log"] = "lua/genesiscloud/emulator/request_log.lua",
    ["genesiscloud.emulator.reply"] = "lua/genesiscloud/emulator/reply.lua",
    ["genesiscloud.emulator.security_groups"] = "lua/genesiscloud/emulator/security_groups.lua",
    ["genesiscloud.emulator.state"] = "lua/genesiscloud/emulator/state.lua",
    ["genesiscloud.emulator.server"] = "lua/genesiscloud/emulator/server.lua",
    ["genesiscloud.cli.apply"] = "lua/genesiscloud/cli/apply.lua",
    ["genesiscloud.cli.apply_file"] = "lua/genesiscloud/cli/apply_file.lua",
    ["genesiscloud.cli.config"] = "lua/genesiscloud/cli/config.lua",
    ["genesiscloud.cli.emulator"] = "lua/genesiscloud/cli/emulator.lua",
    ["genesiscloud.cli.fail"] = "lua/genesiscloud/cli/fail.lua",
    ["genesiscloud.cli.main"] = "lua/genesiscloud/cli/main.lua",
    ["genesiscloud.cli.output"] = "lua/genesiscloud/cli/output.lua",
    ["genesiscloud.cli.parser"] = "lua/genesiscloud/cli/parser.lua",
    ["genesiscloud.cli.sg"] = "lua/genesiscloud/cli/sg.lua",
  },
  install = {
    bin = { "bin/genesiscloud", "bin/genesiscloud-emulator" },
  },
  copy_directories = { "docs", "examples" },
}

-- Debian's busted is not a rock, and LuaRocks' "busted" test type needs one:
-- `luarocks test` runs the busted suite through this script instead.
test = {
  type = "command",
  script = "scripts/luarocks-test.lua",
}
