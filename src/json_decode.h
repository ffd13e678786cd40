#ifndef GENESISCLOUD_JSON_DECODE_H
#define GENESISCLOUD_JSON_DECODE_H

#include "compat.h"

/* The deepest nesting core.decode accepts at all, and the default. */
#define GC_JSON_MAX_DEPTH_LIMIT 1000
/* The nesting accepted in API answers: the Lua layer's json.MAX_DEPTH
 * (exported as core.json_max_depth, so there is one number). */
#define GC_API_JSON_DEPTH 64

/* Decodes text[0..len) (text[len] must be '\0', as in every Lua string)
 * and pushes the value, or nil for a JSON null; returns 1. On a syntax
 * error pushes nil and a message and returns 2. Table sizes and recent
 * strings are remembered between calls, per Lua state, to go faster. */
int gc_json_decode_text(lua_State *L, const char *text, size_t len,
                        int max_depth);

/* Decodes text that must be one JSON object and pushes only its member
 * key[0..key_len) (the last one, as a whole decode keeps), without making the
 * object around it: the envelope of a wrapped answer. Returns 1 with the
 * member pushed; 0, with nothing pushed, when the text is not valid JSON,
 * not an object, or has no such member (or only a null one). */
int gc_json_decode_member(lua_State *L, const char *text, size_t len,
                          int max_depth, const char *key, size_t key_len);

/* core.decode(text [, max_depth]) */
int gc_json_decode(lua_State *L);

/* Pushes the metatable every decoded list that held a null gets (made on
 * first use, one per Lua state): `core.list_with_nulls`. */
void gc_json_push_nulls_mark(lua_State *L);

#endif
