/*
 * The concurrent-transfer state of one client, shared by multi.c (the
 * sliding window driven by multi_next) and multi_watch.c (the same window
 * driven by a host's event loop through libcurl's socket interface).
 * Nothing outside those two files sees it.
 */
#ifndef GENESISCLOUD_MULTI_H
#define GENESISCLOUD_MULTI_H

#include "internal.h"

enum { SLOT_FREE = 0, SLOT_RUNNING, SLOT_DONE };

typedef struct gc_slot {
  CURL *easy;
  gc_buffer body;
  gc_buffer headers;
  gc_easy_state easy_state; /* what `easy` was last set up for */
  char *request_body;       /* a copy: the Lua string may be gone meanwhile */
  gc_expect expect;         /* its envelope points at `envelope` */
  char *envelope;           /* a copy, kept until the slot is used again */
  lua_Integer tag;
  int state;
  CURLcode rc;
  unsigned long seq; /* completion order */
  char errbuf[CURL_ERROR_SIZE];
} gc_slot;

/* A change libcurl asked for in its socket callback: watch `fd` for
 * CURL_POLL_IN / OUT / INOUT, or stop (CURL_POLL_REMOVE). */
typedef struct gc_socket_change {
  curl_socket_t fd;
  int what;
} gc_socket_change;

struct gc_multi {
  CURLM *multi;
  gc_slot **slots;
  size_t nslots;
  size_t running;
  size_t done;
  unsigned long seq;
  /* Loop mode (multi_watch.c): libcurl's callbacks only record here; the
   * Lua driver takes the records after each call and tells the host. */
  int watching;
  gc_socket_change *changes;
  size_t nchanges, changes_cap;
  long timer_ms;     /* libcurl's last timer request: -1 stop, else ms */
  int timer_changed; /* whether it asked since the last multi_changes */
};

/* The client's multi state, made on first use; NULL when out of memory. */
gc_multi *gc_get_multi(gc_client *c);

/* Moves finished transfers to SLOT_DONE. */
void gc_multi_collect(gc_multi *m);

/* Pushes the transfer that finished first (its tag and one of perform's
 * shapes) and frees its slot; pushes nothing when none has finished.
 * Returns the number of values pushed. */
int gc_multi_push_done(lua_State *L, gc_client *c, gc_multi *m);

/* Adds multi_watch.c's methods to the table on top. */
void gc_multi_watch_register(lua_State *L);

#endif
