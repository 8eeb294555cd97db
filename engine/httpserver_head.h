/* httpserver_head.h — a request's head and a chunked body's trailer section, read with
 * picohttpparser (third_party/picohttpparser) into a connection of httpserver_conn.h.
 *
 * le_head_take(c, data, len, &used): reads the head at data: its method (http-parser's
 *   methods, numbered as it numbers them; any other is malformed), target (c->url),
 *   version (c->http_minor), header fields (c->names, c->values: NUL-ended, in order;
 *   c->nheaders, c->head_bytes, and where the head's fields end) and the framing they
 *   announce (c->content_length, LE_NO_LENGTH for none; c->chunked; c->head_keep_alive).
 *   LE_TAKE_DONE with used = the head's bytes in data; LE_TAKE_MORE when the head has not
 *   arrived whole (what came is kept in c->partial, used = len; up to 64 KiB);
 *   LE_TAKE_REFUSED when it was refused (le_refuse: 431 over 64 KiB or 128 fields, 400
 *   when malformed: a folded line, a Content-Length not a decimal within 64 bits or given
 *   twice or beside chunked, a Transfer-Encoding not ending in chunked).
 * le_trailers_take(c, data, len, &used): the same for the trailer section after a chunked
 *   body's last chunk: its fields appended to c->names and c->values (c->nheaders counts
 *   them), within the head's limits.
 * le_method_name(m): the method's name (m from c->method). */
#ifndef LAMBDAENG_HTTPSERVER_HEAD_H
#define LAMBDAENG_HTTPSERVER_HEAD_H

#include <stddef.h>

struct le_conn;

enum { LE_TAKE_MORE, LE_TAKE_DONE, LE_TAKE_REFUSED };

int le_head_take(struct le_conn *c, const char *data, size_t len, size_t *used);
int le_trailers_take(struct le_conn *c, const char *data, size_t len, size_t *used);
const char *le_method_name(int method);

#endif
