/*
 * core.decode(text [, max_depth]): JSON text straight to plain Lua values
 * in one pass, as the module wants them: `null` leaves the field absent,
 * whole numbers are integers (on 5.3+), empty lists and objects are empty
 * tables. It replaces cjson.decode + core.clean on every response, which
 * took about a third of the instructions of a whole small GET (55k of
 * 178k; this takes about 20k).
 *
 * Strict RFC 8259: no comments, no trailing commas, no NaN/Infinity/hex,
 * no raw control characters in strings, strings only of valid UTF-8 (RFC
 * 3629: no overlong forms, no surrogates, nothing past U+10FFFF, no cut
 * sequences; cjson passes any bytes), and no number beyond the range of a
 * double ("1e400" is refused, not made infinity; "1e-400" is 0, like any
 * rounding). \u escapes, surrogate pairs included, become UTF-8.
 *
 * Values are built on the Lua stack only, so nothing needs freeing on any
 * path: a syntax error resets the stack and returns nil + message, and a
 * memory error raised by Lua unwinds through here with nothing to leak.
 * The parser reads text[len], which Lua guarantees is '\0': no token can
 * contain it, so the hot loops need no separate end check.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "json_decode.h"

#define HINT_LEVELS 16
#define MAX_OBJECT_HINT 64
#define MAX_ARRAY_HINT 1024

/* Recent short strings, by a cheap hash of their bytes. Keys and many
 * values ("ingress", "tcp", dates, ids) come back in every answer, and
 * finding one here costs half of what interning it afresh costs. */
#define CACHE_SLOTS 256
#define CACHE_MAX_LEN 40 /* Lua interns strings up to this length */

/* What the decoder remembers from one call to the next, per Lua state
 * (kept in the registry, never in a C global):
 * - the table sizes last seen at each depth: answers of one API share
 *   their shapes, so a table made with the size its predecessor ended
 *   with is filled without a single rehash (which cost more than the
 *   parsing);
 * - where the bytes of each cached string are: the strings themselves
 *   live in the cache table (which keeps them alive and unmoved), and
 *   comparing here first saves a Lua call per string. */
typedef struct decoder_memory {
  int object[HINT_LEVELS];
  int array[HINT_LEVELS];
  const char *cached[CACHE_SLOTS];
  size_t cached_len[CACHE_SLOTS];
} decoder_memory;

typedef struct {
  lua_State *L;
  const char *start, *p, *end;
  int max_depth;
  const char *error; /* what went wrong, at p */
  decoder_memory *memory;
  int cache; /* stack index of the string cache table */
} parser;

enum { FAILED = 0, VALUE = 1, NULL_VALUE = 2 };

static const char TOO_DEEP[] = "nested too deeply";

/* 1 for the bytes a string can hold as they are: ASCII but '"', '\\' or a
 * control character (which includes the '\0' after the text). Bytes from
 * 0x80 up stop the fast loops too, to be checked as UTF-8. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
    R16(0), R16(0), /* 0x00-0x1F */
    1,      1,      0,      1,      1,      1,      1,      1,
    1,      1,      1,      1,      1,      1,      1,      1, /* '"' */
    R16(1), R16(1),                                            /* 0x30-0x4F */
    1,      1,      1,      1,      1,      1,      1,      1,
    1,      1,      1,      1,      0,      1,      1,      1, /* '\\' */
    R16(1), R16(1),                                            /* 0x60-0x7F */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)};
#undef R16

static int fail(parser *P, const char *message) {
  P->error = message;
  return FAILED;
}

static const char BAD_UTF8[] = "invalid UTF-8 in a string";

static int continuation(unsigned char ch) { return (ch & 0xC0) == 0x80; }

/* The length of the well-formed UTF-8 sequence at p, whose first byte is
 * 0x80 or more (RFC 3629's table), or 0. The '\0' after the text is no
 * continuation byte, so a sequence cut by the end stops there. */
static size_t utf8_sequence(const unsigned char *p) {
  unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF)
    return continuation(p[1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    /* E0: no overlong (A0..BF next); ED: no surrogates (80..9F next) */
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return p[1] >= lo && p[1] <= hi && continuation(p[2]) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    /* F0: no overlong (90..BF next); F4: nothing past U+10FFFF (80..8F) */
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return p[1] >= lo && p[1] <= hi && continuation(p[2]) && continuation(p[3])
               ? 4
               : 0;
  }
  return 0; /* 80..C1 (continuation, overlong lead) and F5..FF */
}

/* From p, the bytes a string holds as they are: ASCII ones and valid
 * UTF-8 sequences. Returns where they end; *bad is set when that is an
 * invalid UTF-8 sequence rather than '"', '\\' or a control character. */
static const char *plain_run(const char *p, int *bad) {
  for (;;) {
    size_t n;
    while (plain[(unsigned char)*p])
      p++;
    if ((unsigned char)*p < 0x80)
      return p;
    n = utf8_sequence((const unsigned char *)p);
    if (n == 0) {
      *bad = 1;
      return p;
    }
    p += n;
  }
}

static void skip_space(parser *P) {
  const char *p = P->p;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
    p++;
  P->p = p;
}

static int hex_value(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Four hex digits at p -> 0..0xFFFF, or -1. */
static long hex4(const char *p) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int d = hex_value(p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

static void add_utf8(luaL_Buffer *b, unsigned long cp) {
  if (cp < 0x80) {
    luaL_addchar(b, (char)cp);
  } else if (cp < 0x800) {
    luaL_addchar(b, (char)(0xC0 | (cp >> 6)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    luaL_addchar(b, (char)(0xE0 | (cp >> 12)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    luaL_addchar(b, (char)(0xF0 | (cp >> 18)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  }
}

/* One \uXXXX escape (surrogate pairs joined) at P->p, which points at the
 * 'u'; leaves P->p after the escape. */
static int unicode_escape(parser *P, luaL_Buffer *b) {
  long hi = hex4(P->p + 1);
  if (hi < 0)
    return fail(P, "invalid \\u escape");
  P->p += 5;
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    return fail(P, "lone low surrogate in a \\u escape");
  if (hi >= 0xD800 && hi <= 0xDBFF) {
    if (P->p[0] != '\\' || P->p[1] != 'u')
      return fail(P, "high surrogate without its low half");
    long lo = hex4(P->p + 2);
    if (lo < 0xDC00 || lo > 0xDFFF)
      return fail(P, "high surrogate without its low half");
    P->p += 6;
    add_utf8(b, 0x10000 + (((unsigned long)hi - 0xD800) << 10) +
                    ((unsigned long)lo - 0xDC00));
    return VALUE;
  }
  add_utf8(b, (unsigned long)hi);
  return VALUE;
}

/* A string ran into a byte it cannot hold (at P->p) other than '"' or
 * '\\': the '\0' after the text, or a raw control character. */
static int string_stopped(parser *P) {
  return fail(P, P->p >= P->end ? "unterminated string"
                                : "control character in a string");
}

/* The rest of a string that has escapes, from `from` (its first byte) on;
 * P->p is at the first backslash. Pushes the decoded string. */
static int escaped_string(parser *P, const char *from) {
  luaL_Buffer b;
  luaL_buffinit(P->L, &b);
  luaL_addlstring(&b, from, (size_t)(P->p - from));
  for (;;) {
    const char *run = P->p, *p;
    unsigned char ch;
    int bad = 0;
    p = plain_run(run, &bad);
    P->p = p;
    if (bad)
      return fail(P, BAD_UTF8);
    ch = (unsigned char)*p;
    luaL_addlstring(&b, run, (size_t)(p - run));
    if (ch == '"')
      break;
    if (ch != '\\')
      return string_stopped(P);
    P->p++;
    switch (*P->p) {
    case '"':
      luaL_addchar(&b, '"');
      break;
    case '\\':
      luaL_addchar(&b, '\\');
      break;
    case '/':
      luaL_addchar(&b, '/');
      break;
    case 'b':
      luaL_addchar(&b, '\b');
      break;
    case 'f':
      luaL_addchar(&b, '\f');
      break;
    case 'n':
      luaL_addchar(&b, '\n');
      break;
    case 'r':
      luaL_addchar(&b, '\r');
      break;
    case 't':
      luaL_addchar(&b, '\t');
      break;
    case 'u':
      if (!unicode_escape(P, &b))
        return FAILED;
      continue;
    default:
      return fail(P, "invalid escape in a string");
    }
    P->p++;
  }
  luaL_pushresult(&b);
  P->p++; /* the closing quote */
  return VALUE;
}

static void push_string(parser *P, const char *s, size_t len) {
  lua_State *L = P->L;
  decoder_memory *m = P->memory;
  size_t hash;
  int slot;
  if (len == 0 || len > CACHE_MAX_LEN) {
    lua_pushlstring(L, s, len);
    return;
  }
  hash = len * 7 + (size_t)(unsigned char)s[0] * 31 +
         (size_t)(unsigned char)s[len / 2] * 5 +
         (size_t)(unsigned char)s[len - 1] * 17;
  slot = (int)(hash & (CACHE_SLOTS - 1));
  if (m->cached_len[slot] == len && memcmp(m->cached[slot], s, len) == 0) {
    lua_rawgeti(L, P->cache, slot + 1);
    return;
  }
  lua_pushlstring(L, s, len);
  lua_pushvalue(L, -1);
  lua_rawseti(L, P->cache, slot + 1);
  m->cached[slot] = lua_tostring(L, -1);
  m->cached_len[slot] = len;
}

/* A string at P->p (the opening quote). Most have no escapes and are
 * pushed straight from the text. */
static int parse_string(parser *P) {
  const char *from = P->p + 1, *p = from;
  while (plain[(unsigned char)*p])
    p++;
  if ((unsigned char)*p >= 0x80) {
    int bad = 0;
    p = plain_run(p, &bad);
    if (bad) {
      P->p = p;
      return fail(P, BAD_UTF8);
    }
  }
  P->p = p;
  if (*p == '"') {
    push_string(P, from, (size_t)(p - from));
    P->p = p + 1;
    return VALUE;
  }
  if (*p == '\\')
    return escaped_string(P, from);
  return string_stopped(P);
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Pushes the number on top as an integer when it is a whole one that
 * fits, as cjson + core.clean did ("443.0" and "4.43e2" are 443). */
static void settle_number(lua_State *L) {
#if GC_HAVE_INTEGERS
  int isint = 0;
  lua_Integer n = lua_tointegerx(L, -1, &isint);
  if (isint) {
    lua_pop(L, 1);
    lua_pushinteger(L, n);
  }
#else
  (void)L;
#endif
}

/* Whether the number on top is finite: a text like "1e400" is beyond a
 * double, and Lua (strtod) reads it as infinity, which JSON cannot hold. */
static int in_range(lua_State *L) {
  lua_Number n = lua_tonumber(L, -1);
  return n >= -DBL_MAX && n <= DBL_MAX;
}

/* Drops the number on top; the error points at its first character. */
static int out_of_range(parser *P, const char *start) {
  lua_pop(P->L, 1);
  P->p = start;
  return fail(P, "number out of the range of a double");
}

/* Scans the number at P->p by RFC 8259's grammar and moves P->p past it.
 * Returns where its digits start (after a '-'), or NULL when it is none
 * (P has failed, P->p at the offending byte). `*whole`: no '.', no 'e'. */
static const char *scan_number(parser *P, int *whole) {
  const char *q = P->p, *digits;
  *whole = 1;
  if (*q == '-')
    q++;
  digits = q;
  if (*q == '0')
    q++;
  else if (*q >= '1' && *q <= '9')
    while (is_digit(*q))
      q++;
  else {
    P->p = q;
    fail(P, "invalid number");
    return NULL;
  }
  if (*q == '.') {
    *whole = 0;
    if (!is_digit(*++q)) {
      P->p = q;
      fail(P, "invalid number: no digit after '.'");
      return NULL;
    }
    while (is_digit(*q))
      q++;
  }
  if (*q == 'e' || *q == 'E') {
    *whole = 0;
    q++;
    if (*q == '+' || *q == '-')
      q++;
    if (!is_digit(*q)) {
      P->p = q;
      fail(P, "invalid number: no digit in the exponent");
      return NULL;
    }
    while (is_digit(*q))
      q++;
  }
  P->p = q;
  return digits;
}

/* Pushes the number s[0..q) that is not a short integer. */
static int push_other_number(parser *P, const char *s, const char *q) {
  /* Through Lua's own conversion: locale-proof, and on 5.3+ an integer
   * that fits in 64 bits stays one (a larger one becomes a float, as in
   * Lua itself). */
  lua_pushlstring(P->L, s, (size_t)(q - s));
#if LUA_VERSION_NUM >= 503
  if (lua_stringtonumber(P->L, lua_tostring(P->L, -1)) != 0) {
    lua_remove(P->L, -2);
    if (!in_range(P->L))
      return out_of_range(P, s);
    settle_number(P->L);
    return VALUE;
  }
#else
  if (lua_isnumber(P->L, -1)) {
    lua_Number n = lua_tonumber(P->L, -1);
    lua_pop(P->L, 1);
    lua_pushnumber(P->L, n);
    if (!in_range(P->L))
      return out_of_range(P, s);
    return VALUE;
  }
#endif
  {
    /* Lua refused it (LuaJIT: exponents past 2^20); strtod gives the
     * infinity or zero such a number means. */
    lua_Number n = (lua_Number)strtod(lua_tostring(P->L, -1), NULL);
    lua_pop(P->L, 1);
    lua_pushnumber(P->L, n);
  }
  if (!in_range(P->L))
    return out_of_range(P, s);
  settle_number(P->L);
  return VALUE;
}

static int parse_number(parser *P) {
  const char *s = P->p, *q, *digits;
  int whole;
  digits = scan_number(P, &whole);
  if (digits == NULL)
    return FAILED;
  q = P->p;
  /* Up to 18 digits always fit in 64 bits: the common case, no strtod. */
  if (whole && q - digits <= 18) {
    long long v = 0;
    const char *d;
    for (d = digits; d < q; d++)
      v = v * 10 + (*d - '0');
    if (s != digits)
      v = -v;
#if GC_HAVE_INTEGERS
    lua_pushinteger(P->L, (lua_Integer)v);
#else
    lua_pushnumber(P->L, (lua_Number)v);
#endif
    return VALUE;
  }
  return push_other_number(P, s, q);
}

static int literal(parser *P, const char *word, size_t len) {
  if ((size_t)(P->end - P->p) < len || memcmp(P->p, word, len) != 0)
    return fail(P, "expected a value");
  P->p += len;
  return VALUE;
}

static int parse_value(parser *P, int depth);

/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at max_depth. */
static int parse_object(parser *P, int depth) {
  lua_State *L = P->L;
  int count = 0;
  lua_createtable(L, 0, depth < HINT_LEVELS ? P->memory->object[depth] : 0);
  P->p++; /* '{' */
  skip_space(P);
  if (*P->p == '}') {
    P->p++;
    return VALUE;
  }
  for (;;) {
    int got;
    if (*P->p != '"')
      return fail(P, "expected a string key");
    if (!parse_string(P))
      return FAILED;
    skip_space(P);
    if (*P->p != ':')
      return fail(P, "expected ':' after a key");
    P->p++;
    skip_space(P);
    got = parse_value(P, depth);
    if (got == FAILED)
      return FAILED;
    /* null clears the key: a later duplicate wins, as in cjson */
    if (got == NULL_VALUE)
      lua_pushnil(L);
    /* Members are counted, nulls too: objects of one kind that differ only
     * in their nulls then hint the same size, rather than a small one
     * that the next object with fewer nulls outgrows (a rehash). */
    count++;
    lua_rawset(L, -3);
    skip_space(P);
    if (*P->p == ',') {
      P->p++;
      skip_space(P);
      continue;
    }
    if (*P->p == '}')
      break;
    return fail(P, "expected ',' or '}' in an object");
  }
  P->p++;
  if (depth < HINT_LEVELS)
    P->memory->object[depth] =
        count < MAX_OBJECT_HINT ? count : MAX_OBJECT_HINT;
  return VALUE;
}

/* The metatable a decoded list gets when it held a null (registry, under
 * the address of this constant). A null leaves a hole, and trailing nulls
 * leave no trace at all, so `[null]` would read as `[]`: the mark lets the
 * Lua layer refuse lists of objects with a null in them. */
static const char nulls_key = 0;

void gc_json_push_nulls_mark(lua_State *L) {
  gc_rawgetp(L, LUA_REGISTRYINDEX, &nulls_key);
  if (lua_istable(L, -1))
    return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "genesiscloud.list_with_nulls");
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -1);
  gc_rawsetp(L, LUA_REGISTRYINDEX, &nulls_key);
}

/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at max_depth. */
static int parse_array(parser *P, int depth) {
  lua_State *L = P->L;
  int index = 0, nulls = 0;
  lua_createtable(L, depth < HINT_LEVELS ? P->memory->array[depth] : 0, 0);
  P->p++; /* '[' */
  skip_space(P);
  if (*P->p == ']') {
    P->p++;
    return VALUE;
  }
  for (;;) {
    int got = parse_value(P, depth);
    if (got == FAILED)
      return FAILED;
    index++;
    /* null leaves a hole, as cjson + core.clean always did */
    if (got == VALUE)
      lua_rawseti(L, -2, index);
    else
      nulls = 1;
    skip_space(P);
    if (*P->p == ',') {
      P->p++;
      skip_space(P);
      continue;
    }
    if (*P->p == ']')
      break;
    return fail(P, "expected ',' or ']' in a list");
  }
  P->p++;
  if (depth < HINT_LEVELS)
    P->memory->array[depth] = index < MAX_ARRAY_HINT ? index : MAX_ARRAY_HINT;
  if (nulls) {
    gc_json_push_nulls_mark(L);
    lua_setmetatable(L, -2);
  }
  return VALUE;
}

/* One value at P->p (no leading space): pushes it and returns VALUE, or
 * pushes nothing and returns NULL_VALUE for null.
 * NOLINTNEXTLINE(misc-no-recursion): depth is capped at max_depth. */
static int parse_value(parser *P, int depth) {
  switch (*P->p) {
  case '"':
    return parse_string(P);
  case '{':
  case '[':
    if (depth >= P->max_depth)
      return fail(P, TOO_DEEP);
    /* the table, a key, a value and a cache copy at each level */
    luaL_checkstack(P->L, 4, "JSON value nested too deeply");
    return *P->p == '{' ? parse_object(P, depth + 1)
                        : parse_array(P, depth + 1);
  case 't':
    if (!literal(P, "true", 4))
      return FAILED;
    lua_pushboolean(P->L, 1);
    return VALUE;
  case 'f':
    if (!literal(P, "false", 5))
      return FAILED;
    lua_pushboolean(P->L, 0);
    return VALUE;
  case 'n':
    return literal(P, "null", 4) ? NULL_VALUE : FAILED;
  default:
    if (*P->p == '-' || is_digit(*P->p))
      return parse_number(P);
    return fail(P, P->p >= P->end ? "unexpected end of JSON text"
                                  : "expected a value");
  }
}

/* The decoder's memory (a userdata) and its string cache (a table), in
 * the registry under the addresses of these two constants. */
static const char memory_key = 0, cache_key = 0;

/* Pushes the memory and the cache, making them on first use. */
static decoder_memory *push_decoder_state(lua_State *L) {
  decoder_memory *m;
  gc_rawgetp(L, LUA_REGISTRYINDEX, &memory_key);
  m = (decoder_memory *)lua_touserdata(L, -1);
  if (m != NULL) {
    gc_rawgetp(L, LUA_REGISTRYINDEX, &cache_key);
    return m;
  }
  lua_pop(L, 1);
  m = (decoder_memory *)gc_newuserdata(L, sizeof *m);
  memset(m, 0, sizeof *m);
  lua_pushvalue(L, -1);
  gc_rawsetp(L, LUA_REGISTRYINDEX, &memory_key);
  lua_createtable(L, CACHE_SLOTS, 0);
  lua_pushvalue(L, -1);
  gc_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
  return m;
}

/* Readies P at the first token of text[0..len) and pushes the decoder's
 * memory and cache, which stay just above the caller's stack top. */
static void start_parser(parser *P, lua_State *L, const char *text, size_t len,
                         int max_depth) {
  luaL_checkstack(L, 8, "no room to decode JSON");
  memset(P, 0, sizeof *P);
  P->L = L;
  P->memory = push_decoder_state(L);
  P->cache = lua_gettop(L);
  P->start = P->p = text;
  P->end = text + len;
  P->max_depth = max_depth;
  skip_space(P);
}

int gc_json_decode_text(lua_State *L, const char *text, size_t len,
                        int max_depth) {
  parser P;
  int base = lua_gettop(L), got;
  start_parser(&P, L, text, len, max_depth);
  got = parse_value(&P, 0);
  if (got != FAILED) {
    skip_space(&P);
    if (P.p < P.end)
      got = fail(&P, "unexpected text after the JSON value");
  }
  if (got == FAILED) {
    lua_settop(L, base);
    lua_pushnil(L);
    if (P.error == TOO_DEEP)
      lua_pushfstring(L, "value nested deeper than %d levels at character %d",
                      max_depth, (int)(P.p - P.start) + 1);
    else
      lua_pushfstring(L, "%s at character %d", P.error,
                      (int)(P.p - P.start) + 1);
    return 2;
  }
  if (got == NULL_VALUE)
    lua_pushnil(L);
  lua_replace(L, base + 1); /* the value where the memory was */
  lua_settop(L, base + 1);
  return 1;
}

int gc_json_decode_member(lua_State *L, const char *text, size_t len,
                          int max_depth, const char *key, size_t key_len) {
  parser P;
  int base = lua_gettop(L), found = 0;
  start_parser(&P, L, text, len, max_depth);
  if (*P.p != '{' || max_depth < 1)
    goto not_found;
  P.p++;
  skip_space(&P);
  while (*P.p != '}') {
    size_t name_len;
    const char *name;
    int match, got;
    if (*P.p != '"' || !parse_string(&P))
      goto not_found;
    name = lua_tolstring(L, -1, &name_len);
    match = name_len == key_len && memcmp(name, key, key_len) == 0;
    lua_pop(L, 1);
    skip_space(&P);
    if (*P.p != ':')
      goto not_found;
    P.p++;
    skip_space(&P);
    got = parse_value(&P, 1);
    if (got == FAILED)
      goto not_found;
    if (match) {
      /* a later duplicate wins, and null clears the member */
      if (found)
        lua_remove(L, got == VALUE ? -2 : -1);
      found = got == VALUE;
    } else if (got == VALUE) {
      lua_pop(L, 1);
    }
    skip_space(&P);
    if (*P.p == ',') {
      P.p++;
      skip_space(&P);
      if (*P.p == '}')
        goto not_found; /* a trailing comma */
    } else if (*P.p != '}') {
      goto not_found;
    }
  }
  P.p++;
  skip_space(&P);
  if (P.p < P.end || !found)
    goto not_found;
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 1;
not_found:
  lua_settop(L, base);
  return 0;
}

int gc_json_decode(lua_State *L) {
  size_t len;
  const char *text;
  luaL_argcheck(L, lua_type(L, 1) == LUA_TSTRING, 1, "string expected");
  text = lua_tolstring(L, 1, &len);
  lua_Integer max_depth = luaL_optinteger(L, 2, GC_JSON_MAX_DEPTH_LIMIT);
  luaL_argcheck(L, max_depth >= 1 && max_depth <= GC_JSON_MAX_DEPTH_LIMIT, 2,
                "max_depth must be between 1 and 1000");
  return gc_json_decode_text(L, text, len, (int)max_depth);
}
