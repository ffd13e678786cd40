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

/* url.c: why libcurl's reading of the endpoint URL is refused (user
 * information, a query, a fragment, or no URL at all), or NULL. */
const char *gc_endpoint_problem(const char *url);

/* core.parse_url(url) -> table of the parts | nil, message */
int gc_parse_url(lua_State *L);

#endif
