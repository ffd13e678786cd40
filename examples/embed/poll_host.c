/*
 * A C program with its own poll() loop that drives lua-genesiscloud: it
 * embeds Lua 5.4, gives a client made with `loop = host` a host adapter
 * written in C, runs a scenario in a task of that client, and goes on with
 * its own work (a "tick" every 5 ms) while the requests are in flight.
 *
 *   poll_host ENDPOINT [GROUPS]   (the token comes from GENESISCLOUD_TOKEN)
 *
 * GROUPS: how many groups the server holds before the run (default: not
 * checked). The module is found through LUA_PATH and LUA_CPATH, e.g.
 * LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;'.
 *
 * Build: cc -std=c99 -o poll_host poll_host.c $(pkg-config --cflags --libs
 * lua5.4); `make build/embed/poll_host` does. To run it against an emulator
 * holding 10,000 groups and answering after 20 ms:
 * `lua5.4 scripts/poll-host-run build/embed/poll_host`. `make test` does
 * that (spec/loop_c_host_spec.lua), `make embed-check` under valgrind.
 *
 * The scenario (the Lua text below): a listing on the main thread, which
 * blocks; then, in one task, the listing again with concurrency 8 while 10
 * tasks create, wait for, delete and wait for the deletion of 50 groups;
 * then a task waited for from the main thread (task:wait(), which runs the
 * loop through host:run_once) checks that the 50 are gone. The two
 * listings must see the same groups (those the scenario did not make: the
 * same count and the same digest of their ids).
 *
 * The host adapter (the interface genesiscloud.loop.driver expects) is a
 * userdata whose methods are C functions:
 *   host:watch(fd, events, on_ready)  events "r", "w" or "rw": an entry of
 *       the pollfd array (POLLIN, POLLOUT). One entry per fd: a second call
 *       replaces the events and the callback. on_ready is kept as a
 *       registry reference (luaL_ref) until unwatch or close.
 *   host:unwatch(fd)  drops the entry and releases its reference. The fd
 *       may be closed already; a later watch of the same number is a new
 *       entry (a new generation), never the old one.
 *   host:timer(seconds, on_fire)  the one timer: a deadline on
 *       CLOCK_MONOTONIC (the clock of the client's `now`) and a reference;
 *       a later call replaces both, seconds == nil stops it.
 *   host:run_once()  one turn of the loop (below); false when there is
 *       nothing to wait for. task:wait() on the main thread calls it.
 *   host:error(err)  a coroutine failed with nobody to tell: counted.
 *   host:close()  releases every reference (also its __gc).
 * One turn: poll() waits until the earliest of the timer's deadline, the
 * next tick and the program's deadline (rounded up to whole ms: a timer
 * never fires early). Then the tick runs if due, and the ready entries are
 * copied (fd, generation, revents) and called back one by one, skipping
 * an entry a callback before it unwatched (even if its number is watched
 * again: another socket): on_ready(readable, writable), POLLERR, POLLHUP
 * and POLLNVAL counting as both. The tick runs again after each callback
 * if due: the host's work goes on between callbacks, never inside one.
 * Then the timer fires if due; its reference is released before the call,
 * so on_fire may set it again. A callback is only called from a turn
 * (never from inside watch, unwatch or timer; run_once inside a callback
 * is an error), through lua_pcall: an error is printed and counted, never
 * raised into the loop. Level-triggered: poll() reports a socket still
 * ready on the next turn again.
 *
 * It prints one line: "poll_host: ok" or "poll_host: FAILED", then
 * listed= (the loop's listing, groups it did not make), blocking= (the
 * blocking listing), all= (every group each saw), digest= (of the ids
 * of the groups each listing counted, sorted), cycled=, left= (of the
 * 50, still there), elapsed_ms= (the task), blocking_ms=, ticks=,
 * max_gap_ms= (the longest time between two ticks), max_turn_ms= and
 * max_turn_cpu_ms= (the longest turn after poll(): wall and CPU time),
 * max_callback_ms=, turns=, callbacks=, timers= (fired), errors=
 * (callbacks or coroutines that raised), nval=, stray_unwatch= (fds
 * unwatched that were not watched), watchers_left=, timer_left=,
 * refs_left= (after client:close()). It exits 0 when the scenario
 * succeeded, the two listings agree (and match GROUPS), no callback
 * raised, no closed fd was polled (POLLNVAL) and nothing was left; 1
 * otherwise, and when the run takes more than LIMIT_S seconds.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOST_META "poll_host.host"
#define TICK_NS 5000000LL   /* the host's own work: every 5 ms */
#define LIMIT_S 120         /* the loop gives up after 120 s */
#define MAX_TIMER_S 86400.0 /* longer timers are cut to a day */
#define CREATES 50          /* groups created and deleted */
#define WORKERS 10          /* tasks that create and delete them */

static const char *const scenario =
    "local host, endpoint, token = ...\n"
    "local genesiscloud = require 'genesiscloud'\n"
    "local PREFIX = 'poll-host-'\n"
    "local WAIT = { interval = 0.05, timeout = 30 }\n"
    "local client = assert(genesiscloud.new{ endpoint = endpoint,\n"
    "  token = token, loop = host, timeout = 60 })\n"
    "local function check(value, err)\n"
    "  if value == nil then error(tostring(err), 0) end\n"
    "  return value\n"
    "end\n"
    "-- FNV-1a (32 bits) over the sorted ids, one line each\n"
    "local function digest(ids)\n"
    "  table.sort(ids)\n"
    "  local h = 2166136261\n"
    "  for _, id in ipairs(ids) do\n"
    "    for i = 1, #id + 1 do\n"
    "      h = ((h ~ (id:byte(i) or 10)) * 16777619) & 0xffffffff\n"
    "    end\n"
    "  end\n"
    "  return ('%08x'):format(h)\n"
    "end\n"
    "-- -> ids of the groups this scenario did not make, count of all groups\n"
    "local function list()\n"
    "  local ids, all = {}, 0\n"
    "  for sg in client:security_groups{ per_page = 100, concurrency = 8 } do\n"
    "    all = all + 1\n"
    "    if sg.name:sub(1, #PREFIX) ~= PREFIX then\n"
    "      ids[#ids + 1] = tostring(sg.id)\n"
    "    end\n"
    "  end\n"
    "  return ids, all\n"
    "end\n"
    "-- groups first, first + step, ... up to count: create, wait, delete,\n"
    "-- wait. Their names are new: the create need not list the groups first.\n"
    "local function churn(first, step, count)\n"
    "  local ids = {}\n"
    "  for i = first, count, step do\n"
    "    local sg = check(client:create_security_group({ name = PREFIX .. i,\n"
    "      rules = { genesiscloud.rules.ssh() } },\n"
    "      { wait = WAIT, existing = {} }))\n"
    "    check(client:delete_security_group(sg.id))\n"
    "    check(client:wait_for_security_group_deleted(sg.id, WAIT))\n"
    "    ids[#ids + 1] = sg.id\n"
    "  end\n"
    "  return ids\n"
    "end\n"
    "local function scenario(creates, workers)\n"
    "  local lister = check(client:spawn(list))\n"
    "  local churners, ids = {}, {}\n"
    "  for w = 1, workers do\n"
    "    churners[w] = check(client:spawn(churn, w, workers, creates))\n"
    "  end\n"
    "  for _, t in ipairs(churners) do\n"
    "    for _, id in ipairs(check(t:wait())) do ids[#ids + 1] = id end\n"
    "  end\n"
    "  local listed = table.pack(lister:wait())\n"
    "  check(listed[1], listed[2])\n"
    "  return listed, ids\n"
    "end\n"
    "local s = {}\n"
    "function s.blocking()\n"
    "  local ids, all = list()\n"
    "  return #ids, all, digest(ids)\n"
    "end\n"
    "function s.start(on_done, creates, workers)\n"
    "  local task = check(client:spawn(scenario, creates, workers))\n"
    "  return task:on_done(on_done)\n"
    "end\n"
    "-- -> the loop's listing (as s.blocking), groups cycled, groups left.\n"
    "-- The digest is made here, out of the loop: 10,000 ids take 30 ms.\n"
    "function s.finish(task)\n"
    "  local listed, ids = task:wait()\n"
    "  check(listed, ids)\n"
    "  local last = check(client:spawn(function()\n"
    "    local left = 0\n"
    "    local got = check(client:get_security_groups(ids,\n"
    "      { concurrency = 8 }))\n"
    "    for _, r in ipairs(got) do\n"
    "      local gone = genesiscloud.is_error(r) and r.status == 404\n"
    "      if not gone then left = left + 1 end\n"
    "    end\n"
    "    return left\n"
    "  end))\n"
    "  local seen = listed[1]\n"
    "  return #seen, listed[2], digest(seen), #ids, check(last:wait())\n"
    "end\n"
    "function s.close() client:close() end\n"
    "return s\n";

struct watch {
  int fd;
  int ref;      /* on_ready in the registry */
  unsigned gen; /* a new number for every new entry */
};

struct ready {
  int fd;
  unsigned gen;
  short revents;
};

/* The adapter's state: the userdata behind `host`. fds[i] and w[i] are
 * one entry. */
struct host {
  struct pollfd *fds;
  struct watch *w;
  size_t n, cap;
  struct ready *ready; /* the entries ready in this turn */
  size_t ready_cap;
  unsigned next_gen;
  int timer_ref; /* LUA_NOREF: no timer */
  long long timer_at;
  int refs; /* registry references held */
  int closed;
  int in_turn;
  int task_done;
  long long deadline; /* LIMIT_S after the start */
  /* counters and the tick */
  int errors, nval, stray_unwatch;
  unsigned long turns, calls, fires, ticks;
  int ticking;
  long long last_tick, next_tick, max_gap;
  long long max_call, max_work; /* the longest callback, turn after poll() */
  long long max_work_cpu;       /* the most CPU time a turn took */
};

/* What the run found, printed at the end. */
struct report {
  const char *endpoint, *token;
  long groups; /* -1: not checked */
  lua_Integer blocking_others, blocking_all, loop_others, loop_all, cycled;
  lua_Integer left;
  char blocking_digest[9], loop_digest[9];
  long long elapsed, blocking;
  int scenario_ok, watchers_left, timer_left, refs_left;
  struct host *h;
};

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct host *check_host(lua_State *L) {
  return luaL_checkudata(L, 1, HOST_META);
}

static void release(lua_State *L, struct host *h, int *ref) {
  if (*ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
    h->refs--;
  }
}

/* A reference to the function at `idx`. */
static int keep(lua_State *L, struct host *h, int idx) {
  int ref;
  luaL_checktype(L, idx, LUA_TFUNCTION);
  lua_pushvalue(L, idx);
  ref = luaL_ref(L, LUA_REGISTRYINDEX);
  h->refs++;
  return ref;
}

static int find_watch(const struct host *h, int fd) {
  size_t i;
  for (i = 0; i < h->n; i++)
    if (h->w[i].fd == fd)
      return (int)i;
  return -1;
}

/* Room for one more entry (a Lua error when memory is short: nothing has
 * changed then). */
static void grow(lua_State *L, struct host *h) {
  size_t cap = h->cap ? h->cap * 2 : 8;
  struct pollfd *fds;
  struct watch *w;
  if (h->n < h->cap)
    return;
  fds = realloc(h->fds, cap * sizeof *fds);
  if (fds == NULL)
    luaL_error(L, "poll_host: out of memory");
  h->fds = fds;
  w = realloc(h->w, cap * sizeof *w);
  if (w == NULL)
    luaL_error(L, "poll_host: out of memory");
  h->w = w;
  h->cap = cap;
}

/* host:watch(fd, events, on_ready) */
static int host_watch(lua_State *L) {
  struct host *h = check_host(L);
  lua_Integer fd = luaL_checkinteger(L, 2);
  const char *ev = luaL_checkstring(L, 3);
  short events = 0;
  int i;
  luaL_argcheck(L, fd >= 0 && fd <= 0x7fffffff, 2, "not a file descriptor");
  if (strcmp(ev, "r") == 0 || strcmp(ev, "rw") == 0)
    events |= POLLIN;
  if (strcmp(ev, "w") == 0 || strcmp(ev, "rw") == 0)
    events |= POLLOUT;
  luaL_argcheck(L, events != 0, 3, "events must be \"r\", \"w\" or \"rw\"");
  luaL_checktype(L, 4, LUA_TFUNCTION);
  if (h->closed)
    return 0;
  i = find_watch(h, (int)fd);
  if (i < 0) {
    grow(L, h);
    i = (int)h->n++;
    h->fds[i].fd = (int)fd;
    h->w[i].fd = (int)fd;
    h->w[i].ref = LUA_NOREF;
    h->w[i].gen = ++h->next_gen;
  }
  h->fds[i].events = events;
  h->fds[i].revents = 0;
  release(L, h, &h->w[i].ref);
  h->w[i].ref = keep(L, h, 4);
  return 0;
}

static void drop_watch(lua_State *L, struct host *h, size_t i) {
  release(L, h, &h->w[i].ref);
  h->n--;
  h->fds[i] = h->fds[h->n];
  h->w[i] = h->w[h->n];
}

/* host:unwatch(fd) */
static int host_unwatch(lua_State *L) {
  struct host *h = check_host(L);
  lua_Integer fd = luaL_checkinteger(L, 2);
  int i = (fd >= 0 && fd <= 0x7fffffff) ? find_watch(h, (int)fd) : -1;
  if (i < 0)
    h->stray_unwatch++;
  else
    drop_watch(L, h, (size_t)i);
  return 0;
}

/* host:timer(seconds, on_fire) | host:timer(nil) */
static int host_timer(lua_State *L) {
  struct host *h = check_host(L);
  double s;
  release(L, h, &h->timer_ref);
  if (lua_isnoneornil(L, 2) || h->closed)
    return 0;
  s = luaL_checknumber(L, 2);
  luaL_argcheck(L, s == s, 2, "not a number");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (s < 0)
    s = 0;
  if (s > MAX_TIMER_S)
    s = MAX_TIMER_S;
  h->timer_at = now_ns() + (long long)(s * 1e9 + 0.5);
  h->timer_ref = keep(L, h, 3);
  return 0;
}

/* The host's own work: here only the time since the last tick. */
static void tick(struct host *h, long long now) {
  if (!h->ticking || now < h->next_tick)
    return;
  if (now - h->last_tick > h->max_gap)
    h->max_gap = now - h->last_tick;
  h->last_tick = now;
  h->next_tick = now + TICK_NS;
  h->ticks++;
}

static void start_ticking(struct host *h) {
  h->ticking = 1;
  h->last_tick = now_ns();
  h->next_tick = h->last_tick + TICK_NS;
  h->max_gap = h->max_call = h->max_work = h->max_work_cpu = 0;
  h->ticks = 0;
}

/* poll()'s timeout in ms: to the earliest of the timer, the next tick
 * and the deadline, rounded up (a timer never fires early). */
static int poll_timeout(const struct host *h, long long now) {
  long long at = h->deadline;
  if (h->timer_ref != LUA_NOREF && h->timer_at < at)
    at = h->timer_at;
  if (h->ticking && h->next_tick < at)
    at = h->next_tick;
  if (at <= now)
    return 0;
  return (int)((at - now + 999999) / 1000000);
}

/* Message handler: the error with a traceback. */
static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL)
    msg =
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function under its `nargs` arguments; an error is printed and
 * counted, never raised. */
static void call_back(lua_State *L, struct host *h, int nargs,
                      const char *what) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  long long t0 = now_ns();
  h->calls++;
  if (lua_pcall(L, nargs, 0, base) != LUA_OK) {
    fprintf(stderr, "poll_host: %s raised: %s\n", what, lua_tostring(L, -1));
    h->errors++;
    lua_pop(L, 1);
  }
  lua_remove(L, base);
  if (h->ticking && now_ns() - t0 > h->max_call)
    h->max_call = now_ns() - t0;
}

/* Copies the ready entries, so callbacks may change the array. */
static size_t take_ready(lua_State *L, struct host *h) {
  size_t i, k = 0;
  if (h->n == 0)
    return 0;
  if (h->ready_cap < h->n) {
    struct ready *r = realloc(h->ready, h->n * sizeof *r);
    if (r == NULL)
      luaL_error(L, "poll_host: out of memory");
    h->ready = r;
    h->ready_cap = h->n;
  }
  for (i = 0; i < h->n; i++) {
    if (h->fds[i].revents == 0)
      continue;
    h->ready[k].fd = h->fds[i].fd;
    h->ready[k].gen = h->w[i].gen;
    h->ready[k].revents = h->fds[i].revents;
    k++;
  }
  return k;
}

static void dispatch(lua_State *L, struct host *h) {
  const short both = POLLERR | POLLHUP | POLLNVAL;
  size_t j, k = take_ready(L, h);
  for (j = 0; j < k; j++) {
    struct ready r = h->ready[j];
    int i = find_watch(h, r.fd);
    short ev;
    if (i < 0 || h->w[i].gen != r.gen)
      continue; /* unwatched (or a new socket) since poll() */
    ev = r.revents & (h->fds[i].events | both); /* events may have changed */
    if (ev == 0)
      continue;
    if (ev & POLLNVAL)
      h->nval++;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->w[i].ref);
    lua_pushboolean(L, (ev & (POLLIN | both)) != 0);
    lua_pushboolean(L, (ev & (POLLOUT | both)) != 0);
    call_back(L, h, 2, "on_ready");
    tick(h, now_ns()); /* the host's work goes on between callbacks */
  }
}

static void fire_timer(lua_State *L, struct host *h) {
  if (h->timer_ref == LUA_NOREF || now_ns() < h->timer_at)
    return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->timer_ref);
  release(L, h, &h->timer_ref); /* on_fire may set the timer again */
  h->fires++;
  call_back(L, h, 0, "on_fire");
}

/* One turn of the loop. -> 0 when there was nothing to wait for. */
static int turn(lua_State *L, struct host *h) {
  long long now = now_ns(), cpu;
  int n;
  if (h->in_turn)
    luaL_error(L, "poll_host: run_once inside a callback");
  if (now >= h->deadline)
    luaL_error(L, "poll_host: the loop still runs after %d s", LIMIT_S);
  if (h->n == 0 && h->timer_ref == LUA_NOREF && !h->ticking)
    return 0;
  tick(h, now);
  n = poll(h->fds, (nfds_t)h->n, poll_timeout(h, now));
  if (n < 0 && errno != EINTR)
    luaL_error(L, "poll_host: poll: %s", strerror(errno));
  h->in_turn = 1;
  h->turns++;
  now = now_ns();
  cpu = cpu_ns();
  tick(h, now);
  if (n > 0)
    dispatch(L, h);
  fire_timer(L, h);
  if (h->ticking && now_ns() - now > h->max_work)
    h->max_work = now_ns() - now;
  if (h->ticking && cpu_ns() - cpu > h->max_work_cpu)
    h->max_work_cpu = cpu_ns() - cpu;
  h->in_turn = 0;
  return 1;
}

/* host:run_once() -> false when nothing is watched and no timer is set */
static int host_run_once(lua_State *L) {
  lua_pushboolean(L, turn(L, check_host(L)));
  return 1;
}

/* host:error(err): a coroutine failed and nobody waits for it. */
static int host_error(lua_State *L) {
  struct host *h = check_host(L);
  fprintf(stderr, "poll_host: a coroutine failed: %s\n",
          luaL_tolstring(L, 2, NULL));
  h->errors++;
  return 0;
}

/* host:close(), also __gc: every reference and array goes. */
static int host_close(lua_State *L) {
  struct host *h = check_host(L);
  while (h->n > 0)
    drop_watch(L, h, h->n - 1);
  release(L, h, &h->timer_ref);
  free(h->fds);
  free(h->w);
  free(h->ready);
  h->fds = NULL;
  h->w = NULL;
  h->ready = NULL;
  h->cap = h->ready_cap = 0;
  h->closed = 1;
  return 0;
}

static struct host *new_host(lua_State *L) {
  static const luaL_Reg methods[] = {{"watch", host_watch},
                                     {"unwatch", host_unwatch},
                                     {"timer", host_timer},
                                     {"run_once", host_run_once},
                                     {"error", host_error},
                                     {"close", host_close},
                                     {NULL, NULL}};
  struct host *h = lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  h->timer_ref = LUA_NOREF;
  h->deadline = now_ns() + LIMIT_S * 1000000000LL;
  if (luaL_newmetatable(L, HOST_META)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, host_close);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return h;
}

/* The task's on_done callback: the loop may stop. */
static int task_done(lua_State *L) {
  struct host *h = lua_touserdata(L, lua_upvalueindex(1));
  h->task_done = 1;
  return 0;
}

/* Calls s[name] with the `nargs` values on the stack top. */
static void call_s(lua_State *L, int s, const char *name, int nargs, int nres) {
  lua_getfield(L, s, name);
  lua_insert(L, -1 - nargs);
  lua_call(L, nargs, nres);
}

/* The blocking listing, timed. */
static void run_blocking(lua_State *L, struct report *r, int s) {
  long long t0 = now_ns();
  call_s(L, s, "blocking", 0, 3);
  r->blocking = now_ns() - t0;
  r->blocking_others = luaL_checkinteger(L, -3);
  r->blocking_all = luaL_checkinteger(L, -2);
  snprintf(r->blocking_digest, sizeof r->blocking_digest, "%s",
           luaL_checkstring(L, -1));
  lua_pop(L, 3);
}

/* The scenario's task, driven by this program's own loop until it ends,
 * the ticks running alongside. */
static void run_loop(lua_State *L, struct report *r, int s) {
  struct host *h = r->h;
  long long t0 = now_ns();
  lua_pushvalue(L, 1); /* the host: the upvalue of task_done */
  lua_pushcclosure(L, task_done, 1);
  lua_pushinteger(L, CREATES);
  lua_pushinteger(L, WORKERS);
  call_s(L, s, "start", 3, 1); /* the task, left on the stack */
  start_ticking(h);
  while (!h->task_done)
    turn(L, h);
  h->ticking = 0;
  r->elapsed = now_ns() - t0;
}

static void run_finish(lua_State *L, struct report *r, int s) {
  call_s(L, s, "finish", 1, 5); /* the task */
  r->loop_others = luaL_checkinteger(L, -5);
  r->loop_all = luaL_checkinteger(L, -4);
  snprintf(r->loop_digest, sizeof r->loop_digest, "%s",
           luaL_checkstring(L, -3));
  r->cycled = luaL_checkinteger(L, -2);
  r->left = luaL_checkinteger(L, -1);
  lua_pop(L, 5);
  r->scenario_ok = 1;
}

/* The whole run, in protected mode: host at index 1, s at index 2. */
static int run(lua_State *L) {
  struct report *r = lua_touserdata(L, 1);
  int s;
  lua_settop(L, 0);
  r->h = new_host(L);
  if (luaL_loadstring(L, scenario) != LUA_OK)
    return lua_error(L);
  lua_pushvalue(L, 1);
  lua_pushstring(L, r->endpoint);
  lua_pushstring(L, r->token);
  lua_call(L, 3, 1);
  s = lua_gettop(L);
  run_blocking(L, r, s);
  run_loop(L, r, s);
  run_finish(L, r, s);
  call_s(L, s, "close", 0, 0);
  r->watchers_left = (int)r->h->n;
  r->timer_left = r->h->timer_ref != LUA_NOREF;
  r->refs_left = r->h->refs;
  return 0;
}

static int report_ok(const struct report *r) {
  const struct host *h = r->h;
  return r->scenario_ok && h->errors == 0 && h->nval == 0 &&
         r->loop_others == r->blocking_others &&
         strcmp(r->loop_digest, r->blocking_digest) == 0 &&
         (r->groups < 0 || r->loop_others == r->groups) &&
         r->cycled == CREATES && r->left == 0 && r->watchers_left == 0 &&
         !r->timer_left && r->refs_left == 0;
}

static void print_report(const struct report *r, int ok) {
  const struct host *h = r->h;
  printf("poll_host: %s listed=%lld blocking=%lld all=%lld/%lld digest=%s/%s "
         "cycled=%lld left=%lld elapsed_ms=%.1f blocking_ms=%.1f ticks=%lu "
         "max_gap_ms=%.2f max_turn_ms=%.2f max_turn_cpu_ms=%.2f "
         "max_callback_ms=%.2f turns=%lu callbacks=%lu timers=%lu errors=%d "
         "nval=%d stray_unwatch=%d watchers_left=%d timer_left=%d "
         "refs_left=%d\n",
         ok ? "ok" : "FAILED", (long long)r->loop_others,
         (long long)r->blocking_others, (long long)r->loop_all,
         (long long)r->blocking_all, r->loop_digest, r->blocking_digest,
         (long long)r->cycled, (long long)r->left, r->elapsed / 1e6,
         r->blocking / 1e6, h->ticks, h->max_gap / 1e6, h->max_work / 1e6,
         h->max_work_cpu / 1e6, h->max_call / 1e6, h->turns, h->calls, h->fires,
         h->errors, h->nval, h->stray_unwatch, r->watchers_left, r->timer_left,
         r->refs_left);
}

int main(int argc, char **argv) {
  struct report r;
  struct host h; /* what the report shows once the state is gone */
  lua_State *L;
  int ok;
  memset(&r, 0, sizeof r);
  r.token = getenv("GENESISCLOUD_TOKEN");
  if (argc < 2 || argc > 3 || r.token == NULL) {
    fprintf(stderr, "usage: GENESISCLOUD_TOKEN=... %s ENDPOINT [GROUPS]\n",
            argv[0]);
    return 2;
  }
  r.endpoint = argv[1];
  r.groups = argc == 3 ? strtol(argv[2], NULL, 10) : -1;
  L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "poll_host: cannot create a Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, &r);
  if (lua_pcall(L, 1, 0, 1) != LUA_OK)
    fprintf(stderr, "poll_host: %s\n", lua_tostring(L, -1));
  if (r.h == NULL) {
    lua_close(L);
    return 1;
  }
  h = *r.h;
  r.h = &h;
  lua_close(L); /* the client's __gc, then the host's */
  ok = report_ok(&r);
  print_report(&r, ok);
  return ok ? 0 : 1;
}
