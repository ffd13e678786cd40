-- LuaRocks reads this file for any command run inside the checkout (the
-- checkout is a LuaRocks project: it has .luarocks/ and lua_modules/), so
-- `luarocks make --tree <dir>` works here as written on Debian 12.
-- The same settings are in .luarocks/config-5.1.lua .. config-5.4.lua.

-- Debian keeps curl/curl.h in the multiarch include directory
-- (/usr/include/x86_64-linux-gnu), which LuaRocks 3.8 does not search.
external_deps_subdirs = {
  include = { "include", "include/" .. target_cpu .. "-linux-gnu" },
}

-- lua-cjson comes from Debian (apt-get install lua-cjson), not from a rocks
-- server: take it as installed. Debian's is the original 2.1.0.
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1",
}
