/*
 * The client userdata's layout and the pieces of a request that the single
 * (client.c) and concurrent (multi.c) transfers share. Internal to the
 * core: nothing here is part of the module's interface.
 */
#ifndef GENESISCLOUD_CLIENT_IMPL_H
#define GENESISCLOUD_CLIENT_IMPL_H

#include <curl/curl.h>

#include "buffer.h"
#include "client.h"

typedef struct gc_multi gc_multi; /* multi.c */

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
  CURL *curl;        /* NULL once closed */
  CURLSH *share;     /* connection, DNS and TLS session caches */
  gc_multi *multi;   /* concurrent transfers, made on first use */
  char *endpoint;    /* no trailing slash */
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

extern const char *const gc_methods[];

gc_client *gc_check_client(lua_State *L);

/* Reads (method, path, body, fresh) from stack slots first..first+3 into
 * req, raising on bad arguments, and builds the URL in c->url (req->url
 * points into it until the next request). The client must be open. */
void gc_check_request(lua_State *L, gc_client *c, int first, gc_request *req);

/* Sets the options that are the same for every request of the client, once
 * per easy handle (the client's own and each concurrent slot's): share,
 * timeouts, protocols, TLS, compression, callbacks and buffers. No Lua.
 * `header_buf` gets the response headers only where libcurl has no header
 * API; elsewhere they are read from libcurl when a failure needs them. */
void gc_easy_init(const gc_client *c, CURL *easy, gc_easy_state *state,
                  char *errbuf, gc_buffer *body_buf, gc_buffer *header_buf);

/* Sets what changes from request to request on a handle made ready by
 * gc_easy_init: URL, header list, method, body and fresh connection. Each
 * is set unless `state` says the handle has it already, so nothing of the
 * previous request stays. `body` must live until the transfer ends. No Lua.
 */
void gc_easy_request(const gc_client *c, CURL *easy, gc_easy_state *state,
                     const gc_request *req, const char *body);

/* What a finished transfer is expected to bring: the status (0: nothing
 * expected) and the member of the JSON object to return (NULL: all). */
typedef struct gc_expect {
  long status;
  const char *unwrap;
  size_t unwrap_len;
} gc_expect;

/* After a finished transfer on `easy`: pushes `status, body[, headers]` or
 * `nil, kind, message, curl_code, sent`; returns the number pushed. The
 * headers table is only made for a status outside 200-299 (the Lua layer
 * reads Retry-After from failures only). When the answer is what `expect`
 * (may be NULL) describes, the body comes decoded: `status, object`. */
int gc_push_outcome(lua_State *L, gc_client *c, CURL *easy, CURLcode rc,
                    gc_buffer *body, const gc_buffer *headers,
                    const char *errbuf, int *new_connections,
                    const gc_expect *expect);

/* Pushes s[0..len) with every occurrence of the client's token replaced
 * by "[REDACTED]" (a token shorter than GC_REDACT_MIN_LEN is left alone:
 * it would match ordinary words, and is no real secret). */
#define GC_REDACT_MIN_LEN 8
void gc_push_redacted(lua_State *L, const gc_client *c, const char *s,
                      size_t len);

/* nil, kind, message, curl_code, sent */
int gc_push_failure(lua_State *L, const char *kind, const char *message,
                    int code, int sent);

/* multi.c */
void gc_multi_free(gc_multi *m);
void gc_multi_register(lua_State *L); /* adds methods to the table on top */

#endif
