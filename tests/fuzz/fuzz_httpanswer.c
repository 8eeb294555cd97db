/* fuzz_httpanswer — the own transport's answer reader (engine/httpwire.c), with no I/O.
 * An input is: one byte of flags (bit 0: the answer to a HEAD; bit 1: a body cap of 64
 * bytes; bits 2-7: a piece length), then the answer's bytes, fed in pieces of that length
 * (1 when 0), then the connection's end. Checks: the reader never reads past what it is
 * given, keeps no header block past its cap nor a body past max_body, ends in one of its
 * states, and once ended stays there. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  size_t piece = (size_t)(flags >> 2);
  if (piece == 0) piece = 1;
  size_t max_body = (flags & 2) ? 64 : 0;
  le_http_response r;
  memset(&r, 0, sizeof r);
  le_http_answer a;
  le_http_answer_init(&a, &r, max_body, flags & 1);
  le_http_answer_state st = LE_HTTP_ANSWER_MORE;
  for (size_t at = 1; at < size; at += piece) {
    size_t n = size - at < piece ? size - at : piece;
    char *copy = malloc(n); /* its own allocation: ASan sees a read past it */
    if (!copy) abort();
    memcpy(copy, data + at, n);
    le_http_answer_state was = st;
    st = le_http_answer_feed(&a, copy, n);
    free(copy);
    if (was != LE_HTTP_ANSWER_MORE && st != was) abort(); /* an ended answer stays ended */
  }
  if (st == LE_HTTP_ANSWER_MORE) st = le_http_answer_feed(&a, NULL, 0);
  if (st == LE_HTTP_ANSWER_MORE) abort(); /* the end of the connection ends every answer */
  if (r.headers.len > LE_HTTP_MAX_HEADER_BYTES + 256) abort();
  if (max_body && r.body.len > max_body) abort();
  if (st == LE_HTTP_ANSWER_BAD && !a.bad) abort();
  le_buffer_free(&r.headers);
  le_buffer_free(&r.body);
  return 0;
}
