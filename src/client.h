#ifndef GENESISCLOUD_CLIENT_H
#define GENESISCLOUD_CLIENT_H

#include "compat.h"

#define GC_CLIENT_MT "genesiscloud.client"

/* Creates the client metatable and pushes its methods table (__index). */
void gc_client_open(lua_State *L);

/* core.new(options) -> client | nil, message */
int gc_client_new(lua_State *L);

/* Pushes a table of the header lines in data[0..len), names in lower
 * case. Exposed for the fuzz target. */
void gc_push_headers(lua_State *L, const char *data, size_t len);

#endif
