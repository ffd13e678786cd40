/*
 * Loop mode: the client's concurrent transfers driven by a host's event
 * loop through libcurl's multi socket interface, instead of by
 * multi_next's own poll. libcurl's socket and timer callbacks run inside
 * libcurl, so they only record what it asked for; the Lua driver
 * (genesiscloud/loop/driver.lua) takes the records after each call and
 * tells the host's loop, which calls back into multi_action.
 *
 *   client:multi_watch()         -> true: record from now on
 *   client:multi_action([fd, readable, writable])
 *                                -> transfers finished and not yet taken
 *                                   (no fd: libcurl's timer fired)
 *   client:multi_changes()       -> timer, fd, events, fd, events, ...
 *                                   timer: nil unchanged, false stop,
 *                                   ms to wait; events "r", "w", "rw",
 *                                   or false (stop watching fd)
 *   client:multi_take()          -> tag, <what client:perform returns>
 *                                 | nothing (none finished)
 *
 * multi_add, multi_cancel and multi_pending (multi.c) serve both modes.
 */
#include <stdlib.h>

#include "multi.h"

/* CURLMOPT_SOCKETFUNCTION. Another change of the same socket since the
 * last take replaces the earlier one, except a removal: the number may be
 * a new socket after it, which the host must watch afresh. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  gc_multi *m = userp;
  gc_socket_change *last =
      m->nchanges > 0 ? &m->changes[m->nchanges - 1] : NULL;
  (void)easy;
  (void)socketp;
  if (last != NULL && last->fd == fd && last->what != CURL_POLL_REMOVE) {
    last->what = what;
    return 0;
  }
  if (m->changes == NULL || m->nchanges == m->changes_cap) {
    size_t cap = m->changes_cap ? m->changes_cap * 2 : 8;
    gc_socket_change *grown = realloc(m->changes, cap * sizeof(*grown));
    if (grown == NULL)
      return -1; /* libcurl fails the transfer: an error, not a lost socket */
    m->changes = grown;
    m->changes_cap = cap;
  }
  m->changes[m->nchanges].fd = fd;
  m->changes[m->nchanges].what = what;
  m->nchanges++;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: only the latest request counts. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  gc_multi *m = userp;
  (void)multi;
  m->timer_ms = timeout_ms;
  m->timer_changed = 1;
  return 0;
}

/* client:multi_watch() -> true | nil, kind, message, ... */
static int multi_watch(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_multi *m;
  if (c->curl == NULL)
    return gc_push_failure(L, "usage", "the client is closed", 0, 0);
  m = gc_get_multi(c);
  if (m == NULL)
    return gc_push_failure(L, "transport", "out of memory", CURLE_OUT_OF_MEMORY,
                           0);
  if (!m->watching) {
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, (void *)m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, (void *)m);
    m->watching = 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* client:multi_action([fd, readable, writable]) -> finished count */
static int multi_action(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_multi *m = c->multi;
  curl_socket_t fd = CURL_SOCKET_TIMEOUT;
  int mask = 0, still = 0;
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && n <= 0x7fffffff, 2, "not a file descriptor");
    fd = (curl_socket_t)n;
    mask = (lua_toboolean(L, 3) ? CURL_CSELECT_IN : 0) |
           (lua_toboolean(L, 4) ? CURL_CSELECT_OUT : 0);
  }
  /* Arguments are checked: no Lua error can happen inside libcurl. */
  if (c->curl == NULL || m == NULL || !m->watching) {
    lua_pushinteger(L, 0);
    return 1;
  }
  curl_multi_socket_action(m->multi, fd, mask, &still);
  gc_multi_collect(m);
  lua_pushinteger(L, (lua_Integer)m->done);
  return 1;
}

static void push_events(lua_State *L, int what) {
  switch (what) {
  case CURL_POLL_IN:
    lua_pushliteral(L, "r");
    break;
  case CURL_POLL_OUT:
    lua_pushliteral(L, "w");
    break;
  case CURL_POLL_INOUT:
    lua_pushliteral(L, "rw");
    break;
  default: /* CURL_POLL_REMOVE */
    lua_pushboolean(L, 0);
  }
}

/* client:multi_changes() -> timer, fd, events, ... (see the top) */
static int multi_changes(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_multi *m = c->multi;
  size_t i, n;
  if (m == NULL || !m->watching)
    return 0;
  n = m->nchanges;
  luaL_checkstack(L, (int)(1 + 2 * n), "too many socket changes");
  if (!m->timer_changed)
    lua_pushnil(L);
  else if (m->timer_ms < 0)
    lua_pushboolean(L, 0);
  else
    lua_pushinteger(L, (lua_Integer)m->timer_ms);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)m->changes[i].fd);
    push_events(L, m->changes[i].what);
  }
  /* Cleared only once all are pushed: a memory error above loses none. */
  m->nchanges = 0;
  m->timer_changed = 0;
  return (int)(1 + 2 * n);
}

/* client:multi_take() -> tag, <one of perform's shapes> | nothing */
static int multi_take(lua_State *L) {
  gc_client *c = gc_check_client(L);
  gc_multi *m = c->multi;
  if (c->curl == NULL || m == NULL || m->done == 0)
    return 0;
  return gc_multi_push_done(L, c, m);
}

void gc_multi_watch_register(lua_State *L) {
  static const luaL_Reg method_list[] = {{"multi_watch", multi_watch},
                                         {"multi_action", multi_action},
                                         {"multi_changes", multi_changes},
                                         {"multi_take", multi_take},
                                         {NULL, NULL}};
  gc_setfuncs(L, method_list);
}
