/*
 * genesiscloud.core_testing: C helpers the specs and the fuzz target use,
 * never shipped (the Makefile builds it into $(BUILD)/ beside the core;
 * the rockspec does not know it).
 *
 * clean(value): turns a value lua-cjson decoded into what core.decode
 * gives (cjson.null removed, whole-number floats made integers), so the
 * specs and the fuzzer can hold core.decode against cjson.
 */
#include "../compat.h"

#define GC_MAX_DEPTH 1000

/* cjson.null is a light userdata holding NULL. */
static int is_json_null(lua_State *L, int idx) {
  return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL;
}

/* Walks a decoded JSON value in place: removes cjson.null and turns
 * whole-number floats into integers (cjson 2.1.0 decodes 443 as 443.0).
 * Clearing or replacing existing fields during lua_next is allowed.
 * NOLINTNEXTLINE(misc-no-recursion): depth is capped at GC_MAX_DEPTH. */
static void clean_table(lua_State *L, int idx, int depth) {
  if (depth > GC_MAX_DEPTH)
    luaL_error(L, "JSON value nested deeper than %d levels", GC_MAX_DEPTH);
  luaL_checkstack(L, 4, "JSON value nested too deeply");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (is_json_null(L, -1)) {
      lua_pushvalue(L, -2);
      lua_pushnil(L);
      lua_rawset(L, idx);
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      clean_table(L, lua_gettop(L), depth + 1);
    }
#if GC_HAVE_INTEGERS
    else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      int isint = 0;
      lua_Integer n = lua_tointegerx(L, -1, &isint);
      if (isint) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, n);
        lua_rawset(L, idx);
      }
    }
#endif
    lua_pop(L, 1);
  }
}

/* clean(value) -> value (tables are changed in place). */
static int core_clean(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  if (lua_type(L, 1) == LUA_TTABLE)
    clean_table(L, 1, 1);
  else if (is_json_null(L, 1))
    lua_pushnil(L);
#if GC_HAVE_INTEGERS
  else if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
    /* a bare number ("443") is made an integer like one in a table */
    int isint = 0;
    lua_Integer n = lua_tointegerx(L, 1, &isint);
    if (isint)
      lua_pushinteger(L, n);
  }
#endif
  return 1;
}

int luaopen_genesiscloud_core_testing(lua_State *L) {
  static const luaL_Reg functions[] = {{"clean", core_clean}, {NULL, NULL}};
  lua_newtable(L);
  gc_setfuncs(L, functions);
  return 1;
}
