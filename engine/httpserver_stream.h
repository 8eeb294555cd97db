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
 * that ends otherwise; it also ends a hold it is either side of) are httpserver_request.c's and httpserver_conn.c's calls.
 *
 * A response as it is made (Lua, in httpserver's table): respond_start(id, status,
 * headers) writes the head (headers as respond's) with Transfer-Encoding: chunked;
 * respond_chunk(id, data) one chunk (an empty one is not written) -> whether the client
 * is still there; respond_end(id[, complete]) the last chunk, and the connection goes on
 * as after respond; with complete false the connection closes without it (the client
 * sees the body cut short: a function error after the stream began). To an HTTP/1.0
 * client the body goes as it is, without chunks, and the connection's end ends it.
 * Each returns false (and does nothing) for a request that is gone or not in that state.
 *
 * Backpressure: a chunk given from inside a body's sink (a runtime's streamed response
 * passed on to a URL's client) that leaves more than LE_STREAM_MAX_QUEUED bytes queued
 * for that client holds the body's connection: it reads nothing more (uv_read_stop) until
 * the client has taken the queue down to half of that (le_stream_drained, from the
 * client's write callbacks), its answer ends or its connection closes. A client that
 * reads slowly or not at all so costs the endpoint about LE_STREAM_MAX_QUEUED (and a
 * read's 64 KiB beyond) rather than all of the stream. stream_stats() -> { holds (holds
 * so far), held (connections held now), queued_peak (the most bytes a streamed answer
 * had queued) }: what the tests read. */
#ifndef LAMBDAENG_HTTPSERVER_STREAM_H
#define LAMBDAENG_HTTPSERVER_STREAM_H

#include <stddef.h>

#define LE_STREAM_MAX_QUEUED (256 * 1024) /* bytes a streamed answer may have queued before its source is held */

struct le_conn;
struct lua_State;

int le_stream_begin(struct le_conn *c);
int le_stream_body(struct le_conn *c, const char *at, size_t len);
void le_stream_finish(struct lua_State *L, struct le_conn *c, int idx);
void le_stream_drop(struct le_conn *c);
/* After a write of c's completed: the connection its queue held reads again once the queue is low. */
void le_stream_drained(struct le_conn *c);
/* Sets respond_start, respond_chunk, respond_end and stream_stats in the table at the top of L's stack. */
void le_stream_functions(struct lua_State *L);

#endif
