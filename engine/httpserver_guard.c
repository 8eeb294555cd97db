/* httpserver_guard.c — the server's own checks of a request (httpserver_guard.h): its
 * peer's uid, its Host, no browser, its announced size, read from the connection's header
 * lists as they came (names not yet lower-cased: compared without case). */
#include "httpserver_guard.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpserver_conn.h"
#include "httpserver_refuse.h"

/* The value of c's last header named name (any case), or NULL: the last, as the request
 * table keeps it (a repeated name's later value replaces the earlier). */
static const char *header(const le_conn *c, const char *name) {
  const char *n = (const char *)c->names.data, *v = (const char *)c->values.data, *found = NULL;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    if (strcasecmp(n, name) == 0) found = v;
    n += strlen(n) + 1;
    v += strlen(v) + 1;
  }
  return found;
}

/* own_host ":" the port served, made once (the server listens by then). */
static const char *expected_host(le_server *srv) {
  if (srv->guard.expected_host[0]) return srv->guard.expected_host;
  struct sockaddr_storage addr;
  int len = sizeof addr, port = 0;
  if (uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&addr, &len) == 0)
    port = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&addr)->sin_port);
  snprintf(srv->guard.expected_host, sizeof srv->guard.expected_host, "%s:%d", srv->guard.own_host, port);
  return srv->guard.expected_host;
}

int le_guard_check(le_conn *c) {
  le_server *srv = c->srv;
  if (!srv->guard.on) return 0;
  char msg[160];
  if (srv->guard.uid >= 0 && c->peer_uid != srv->guard.uid) {
    snprintf(msg, sizeof msg, "this Runtime API serves the processes of uid %lld only", srv->guard.uid);
    le_refuse_on_headers(c, 403, "AccessDeniedException", msg);
    return -1;
  }
  if (srv->guard.own_host[0]) {
    const char *host = header(c, "host"), *expected = expected_host(srv);
    if (!host || strcmp(host, expected) != 0) {
      snprintf(msg, sizeof msg, "this Runtime API serves %s", expected);
      le_refuse_on_headers(c, 403, "AccessDeniedException", msg);
      return -1;
    }
  }
  if (srv->guard.no_browsers &&
      (c->parser.method == HTTP_OPTIONS || header(c, "origin") || header(c, "sec-fetch-site"))) {
    le_refuse_on_headers(c, 403, "AccessDeniedException", "browser requests are refused");
    return -1;
  }
  if (!(c->parser.flags & F_CHUNKED) && c->parser.content_length != ULLONG_MAX &&
      c->parser.content_length > srv->max_body) {
    snprintf(msg, sizeof msg, "the body exceeds %zu bytes", srv->max_body);
    le_refuse_on_headers(c, 413, "RequestEntityTooLargeException", msg);
    return -1;
  }
  return 0;
}
