/* httpserver_response.h — the bytes of the HTTP server's responses.
 *
 * le_response_reason(status): the reason phrase of status ("Status" for one not known).
 * le_response_lines_ok(s, n): whether s is header lines as they are written: each
 *   "name: value" ending in CRLF (a name without spaces before the first colon), no other
 *   CR or LF (so no empty line that would end the head early); "" is none.
 * le_response_build(L, status, headers_idx, body, blen, close_after, out): appends to out
 *   "HTTP/1.1 status reason", each string = string field of the table at headers_idx of
 *   L's stack (0: no table; a name or value with CR or LF is left out, any other key or
 *   value type skipped) or, when it is a string, its header lines as they are (the caller
 *   checked them with le_response_lines_ok), Content-Length: blen, Connection: close
 *   (close_after) or keep-alive, then the body. Nonzero when out of memory (out is then
 *   partly written; the caller frees it). Leaves L's stack as it found it.
 * le_response_head(L, status, headers_idx, out): its first part, the status line and the
 *   headers (a chunked response's head: httpserver_stream.c). Nonzero when out of memory.
 * le_response_build_lines(status, lines, n, body, blen, close_after, out): the same as
 *   le_response_build with header lines from C (n bytes, correct as le_response_lines_ok
 *   would have them). */
#ifndef LAMBDAENG_HTTPSERVER_RESPONSE_H
#define LAMBDAENG_HTTPSERVER_RESPONSE_H

#include <stddef.h>

#include "buffer.h"

struct lua_State;

const char *le_response_reason(int status);
int le_response_lines_ok(const char *s, size_t n);
int le_response_head(struct lua_State *L, int status, int headers_idx, le_buffer *out);
int le_response_build(struct lua_State *L, int status, int headers_idx, const char *body, size_t blen,
                      int close_after, le_buffer *out);
int le_response_build_lines(int status, const char *lines, size_t n, const char *body, size_t blen, int close_after,
                            le_buffer *out);

#endif
