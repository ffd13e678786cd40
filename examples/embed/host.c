/*
 * A C program that embeds Lua and uses lua-genesiscloud from two Lua
 * states at once, each in its own thread: both load the module at the same
 * moment (so libcurl's one-time initialisation is raced on purpose), run
 * requests against the API, and are closed again. `make embed-check` runs
 * it against the emulator under valgrind.
 *
 *   host ENDPOINT                 (the token comes from GENESISCLOUD_TOKEN)
 *
 * The module is found through LUA_PATH and LUA_CPATH (luaL_openlibs reads
 * them), e.g. LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;'.
 *
 * Build: cc -std=c99 -o host host.c $(pkg-config --cflags --libs lua5.4) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define STATES 2
#define ROUNDS 3

/* What each state runs: a few rounds of create, read, list, update and
 * delete, on a client of its own. Errors are raised with their one-line
 * text, so the host only has to print what lua_pcall gives back. */
static const char *const script =
    "local endpoint, token, name, rounds = ...\n"
    "local genesiscloud = require 'genesiscloud'\n"
    "local rules = genesiscloud.rules\n"
    "local client = assert(genesiscloud.new{ endpoint = endpoint, token = token })\n"
    "local function check(value, err) if value == nil then error(tostring(err), 0) end return value end\n"
    "for round = 1, rounds do\n"
    "  local sg = check(client:create_security_group{ name = name .. '-' .. round,\n"
    "    description = 'from ' .. name, rules = { rules.ssh(), rules.egress.all() } })\n"
    "  check(client:get_security_group(sg.id))\n"
    "  local page = check(client:list_security_groups{ per_page = 100 })\n"
    "  assert(page.total_count >= 1)\n"
    "  sg = check(client:update_security_group(sg.id, { name = sg.name,\n"
    "    description = 'changed', rules = { rules.https() } }))\n"
    "  assert(sg.description == 'changed')\n"
    "  check(client:delete_security_group(sg.id))\n"
    "end\n"
    "client:close()\n"
    "return name .. ': ' .. rounds .. ' rounds, libcurl ' .. require('genesiscloud.core').curl_version\n";

struct job {
  const char *endpoint;
  const char *token;
  char name[32];
  lua_State *L;
  int ok;
  char message[512];
};

static pthread_barrier_t start_together;

static void *run(void *arg) {
  struct job *job = arg;
  lua_State *L = job->L;
  /* Every thread loads the module (and so runs luaopen_genesiscloud_core
   * and its pthread_once) at the same moment. */
  pthread_barrier_wait(&start_together);
  if (luaL_loadstring(L, script) != LUA_OK) {
    snprintf(job->message, sizeof job->message, "%s", lua_tostring(L, -1));
    return NULL;
  }
  lua_pushstring(L, job->endpoint);
  lua_pushstring(L, job->token);
  lua_pushstring(L, job->name);
  lua_pushinteger(L, ROUNDS);
  if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
    const char *err = lua_tostring(L, -1);
    snprintf(job->message, sizeof job->message, "%s",
             err ? err : "(error object is not a string)");
  } else {
    snprintf(job->message, sizeof job->message, "%s", lua_tostring(L, -1));
    job->ok = 1;
  }
  lua_pop(L, 1);
  return NULL;
}

int main(int argc, char **argv) {
  struct job jobs[STATES];
  pthread_t threads[STATES];
  const char *token = getenv("GENESISCLOUD_TOKEN");
  int i, failed = 0;

  if (argc != 2 || token == NULL) {
    fprintf(stderr, "usage: GENESISCLOUD_TOKEN=... %s ENDPOINT\n", argv[0]);
    return 2;
  }
  if (pthread_barrier_init(&start_together, NULL, STATES) != 0) {
    perror("pthread_barrier_init");
    return 1;
  }
  for (i = 0; i < STATES; i++) {
    jobs[i].endpoint = argv[1];
    jobs[i].token = token;
    snprintf(jobs[i].name, sizeof jobs[i].name, "embed-state-%d", i + 1);
    jobs[i].ok = 0;
    jobs[i].message[0] = '\0';
    jobs[i].L = luaL_newstate();
    if (jobs[i].L == NULL) {
      fprintf(stderr, "cannot create a Lua state\n");
      return 1;
    }
    luaL_openlibs(jobs[i].L);
  }
  for (i = 0; i < STATES; i++) {
    if (pthread_create(&threads[i], NULL, run, &jobs[i]) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  for (i = 0; i < STATES; i++)
    pthread_join(threads[i], NULL);
  for (i = 0; i < STATES; i++) {
    /* Closing a state closes its clients (their __gc) and unloads the
     * module; the other state's clients are untouched. */
    lua_close(jobs[i].L);
    printf("%s %s\n", jobs[i].ok ? "ok" : "FAILED", jobs[i].message);
    if (!jobs[i].ok)
      failed = 1;
  }
  pthread_barrier_destroy(&start_together);
  return failed;
}
