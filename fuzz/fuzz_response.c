/*
 * libFuzzer target over the response handling: the C header parser
 * (gc_push_headers), the C classification of an answer (gc_push_answer,
 * what perform and multi_next return), and the Lua oracle (response_oracle.lua),
 * which must turn every response into a result or `nil, err` and never
 * raise, and agree with the C: where C decodes, interpret returns the
 * same value (true for an expected 204); where C gives the response with
 * a reason, interpret fails with kind "decode" and that very message;
 * where C gives the response alone, interpret fails with kind "api".
 *
 * Input format (fuzz/corpus/ has real examples):
 *
 *   GET 200 security_group\n          the request: method, expected status,
 *                                     unwrap key; a field that is missing
 *                                     or "-" leaves spec.expect/unwrap nil
 *   HTTP/1.1 404 Not Found\r\n        header block up to and including the
 *   content-type: application/json\r\n   first empty line ("\r\n\r\n" or
 *   \r\n                              "\n\n"), as libcurl hands it over
 *   {"code":"02003","message":"..."}  body: all the rest, any bytes
 *
 * The status is the number after the first space of the header block
 * (200 when there is none). A Lua error anywhere, or a result that is not
 * `table | true` or `nil, error object`, aborts.
 *
 * Every body also goes through core.decode (src/json_decode.c), at its
 * default depth (1000) and at json.decode's (64). It must never raise; a
 * refusal is `nil, "... at character <n>"` with n within the body. It is
 * strict RFC 8259 and cjson is lenient (NaN, hex, leading zeros, "1.",
 * raw control characters, anything after a NUL, invalid UTF-8, 1e400 as
 * infinity...), so only one direction is compared: whatever core.decode
 * takes, cjson must take too, and
 * core_testing.clean(cjson's value) must deep-equal core.decode's, math.type of
 * numbers included (a top-level null is nil with no message for one and
 * cjson.null for the other). At depth 64 the result is the same or the
 * message says "nested deeper than 64 levels". gc_json_decode_member
 * (perform's unwrapping decode) must give exactly the member a whole
 * decode at depth 64 has, for "security_group" and the request's unwrap
 * key, or nothing when that has none. The two refusals that are not
 * about syntax are checked on their own: "invalid UTF-8" must point at the
 * first byte Lua's utf8.len finds bad, "number out of the range" at a
 * number Lua reads as an infinity; and a decoded value holds only valid
 * UTF-8 strings and finite numbers.
 * One exclusion: core.decode reads every integer that fits in 64 bits
 * exactly, cjson reads every number as a double, so an integer beyond
 * 2^53 is the same when cjson's value (a float, or an integer after
 * core_testing.clean) is the double nearest to it. Surrogate escapes
 * need none: lua-cjson 2.1.0 joins pairs and refuses lone halves alike.
 *
 * The Lua code is not compiled with coverage instrumentation, so a line
 * hook feeds (source, line) pairs of lua/genesiscloud/ to libFuzzer as
 * extra counters: new paths through the Lua layer count as new coverage.
 *
 * The Lua modules come from the checkout's lua/ (fixed at build time);
 * GC_FUZZ_LUA_DIR=dir in the environment runs another copy instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "../src/internal.h"
#include "../src/json_decode.h"

#ifndef GC_FUZZ_LUA_DIR
#define GC_FUZZ_LUA_DIR "lua"
#endif

int luaopen_genesiscloud_core(lua_State *L);
int luaopen_genesiscloud_core_testing(lua_State *L);

/* The core.decode checks (see the header comment), a chunk of its own
 * (C99 caps a string literal at 4095 characters). Called with the main
 * chunk's fail and assert_clean and with core; returns
 * check_decode(body, cjson_value, cleaned_value). */
static const char decode_harness[] =
    "local fail, assert_clean, core = ...\n"
    "local decode, mtype, MAX_SAFE = core.decode, math.type, 2 ^ 53\n"
    "local function show(v)\n"
    "  if type(v) == 'number' then\n"
    "    return ('%.17g (%s)'):format(v, mtype(v))\n"
    "  end\n"
    "  return type(v) == 'string' and ('%q'):format(v) or tostring(v)\n"
    "end\n"
    "-- deep equality, math.type included; see the header comment\n"
    "local function same(a, b, path)\n"
    "  if type(a) ~= type(b) then\n"
    "    return false, path .. ': ' .. show(a) .. ' vs ' .. show(b)\n"
    "  end\n"
    "  if type(a) == 'number' then\n"
    "    if mtype(a) == mtype(b) and a == b then return true end\n"
    "    if (mtype(a) == 'integer' or mtype(b) == 'integer')\n"
    "        and math.abs(a + 0.0) >= MAX_SAFE and a + 0.0 == b + 0.0 then\n"
    "      return true\n"
    "    end\n"
    "    return false, path .. ': ' .. show(a) .. ' vs ' .. show(b)\n"
    "  end\n"
    "  if type(a) ~= 'table' then\n"
    "    if a == b then return true end\n"
    "    return false, path .. ': ' .. show(a) .. ' vs ' .. show(b)\n"
    "  end\n"
    "  for k, v in pairs(a) do\n"
    "    local ok, why = same(v, b[k], path .. '[' .. show(k) .. ']')\n"
    "    if not ok then return false, why end\n"
    "  end\n"
    "  for k in pairs(b) do\n"
    "    if a[k] == nil then\n"
    "      return false, path .. '[' .. show(k) .. ']: absent vs present'\n"
    "    end\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local function count(...) return select('#', ...), ... end\n"
    "-- refusals cjson does not make: invalid UTF-8 at the first byte\n"
    "-- utf8.len finds bad, a number that is infinite as Lua reads it\n"
    "local function justified(body, err, at)\n"
    "  if err:find('^invalid UTF%-8') then\n"
    "    local _, bad = utf8.len(body)\n"
    "    if bad ~= at then fail('UTF-8 refusal %q, utf8.len %s', err, bad) "
    "end\n"
    "  elseif err:find('^number out of the range') then\n"
    "    local n = tonumber(body:match('^%-?%d+%.?%d*[eE]?[+-]?%d*', at))\n"
    "    if n ~= math.huge and n ~= -math.huge then\n"
    "      fail('range refusal %q of %s', err, tostring(n))\n"
    "    end\n"
    "  end\n"
    "end\n"
    "-- what it takes: UTF-8 strings, finite numbers\n"
    "local function valid(v)\n"
    "  if type(v) == 'string' and not utf8.len(v) then\n"
    "    fail('invalid UTF-8 taken: %q', v)\n"
    "  elseif v == math.huge or v == -math.huge then fail('infinity taken')\n"
    "  elseif type(v) == 'table' then\n"
    "    for k, x in pairs(v) do valid(k); valid(x) end\n"
    "  end\n"
    "end\n"
    "-- core.decode(body, depth): never raises, and a refusal says where\n"
    "local function strict(body, depth)\n"
    "  local n, ok, v, err = count(pcall(decode, body, depth))\n"
    "  if not ok then fail('core.decode raised: %s', tostring(v)) end\n"
    "  n = n - 1\n"
    "  if v ~= nil or err == nil then\n"
    "    if n ~= 1 then fail('core.decode: %d results for a value', n) end\n"
    "    return v\n"
    "  end\n"
    "  if n ~= 2 or type(err) ~= 'string' then\n"
    "    fail('core.decode: %d results, message %s', n, tostring(err))\n"
    "  end\n"
    "  local at = tonumber(err:match(' at character (%d+)$'))\n"
    "  if not at or at < 1 or at > #body + 1 then\n"
    "    fail('core.decode message %q for %d bytes', err, #body)\n"
    "  end\n"
    "  justified(body, err, at)\n"
    "  return nil, err\n"
    "end\n"
    "-- gc_json_decode_member: the member of a whole decode, or nothing\n"
    "local function check_member(body, key)\n"
    "  local v = decode(body, 64)\n"
    "  local expected\n"
    "  if type(v) == 'table' then expected = v[key] end\n"
    "  local m = decode_member(body, key)\n"
    "  if expected == nil then\n"
    "    if m ~= nil then fail('decode_member found %s', show(m)) end\n"
    "  else\n"
    "    local ok, why = same(expected, m, 'member')\n"
    "    if not ok then fail('decode_member vs decode: %s', why) end\n"
    "  end\n"
    "end\n"
    "local function check_decode(body, value, cleaned, unwrap)\n"
    "  check_member(body, 'security_group')\n"
    "  if type(unwrap) == 'string' then check_member(body, unwrap) end\n"
    "  local v, err = strict(body)\n"
    "  if err then return end\n"
    "  if value == nil then\n"
    "    fail('core.decode took what cjson refused: %s', show(v))\n"
    "  end\n"
    "  local ok, why = same(cleaned, v, 'value')\n"
    "  if not ok then fail('core.decode vs cjson + clean: %s', why) end\n"
    "  if v ~= nil then assert_clean(v, {}); valid(v) end\n"
    "  local v64, err64 = strict(body, 64)\n"
    "  if err64 then\n"
    "    if not err64:find('^value nested deeper than 64 levels') then\n"
    "      fail('core.decode at depth 64: %s', err64)\n"
    "    end\n"
    "  else\n"
    "    ok, why = same(v, v64, 'value')\n"
    "    if not ok then fail('core.decode at depth 64: %s', why) end\n"
    "  end\n"
    "end\n"
    "return check_decode, same\n";

/* Runs once per input, after gc_push_headers: checks what interpret,
 * classify (gc_push_answer), core_testing.clean and core.decode return.
 * Errors raised here are findings. */
static const char harness[] =
    "local oracle = require 'response_oracle'\n"
    "local errors = require 'genesiscloud.errors'\n"
    "local core = require 'genesiscloud.core'\n"
    "local testing = require 'genesiscloud.core_testing'\n"
    "local cjson = require('cjson.safe').new() -- default depth 1000\n"
    "local mtype, tointeger = math.type, math.tointeger\n"
    "local function fail(fmt, ...) error(fmt:format(...), 2) end\n"
    "local function assert_clean(v, seen)\n"
    "  local t = type(v)\n"
    "  if t == 'userdata' then fail('cjson.null left after clean') end\n"
    "  if t == 'number' and mtype(v) == 'float' and tointeger(v) then\n"
    "    fail('whole float %s left after clean', tostring(v))\n"
    "  end\n"
    "  if t == 'table' then\n"
    "    if seen[v] then fail('cycle after clean') end\n"
    "    seen[v] = true\n"
    "    for k, x in pairs(v) do\n"
    "      assert_clean(k, seen); assert_clean(x, seen)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local check_decode, same = (...)(fail, assert_clean, core)\n"
    "local function count(...) return select('#', ...), ... end\n"
    "-- C's classification (as perform returns it) against interpret's\n"
    "local function check_classify(method, target, expect, unwrap, status,\n"
    "    body, header_block, n, result, err)\n"
    "  if expect == 0 then return end -- C: 0 is no expectation at all\n"
    "  local got = table.pack(classify(status, body, header_block,\n"
    "    expect or 200, unwrap))\n"
    "  if got[1] ~= status then fail('classify status %s', tostring(got[1])) "
    "end\n"
    "  if type(got[2]) ~= 'string' then -- decoded\n"
    "    if got.n ~= 2 then fail('decoded: %d values', got.n) end\n"
    "    local ok, why = same(result, got[2], 'value')\n"
    "    if not ok then fail('C decoded, interpret: %s', why) end\n"
    "  elseif got.n == 4 then -- the expected status, unusable body\n"
    "    if result ~= nil or err.kind ~= 'decode' or err.message ~= got[4] "
    "then\n"
    "      fail('C reason %q, interpret %s', got[4], tostring(err or result))\n"
    "    end\n"
    "  elseif got.n ~= 3 or type(got[3]) ~= 'table' then\n"
    "    fail('response: %d values', got.n)\n"
    "  elseif result ~= nil or err.kind ~= 'api' then\n"
    "    fail('C response, interpret %s', tostring(err or result))\n"
    "  end\n"
    "end\n"
    "return function(method, target, expect, unwrap, status, body, headers,\n"
    "    header_block)\n"
    "  for k, v in pairs(headers) do\n"
    "    if type(k) ~= 'string' or type(v) ~= 'string' then\n"
    "      fail('header %s is not string -> string', tostring(k))\n"
    "    end\n"
    "    if k ~= k:lower() or k == '' then fail('header name %q', k) end\n"
    "  end\n"
    "  local value, cleaned = cjson.decode(body), nil\n"
    "  if value ~= nil then\n"
    "    cleaned = testing.clean(value)\n"
    "    assert_clean(cleaned, {})\n"
    "  end\n"
    "  check_decode(body, value, cleaned, unwrap)\n"
    "  local spec = { expect = expect, unwrap = unwrap }\n"
    "  local n, result, err = count(\n"
    "    oracle.interpret(method, target, spec, status, body, headers))\n"
    "  check_classify(method, target, expect, unwrap, status, body, "
    "header_block,\n"
    "    n, result, err)\n"
    "  if result == nil then\n"
    "    if n ~= 2 then fail('%d results for a failure', n) end\n"
    "    if not errors.is(err) then\n"
    "      fail('not an error object: %s', tostring(err))\n"
    "    end\n"
    "    if type(err.kind) ~= 'string' or type(err.message) ~= 'string' then\n"
    "      fail('error without kind or message strings')\n"
    "    end\n"
    "    if type(tostring(err)) ~= 'string' then fail('__tostring') end\n"
    "  elseif result == true then\n"
    "    if (expect or 200) ~= 204 then\n"
    "      fail('true for expect %s', tostring(expect))\n"
    "    end\n"
    "  elseif type(result) == 'table' then\n"
    "    assert_clean(result, {})\n"
    "  else\n"
    "    fail('unexpected result %s', tostring(result))\n"
    "  end\n"
    "end\n";

static lua_State *L;

/* ---- Lua line coverage as libFuzzer extra counters ------------------- */

#define LUA_COUNTERS 8192
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t
    lua_counters[LUA_COUNTERS];

/* With GC_FUZZ_LUA_LINES=file set, the hook also keeps every "source:line"
 * it sees, and the set is written to that file at exit (used by
 * scripts/fuzz-coverage to measure line coverage of the Lua layer). */
static const char *lines_file;
static int lines_ref = LUA_NOREF;

static void line_hook(lua_State *H, lua_Debug *ar) {
  const char *s;
  uint32_t h = 2166136261u; /* FNV-1a over the source name */
  if (!lua_getinfo(H, "S", ar) || strstr(ar->source, "/genesiscloud/") == NULL)
    return;
  for (s = ar->source; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  h ^= (uint32_t)ar->currentline * 2654435761u;
  lua_counters[h % LUA_COUNTERS]++;
  if (lines_ref != LUA_NOREF) {
    lua_rawgeti(H, LUA_REGISTRYINDEX, lines_ref);
    lua_pushfstring(H, "%s:%d", ar->source + 1, ar->currentline);
    lua_pushboolean(H, 1);
    lua_rawset(H, -3);
    lua_pop(H, 1);
  }
}

static void write_lines(void) {
  FILE *f = fopen(lines_file, "w");
  if (f == NULL)
    return;
  lua_sethook(L, NULL, 0, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lines_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    (void)fprintf(f, "%s\n", lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  (void)fclose(f);
}

/* ---- set-up, once ------------------------------------------------------ */

/* decode_member(body, key): gc_json_decode_member at json.decode's depth,
 * the member or nothing. A global for the decode harness. */
static int fuzz_decode_member(lua_State *H) {
  size_t len, key_len;
  const char *body = luaL_checklstring(H, 1, &len);
  const char *key = luaL_checklstring(H, 2, &key_len);
  return gc_json_decode_member(H, body, len, GC_API_JSON_DEPTH, key, key_len);
}

/* classify(status, body, header_block, expect, envelope): gc_push_answer,
 * what perform and multi_next return for an answer, without libcurl. A
 * global for the harness. */
static int fuzz_classify(lua_State *H) {
  lua_Integer status = luaL_checkinteger(H, 1);
  size_t body_len, head_len;
  const char *body = luaL_checklstring(H, 2, &body_len);
  const char *head = luaL_checklstring(H, 3, &head_len);
  gc_buffer body_buf = {NULL, 0, 0, (size_t)-1, 0};
  gc_buffer head_buf = {NULL, 0, 0, (size_t)-1, 0};
  gc_expect expect;
  int n;
  gc_check_expect(H, 4, &expect);
  /* copies of their own, so that ASan sees a read past the end */
  if ((body_len > 0 && gc_buffer_append(&body_buf, body, body_len) != 0) ||
      (head_len > 0 && gc_buffer_append(&head_buf, head, head_len) != 0))
    abort();
  n = gc_push_answer(H, NULL, NULL, (long)status, &body_buf, &head_buf,
                     &expect);
  gc_buffer_free(&body_buf);
  gc_buffer_free(&head_buf);
  return n;
}

static int traceback(lua_State *H) {
  luaL_traceback(H, H, lua_tostring(H, 1), 1);
  return 1;
}

static void die(const char *what) {
  (void)fprintf(stderr, "fuzz_response: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

/* NOLINTNEXTLINE(readability-non-const-parameter): libFuzzer's signature */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *dir = getenv("GC_FUZZ_LUA_DIR");
  (void)argc;
  (void)argv;
  if (dir == NULL)
    dir = GC_FUZZ_LUA_DIR;
  L = luaL_newstate();
  if (L == NULL)
    abort();
  luaL_openlibs(L);
  lua_pushcfunction(L, traceback); /* stays at index 1 */

  lua_getglobal(L, "package");
  /* the oracle (response_oracle.lua) sits beside this file */
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s/../fuzz/?.lua", dir, dir, dir);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_genesiscloud_core);
  lua_setfield(L, -2, "genesiscloud.core");
  lua_pushcfunction(L, luaopen_genesiscloud_core_testing);
  lua_setfield(L, -2, "genesiscloud.core_testing");
  lua_pop(L, 2);

  lua_pushcfunction(L, fuzz_decode_member);
  lua_setglobal(L, "decode_member");
  lua_pushcfunction(L, fuzz_classify);
  lua_setglobal(L, "classify");

  lines_file = getenv("GC_FUZZ_LUA_LINES");
  if (lines_file != NULL) {
    lua_newtable(L);
    lines_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    (void)atexit(write_lines);
  }
  /* harness(decode_harness) */
  if (luaL_loadbuffer(L, harness, sizeof(harness) - 1, "=fuzz_harness") !=
          LUA_OK ||
      luaL_loadbuffer(L, decode_harness, sizeof(decode_harness) - 1,
                      "=fuzz_decode") != LUA_OK ||
      lua_pcall(L, 1, 1, 1) != LUA_OK)
    die("cannot load the harness");
  /* the check function stays at index 2 */
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  return 0;
}

/* ---- one input ---------------------------------------------------------- */

/* Pushes the next space-separated word of [*p, end), or nil if none. */
static int push_word(const char **p, const char *end) {
  const char *s = *p, *e;
  while (s < end && *s == ' ')
    s++;
  e = s;
  while (e < end && *e != ' ')
    e++;
  *p = e;
  if (e == s)
    return 0;
  lua_pushlstring(L, s, (size_t)(e - s));
  return 1;
}

/* Like push_word, but pushes nil for a missing word or "-"; returns 1
 * when it pushed a word. */
static int push_word_or_nil(const char **p, const char *end) {
  if (push_word(p, end)) {
    size_t len;
    const char *w = lua_tolstring(L, -1, &len);
    if (len != 1 || w[0] != '-')
      return 1;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  return 0;
}

static const char *find(const char *s, const char *end, const char *what) {
  size_t n = strlen(what);
  for (; (size_t)(end - s) >= n; s++)
    if (memcmp(s, what, n) == 0)
      return s;
  return NULL;
}

/* Copies [s, s + n) to its own heap block, so that ASan sees a read past
 * its end (the input buffer would hide one behind the next section). */
static char *own_copy(const char *s, size_t n) {
  char *copy = malloc(n ? n : 1);
  if (copy == NULL)
    abort();
  if (n)
    memcpy(copy, s, n);
  return copy;
}

/* The number after the first space of the header block, 200 if none. */
static lua_Integer parse_status(const char *head, size_t head_len) {
  const char *end = head + head_len;
  const char *sp = memchr(head, ' ', head_len);
  const char *eol = memchr(head, '\n', head_len);
  lua_Integer status = 200;
  if (sp != NULL && (eol == NULL || sp < eol) && sp + 1 < end && sp[1] >= '0' &&
      sp[1] <= '9') {
    const char *d = sp + 1;
    status = 0;
    while (d < end && *d >= '0' && *d <= '9' && status < 100000)
      status = status * 10 + (*d++ - '0');
  }
  return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  const char *nl = memchr(p, '\n', size);
  const char *line_end = nl ? nl : end;
  const char *head = nl ? nl + 1 : end, *blank, *body;
  char *head_copy, *body_copy;
  size_t head_len, body_len;
  int top = lua_gettop(L);

  lua_pushvalue(L, 2); /* check */

  /* request line: method, expect, unwrap */
  if (!push_word(&p, line_end))
    lua_pushliteral(L, "GET");
  lua_pushliteral(L, "/security-groups");
  if (push_word_or_nil(&p, line_end)) {
    lua_Integer expect = lua_tointeger(L, -1); /* 0 unless a number */
    lua_pop(L, 1);
    lua_pushinteger(L, expect);
  }
  push_word_or_nil(&p, line_end);

  /* header block and body */
  blank = find(head, end, "\r\n\r\n");
  if (blank != NULL)
    body = blank + 4;
  else if ((blank = find(head, end, "\n\n")) != NULL)
    body = blank + 2;
  else
    body = end;
  head_len = (size_t)(body - head);
  body_len = (size_t)(end - body);
  lua_pushinteger(L, parse_status(head, head_len));
  body_copy = own_copy(body, body_len);
  lua_pushlstring(L, body_copy, body_len);
  free(body_copy);
  head_copy = own_copy(head, head_len);
  gc_push_headers(L, head_len ? head_copy : NULL, head_len);
  free(head_copy);
  lua_pushlstring(L, head, head_len);

  if (lua_pcall(L, 8, 0, 1) != LUA_OK)
    die("finding");
  lua_settop(L, top);
  /* Frees this input's garbage now, so that mallocs and frees balance per
   * input and libFuzzer's leak check after each new input stays on (it
   * gives up when memory is freed later); also faster than leaving it. */
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
