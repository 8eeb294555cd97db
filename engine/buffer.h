/* buffer.h — a growable byte buffer, and room in growable arrays of any type.
 * Appends return LE_FAIL only when memory runs out.
 *
 * le_array_grow(items, &cap, len, elem, first) makes room for one more element in
 * an array of `len` used of `cap` elements of `elem` bytes (capacity doubling from
 * `first`): it returns the array to use (items itself when there is room), or NULL
 * when memory runs out, leaving items and cap as they were. */
#ifndef LAMBDAENG_BUFFER_H
#define LAMBDAENG_BUFFER_H

#include <stddef.h>
#include <string.h>

typedef struct le_buffer {
  unsigned char *data;
  size_t len, cap;
} le_buffer;

int le_buffer_append(le_buffer *b, const void *data, size_t len);
int le_buffer_reserve(le_buffer *b, size_t extra);
void le_buffer_free(le_buffer *b);

/* s (NUL-terminated) appended, without its NUL. */
static inline int le_buffer_append_str(le_buffer *b, const char *s) { return le_buffer_append(b, s, strlen(s)); }

void *le_array_grow(void *items, size_t *cap, size_t len, size_t elem, size_t first);

#endif
