#include "buffer.h"

#include <stdlib.h>
#include <string.h>

/* Capacity kept between requests; larger buffers are released. */
#define GC_BUFFER_KEEP ((size_t)256 * 1024)

int gc_buffer_append(gc_buffer *buf, const char *bytes, size_t n) {
  if (n > buf->limit - buf->len) {
    buf->overflowed = 1;
    return -1;
  }
  if (buf->len + n > buf->cap) {
    size_t cap = buf->cap ? buf->cap : 4096;
    char *grown;
    while (cap < buf->len + n)
      cap = cap > buf->limit / 2 ? buf->limit : cap * 2;
    grown = realloc(buf->data, cap);
    if (grown == NULL)
      return -1;
    buf->data = grown;
    buf->cap = cap;
  }
  memcpy(buf->data + buf->len, bytes, n);
  buf->len += n;
  return 0;
}

int gc_buffer_terminate(gc_buffer *buf) {
  if (buf->len == buf->cap) {
    char *grown = realloc(buf->data, buf->cap + 1);
    if (grown == NULL)
      return -1;
    buf->data = grown;
    buf->cap++;
  }
  buf->data[buf->len] = '\0';
  return 0;
}

void gc_buffer_reset(gc_buffer *buf) {
  buf->len = 0;
  buf->overflowed = 0;
  if (buf->cap > GC_BUFFER_KEEP) {
    free(buf->data);
    buf->data = NULL;
    buf->cap = 0;
  }
}

void gc_buffer_free(gc_buffer *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
}
