/*
 * Concurrent transfers for one client over the libcurl multi interface.
 *
 * The client lazily gets one CURLM and a pool of slots, each an easy handle
 * with its own buffers, reused from batch to batch. Every easy handle (the
 * client's own one too) joins the client's CURLSH, so connections, DNS
 * answers and TLS sessions are shared between single and concurrent
 * requests, and nothing is shared between two clients.
 *
 * The interface is a sliding window driven from Lua:
 *
 *   client:multi_add(tag, method, path, body, fresh, expect, envelope)
 *                                -> true | nil, kind, ...
 *   client:multi_next([timeout]) -> tag, <what client:perform returns>
 *                                 | false (timeout) | nil (nothing pending)
 *   client:multi_cancel(tag)     -> true when the tag was pending
 *   client:multi_pending()       -> transfers added and not yet returned
 *
 * The request set-up, the libcurl callbacks (plain-C buffer appenders) and
 * what a finished transfer means are transfer.c's, the same as for
 * client:perform; nothing is pushed to Lua until curl_multi_perform/poll
 * have returned.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "multi.h"

/* Ends a slot's transfer (if any) and keeps its handle and buffers. */
static void slot_finish(gc_multi *m, gc_slot *s) {
  if (s->state == SLOT_RUNNING) {
    curl_multi_remove_handle(m->multi, s->easy);
    m->running--;
  } else if (s->state == SLOT_DONE) {
    m->done--;
  }
  free(s->request_body);
  s->request_body = NULL;
  s->state = SLOT_FREE;
}

static void multi_free(gc_multi *m) {
  size_t i;
  if (m == NULL)
    return;
  for (i = 0; i < m->nslots; i++) {
    gc_slot *s = m->slots[i];
    slot_finish(m, s);
    if (s->easy != NULL)
      curl_easy_cleanup(s->easy);
    gc_buffer_free(&s->body);
    gc_buffer_free(&s->headers);
    gc_buffer_free(&s->easy_state.url);
    free(s->envelope);
    free(s);
  }
  free(m->slots);
  if (m->multi != NULL)
    curl_multi_cleanup(m->multi);
  free(m->changes); /* after the cleanup: it may still report sockets */
  free(m);
}

gc_multi *gc_get_multi(gc_client *c) {
  if (c->multi == NULL) {
    gc_multi *m = calloc(1, sizeof(*m));
    if (m == NULL)
      return NULL;
    m->multi = curl_multi_init();
    if (m->multi == NULL) {
      free(m);
      return NULL;
    }
    c->multi = m;
    c->multi_free = multi_free;
  }
  return c->multi;
}

/* A free slot, grown into the pool when none is; NULL when out of memory. */
static gc_slot *free_slot(gc_client *c, gc_multi *m) {
  size_t i;
  gc_slot *s, **grown;
  for (i = 0; i < m->nslots; i++)
    if (m->slots[i]->state == SLOT_FREE)
      return m->slots[i];
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->easy = curl_easy_init();
  grown = realloc(m->slots, (m->nslots + 1) * sizeof(gc_slot *));
  if (s->easy == NULL || grown == NULL) {
    if (s->easy != NULL)
      curl_easy_cleanup(s->easy);
    free(s);
    if (grown != NULL)
      m->slots = grown;
    return NULL;
  }
  s->body.limit = c->body.limit;
  s->headers.limit = c->headers.limit;
  s->easy_state.url.limit = c->url.limit;
  /* The constant options once per handle; each request sets the rest. */
  gc_easy_init(c, s->easy, &s->easy_state, s->errbuf, &s->body, &s->headers);
  curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (void *)s);
  m->slots = grown;
  m->slots[m->nslots++] = s;
  return s;
}

static char *copy_bytes(const char *s, size_t len) {
  char *copy = malloc(len + 1);
  if (copy != NULL) {
    memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

/* Copies what the slot's transfer needs after the Lua strings may be gone:
 * the request body and the envelope. 0 when out of memory. */
static int slot_copy(gc_slot *s, const gc_request *req,
                     const gc_expect *expect) {
  free(s->envelope);
  s->envelope = NULL;
  s->expect = *expect;
  if (expect->envelope != NULL) {
    s->envelope = copy_bytes(expect->envelope, expect->envelope_len);
    s->expect.envelope = s->envelope;
    if (s->envelope == NULL)
      return 0;
  }
  if (req->body != NULL) {
    s->request_body = copy_bytes(req->body, req->body_len);
    if (s->request_body == NULL)
      return 0;
  }
  return 1;
}

/* The connection cache's size: libcurl's default for a multi handle is 4
 * per transfer in it, so 4 with one, where an easy handle keeps 5. At
 * least 5, so that one request at a time finds the same connections kept
 * (and libcurl resends on the same dead ones) in either mode. */
#define GC_EASY_CONNECTS 5L

static void size_cache(gc_multi *m) {
  long n = 4L * (long)m->running;
  curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS,
                    n > GC_EASY_CONNECTS ? n : GC_EASY_CONNECTS);
}

/* Starts the slot's transfer; a failure's values pushed, or 0 pushed. */
static int slot_start(lua_State *L, gc_client *c, gc_multi *m, gc_slot *s,
                      const gc_request *req, const gc_expect *expect) {
  if (!slot_copy(s, req, expect)) {
    slot_finish(m, s);
    return gc_push_failure(L, "transport", "out of memory", CURLE_OUT_OF_MEMORY,
                           0);
  }
  gc_buffer_reset(&s->body);
  gc_buffer_reset(&s->headers);
  s->errbuf[0] = '\0';
  /* The URL is copied by libcurl; the request body is our copy; the header
   * lists are the client's. */
  gc_easy_request(c, s->easy, &s->easy_state, req, s->request_body);
  if (curl_multi_add_handle(m->multi, s->easy) != CURLM_OK) {
    slot_finish(m, s);
    return gc_push_failure(L, "transport", "could not start the transfer",
                           CURLE_FAILED_INIT, 0);
  }
  s->state = SLOT_RUNNING;
  m->running++;
  size_cache(m);
  return 0;
}

/* client:multi_add(tag, method, path, body, fresh, expect, envelope) */
static int multi_add(lua_State *L) {
  gc_client *c = gc_check_client(L);
  lua_Integer tag = luaL_checkinteger(L, 2);
  gc_request req;
  gc_expect expect;
  gc_multi *m;
  gc_slot *s;
  size_t i;
  int failed;

  if (c->curl == NULL)
    return gc_push_failure(L, "usage", "the client is closed", 0, 0);
  gc_check_request(L, c, 3, &req);
  gc_check_expect(L, 7, &expect);
  m = gc_get_multi(c);
  if (m == NULL)
    return gc_push_failure(L, "transport", "out of memory", CURLE_OUT_OF_MEMORY,
                           0);
  for (i = 0; i < m->nslots; i++)
    if (m->slots[i]->state != SLOT_FREE && m->slots[i]->tag == tag)
      return luaL_argerror(L, 2, "tag already pending");

  /* No Lua call that can raise from here on. */
  s = free_slot(c, m);
  if (s == NULL)
    return gc_push_failure(L, "transport", "out of memory", CURLE_OUT_OF_MEMORY,
                           0);
  s->tag = tag;
  failed = slot_start(L, c, m, s, &req, &expect);
  if (failed)
    return failed;
  lua_pushboolean(L, 1);
  return 1;
}

/* Moves finished transfers to SLOT_DONE. */
void gc_multi_collect(gc_multi *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
    gc_slot *s;
    char *priv = NULL;
    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    s = (gc_slot *)(void *)priv;
    if (s == NULL || s->state != SLOT_RUNNING)
      continue;
    s->rc = msg->data.result;
    curl_multi_remove_handle(m->multi, s->easy);
    free(s->request_body);
    s->request_body = NULL;
    s->state = SLOT_DONE;
    s->seq = ++m->seq;
    m->running--;
    m->done++;
  }
}

int gc_multi_push_done(lua_State *L, gc_client *c, gc_multi *m) {
  gc_slot *first = NULL;
  size_t i;
  for (i = 0; i < m->nslots; i++) {
    gc_slot *s = m->slots[i];
    if (s->state == SLOT_DONE && (first == NULL || s->seq < first->seq))
      first = s;
  }
  if (first == NULL)
    return 0;
  /* The slot is free again before anything is pushed, so a memory error
   * while pushing loses this result but leaks nothing. Its buffers stay
   * intact until the next multi_add. */
  slot_finish(m, first);
  lua_pushinteger(L, first->tag);
  return 1 + gc_push_outcome(L, c, first->easy, first->rc, &first->body,
                             &first->headers, first->errbuf, &first->expect);
}

static double monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* client:multi_next([timeout]) -> tag, <one of perform's three shapes>
 *                              | false (timeout) | nil (nothing pending) */
static int multi_next(lua_State *L) {
  gc_client *c = gc_check_client(L);
  double timeout = luaL_optnumber(L, 2, -1);
  double deadline = timeout >= 0 ? monotonic() + timeout : 0;
  gc_multi *m = c->multi;

  if (c->curl == NULL || m == NULL || (m->running == 0 && m->done == 0))
    return 0;
  while (m->done == 0 && m->running > 0) {
    int still = 0, wait_ms = 1000;
    curl_multi_perform(m->multi, &still);
    gc_multi_collect(m);
    if (m->done > 0)
      break;
    if (timeout >= 0) {
      double left = deadline - monotonic();
      if (left <= 0) {
        lua_pushboolean(L, 0);
        return 1;
      }
      if (left * 1000 < wait_ms)
        wait_ms = (int)(left * 1000) + 1;
    }
    curl_multi_poll(m->multi, NULL, 0, wait_ms, NULL);
  }
  return gc_multi_push_done(L, c, m);
}

/* client:multi_cancel(tag) -> true when it was pending (now dropped) */
static int multi_cancel(lua_State *L) {
  gc_client *c = gc_check_client(L);
  lua_Integer tag = luaL_checkinteger(L, 2);
  gc_multi *m = c->multi;
  int found = 0;
  if (m != NULL) {
    size_t i;
    for (i = 0; i < m->nslots; i++) {
      gc_slot *s = m->slots[i];
      if (s->state != SLOT_FREE && s->tag == tag) {
        slot_finish(m, s);
        found = 1;
        break;
      }
    }
  }
  lua_pushboolean(L, found);
  return 1;
}

/* client:multi_pending() -> transfers added and not yet returned */
static int multi_pending(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_multi *m = c->multi;
  lua_pushinteger(L, m != NULL ? (lua_Integer)(m->running + m->done) : 0);
  return 1;
}

void gc_multi_register(lua_State *L) {
  static const luaL_Reg method_list[] = {{"multi_add", multi_add},
                                         {"multi_next", multi_next},
                                         {"multi_cancel", multi_cancel},
                                         {"multi_pending", multi_pending},
                                         {NULL, NULL}};
  gc_setfuncs(L, method_list);
  gc_multi_watch_register(L);
}
