/* httpserver.h — an HTTP/1.1 server on the event loop (libuv TCP + picohttpparser).
 *
 * Lua: lambdaeng.native.httpserver.listen(host, port, dispatch[, opts]) -> server | nil, message,
 * code;
 * adopt(fd, dispatch[, opts]) serves an already listening TCP socket (one received from a
 * sandbox, which lives in the sandbox's network namespace) the same way.
 * For every complete request, dispatch(request, id) is called (le_callback_call) with
 * request = { method, target, path, query, headers = {lower-case name = value}, body,
 * content_length }; it must not wait: it answers at once with respond(id, status, headers,
 * body), or starts a task that later does. Requests on one connection are answered in order
 * (keep-alive; the parser pauses while one is in flight, and reading stops while more
 * than a small amount of what follows is waiting).
 *
 * Bounded against hostile clients (opts, all optional):
 *   check = fn(request_without_body) called when a request's headers are complete: it
 *     returns nothing to read the body, nil and a byte limit for this request's body (and
 *     optionally the error type and message of the 413 for a body over it: printable
 *     ASCII without quotes), or status, headers, body to answer at once (the body is never
 *     read, the connection closes). A Content-Length over the limit is refused before any
 *     of the body is read; a chunked body as soon as it passes the limit.
 *   max_body (bytes, default 6 MiB), max_connections (default 1024; beyond, new ones
 *   get 503 and are closed; a connection counts from its accept until its close begins,
 *   its linger after a closing answer included, and the count that decides is taken after
 *   the poll that accepted the new one: ends read in that poll leave room), timeout (seconds, default none): a connection must send a
 *   request's headers within timeout of connecting or of its previous response, and its
 *   body at 100 KB/s at least (plus timeout); otherwise 408 and closed.
 *   peer_uid (boolean): when a connection is accepted, find which local user owns the
 *     client's socket (peeruid.h); its requests carry peer_uid = that uid, or
 *     peer_uid_error = why it is unknown (a remote client, one that closed already).
 *   reuse_requests (boolean): each connection's requests come in one table (and one
 *     headers table), emptied and refilled for each: for a check and a dispatch that are
 *     done with a request when they return (they keep what they need, never the table).
 *   bare (boolean): dispatch(method, path, body, id) instead of dispatch(request, id), the
 *     path without its query: for a dispatch that reads nothing else (no header, no query);
 *     without a check no request table is made at all (a runtime's /next and /response).
 *     A body the stream hook took (below) adds a fifth value: { streamed = true,
 *     trailers = {...} }; the hook itself gets a request table made for it.
 *   uid (integer), pid (integer), own_host (an address), no_browsers (boolean): the server's
 *     own checks of a request's peer (its user; its process, in that pid's tree), Host and
 *     browser headers, done in C before the check and
 *     before any request table (httpserver_guard.h has their answers).
 *   check_memo = { names, signature, any_path }: the check's passing answer kept and given again,
 *     without the call, to a request alike in what it depends on (httpserver_memo.h); the
 *     check then returns nil, limit, type, message, from, until to have it kept.
 *   Always: request line and headers at most 64 KiB, at most 128 header fields.
 *   stream = fn(request): a chunked request's body given to a sink as it is read, and
 *     respond_start / respond_chunk / respond_end: a chunked response (httpserver_stream.h).
 * respond's headers are a table (name = value) or a string of header lines, each
 * "name: value" ending in CRLF (a hot path builds them in one piece; anything else raises).
 * server:port(), server:close(), server:connections() (how many are open: what
 * max_connections counts, from the accept until its close begins). respond() on a connection that has gone away does
 * nothing. server:unref() lets the loop end while the server is open; abort(id)
 * resets a request's connection; connected(id) says whether its client is still there.
 * When the Lua state closes, its servers close, and their connections (closing ones too)
 * let go of every reference into it then: their handles may be freed after it is gone. */
#ifndef LAMBDAENG_HTTPSERVER_H
#define LAMBDAENG_HTTPSERVER_H

#include <stddef.h>

struct lua_State;

int le_open_httpserver(struct lua_State *L);

/* respond() from C, with header lines the caller built (each "name: value" ending in CRLF,
 * not checked again): 0, or -1 out of memory (nothing sent; the caller raises). */
int le_httpserver_respond_lines(long id, int status, const char *lines, size_t n, const char *body, size_t blen);

#endif
