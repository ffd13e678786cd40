/*
 * What single (client.c) and concurrent (multi.c) transfers share: the
 * request arguments, the easy handle's set-up, the libcurl callbacks, and
 * what a finished transfer means. One classification for both: an answer
 * with the expected status and a usable body comes back decoded, any other
 * answer as text for the Lua layer to explain, no answer as a failure.
 */
#include <ctype.h>
#include <string.h>

#include "internal.h"
#include "json_decode.h"

const char *const gc_methods[] = {"GET",   "POST",   "PUT",
                                  "PATCH", "DELETE", NULL};

/* Finding the client metatable by this address is much cheaper than
 * luaL_checkudata's lookup by name, and every request goes through here. */
const char gc_client_mt_key = 0;

gc_client *gc_check_client(lua_State *L) {
  void *p = lua_touserdata(L, 1);
  if (p != NULL && lua_getmetatable(L, 1)) {
    int same;
    gc_rawgetp(L, LUA_REGISTRYINDEX, &gc_client_mt_key);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same)
      return (gc_client *)p;
  }
  /* not a client: luaL_checkudata raises the usual error */
  return (gc_client *)luaL_checkudata(L, 1, GC_CLIENT_MT);
}

int gc_has_control_chars(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      return 1;
  }
  return 0;
}

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

/* ---- handle set-up --------------------------------------------------------
 */

int gc_have_gzip(void) {
  return (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_LIBZ) !=
         0;
}

/* libcurl 7.84 on keeps each response's headers (curl_easy_nextheader);
 * GC_NO_HEADER_API leaves that aside, for the ASan build to test the header
 * callback older libcurls need. */
#if LIBCURL_VERSION_NUM >= 0x075400 && !defined(GC_NO_HEADER_API)
#define GC_HEADER_API 1
#endif

/* Then no header callback copies them: copying headers that nothing reads
 * cost about 1% of a small GET, and only failures read them. */
int gc_has_header_api(CURL *easy) {
#ifdef GC_HEADER_API
  struct curl_header *h;
  return curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
         CURLHE_NOT_BUILT_IN;
#else
  (void)easy;
  return 0;
#endif
}

static void set_protocols(CURL *curl) {
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
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
  if (gc_have_gzip())
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

/* ---- one request ----------------------------------------------------------
 */

void gc_check_request(lua_State *L, gc_client *c, int first, gc_request *req) {
  size_t path_len;
  const char *path;
  req->method = luaL_checkoption(L, first, NULL, gc_methods);
  path = luaL_checklstring(L, first + 1, &path_len);
  req->body = luaL_optlstring(L, first + 2, NULL, &req->body_len);
  req->fresh = lua_toboolean(L, first + 3);
  luaL_argcheck(L, path_len > 0 && path[0] == '/', first + 1,
                "path must start with /");
  luaL_argcheck(L, !gc_has_control_chars(path, path_len), first + 1,
                "path contains control characters");
  gc_buffer_reset(&c->url);
  if (gc_buffer_append(&c->url, c->endpoint, strlen(c->endpoint)) != 0 ||
      gc_buffer_append(&c->url, path, path_len) != 0 ||
      gc_buffer_append(&c->url, "", 1) != 0)
    luaL_error(L, c->url.overflowed ? "the path is too long" : "out of memory");
  req->url = c->url.data;
  req->url_size = c->url.len;
}

void gc_check_expect(lua_State *L, int first, gc_expect *expect) {
  expect->status = (long)luaL_optinteger(L, first, 0);
  expect->envelope = NULL;
  expect->envelope_len = 0;
  /* `false` is how a resource definition says "no envelope" */
  if (lua_type(L, first + 1) != LUA_TBOOLEAN || lua_toboolean(L, first + 1))
    expect->envelope =
        luaL_optlstring(L, first + 1, NULL, &expect->envelope_len);
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

/* The body options: a given body, an empty POST, or none at all. */
static void set_body(CURL *easy, const gc_easy_state *state, int first,
                     int kind, const char *body, size_t body_len) {
  if (kind == GC_BODY_GIVEN) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
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
  set_body(easy, state, first, kind, body, req->body_len);
  /* Anything but POST names its method; NULL clears the previous one. */
  if (first || req->method != state->method)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                     req->method != 1 ? gc_methods[req->method]
                                      : (const char *)NULL);
  state->method = req->method;
  state->body = kind;
  state->fresh = req->fresh;
}

/* ---- redaction and headers ------------------------------------------------
 */

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

/* The client's token in s, where redaction applies; else NULL. */
static const char *find_token(const gc_client *c, const char *s, size_t len) {
  if (c == NULL || c->auth_header == NULL || c->token_len < GC_REDACT_MIN_LEN)
    return NULL;
  return find_bytes(s, len, c->auth_header + c->token_at, c->token_len);
}

int gc_has_token(const gc_client *c, const char *s, size_t len) {
  return find_token(c, s, len) != NULL;
}

void gc_push_redacted(lua_State *L, const gc_client *c, const char *s,
                      size_t len) {
  const char *hit = find_token(c, s, len);
  luaL_Buffer b;
  if (hit == NULL) {
    lua_pushlstring(L, s, len);
    return;
  }
  luaL_buffinit(L, &b);
  do {
    luaL_addlstring(&b, s, (size_t)(hit - s));
    luaL_addstring(&b, "[REDACTED]");
    len -= (size_t)(hit - s) + c->token_len;
    s = hit + c->token_len;
  } while ((hit = find_token(c, s, len)) != NULL);
  luaL_addlstring(&b, s, len);
  luaL_pushresult(&b);
}

static void push_lower(lua_State *L, const char *s, size_t len) {
  luaL_Buffer b;
  size_t i;
  luaL_buffinit(L, &b);
  for (i = 0; i < len; i++)
    luaL_addchar(&b, (char)tolower((unsigned char)s[i]));
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

/* A table of the header lines of a raw header block. */
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

void gc_push_headers(lua_State *L, const char *data, size_t len) {
  push_header_block(L, NULL, data, len);
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

/* ---- what a finished transfer means ---------------------------------------
 */

/* The common case, done without a round trip through Lua: the body is a
 * JSON object (with an object under the envelope, when given). Pushes that
 * object and returns 1; returns 0 with the stack as it was otherwise. */
static int push_expected_object(lua_State *L, gc_buffer *body,
                                const gc_expect *expect) {
  int top = lua_gettop(L);
  int got;
  if (body->len == 0 || gc_buffer_terminate(body) != 0)
    return 0;
  /* The member alone when unwrapping: the envelope table is never made. */
  got = expect->envelope != NULL
            ? gc_json_decode_member(L, body->data, body->len, GC_API_JSON_DEPTH,
                                    expect->envelope, expect->envelope_len)
            : gc_json_decode_text(L, body->data, body->len, GC_API_JSON_DEPTH);
  if (got == 1 && lua_type(L, -1) == LUA_TTABLE)
    return 1;
  lua_settop(L, top);
  return 0;
}

#define GC_EXCERPT 200 /* bytes of a body quoted in a message */

static int is_blank(unsigned char ch) {
  return ch < 0x20 || ch == 0x7f || ch == ' ';
}

/* Adds request.lua's excerpt of a body: its first 200 bytes with each run
 * of control characters made one space, then trimmed; "..." when cut. */
static void add_excerpt(luaL_Buffer *b, const char *s, size_t len) {
  const char *end = s + (len < GC_EXCERPT ? len : GC_EXCERPT);
  if (len == 0) {
    luaL_addstring(b, "empty response body");
    return;
  }
  while (s < end && is_blank((unsigned char)*s))
    s++;
  while (end > s && is_blank((unsigned char)end[-1]))
    end--;
  while (s < end) {
    unsigned char ch = (unsigned char)*s++;
    if (ch < 0x20 || ch == 0x7f) {
      while (s < end && ((unsigned char)*s < 0x20 || *s == 0x7f))
        s++;
      ch = ' ';
    }
    luaL_addchar(b, (char)ch);
  }
  if (len > GC_EXCERPT)
    luaL_addstring(b, "...");
}

/* Pushes why an answer with the expected status is not usable, in the
 * words of request.interpret. The body must be '\0'-terminated. */
static void push_reason(lua_State *L, const gc_client *c, const char *s,
                        size_t len, const gc_expect *expect) {
  int top = lua_gettop(L);
  int got = gc_json_decode_text(L, s, len, GC_API_JSON_DEPTH);
  int object = got == 1 && lua_type(L, -1) == LUA_TTABLE;
  luaL_Buffer b;
  const char *why = got == 2 ? lua_tostring(L, -1) : NULL; /* stays put */
  luaL_buffinit(L, &b);
  if (!object) {
    luaL_addstring(&b, "the response is not a JSON object (");
    if (why != NULL)
      luaL_addstring(&b, why);
    else
      add_excerpt(&b, s, len);
    luaL_addchar(&b, ')');
  } else {
    luaL_addstring(&b, "the response has no '");
    luaL_addlstring(&b, expect->envelope, expect->envelope_len);
    luaL_addstring(&b, "' object: ");
    add_excerpt(&b, s, len);
  }
  luaL_pushresult(&b);
  s = lua_tolstring(L, -1, &len);
  gc_push_redacted(L, c, s, len);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

int gc_push_answer(lua_State *L, const gc_client *c, CURL *easy, long status,
                   gc_buffer *body, const gc_buffer *headers,
                   const gc_expect *expect) {
  int expected =
      expect != NULL && expect->status != 0 && status == expect->status;
  lua_pushinteger(L, (lua_Integer)status);
  if (expected) {
    if (status == 204) { /* "No Content": nothing to decode */
      lua_pushboolean(L, 1);
      return 2;
    }
    if (push_expected_object(L, body, expect))
      return 2;
  }
  /* Anything else becomes an error message: a server that reflects the
   * request's headers must not put the token in it. */
  gc_push_redacted(L, c, body->data ? body->data : "", body->len);
  if (c != NULL && c->header_api)
    push_easy_headers(L, c, easy);
  else
    push_header_block(L, c, headers->data, headers->len);
  if (!expected)
    return 3;
  if (gc_buffer_terminate(body) != 0)
    luaL_error(L, "out of memory");
  push_reason(L, c, body->data, body->len, expect);
  return 4;
}

int gc_push_failure(lua_State *L, const char *kind, const char *message,
                    int code, int sent) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, message);
  lua_pushinteger(L, code);
  lua_pushboolean(L, sent);
  return 5;
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

/* No answer: nil, kind, message, curl_code, sent. `sent` is false when not
 * one byte of the request left this machine, so even a POST can be sent
 * again. */
static int push_transfer_failure(lua_State *L, const gc_client *c, CURL *easy,
                                 CURLcode rc, const gc_buffer *body,
                                 const gc_buffer *headers, const char *errbuf) {
  long request_size = 0;
  const char *kind = "transport";
  const char *message = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
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

int gc_push_outcome(lua_State *L, gc_client *c, CURL *easy, CURLcode rc,
                    gc_buffer *body, const gc_buffer *headers,
                    const char *errbuf, const gc_expect *expect) {
  long status = 0, connects = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  c->total_requests++;
  c->total_connections += connects;
  if (rc != CURLE_OK)
    return push_transfer_failure(L, c, easy, rc, body, headers, errbuf);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return gc_push_answer(L, c, easy, status, body, headers, expect);
}
