/*
 * The endpoint as libcurl reads it. Which host a request goes to is
 * libcurl's decision, made by its own URL parser; checking the endpoint
 * with any other parser (a pattern in Lua, say) can disagree with it:
 * "http://vm:1#@127.0.0.1/" is host "vm" to libcurl. So the checks use
 * libcurl's parser (curl_url, 7.62 on) and what it answers.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The flags libcurl itself parses a transfer's URL with. */
#define GC_URL_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

#if LIBCURL_VERSION_NUM >= 0x073e00 /* 7.62.0: curl_url */
#define GC_HAVE_URL_API 1
#endif

#ifdef GC_HAVE_URL_API
static const char *url_error(CURLUcode rc) {
#if LIBCURL_VERSION_NUM >= 0x075000 /* 7.80.0 */
  return curl_url_strerror(rc);
#else
  (void)rc;
  return "libcurl cannot parse it";
#endif
}

/* Whether `part` of u is there, even empty ("http://h/p#"). */
static int has_part(CURLU *u, CURLUPart part) {
  char *s = NULL;
  int has = curl_url_get(u, part, &s, 0) == CURLUE_OK && s != NULL;
  curl_free(s);
  return has;
}
#endif

const char *gc_endpoint_problem(const char *url) {
#ifdef GC_HAVE_URL_API
  static const struct {
    CURLUPart part;
    const char *why;
  } refused[] = {
      {CURLUPART_USER, "the endpoint must not hold user information (user@)"},
      {CURLUPART_PASSWORD,
       "the endpoint must not hold user information (user@)"},
      {CURLUPART_OPTIONS,
       "the endpoint must not hold user information (user@)"},
      {CURLUPART_QUERY, "the endpoint must not have a query (?...)"},
      {CURLUPART_FRAGMENT, "the endpoint must not have a fragment (#...)"},
  };
  size_t i;
  const char *why = NULL;
  CURLU *u;
  /* Any '?' or '#' starts a query or a fragment, even an empty one that
   * curl_url forgets ("http://h/v1#"), and the paths appended to the
   * endpoint would land in it. */
  const char *mark = strpbrk(url, "?#");
  if (mark != NULL)
    return *mark == '?' ? refused[3].why : refused[4].why;
  u = curl_url();
  if (u == NULL)
    return "out of memory";
  if (curl_url_set(u, CURLUPART_URL, url, GC_URL_FLAGS) != CURLUE_OK)
    why = "the endpoint is not a URL libcurl can use";
  for (i = 0; why == NULL && i < sizeof refused / sizeof refused[0]; i++)
    if (has_part(u, refused[i].part))
      why = refused[i].why;
  curl_url_cleanup(u);
  return why;
#else
  (void)url;
  return NULL;
#endif
}

/* What parse_url holds from libcurl, in a userdata whose __gc frees it, so
 * that a Lua memory error while building the table leaks nothing. */
typedef struct url_parse {
  CURLU *u;
  char *part; /* the part being copied to Lua */
} url_parse;

static void url_parse_gc_now(url_parse *p) {
  curl_free(p->part);
  p->part = NULL;
  curl_url_cleanup(p->u);
  p->u = NULL;
}

static int url_parse_gc(lua_State *L) {
  url_parse_gc_now(lua_touserdata(L, 1));
  return 0;
}

/* core.parse_url(url) -> { scheme=, host=, port=, path=, user=, password=,
 * options=, query=, fragment=, zoneid= } (absent parts absent; host as
 * libcurl will connect to it: IPv4 forms normalised to dotted quads,
 * IPv6 in brackets, percent-escapes decoded), or nil, message. */
int gc_parse_url(lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
#ifdef GC_HAVE_URL_API
  static const struct {
    CURLUPart part;
    const char *name;
  } parts[] = {
      {CURLUPART_SCHEME, "scheme"},     {CURLUPART_USER, "user"},
      {CURLUPART_PASSWORD, "password"}, {CURLUPART_OPTIONS, "options"},
      {CURLUPART_HOST, "host"},         {CURLUPART_ZONEID, "zoneid"},
      {CURLUPART_PORT, "port"},         {CURLUPART_PATH, "path"},
      {CURLUPART_QUERY, "query"},       {CURLUPART_FRAGMENT, "fragment"}};
  size_t i;
  CURLUcode rc;
  url_parse *p = gc_newuserdata(L, sizeof *p);
  p->u = NULL;
  p->part = NULL;
  if (luaL_newmetatable(L, "genesiscloud.url_parse")) {
    lua_pushcfunction(L, url_parse_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_createtable(L, 0, 6);
  p->u = curl_url();
  if (p->u == NULL)
    return luaL_error(L, "out of memory");
  rc = curl_url_set(p->u, CURLUPART_URL, url, GC_URL_FLAGS);
  if (rc != CURLUE_OK) {
    url_parse_gc_now(p);
    lua_pushnil(L);
    lua_pushstring(L, url_error(rc));
    return 2;
  }
  for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (curl_url_get(p->u, parts[i].part, &p->part, 0) == CURLUE_OK &&
        p->part != NULL) {
      if (parts[i].part == CURLUPART_PORT)
        lua_pushinteger(L, (lua_Integer)strtol(p->part, NULL, 10));
      else
        lua_pushstring(L, p->part);
      lua_setfield(L, -2, parts[i].name);
    }
    curl_free(p->part);
    p->part = NULL;
  }
  url_parse_gc_now(p);
  return 1;
#else
  lua_pushnil(L);
  lua_pushfstring(L, "libcurl %s cannot parse URLs (7.62 or later needed)",
                  curl_version_info(CURLVERSION_NOW)->version);
  (void)url;
  return 2;
#endif
}
