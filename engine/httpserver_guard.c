/* httpserver_guard.c — the server's own checks of a request (httpserver_guard.h): its
 * peer's uid and process tree (found at accept), its Host, no browser, its announced size, read from the connection's header
 * lists as they came, in one pass (names not yet lower-cased: compared without case). */
#include "httpserver_guard.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpserver_conn.h"
#include "httpserver_refuse.h"

/* The values of c's Host (the last, as the request table keeps a repeated name's), and
 * whether it has an Origin or a Sec-Fetch-Site: one pass over its header lists. */
static const char *find_headers(const le_conn *c, int *browser) {
  const char *n = (const char *)c->names.data, *v = (const char *)c->values.data, *host = NULL;
  *browser = 0;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n);
    int first = n[0] | 0x20;
    if (first == 'h' && strcasecmp(n, "host") == 0) host = v;
    else if ((first == 'o' && strcasecmp(n, "origin") == 0) || (first == 's' && strcasecmp(n, "sec-fetch-site") == 0))
      *browser = 1;
    n += nl + 1;
    v += strlen(v) + 1;
  }
  return host;
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
  if (srv->guard.pid > 0 && !c->peer_in_tree) {
    le_refuse_on_headers(c, 403, "AccessDeniedException", "this Runtime API serves its environment's processes only");
    return -1;
  }
  int browser;
  const char *host = find_headers(c, &browser);
  if (srv->guard.own_host[0]) {
    const char *expected = expected_host(srv);
    if (!host || strcmp(host, expected) != 0) {
      snprintf(msg, sizeof msg, "this Runtime API serves %s", expected);
      le_refuse_on_headers(c, 403, "AccessDeniedException", msg);
      return -1;
    }
  }
  if (srv->guard.no_browsers &&
      (c->method == LE_METHOD_OPTIONS || browser)) {
    le_refuse_on_headers(c, 403, "AccessDeniedException", "browser requests are refused");
    return -1;
  }
  if (!c->chunked && c->content_length != LE_NO_LENGTH && c->content_length > srv->max_body) {
    snprintf(msg, sizeof msg, "the body exceeds %zu bytes", srv->max_body);
    le_refuse_on_headers(c, 413, "RequestEntityTooLargeException", msg);
    return -1;
  }
  return 0;
}
