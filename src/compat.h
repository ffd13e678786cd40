/*
 * One small header that hides the differences between Lua 5.1, 5.2, 5.3,
 * 5.4 and LuaJIT, so the rest of the C core is written once against the
 * 5.4 API.
 */
#ifndef GENESISCLOUD_COMPAT_H
#define GENESISCLOUD_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM < 502
#define gc_setfuncs(L, l) luaL_register((L), NULL, (l))
#define gc_rawlen(L, i) lua_objlen((L), (i))
#else
#define gc_setfuncs(L, l) luaL_setfuncs((L), (l), 0)
#define gc_rawlen(L, i) lua_rawlen((L), (i))
#endif

#if LUA_VERSION_NUM >= 504
#define gc_newuserdata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define gc_newuserdata(L, size) lua_newuserdata((L), (size))
#endif

#if LUA_VERSION_NUM < 502
#define luaL_setmetatable(L, tname)                                            \
  (luaL_getmetatable((L), (tname)), lua_setmetatable((L), -2))
#endif

/* luaL_testudata arrived in 5.2. */
#if LUA_VERSION_NUM < 502
static inline void *gc_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx))
    return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2))
    p = NULL;
  lua_pop(L, 2);
  return p;
}
#else
#define gc_testudata(L, idx, tname) luaL_testudata((L), (idx), (tname))
#endif

/* Registry entries keyed by a C address, which needs no string lookup. */
#if LUA_VERSION_NUM < 502
#define gc_rawgetp(L, idx, p)                                                  \
  (lua_pushlightuserdata((L), (void *)(p)), lua_rawget((L), (idx)))
#define gc_rawsetp(L, idx, p)                                                  \
  (lua_pushlightuserdata((L), (void *)(p)), lua_insert((L), -2),               \
   lua_rawset((L), (idx)))
#else
#define gc_rawgetp(L, idx, p) lua_rawgetp((L), (idx), (p))
#define gc_rawsetp(L, idx, p) lua_rawsetp((L), (idx), (p))
#endif

/* Integers exist from 5.3 on; before that every number is a double. */
#if LUA_VERSION_NUM >= 503
#define GC_HAVE_INTEGERS 1
#else
#define GC_HAVE_INTEGERS 0
#endif

#endif
