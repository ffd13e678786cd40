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
      sources = { "src/core.c", "src/client.c", "src/buffer.c", "src/multi.c", "src/transfer.c",
                  "src/json_decode.c", "src/url.c" },
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
    ["genesiscloud.emulator.hostile"] = "lua/genesiscloud/emulator/hostile.lua",
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

-- `luarocks test [spec files]`: busted, run by scripts/luarocks-test.lua in
-- the Lua that LuaRocks targets (in-process, not as a rock: Debian's busted
-- is an apt package, and the "busted" test type would install a busted rock
-- from a rocks server). It tests lua/ of the checkout with the C core that
-- `luarocks make` or `make build` built; it builds and installs nothing.
test = {
  type = "command",
  script = "scripts/luarocks-test.lua",
}
