/* httpserver_stream.h — httpserver.h's streamed bodies, both ways (a function URL whose
 * InvokeMode is RESPONSE_STREAM passes a runtime's chunks to its client as they come).
 *
 * A request's body as it arrives: a server made with opts.stream = fn(request) has fn
 * called when the headers of a chunked request are complete (after the check, with the
 * request table without its body). A function fn returns, sink(piece), then gets each
 * piece of the body as it is read, and none of it is kept (no body limit: the sink
 * bounds what it keeps; an error it raises is reported and the body read on); dispatch
 * then gets the request with body "", streamed = true and trailers = {lower-case name =
 * value} (the chunked body's trailer fields). fn returning nil: the body is read as any.
 * le_stream_begin (headers complete), le_stream_body (each piece), le_stream_finish (the
 * request table at idx, before dispatch) and le_stream_drop (a request or connection
 * that ends otherwise) are httpserver_request.c's and httpserver_conn.c's calls.
 *
 * A response as it is made (Lua, in httpserver's table): respond_start(id, status,
 * headers) writes the head (headers as respond's) with Transfer-Encoding: chunked;
 * respond_chunk(id, data) one chunk (an empty one is not written) -> whether the client
 * is still there; respond_end(id[, complete]) the last chunk, and the connection goes on
 * as after respond; with complete false the connection closes without it (the client
 * sees the body cut short: a function error after the stream began). To an HTTP/1.0
 * client the body goes as it is, without chunks, and the connection's end ends it.
 * Each returns false (and does nothing) for a request that is gone or not in that state. */
#ifndef LAMBDAENG_HTTPSERVER_STREAM_H
#define LAMBDAENG_HTTPSERVER_STREAM_H

#include <stddef.h>

struct le_conn;
struct lua_State;

int le_stream_begin(struct le_conn *c);
int le_stream_body(struct le_conn *c, const char *at, size_t len);
void le_stream_finish(struct lua_State *L, struct le_conn *c, int idx);
void le_stream_drop(struct le_conn *c);
/* Sets respond_start, respond_chunk and respond_end in the table at the top of L's stack. */
void le_stream_functions(struct lua_State *L);

#endif
