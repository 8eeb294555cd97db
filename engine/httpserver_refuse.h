/* httpserver_refuse.h — the HTTP server's refusals of a request (limits, timeouts,
 * malformed requests, the check's own answer). Each answers once (a connection refused
 * already, or closing, is left alone), with Connection: close, and marks the connection
 * refused: what the client sends after it is read and dropped (the body it announced, up
 * to 128 MiB, and 1 MiB beyond, within the time that body may take at 100 KB/s and the
 * closing deadline), then the connection closes.
 *
 * le_refuse(c, status, type, message): status with x-amzn-ErrorType type and the JSON body
 *   {"Type":"User","message":message}; type and message go in as they are (printable
 *   ASCII without quotes).
 * le_refuse_on_headers(c, status, type, message): the same, for a request refused on its
 *   headers: the body it announced follows and is drained.
 * le_refuse_too_large(c, body_follows): 413 for a body over c->body_limit, in the check's
 *   words when it gave them; body_follows when the body is still to come (refused on its
 *   Content-Length).
 * le_refuse_with_answer(L, c, base): the check's answer: status, headers table (or not a
 *   table: none), body string at base..base+2 of L's stack. */
#ifndef LAMBDAENG_HTTPSERVER_REFUSE_H
#define LAMBDAENG_HTTPSERVER_REFUSE_H

struct lua_State;
struct le_conn;

void le_refuse(struct le_conn *c, int status, const char *type, const char *message);
void le_refuse_on_headers(struct le_conn *c, int status, const char *type, const char *message);
void le_refuse_too_large(struct le_conn *c, int body_follows);
void le_refuse_with_answer(struct lua_State *L, struct le_conn *c, int base);

#endif
