/*
 * A growable byte buffer with a size limit. It is what libcurl's callbacks
 * write into: plain C, no Lua, so no Lua error can ever unwind through
 * libcurl.
 */
#ifndef GENESISCLOUD_BUFFER_H
#define GENESISCLOUD_BUFFER_H

#include <stddef.h>

typedef struct gc_buffer {
  char *data;
  size_t len;
  size_t cap;
  size_t limit;   /* appends that would pass this many bytes fail */
  int overflowed; /* set when an append failed because of the limit */
} gc_buffer;

/* Appends n bytes; returns 0, or -1 when over the limit or out of memory. */
int gc_buffer_append(gc_buffer *buf, const char *bytes, size_t n);

/* Puts a '\0' after the data (not counted in len, allowed past the limit),
 * for a parser that stops at it. Returns 0, or -1 when out of memory. */
int gc_buffer_terminate(gc_buffer *buf);

/* Empties the buffer for the next request; gives back memory when the last
 * response was unusually large, so a client's memory does not stay at its
 * high-water mark. */
void gc_buffer_reset(gc_buffer *buf);

void gc_buffer_free(gc_buffer *buf);

#endif
