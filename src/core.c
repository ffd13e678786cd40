/*
 * genesiscloud.core: the C half of the module. It holds the HTTP client
 * (client.c, multi.c, transfer.c; internal.h says who provides what) and
 * a few helpers that are faster or only possible in C.
 * Nothing here sets a global; the only process-wide state is libcurl's
 * one-time initialisation.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "internal.h"
#include "json_decode.h"

#define GC_VERSION "0.1.0"

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
  static const luaL_Reg functions[] = {{"new", gc_client_new},
                                       {"escape", core_escape},
                                       {"now", core_now},
                                       {"sleep", core_sleep},
                                       {"decode", gc_json_decode},
                                       {"parse_url", gc_parse_url},
                                       {NULL, NULL}};
  pthread_once(&curl_once, init_curl);
  if (curl_init_result != CURLE_OK)
    return luaL_error(L, "libcurl failed to initialise: %s",
                      curl_easy_strerror(curl_init_result));
  lua_newtable(L);
  gc_setfuncs(L, functions);
  gc_client_open(L);
  gc_multi_register(L); /* one methods table for single and concurrent */
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
