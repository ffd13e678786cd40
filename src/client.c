/*
 * The client userdata: one libcurl easy handle, reused for every request so
 * the connection, DNS cache and TLS session are kept alive. The handle knows
 * HTTP only; JSON, errors and resources live in the Lua layer.
 */
#include "client_impl.h"
#include "json_decode.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
    gc_multi_free(c->multi);
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

/* The registry key of the client metatable, besides its name: finding it
 * by address is much cheaper than luaL_checkudata's lookup by name, and
 * every request goes through here. */
static const char client_mt_key = 0;

gc_client *gc_check_client(lua_State *L) {
  void *p = lua_touserdata(L, 1);
  if (p != NULL && lua_getmetatable(L, 1)) {
    int same;
    gc_rawgetp(L, LUA_REGISTRYINDEX, &client_mt_key);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same)
      return (gc_client *)p;
  }
  /* not a client: luaL_checkudata raises the usual error */
  return (gc_client *)luaL_checkudata(L, 1, GC_CLIENT_MT);
}
#define check_client gc_check_client

/* ---- libcurl callbacks: plain C only ------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  gc_buffer *buf = userdata;
  size_t n = size * nmemb;
  return gc_buffer_append(buf, data, n) == 0 ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
  gc_buffer *buf = userdata;
  size_t n = size * nmemb;
  /* A new status line starts a new header block (after 1xx responses):
   * only the last block describes the response we return. */
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
    buf->len = 0;
  return gc_buffer_append(buf, data, n) == 0 ? n : 0;
}

/* Where libcurl keeps the headers itself, only counts their bytes, so that
 * a response with more header than the buffer's limit fails as too large
 * (libcurl's own bound, 300 KB, reports "Out of memory"). The buffer holds
 * no data then: its length is the count. */
static size_t on_header_count(char *data, size_t size, size_t nmemb,
                              void *userdata) {
  gc_buffer *buf = userdata;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
    buf->len = 0;
  if (n > buf->limit - buf->len) {
    buf->overflowed = 1;
    return 0;
  }
  buf->len += n;
  return n;
}

/* ---- options --------------------------------------------------------- */

static int has_control_chars(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      return 1;
  }
  return 0;
}

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

static long opt_millis(lua_State *L, const char *name, double default_s) {
  double seconds = default_s;
  lua_getfield(L, 1, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "option '%s' must be a number of seconds", name);
    seconds = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  if (!(seconds > 0 && seconds <= 86400))
    luaL_error(L, "option '%s' must be between 0 and 86400 seconds", name);
  /* Rounded up, never to 0: libcurl reads 0 ms as "no timeout at all", so
   * 0.0004 s rounded to nearest would be no bound. */
  {
    double ms = seconds * 1000;
    long whole = (long)ms;
    if ((double)whole < ms)
      whole++;
    return whole < 1 ? 1 : whole;
  }
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

/* libcurl decodes a compressed answer only when it was built with zlib. */
static int have_gzip(void) {
  return (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_LIBZ) !=
         0;
}

/* libcurl 7.84 on keeps each response's headers (curl_easy_nextheader);
 * GC_NO_HEADER_API leaves that aside, for the ASan build to test the header
 * callback older libcurls need. */
#if LIBCURL_VERSION_NUM >= 0x075400 && !defined(GC_NO_HEADER_API)
#define GC_HEADER_API 1
#endif

/* Whether this libcurl keeps the headers (it may be built without). Then no
 * header callback runs: copying headers that nothing reads cost about 1% of a
 * small GET, and only failures (Retry-After, Content-Type) read them. */
static int has_header_api(CURL *easy) {
#ifdef GC_HEADER_API
  struct curl_header *h;
  return curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
         CURLHE_NOT_BUILT_IN;
#else
  (void)easy;
  return 0;
#endif
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
  if (have_gzip())
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

int gc_client_new(lua_State *L) {
  size_t token_len = 0, endpoint_len = 0, ua_len = 0, cafile_len = 0,
         capath_len = 0;
  const char *token, *endpoint, *auth, *user_agent, *cafile, *capath;
  double max_bytes = 16.0 * 1024 * 1024;
  gc_client *c;

  luaL_checktype(L, 1, LUA_TTABLE);
  token = opt_string(L, "token", &token_len);
  endpoint = opt_string(L, "endpoint", &endpoint_len);
  auth = opt_string(L, "auth", NULL);
  user_agent = opt_string(L, "user_agent", &ua_len);
  cafile = opt_string(L, "cafile", &cafile_len);
  capath = opt_string(L, "capath", &capath_len);

  if (token == NULL || token_len == 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "no token given");
    return 2;
  }
  if (has_control_chars(token, token_len)) {
    lua_pushnil(L);
    lua_pushliteral(L, "the token contains control characters");
    return 2;
  }
  if (endpoint == NULL ||
      (strncmp(endpoint, "http://", 7) != 0 &&
       strncmp(endpoint, "https://", 8) != 0) ||
      has_control_chars(endpoint, endpoint_len)) {
    lua_pushnil(L);
    lua_pushliteral(L, "the endpoint must be an http:// or https:// URL");
    return 2;
  }
  {
    const char *why = gc_endpoint_problem(endpoint);
    if (why != NULL) {
      lua_pushnil(L);
      lua_pushstring(L, why);
      return 2;
    }
  }
  if (user_agent != NULL && has_control_chars(user_agent, ua_len)) {
    lua_pushnil(L);
    lua_pushliteral(L, "the user agent contains control characters");
    return 2;
  }
  if (auth != NULL && strcmp(auth, "bearer") != 0 &&
      strcmp(auth, "x-auth-token") != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "auth must be \"x-auth-token\" or \"bearer\"");
    return 2;
  }
  lua_getfield(L, 1, "max_response_bytes");
  if (!lua_isnil(L, -1)) {
    max_bytes = luaL_checknumber(L, -1);
    if (!(max_bytes >= 1 && max_bytes <= 1024.0 * 1024 * 1024))
      return luaL_error(L, "option 'max_response_bytes' must be 1..1 GiB");
  }
  lua_pop(L, 1);

  /* The userdata owns everything from here: __gc frees whatever was set,
   * so an error below leaks nothing. */
  c = gc_newuserdata(L, sizeof(gc_client));
  memset(c, 0, sizeof(*c));
  luaL_setmetatable(L, GC_CLIENT_MT);
  c->timeout_ms = opt_millis(L, "timeout", 30);
  c->connect_timeout_ms = opt_millis(L, "connect_timeout", 10);
  c->body.limit = (size_t)max_bytes;
  c->headers.limit = GC_MAX_HEADER_BYTES;
  c->url.limit = (size_t)64 * 1024;
  c->easy_state.url.limit = c->url.limit;

  while (endpoint_len > 0 && endpoint[endpoint_len - 1] == '/')
    endpoint_len--;
  c->endpoint = copy_string(endpoint, endpoint_len);
  {
    const char *prefix = (auth != NULL && strcmp(auth, "bearer") == 0)
                             ? "Authorization: Bearer "
                             : "X-Auth-Token: ";
    c->auth_header = header_line(prefix, token, token_len);
    c->token_at = strlen(prefix);
    c->token_len = token_len;
  }
  c->user_agent_header = user_agent != NULL
                             ? header_line("User-Agent: ", user_agent, ua_len)
                             : NULL;
  c->cafile = cafile != NULL ? copy_string(cafile, cafile_len) : NULL;
  c->capath = capath != NULL ? copy_string(capath, capath_len) : NULL;
  if (c->endpoint == NULL || c->auth_header == NULL ||
      (user_agent != NULL && c->user_agent_header == NULL) ||
      (cafile != NULL && c->cafile == NULL) ||
      (capath != NULL && c->capath == NULL) || !make_header_lists(c))
    return luaL_error(L, "out of memory");
  c->curl = curl_easy_init();
  c->share = curl_share_init();
  if (c->share != NULL) {
    /* One thread uses the share, so it needs no lock functions. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  if (c->curl == NULL || c->share == NULL) {
    lua_pushnil(L);
    lua_pushliteral(L, "could not create a libcurl handle");
    return 2;
  }
  c->header_api = has_header_api(c->curl);
  gc_easy_init(c, c->curl, &c->easy_state, c->errbuf, &c->body, &c->headers);
  return 1;
}

/* ---- request -------------------------------------------------------- */

const char *const gc_methods[] = {"GET",   "POST",   "PUT",
                                  "PATCH", "DELETE", NULL};

static void push_lower(lua_State *L, const char *s, size_t len) {
  luaL_Buffer b;
  size_t i;
  luaL_buffinit(L, &b);
  for (i = 0; i < len; i++)
    luaL_addchar(&b, (char)tolower((unsigned char)s[i]));
  luaL_pushresult(&b);
}

/* The first occurrence of needle[0..n) in s[0..len), or NULL. */
static const char *find_bytes(const char *s, size_t len, const char *needle,
                              size_t n) {
  const char *end = s + len;
  while (n > 0 && (size_t)(end - s) >= n) {
    const char *hit = memchr(s, needle[0], (size_t)(end - s) - n + 1);
    if (hit == NULL)
      return NULL;
    if (memcmp(hit, needle, n) == 0)
      return hit;
    s = hit + 1;
  }
  return NULL;
}

void gc_push_redacted(lua_State *L, const gc_client *c, const char *s,
                      size_t len) {
  const char *token, *hit;
  size_t n;
  luaL_Buffer b;
  if (c == NULL || c->auth_header == NULL || c->token_len < GC_REDACT_MIN_LEN ||
      (hit = find_bytes(s, len, c->auth_header + c->token_at, c->token_len)) ==
          NULL) {
    lua_pushlstring(L, s, len);
    return;
  }
  token = c->auth_header + c->token_at;
  n = c->token_len;
  luaL_buffinit(L, &b);
  do {
    luaL_addlstring(&b, s, (size_t)(hit - s));
    luaL_addstring(&b, "[REDACTED]");
    len -= (size_t)(hit - s) + n;
    s = hit + n;
  } while ((hit = find_bytes(s, len, token, n)) != NULL);
  luaL_addlstring(&b, s, len);
  luaL_pushresult(&b);
}

/* Adds one header to the table on top: the name in lower case, a repeated
 * header joined to the earlier value with ", " as HTTP allows. The value
 * has the client's token (when given) redacted. */
static void add_header(lua_State *L, const gc_client *c, const char *name,
                       size_t name_len, const char *value, size_t value_len) {
  push_lower(L, name, name_len);
  lua_pushvalue(L, -1);
  lua_rawget(L, -3);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    gc_push_redacted(L, c, value, value_len);
  } else {
    lua_pushliteral(L, ", ");
    gc_push_redacted(L, c, value, value_len);
    lua_concat(L, 3);
  }
  lua_rawset(L, -3);
}

static void push_header_block(lua_State *L, const gc_client *c,
                              const char *data, size_t len);

/* Pushes a table of the response headers from the raw header block. */
void gc_push_headers(lua_State *L, const char *data, size_t len) {
  push_header_block(L, NULL, data, len);
}

static void push_header_block(lua_State *L, const gc_client *c,
                              const char *data, size_t len) {
  const char *p = data, *end;
  lua_newtable(L);
  if (data == NULL || len == 0)
    return;
  end = data + len;
  while (p != NULL && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    const char *colon = memchr(p, ':', (size_t)(line_end - p));
    if (colon != NULL && colon > p) {
      const char *v = colon + 1, *vend = line_end;
      while (v < vend && (*v == ' ' || *v == '\t'))
        v++;
      while (vend > v &&
             (vend[-1] == '\r' || vend[-1] == ' ' || vend[-1] == '\t'))
        vend--;
      add_header(L, c, p, (size_t)(colon - p), v, (size_t)(vend - v));
    }
    p = eol ? eol + 1 : NULL;
  }
}

/* The same table from the headers libcurl kept of the final response (not
 * those of 1xx answers or trailers). */
static void push_easy_headers(lua_State *L, const gc_client *c, CURL *easy) {
  lua_newtable(L);
#ifdef GC_HEADER_API
  {
    struct curl_header *h = NULL;
    while ((h = curl_easy_nextheader(easy, CURLH_HEADER, -1, h)) != NULL)
      add_header(L, c, h->name, strlen(h->name), h->value, strlen(h->value));
  }
#else
  (void)c;
  (void)easy;
#endif
}

static void set_protocols(CURL *curl) {
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
}

/* nil, kind, message, curl_code, sent: `sent` is false when not one byte
 * of the request left this machine, so even a POST can be retried. */
int gc_push_failure(lua_State *L, const char *kind, const char *message,
                    int code, int sent) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, message);
  lua_pushinteger(L, code);
  lua_pushboolean(L, sent);
  return 5;
}

void gc_check_request(lua_State *L, gc_client *c, int first, gc_request *req) {
  size_t path_len;
  const char *path;
  req->method = luaL_checkoption(L, first, NULL, gc_methods);
  path = luaL_checklstring(L, first + 1, &path_len);
  req->body = luaL_optlstring(L, first + 2, NULL, &req->body_len);
  req->fresh = lua_toboolean(L, first + 3);
  luaL_argcheck(L, path_len > 0 && path[0] == '/', first + 1,
                "path must start with /");
  luaL_argcheck(L, !has_control_chars(path, path_len), first + 1,
                "path contains control characters");
  gc_buffer_reset(&c->url);
  if (gc_buffer_append(&c->url, c->endpoint, strlen(c->endpoint)) != 0 ||
      gc_buffer_append(&c->url, path, path_len) != 0 ||
      gc_buffer_append(&c->url, "", 1) != 0)
    luaL_error(L, c->url.overflowed ? "the path is too long" : "out of memory");
  req->url = c->url.data;
  req->url_size = c->url.len;
}

void gc_easy_init(const gc_client *c, CURL *easy, gc_easy_state *state,
                  char *errbuf, gc_buffer *body_buf, gc_buffer *header_buf) {
  state->method = -1;
  curl_easy_setopt(easy, CURLOPT_SHARE, c->share);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  set_protocols(easy);
  if (have_gzip())
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
  if (c->cafile != NULL)
    curl_easy_setopt(easy, CURLOPT_CAINFO, c->cafile);
  if (c->capath != NULL)
    curl_easy_setopt(easy, CURLOPT_CAPATH, c->capath);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, body_buf);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                   c->header_api ? on_header_count : on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, header_buf);
}

/* Sets the URL unless the handle has it already, and remembers it. */
static void set_url(CURL *easy, gc_easy_state *state, const gc_request *req) {
  gc_buffer *last = &state->url;
  if (state->method >= 0 && last->len == req->url_size &&
      memcmp(last->data, req->url, req->url_size) == 0)
    return;
  gc_buffer_reset(last);
  if (curl_easy_setopt(easy, CURLOPT_URL, req->url) != CURLE_OK ||
      gc_buffer_append(last, req->url, req->url_size) != 0)
    last->len = 0; /* not remembered: set again next time */
}

void gc_easy_request(const gc_client *c, CURL *easy, gc_easy_state *state,
                     const gc_request *req, const char *body) {
  int kind = body != NULL       ? GC_BODY_GIVEN
             : req->method == 1 ? GC_BODY_EMPTY
                                : GC_BODY_NONE;
  int first = state->method < 0;
  set_url(easy, state, req);
  if (first || (kind == GC_BODY_GIVEN) != (state->body == GC_BODY_GIVEN))
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                     body != NULL ? c->headers_body : c->headers_plain);
  /* libcurl silently sends a request again when a reused connection dies
   * before any answer; that must never happen to a create. */
  if (first || req->fresh != state->fresh)
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, req->fresh ? 1L : 0L);
  if (kind == GC_BODY_GIVEN) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)req->body_len);
  } else if (first || kind != state->body) {
    if (kind == GC_BODY_EMPTY) {
      /* A POST without a body is still a POST: an empty one. */
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
      /* Undo a previous request's body: POSTFIELDS makes the handle POST,
       * HTTPGET (set last) makes it GET again. */
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (const char *)NULL);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
  }
  /* Anything but POST names its method; NULL clears the previous one. */
  if (first || req->method != state->method)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                     req->method != 1 ? gc_methods[req->method]
                                      : (const char *)NULL);
  state->method = req->method;
  state->body = kind;
  state->fresh = req->fresh;
}

/* The common case done without a round trip through Lua: the answer has
 * the expected status and its body is a JSON object (with an object under
 * `unwrap`, when given). Pushes that object and returns 1; returns 0 with
 * the stack as it was otherwise, and the caller answers as usual. */
static int push_expected_object(lua_State *L, gc_buffer *body,
                                const char *unwrap, size_t unwrap_len) {
  int top = lua_gettop(L);
  int got;
  if (body->len == 0 || gc_buffer_terminate(body) != 0)
    return 0;
  /* The member alone when unwrapping: the envelope table is never made. */
  got = unwrap != NULL
            ? gc_json_decode_member(L, body->data, body->len, GC_API_JSON_DEPTH,
                                    unwrap, unwrap_len)
            : gc_json_decode_text(L, body->data, body->len, GC_API_JSON_DEPTH);
  if (got == 1 && lua_type(L, -1) == LUA_TTABLE)
    return 1;
  lua_settop(L, top);
  return 0;
}

/* libcurl refuses a header line longer than it keeps (300 KB since the
 * fix for CVE-2023-38039) before any callback sees it, and says "Out of
 * memory" (CURLE_TOO_LARGE from 8.6 on). A status line that arrived and
 * no body yet tell that case from memory really running out. */
static int headers_refused(CURL *easy, CURLcode rc, const gc_buffer *body) {
  long status = 0;
#if LIBCURL_VERSION_NUM >= 0x080600
  if (rc == CURLE_TOO_LARGE)
    return 1;
#endif
  if (rc != CURLE_OUT_OF_MEMORY || body->len != 0)
    return 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return status != 0;
}

int gc_push_outcome(lua_State *L, gc_client *c, CURL *easy, CURLcode rc,
                    gc_buffer *body, const gc_buffer *headers,
                    const char *errbuf, int *new_connections,
                    const gc_expect *expect) {
  long status = 0, connects = 0, request_size = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
  c->total_requests++;
  c->total_connections += connects;
  if (new_connections != NULL)
    *new_connections = (int)connects;
  if (rc != CURLE_OK) {
    const char *kind = "transport";
    const char *message = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (body->overflowed) {
      kind = "too_large";
      message = "the response body is larger than max_response_bytes";
    } else if (headers->overflowed) {
      kind = "too_large";
      message = "the response headers are larger than " GC_MAX_HEADER_TEXT;
    } else if (headers_refused(easy, rc, body)) {
      kind = "too_large";
      message = "a response header line is larger than libcurl accepts";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      kind = "timeout";
    }
    gc_push_failure(L, kind, message, (int)rc, request_size > 0);
    gc_push_redacted(L, c, message, strlen(message));
    lua_replace(L, -4); /* over the message, below curl_code and sent */
    return 5;
  }
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  lua_pushinteger(L, (lua_Integer)status);
  if (expect != NULL && expect->status != 0 && expect->status != 204 &&
      status == expect->status &&
      push_expected_object(L, body, expect->unwrap, expect->unwrap_len))
    return 2;
  if (status >= 200 && status <= 299) {
    lua_pushlstring(L, body->data ? body->data : "", body->len);
    return 2; /* no headers table: nothing reads it on success */
  }
  /* A failure's body and headers become error messages: a server that
   * reflects the request's headers must not put the token in them. */
  gc_push_redacted(L, c, body->data ? body->data : "", body->len);
  if (c->header_api)
    push_easy_headers(L, c, easy);
  else
    push_header_block(L, c, headers->data, headers->len);
  return 3;
}

/* client:perform(method, path, body, fresh [, expect [, unwrap]])
 *   -> status, body[, headers] | nil, kind, message, curl_code, sent
 * With `expect` (a status other than 204), an answer with that status whose
 * body is a JSON object comes back decoded, as status and the object (its
 * `unwrap` member, when given). Anything else comes back as without it,
 * for the Lua layer to explain. */
static int client_perform(lua_State *L) {
  gc_client *c = check_client(L);
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
  expect.status = (long)luaL_optinteger(L, 6, 0);
  expect.unwrap = luaL_optlstring(L, 7, NULL, &expect.unwrap_len);

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
                         NULL, &expect);
}

static int client_close(lua_State *L) {
  gc_client *c = check_client(L);
  client_release(c);
  return 0;
}

static int client_is_closed(lua_State *L) {
  gc_client *c = check_client(L);
  lua_pushboolean(L, c->curl == NULL);
  return 1;
}

/* client:last_request_info()
 *   -> { new_connections = n, total_time = s, request_size = bytes } */
static int client_last_request_info(lua_State *L) {
  gc_client *c = check_client(L);
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
  gc_client *c = check_client(L);
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
  gc_client *c = check_client(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (c->auth_header == NULL || c->token_len < GC_REDACT_MIN_LEN ||
      find_bytes(s, len, c->auth_header + c->token_at, c->token_len) == NULL) {
    lua_settop(L, 2);
    return 1;
  }
  gc_push_redacted(L, c, s, len);
  return 1;
}

static int client_endpoint(lua_State *L) {
  gc_client *c = check_client(L);
  if (c->endpoint == NULL)
    return 0;
  lua_pushstring(L, c->endpoint);
  return 1;
}

static int client_tostring(lua_State *L) {
  gc_client *c = check_client(L);
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
    gc_multi_register(L);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1);
    gc_rawsetp(L, LUA_REGISTRYINDEX, &client_mt_key);
  }
  /* Loading the module twice in one state shares one methods table. */
  lua_getfield(L, -1, "__index");
  lua_remove(L, -2);
}
