/*
 * Who provides what inside the C core, after luv's private.h. Nothing here
 * is part of the module's interface (that is docs/ldoc/core.ldoc).
 *
 *   core.c       luaopen_genesiscloud_core: the module table, escape, now,
 *                sleep; puts client.c's and multi.c's methods in one table
 *   client.c     the client userdata: core.new and its options, perform
 *                and the plain methods (close, redact, ...)
 *   multi.c      concurrent transfers: the multi_* methods
 *   multi_watch.c the same transfers driven by a host's event loop
 *                (libcurl's socket interface); multi.h is what the two share
 *   transfer.c   what single and concurrent transfers share: the client
 *                type check, request arguments, easy-handle set-up, the
 *                libcurl callbacks, and turning a finished transfer into
 *                one of the three result shapes
 *   url.c        the endpoint as libcurl's own parser reads it
 *   json_decode.c (json_decode.h), buffer.c (buffer.h): self-contained
 *
 * client.c and multi.c never call each other: both use transfer.c. The
 * client frees its multi state through the function multi.c stored with
 * it, so client.c knows nothing of a multi handle but its pointer.
 */
#ifndef GENESISCLOUD_INTERNAL_H
#define GENESISCLOUD_INTERNAL_H

#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"

#define GC_CLIENT_MT "genesiscloud.client"

typedef struct gc_multi gc_multi; /* multi.c's, opaque elsewhere */

/* What a handle's per-request options were last set to, so a request like
 * the one before it (GET after GET) sets none of them again: setting them
 * is not free (libcurl copies the URL, for one). */
typedef struct gc_easy_state {
  int method;    /* index into gc_methods; -1: nothing set yet */
  int body;      /* GC_BODY_NONE, GC_BODY_EMPTY or GC_BODY_GIVEN */
  int fresh;     /* CURLOPT_FRESH_CONNECT */
  gc_buffer url; /* the URL the handle has, '\0' included */
} gc_easy_state;

enum { GC_BODY_NONE = 0, GC_BODY_EMPTY, GC_BODY_GIVEN };

/* The most response header bytes taken (all lines of the last response);
 * more fails the transfer as "too_large". */
#define GC_MAX_HEADER_BYTES ((size_t)64 * 1024)
#define GC_MAX_HEADER_TEXT "65536 bytes"

typedef struct gc_client {
  CURL *curl;                     /* NULL once closed */
  CURLSH *share;                  /* connection, DNS and TLS session caches */
  gc_multi *multi;                /* concurrent transfers, made on first use */
  void (*multi_free)(gc_multi *); /* set with `multi`, by multi.c */
  char *endpoint;                 /* no trailing slash */
  char *auth_header; /* "X-Auth-Token: ..." or "Authorization: Bearer ..." */
  size_t token_at;   /* where the token starts in auth_header */
  size_t token_len;  /* its bytes */
  char *user_agent_header; /* "User-Agent: ...", or NULL for none */
  char *cafile;            /* CA bundle to verify the server with, or NULL */
  char *capath;            /* directory of CA certificates, or NULL */
  struct curl_slist *headers_plain; /* request headers, made once */
  struct curl_slist *headers_body;  /* the same + Content-Type */
  int header_api; /* libcurl keeps the response headers for us (7.84+) */
  long timeout_ms;
  long connect_timeout_ms;
  gc_buffer body;
  gc_buffer headers;
  gc_buffer url;                /* the URL being requested, built here */
  gc_easy_state easy_state;     /* what `curl` was last set up for */
  long new_connections;         /* connections the last request had to open */
  double total_time;            /* seconds the last request took */
  long request_size;            /* bytes of request the last transfer sent */
  long total_requests;          /* transfers finished, single and concurrent */
  long total_connections;       /* connections those transfers opened */
  char errbuf[CURL_ERROR_SIZE]; /* libcurl writes here during perform */
} gc_client;

/* One request's arguments, checked. */
typedef struct gc_request {
  int method;       /* index into gc_methods */
  const char *url;  /* '\0'-terminated */
  size_t url_size;  /* its bytes, the '\0' included */
  const char *body; /* NULL: no body */
  size_t body_len;
  int fresh; /* open a new connection */
} gc_request;

/* What a finished transfer is expected to bring: the status (0: nothing
 * expected, every answer is a "response") and the member of the JSON
 * object to return (NULL: the whole object). */
typedef struct gc_expect {
  long status;
  const char *envelope;
  size_t envelope_len;
} gc_expect;

/* ---- transfer.c ---------------------------------------------------------- */

extern const char *const gc_methods[];

/* The registry key (its address) of the client metatable. */
extern const char gc_client_mt_key;

/* The client at stack slot 1; raises when it is not one. Open or closed. */
gc_client *gc_check_client(lua_State *L);

int gc_has_control_chars(const char *s, size_t len);

/* Reads (method, path, body, fresh) from stack slots first..first+3 into
 * req, raising on bad arguments, and builds the URL in c->url (req->url
 * points into it until the next request). The client must be open. */
void gc_check_request(lua_State *L, gc_client *c, int first, gc_request *req);

/* Reads (expect, envelope) from slots first, first+1: an integer or nil,
 * a string or nil/false. Raises on anything else. The envelope points
 * into the Lua string. */
void gc_check_expect(lua_State *L, int first, gc_expect *expect);

/* libcurl decodes a compressed answer only when it was built with zlib. */
int gc_have_gzip(void);

/* Whether this libcurl keeps each response's headers (7.84 on, unless
 * built without): then only their bytes are counted as they arrive. */
int gc_has_header_api(CURL *easy);

/* Sets the options that are the same for every request of the client, once
 * per easy handle (the client's own and each concurrent slot's): share,
 * timeouts, protocols, TLS, compression, callbacks and buffers. No Lua.
 * `header_buf` gets the response headers only where libcurl has no header
 * API; elsewhere they are read from libcurl when a response needs them. */
void gc_easy_init(const gc_client *c, CURL *easy, gc_easy_state *state,
                  char *errbuf, gc_buffer *body_buf, gc_buffer *header_buf);

/* Sets what changes from request to request on a handle made ready by
 * gc_easy_init: URL, header list, method, body and fresh connection. Each
 * is set unless `state` says the handle has it already, so nothing of the
 * previous request stays. `body` must live until the transfer ends. No Lua.
 */
void gc_easy_request(const gc_client *c, CURL *easy, gc_easy_state *state,
                     const gc_request *req, const char *body);

/* After a finished transfer on `easy`, pushes one of the three shapes
 * (see gc_push_answer and gc_push_failure) and returns how many values it
 * pushed. Counts the transfer in the client's totals; `*new_connections`
 * (may be NULL) gets the connections it opened. */
int gc_push_outcome(lua_State *L, gc_client *c, CURL *easy, CURLcode rc,
                    gc_buffer *body, const gc_buffer *headers,
                    const char *errbuf, const gc_expect *expect);

/* An HTTP answer, classified: pushes
 *   decoded:  status, value     (status == expect->status; the object,
 *                                its envelope member, or true for a 204)
 *   response: status, body, headers[, reason]   (anything else)
 * The reason, a string, comes when the status is the expected one but the
 * body is no JSON object (or has no object under the envelope): the same
 * message the Lua layer's request.interpret gives. Body, headers and
 * reason have the client's token redacted (c may be NULL: nothing to
 * redact). The headers come from libcurl when c->header_api, else from the
 * header block in `headers`. Returns the number of values pushed. */
int gc_push_answer(lua_State *L, const gc_client *c, CURL *easy, long status,
                   gc_buffer *body, const gc_buffer *headers,
                   const gc_expect *expect);

/* failure: nil, kind, message, curl_code, sent; returns 5. */
int gc_push_failure(lua_State *L, const char *kind, const char *message,
                    int code, int sent);

/* Pushes s[0..len) with every occurrence of the client's token replaced
 * by "[REDACTED]" (a token shorter than GC_REDACT_MIN_LEN is left alone:
 * it would match ordinary words, and is no real secret). */
#define GC_REDACT_MIN_LEN 8
void gc_push_redacted(lua_State *L, const gc_client *c, const char *s,
                      size_t len);

/* Whether s[0..len) holds the client's token (one gc_push_redacted would
 * replace). */
int gc_has_token(const gc_client *c, const char *s, size_t len);

/* Pushes a table of the header lines in data[0..len), names in lower
 * case. Exposed for the fuzz target. */
void gc_push_headers(lua_State *L, const char *data, size_t len);

/* ---- client.c ------------------------------------------------------------ */

/* Creates the client metatable and pushes its methods table (__index). */
void gc_client_open(lua_State *L);

/* core.new(options) -> client | nil, message */
int gc_client_new(lua_State *L);

/* ---- multi.c ------------------------------------------------------------- */

/* Adds the multi_* methods to the table on top. */
void gc_multi_register(lua_State *L);

/* ---- url.c --------------------------------------------------------------- */

/* Why libcurl's reading of the endpoint URL is refused (user information,
 * a query, a fragment, or no URL at all), or NULL. */
const char *gc_endpoint_problem(const char *url);

/* core.parse_url(url) -> table of the parts | nil, message */
int gc_parse_url(lua_State *L);

#endif
