-- A plain `luarocks` command in the checkout targets Lua 5.4 (Debian's
-- luarocks defaults to 5.1); --lua-version=5.1 etc. still choose another.
return "5.4"
