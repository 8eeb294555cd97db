/* buffer.h — a growable byte buffer. Appends return LE_FAIL only when memory runs out. */
#ifndef LAMBDAENG_BUFFER_H
#define LAMBDAENG_BUFFER_H

#include <stddef.h>

typedef struct le_buffer {
  unsigned char *data;
  size_t len, cap;
} le_buffer;

int le_buffer_append(le_buffer *b, const void *data, size_t len);
int le_buffer_reserve(le_buffer *b, size_t extra);
void le_buffer_free(le_buffer *b);

#endif
