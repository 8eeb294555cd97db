/* httpwire.h — HTTP/1.1 on the wire for the client's own transport (httpown.c), with no
 * I/O, so that each part is tested on its own:
 * - a request's head written into one buffer byte for byte as libcurl 7.88 writes ours:
 *   the request line, "Host: host[:port]" (the port unless it is 80) unless a line gives
 *   Host, the caller's lines by libcurl's rules for custom headers ("Name:" with no value
 *   is not sent, "Name;" is sent as "Name:", a line with neither is not sent), then for a
 *   request with a body Content-Length and Content-Type: application/x-www-form-urlencoded
 *   unless a line gives them, but no Content-Type for an empty body (a body-less POST or
 *   PUT, as the AWS SDKs send it: Content-Length: 0 alone; httpeasy.c takes libcurl's
 *   own away alike); the body follows in the same buffer;
 * - an answer read by http-parser from bytes split anywhere: 1xx answers skipped, the
 *   final one's status, its header block as libcurl's header callback gave it (status
 *   line, one "Name: value" line each, the empty line), its body appended as it comes
 *   (chunked, Content-Length, or to the connection's end), none for HEAD, 204, 304; a
 *   header value's control bytes kept, as libcurl keeps them.
 *   Past max_body, at a declared Content-Length past max_body or past
 *   LE_HTTP_MAX_HEADER_BYTES of headers it ends "too large"; bytes that are not HTTP
 *   (or more after the final answer) end it "bad", with http-parser's reason. */
#ifndef LAMBDAENG_HTTPWIRE_H
#define LAMBDAENG_HTTPWIRE_H

#include <stddef.h>

#include <http_parser.h>

#include "buffer.h"
#include "http.h"

#define LE_HTTP_MAX_HEADER_BYTES (64 * 1024)

/* Appends the request to out (head and body). host_header is "host" or "host:port" as
 * Host gives it, target the path and query. LE_FAIL: out of memory. */
int le_http_wire_request(le_buffer *out, const char *method, const char *target, const char *host_header,
                         const char *const *lines, size_t n, const void *body, size_t body_len, int has_body);

typedef enum { LE_HTTP_ANSWER_MORE, LE_HTTP_ANSWER_DONE, LE_HTTP_ANSWER_TOO_LARGE, LE_HTTP_ANSWER_BAD } le_http_answer_state;

typedef struct le_http_answer {
  http_parser parser;
  le_http_response *response; /* status, headers and body go here */
  size_t max_body;            /* 0: no cap */
  size_t header_bytes;        /* of the final answer's head, and of those before it */
  size_t seen;                /* answer bytes fed so far */
  char reason[64];            /* the status line's reason, cut */
  size_t reason_len;
  int head_request; /* the answer has no body */
  int in_head;      /* between the status line and the end of the head */
  int status_written, in_value;
  le_http_answer_state state;
  int keep_alive; /* when done: the connection may carry the next request */
  const char *bad; /* why the bytes are not an answer (a static string) */
} le_http_answer;

void le_http_answer_init(le_http_answer *a, le_http_response *response, size_t max_body, int head_request);
/* Reads n more bytes of the answer (n == 0: the connection ended); returns the state. */
le_http_answer_state le_http_answer_feed(le_http_answer *a, const char *data, size_t n);

#endif
