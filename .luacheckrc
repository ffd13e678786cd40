-- luacheck configuration (Penlight's shape): library code is strict, specs
-- know busted's globals.
std = "max"
max_line_length = 120
include_files = {
  "lua/**/*.lua", "bin/*", "spec/**/*.lua", "examples/**/*.lua", "*.rockspec", ".busted", ".luacheckrc",
}
exclude_files = { "tools", "build" }

files["spec"] = { std = "+busted" }
files["bin"] = { std = "max" }
-- Neovim's Lua: the plugin example and the script the loop hosts spec runs in it.
files["examples/nvim"] = { globals = { "vim" } }
files["spec/support/nvim_scenario.lua"] = { globals = { "vim" } }
