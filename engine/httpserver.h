/* httpserver.h — an HTTP/1.1 server on the event loop (libuv TCP + http-parser).
 *
 * Lua: lambdaeng.native.httpserver.listen(host, port, dispatch) -> server | nil, message.
 * For every complete request, dispatch(request, id) is called (protected) with
 * request = { method, target, path, query, headers = {lower-case name = value}, body };
 * it must not wait: it starts a task that later calls respond(id, status, headers, body).
 * Requests on one connection are answered in order (keep-alive; the parser pauses
 * while one is in flight). server:port(), server:close(). respond() on a
 * connection that has gone away does nothing. server:unref() lets the loop end
 * while the server is open; abort(id) resets a request's connection;
 * connected(id) says whether its client is still there. */
#ifndef LAMBDAENG_HTTPSERVER_H
#define LAMBDAENG_HTTPSERVER_H

struct lua_State;

int le_open_httpserver(struct lua_State *L);

#endif
