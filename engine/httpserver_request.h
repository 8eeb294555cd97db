/* httpserver_request.h — a connection's requests, read (picohttpparser) as they arrive.
 *
 * le_request_feed(c, data, len): reads data on c. A request line and headers over 64 KiB
 *   or 128 fields get 431, a malformed request 400 (le_refuse; httpserver_head.h). Headers complete, the
 *   request table is built (httpserver.h's, without its body) and the server's check run
 *   on it: it may answer and close, or lower the body's limit (a body over it gets 413);
 *   the body's deadline is armed (the server's timeout plus the body at 100 KB/s). The
 *   request complete, reading waits (c->busy: one request at a time per connection),
 *   what follows is kept in c->pending, and dispatch(request, id) is called. For as long
 *   as dispatch answers at once and the connection stays open for more, the requests in
 *   pending are parsed and dispatched in turn (a loop: thousands pipelined cannot exhaust
 *   the stack).
 *   The request table, and a bare server's values: httpserver_table.h. */
#ifndef LAMBDAENG_HTTPSERVER_REQUEST_H
#define LAMBDAENG_HTTPSERVER_REQUEST_H

#include <stddef.h>

struct le_conn;

void le_request_feed(struct le_conn *c, const char *data, size_t len);

#endif
