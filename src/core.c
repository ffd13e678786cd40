/*
 * genesiscloud.core: the C half of the module. It holds the HTTP client
 * (client.c) and a few helpers that are faster or only possible in C.
 * Nothing here sets a global; the only process-wide state is libcurl's
 * one-time initialisation.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "compat.h"
#include "json_decode.h"

#define GC_VERSION "0.1.0"
#define GC_MAX_DEPTH 1000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void init_curl(void) {
  curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

/* RFC 3986's unreserved characters: A-Z a-z 0-9 - . _ ~ */
static int is_unreserved(unsigned char ch) {
  static const unsigned char unreserved[256] = {
      ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1,
      ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
      ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
      ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
      ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
      ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
      ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,
      ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
      ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
      ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
      ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};
  return unreserved[ch];
}

/* core.escape(s): percent-encodes everything but RFC 3986's unreserved
 * characters, so an id can never add a path segment or a query. An id
 * that needs nothing (the usual UUID) is returned as it is. */
static int core_escape(lua_State *L) {
  static const char hex[] = "0123456789ABCDEF";
  size_t len, i = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  while (i < len && is_unreserved((unsigned char)s[i]))
    i++;
  if (i == len) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, s, i);
  for (; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (is_unreserved(ch)) {
      luaL_addchar(&b, (char)ch);
    } else {
      luaL_addchar(&b, '%');
      luaL_addchar(&b, hex[ch >> 4]);
      luaL_addchar(&b, hex[ch & 15]);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

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

/* core.clean(value) -> value (tables are changed in place). */
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

/* core.now() -> seconds from a monotonic clock (never jumps with NTP). */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep(seconds): sleeps the whole time even when signals arrive. */
static int core_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  struct timespec req, rem;
  if (!(seconds > 0))
    return 0;
  if (seconds > 86400)
    seconds = 86400;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - (lua_Number)req.tv_sec) * 1e9);
  while (nanosleep(&req, &rem) != 0 && errno == EINTR)
    req = rem;
  return 0;
}

int luaopen_genesiscloud_core(lua_State *L) {
  static const luaL_Reg functions[] = {
      {"new", gc_client_new},      {"escape", core_escape},
      {"clean", core_clean},       {"now", core_now},
      {"sleep", core_sleep},       {"decode", gc_json_decode},
      {"parse_url", gc_parse_url}, {NULL, NULL}};
  pthread_once(&curl_once, init_curl);
  if (curl_init_result != CURLE_OK)
    return luaL_error(L, "libcurl failed to initialise: %s",
                      curl_easy_strerror(curl_init_result));
  lua_newtable(L);
  gc_setfuncs(L, functions);
  gc_client_open(L);
  lua_setfield(L, -2, "client_methods");
  lua_pushinteger(L, GC_API_JSON_DEPTH);
  lua_setfield(L, -2, "json_max_depth");
  gc_json_push_nulls_mark(L);
  lua_setfield(L, -2, "list_with_nulls");
  lua_pushliteral(L, GC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
