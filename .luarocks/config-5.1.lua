-- LuaRocks reads this file for any command run inside the checkout (the
-- checkout is a LuaRocks project: it has .luarocks/ and lua_modules/), so
-- `luarocks make --tree <dir>` works here as written on Debian 12.
-- The same settings are in .luarocks/config-5.1.lua .. config-5.4.lua.

-- Debian keeps curl/curl.h in the multiarch include directory
-- (/usr/include/x86_64-linux-gnu), which LuaRocks 3.8 does not search.
external_deps_subdirs = {
  include = { "include", "include/" .. target_cpu .. "-linux-gnu" },
}

-- What the rock needs beyond libcurl comes from Debian as apt packages, not
-- from a rocks server, so it is declared here as installed (the rockspec
-- still lists every dependency, for users elsewhere):
--   apt-get install lua-cjson lua-argparse lua-http lua-cqueues lua-luaossl
-- (make deps installs them; lua-busted is for `luarocks test`). Debian 12
-- installs lua-http (and its basexx and fifo) for Lua 5.1-5.3 only; its
-- files work on 5.4, and genesiscloud.emulator adds Debian's 5.1 tree to
-- package.path when, and only when, it cannot find lua-http otherwise.
-- The versions are Debian 12's.
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1",
  ["argparse"] = "0.7.1-1",
  ["http"] = "0.4-0",
  ["cqueues"] = "20200726-0",
  ["luaossl"] = "20220711-0",
  ["busted"] = "2.1.1-1",
}
