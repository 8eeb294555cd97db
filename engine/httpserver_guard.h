/* httpserver_guard.h — the server's own checks of a request whose headers are complete,
 * set by options (httpserver.h), done in C before any request table is built: for a
 * server whose every request is checked the same way (an environment's Runtime API),
 * where a Lua check was a callback and a request table's reads per request.
 *   uid (integer, with peer_uid): a connection not from a process of that uid is refused
 *     (403 AccessDeniedException "this Runtime API serves the processes of uid N only").
 *   pid (integer): a connection whose client socket no process of that pid's tree holds
 *     (the process and its descendants, proctree.h: looked up once, at accept) is refused
 *     (403 AccessDeniedException "this Runtime API serves its environment's processes only").
 *   own_host (string, an address): Host must be exactly "<own_host>:<the port served>"
 *     (403 AccessDeniedException "this Runtime API serves <own_host>:<port>").
 *   no_browsers (boolean): an Origin or Sec-Fetch-Site header, or an OPTIONS request, is
 *     refused (403 AccessDeniedException "browser requests are refused").
 *   With any of them, a Content-Length over max_body is refused (413
 *   RequestEntityTooLargeException "the body exceeds <max_body> bytes").
 * In that order, the first refusal answers (the connection closes after it). */
#ifndef LAMBDAENG_HTTPSERVER_GUARD_H
#define LAMBDAENG_HTTPSERVER_GUARD_H

struct le_conn;

/* 0 when c's request passes (or the server has no such option), -1 when it was refused. */
int le_guard_check(struct le_conn *c);

#endif
