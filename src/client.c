/*
 * The client userdata: one libcurl easy handle, reused for every request so
 * the connection, DNS cache and TLS session are kept alive. The handle knows
 * HTTP only; JSON errors, retries and resources live in the Lua layer. What
 * a transfer shares with the concurrent ones (multi.c) is in transfer.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static char *copy_string(const char *s, size_t len) {
  char *copy = malloc(len + 1);
  if (copy != NULL) {
    memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

/* Overwrites a secret before its memory goes back to the allocator. */
static void free_secret(char *secret) {
  if (secret != NULL) {
    volatile char *p = secret;
    while (*p)
      *p++ = '\0';
    free(secret);
  }
}

static void client_release(gc_client *c) {
  /* Every easy handle leaves the share before the share goes. */
  if (c->multi != NULL) {
    c->multi_free(c->multi);
    c->multi = NULL;
  }
  if (c->curl != NULL) {
    curl_easy_cleanup(c->curl);
    c->curl = NULL;
  }
  if (c->share != NULL) {
    curl_share_cleanup(c->share);
    c->share = NULL;
  }
  curl_slist_free_all(c->headers_plain);
  c->headers_plain = NULL;
  curl_slist_free_all(c->headers_body);
  c->headers_body = NULL;
  free(c->endpoint);
  c->endpoint = NULL;
  free_secret(c->auth_header);
  c->auth_header = NULL;
  free(c->user_agent_header);
  c->user_agent_header = NULL;
  free(c->cafile);
  c->cafile = NULL;
  free(c->capath);
  c->capath = NULL;
  gc_buffer_free(&c->body);
  gc_buffer_free(&c->headers);
  gc_buffer_free(&c->url);
  gc_buffer_free(&c->easy_state.url);
}

/* ---- options --------------------------------------------------------- */

/* Reads opts[name] as a string; NULL when absent. Raises on a wrong type. */
static const char *opt_string(lua_State *L, const char *name, size_t *len) {
  const char *s = NULL;
  lua_getfield(L, 1, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "option '%s' must be a string", name);
    s = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1); /* still referenced by the options table */
  return s;
}

/* Reads opts[name], a whole number from min to max: the Lua layer's
 * option schema has checked it and made it the unit C uses, so there is
 * no default here and anything else is a bug in the caller. Read as a
 * double, which holds every value allowed exactly, on every Lua. */
static double opt_whole(lua_State *L, const char *name, double min,
                        double max) {
  double v;
  lua_getfield(L, 1, name);
  if (lua_isnil(L, -1))
    luaL_error(L, "core.new: missing %s", name);
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "core.new: %s must be a number", name);
  v = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= min && v <= max) || v != (double)(long)v)
    luaL_error(L, "core.new: %s must be a whole number from %.0f to %.0f", name,
               min, max);
  return v;
}

static char *header_line(const char *prefix, const char *value, size_t len) {
  size_t plen = strlen(prefix);
  char *line = malloc(plen + len + 1);
  if (line != NULL) {
    memcpy(line, prefix, plen);
    memcpy(line + plen, value, len);
    line[plen + len] = '\0';
  }
  return line;
}

/* The request header list; NULL when out of memory. User-Agent and
 * Accept-Encoding are ours rather than libcurl's options: libcurl formats
 * those two afresh for every request, which cost more than a tenth of a
 * small GET (CURLOPT_ACCEPT_ENCODING stays set, so decoding stays on). */
static struct curl_slist *request_headers(const gc_client *c, int has_body) {
  struct curl_slist *list = NULL, *grown;
  int ok = 1;
#define ADD_HEADER(h)                                                          \
  do {                                                                         \
    if (ok && (grown = curl_slist_append(list, (h))) != NULL)                  \
      list = grown;                                                            \
    else                                                                       \
      ok = 0;                                                                  \
  } while (0)
  ADD_HEADER(c->auth_header);
  ADD_HEADER("Accept: application/json");
  if (gc_have_gzip())
    ADD_HEADER("Accept-Encoding: gzip");
  if (c->user_agent_header != NULL)
    ADD_HEADER(c->user_agent_header);
  if (has_body) {
    ADD_HEADER("Content-Type: application/json");
    /* No "Expect: 100-continue" round trip before bodies. */
    ADD_HEADER("Expect:");
  }
#undef ADD_HEADER
  if (!ok) {
    curl_slist_free_all(list);
    return NULL;
  }
  return list;
}

/* Both request header lists live as long as the client: every request uses
 * one of them as is. Returns 0 when out of memory (release frees them). */
static int make_header_lists(gc_client *c) {
  c->headers_plain = request_headers(c, 0);
  c->headers_body = request_headers(c, 1);
  return c->headers_plain != NULL && c->headers_body != NULL;
}

/* The string options, as given. */
typedef struct gc_strings {
  const char *token, *endpoint, *auth, *user_agent, *cafile, *capath;
  size_t token_len, endpoint_len, ua_len, cafile_len, capath_len;
} gc_strings;

static void read_strings(lua_State *L, gc_strings *o) {
  memset(o, 0, sizeof(*o));
  o->token = opt_string(L, "token", &o->token_len);
  o->endpoint = opt_string(L, "endpoint", &o->endpoint_len);
  o->auth = opt_string(L, "auth", NULL);
  o->user_agent = opt_string(L, "user_agent", &o->ua_len);
  o->cafile = opt_string(L, "cafile", &o->cafile_len);
  o->capath = opt_string(L, "capath", &o->capath_len);
}

/* What is wrong with the string options, or NULL. The token must never
 * reach a header with a line break in it, whoever made the options. */
static const char *strings_problem(const gc_strings *o) {
  if (o->token == NULL || o->token_len == 0)
    return "no token given";
  if (gc_has_control_chars(o->token, o->token_len))
    return "the token contains control characters";
  if (o->endpoint == NULL ||
      (strncmp(o->endpoint, "http://", 7) != 0 &&
       strncmp(o->endpoint, "https://", 8) != 0) ||
      gc_has_control_chars(o->endpoint, o->endpoint_len))
    return "the endpoint must be an http:// or https:// URL";
  {
    const char *why = gc_endpoint_problem(o->endpoint);
    if (why != NULL)
      return why;
  }
  if (o->user_agent != NULL && gc_has_control_chars(o->user_agent, o->ua_len))
    return "the user agent contains control characters";
  if (o->auth != NULL && strcmp(o->auth, "bearer") != 0 &&
      strcmp(o->auth, "x-auth-token") != 0)
    return "auth must be \"x-auth-token\" or \"bearer\"";
  return NULL;
}

/* Copies the strings into the client; 0 when out of memory (the client's
 * __gc frees whatever was copied). */
static int copy_strings(gc_client *c, const gc_strings *o) {
  size_t endpoint_len = o->endpoint_len;
  const char *prefix = (o->auth != NULL && strcmp(o->auth, "bearer") == 0)
                           ? "Authorization: Bearer "
                           : "X-Auth-Token: ";
  while (endpoint_len > 0 && o->endpoint[endpoint_len - 1] == '/')
    endpoint_len--;
  c->endpoint = copy_string(o->endpoint, endpoint_len);
  c->auth_header = header_line(prefix, o->token, o->token_len);
  c->token_at = strlen(prefix);
  c->token_len = o->token_len;
  c->user_agent_header =
      o->user_agent != NULL
          ? header_line("User-Agent: ", o->user_agent, o->ua_len)
          : NULL;
  c->cafile = o->cafile != NULL ? copy_string(o->cafile, o->cafile_len) : NULL;
  c->capath = o->capath != NULL ? copy_string(o->capath, o->capath_len) : NULL;
  return c->endpoint != NULL && c->auth_header != NULL &&
         (o->user_agent == NULL || c->user_agent_header != NULL) &&
         (o->cafile == NULL || c->cafile != NULL) &&
         (o->capath == NULL || c->capath != NULL) && make_header_lists(c);
}

/* The easy handle and the share; 0 when libcurl could not make them. */
static int make_handles(gc_client *c) {
  c->curl = curl_easy_init();
  c->share = curl_share_init();
  if (c->share != NULL) {
    /* One thread uses the share, so it needs no lock functions. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  if (c->curl == NULL || c->share == NULL)
    return 0;
  c->header_api = gc_has_header_api(c->curl);
  gc_easy_init(c, c->curl, &c->easy_state, c->errbuf, &c->body, &c->headers);
  return 1;
}

#define GC_MAX_MS 86400000.0               /* a day */
#define GC_MAX_BODY (1024.0 * 1024 * 1024) /* 1 GiB */

int gc_client_new(lua_State *L) {
  gc_strings o;
  const char *problem;
  double timeout_ms, connect_timeout_ms, max_bytes;
  gc_client *c;

  luaL_checktype(L, 1, LUA_TTABLE);
  read_strings(L, &o);
  /* libcurl reads 0 ms as "no timeout at all": 1 ms is the least. */
  timeout_ms = opt_whole(L, "timeout_ms", 1, GC_MAX_MS);
  connect_timeout_ms = opt_whole(L, "connect_timeout_ms", 1, GC_MAX_MS);
  max_bytes = opt_whole(L, "max_response_bytes", 1, GC_MAX_BODY);
  problem = strings_problem(&o);
  if (problem != NULL) {
    lua_pushnil(L);
    lua_pushstring(L, problem);
    return 2;
  }

  /* The userdata owns everything from here: __gc frees whatever was set,
   * so an error below leaks nothing. */
  c = gc_newuserdata(L, sizeof(gc_client));
  memset(c, 0, sizeof(*c));
  luaL_setmetatable(L, GC_CLIENT_MT);
  c->timeout_ms = (long)timeout_ms;
  c->connect_timeout_ms = (long)connect_timeout_ms;
  c->body.limit = (size_t)max_bytes;
  c->headers.limit = GC_MAX_HEADER_BYTES;
  c->url.limit = (size_t)64 * 1024;
  c->easy_state.url.limit = c->url.limit;
  if (!copy_strings(c, &o))
    return luaL_error(L, "out of memory");
  if (!make_handles(c)) {
    lua_pushnil(L);
    lua_pushliteral(L, "could not create a libcurl handle");
    return 2;
  }
  return 1;
}

/* client:perform(method, path, body, fresh [, expect [, envelope]]) ->
 *   status, value                        decoded: the expected answer
 *   status, body, headers[, reason]      response: any other answer
 *   nil, kind, message, curl_code, sent  failure: no answer
 * (see gc_push_answer; docs/ldoc/core.ldoc for the whole story). */
static int client_perform(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_request req;
  CURLcode rc;
  gc_expect expect;

  if (c->curl == NULL) {
    luaL_checkoption(L, 2, NULL, gc_methods);
    luaL_checkstring(L, 3);
    return gc_push_failure(L, "usage", "the client is closed", 0, 0);
  }
  /* The body string stays on the Lua stack during the transfer. */
  gc_check_request(L, c, 2, &req);
  gc_check_expect(L, 6, &expect);

  /* Every Lua call that could raise is above this line; from here to the
   * end of curl_easy_perform only C runs. */
  gc_buffer_reset(&c->body);
  gc_buffer_reset(&c->headers);
  c->errbuf[0] = '\0';
  /* The constant options were set once, when the client was made. */
  gc_easy_request(c, c->curl, &c->easy_state, &req, req.body);

  rc = curl_easy_perform(c->curl);
  c->new_connections = 0;
  c->total_time = 0;
  c->request_size = 0;
  curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &c->new_connections);
  curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &c->total_time);
  curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &c->request_size);
  return gc_push_outcome(L, c, c->curl, rc, &c->body, &c->headers, c->errbuf,
                         &expect);
}

static int client_close(lua_State *L) {
  gc_client *c = gc_check_client(L);
  client_release(c);
  return 0;
}

static int client_is_closed(lua_State *L) {
  gc_client *c = gc_check_client(L);
  lua_pushboolean(L, c->curl == NULL);
  return 1;
}

/* client:last_request_info()
 *   -> { new_connections = n, total_time = s, request_size = bytes } */
static int client_last_request_info(lua_State *L) {
  gc_client *c = gc_check_client(L);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)c->request_size);
  lua_setfield(L, -2, "request_size");
  lua_pushinteger(L, (lua_Integer)c->new_connections);
  lua_setfield(L, -2, "new_connections");
  lua_pushnumber(L, (lua_Number)c->total_time);
  lua_setfield(L, -2, "total_time");
  return 1;
}

/* client:transfer_stats() -> { requests = n, new_connections = n }: every
 * transfer since the client was made, single and concurrent. */
static int client_transfer_stats(lua_State *L) {
  gc_client *c = gc_check_client(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)c->total_requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, (lua_Integer)c->total_connections);
  lua_setfield(L, -2, "new_connections");
  return 1;
}

/* client:redact(s) -> s with the client's token replaced by "[REDACTED]"
 * (s itself when it has none); for the Lua layer's error messages and the
 * command-line tool's output. The token never goes to Lua for this. */
static int client_redact(lua_State *L) {
  gc_client *c = gc_check_client(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (!gc_has_token(c, s, len)) {
    lua_settop(L, 2);
    return 1;
  }
  gc_push_redacted(L, c, s, len);
  return 1;
}

static int client_endpoint(lua_State *L) {
  gc_client *c = gc_check_client(L);
  if (c->endpoint == NULL)
    return 0;
  lua_pushstring(L, c->endpoint);
  return 1;
}

static int client_tostring(lua_State *L) {
  gc_client *c = gc_check_client(L);
  if (c->curl == NULL)
    lua_pushliteral(L, "genesiscloud.client (closed)");
  else
    lua_pushfstring(L, "genesiscloud.client (%s)", c->endpoint);
  return 1;
}

void gc_client_open(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", client_close},
                                  {"__close", client_close},
                                  {"__tostring", client_tostring},
                                  {NULL, NULL}};
  static const luaL_Reg method_list[] = {{"perform", client_perform},
                                         {"close", client_close},
                                         {"is_closed", client_is_closed},
                                         {"endpoint", client_endpoint},
                                         {"redact", client_redact},
                                         {"last_request_info",
                                          client_last_request_info},
                                         {"transfer_stats",
                                          client_transfer_stats},
                                         {NULL, NULL}};
  if (luaL_newmetatable(L, GC_CLIENT_MT)) {
#if LUA_VERSION_NUM < 503
    lua_pushliteral(L, GC_CLIENT_MT);
    lua_setfield(L, -2, "__name");
#endif
    gc_setfuncs(L, meta);
    lua_newtable(L);
    gc_setfuncs(L, method_list);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1);
    gc_rawsetp(L, LUA_REGISTRYINDEX, &gc_client_mt_key);
  }
  /* Loading the module twice in one state shares one methods table. */
  lua_getfield(L, -1, "__index");
  lua_remove(L, -2);
}
