#include "buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int le_buffer_reserve(le_buffer *b, size_t extra) {
  if (b->cap - b->len >= extra) return LE_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (!p) return LE_FAIL;
  b->data = p;
  b->cap = cap;
  return LE_OK;
}

int le_buffer_append(le_buffer *b, const void *data, size_t len) {
  if (len == 0) return LE_OK;
  if (le_buffer_reserve(b, len) != LE_OK) return LE_FAIL;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return LE_OK;
}

void le_buffer_free(le_buffer *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void *le_array_grow(void *items, size_t *cap, size_t len, size_t elem, size_t first) {
  if (len < *cap) return items;
  size_t n = *cap ? *cap : first;
  if (n > SIZE_MAX / 2 / elem) return NULL;
  if (*cap) n *= 2;
  void *p = realloc(items, n * elem);
  if (p) *cap = n;
  return p;
}
