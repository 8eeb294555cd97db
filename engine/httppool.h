/* httppool.h — the own transport's connections (httpown.c), per host:port, on the loop.
 * A host's addresses come from its URL when it is an IP address, else from getaddrinfo on
 * a thread of its own (httpresolve.h: a request that ends, or a client that closes, does
 * not wait for it), kept LE_HTTP_DNS_SECONDS as libcurl keeps its DNS entries; a new
 * connection tries them in order until one connects. A connection carries one exchange at
 * a time; between exchanges it waits in its host's idle list, still read, and anything
 * arriving there (its peer closed it) closes it; one idle past LE_HTTP_IDLE_SECONDS
 * (libcurl's 118 s) is closed by one timer of the pool (armed while any connection is
 * idle; counted in idle_expired), or when its host is next used. The caller bounds how many are open
 * (http.c's count per host); a connection given back while its host has more open than
 * the bound is closed. Sockets are close-on-exec and TCP_NODELAY, as libcurl's.
 * What happens on a connection in use is reported to its user through httpown.h's
 * le_http_own_connected / le_http_own_read / le_http_own_write_failed, always from a loop
 * callback, never from inside a call of this file. */
#ifndef LAMBDAENG_HTTPPOOL_H
#define LAMBDAENG_HTTPPOOL_H

#include <stddef.h>

#include <uv.h>

#include "http.h"

#define LE_HTTP_DNS_SECONDS 60
#define LE_HTTP_IDLE_SECONDS 118

typedef struct le_http_pool_host le_http_pool_host;
typedef struct le_http_conn le_http_conn;

/* The pool's entry for host:port (made when first asked; NULL: out of memory). */
le_http_pool_host *le_http_pool_host_for(const char *host, int port, int host_is_address);
/* "host:port" as messages name it. */
const char *le_http_pool_host_name(const le_http_pool_host *h);
/* A kept-alive connection of h for user, or NULL when none is idle. make_sure: one idle a
 * second or more is first looked at without waiting, and let go when its peer closed it
 * while the loop did not read it. */
le_http_conn *le_http_pool_take_idle(le_http_pool_host *h, void *user, int make_sure);
/* A new connection of h for user, resolving and connecting (le_http_own_connected follows);
 * NULL: out of memory or libuv refused, with *why set. */
le_http_conn *le_http_pool_open(le_http_pool_host *h, void *user, const char **why);
/* Whether the connection carried an answer before (it was kept alive). */
int le_http_pool_reused(const le_http_conn *c);
/* Sends the bytes (copied when the socket does not take them at once); 0 or a libuv error.
 * *written: how many the socket took at once (the rest, if any, queued). */
int le_http_pool_send(le_http_conn *c, const void *data, size_t len, size_t *written);
/* The exchange is over and the connection may carry the next one (kept while its host
 * has at most max_open open). */
void le_http_pool_give_back(le_http_conn *c, long max_open);
/* Closes the connection (its user hears nothing more of it). */
void le_http_pool_discard(le_http_conn *c);
/* Closes every idle connection and forgets every host (none may be in use). */
void le_http_pool_close(void);
/* How long a resolved name is used (dns_seconds) and a connection kept idle (idle_seconds)
 * from now on; a negative one is left as it is. (http.configure's, for tests.) */
void le_http_pool_set_periods(long dns_seconds, long idle_seconds);
/* Adds its sockets_open, sockets_peak, sockets_opened and idle_socket_events to stats, and
 * sets its own_connections_opened, own_connections_reused, dns_resolutions, idle_expired. */
void le_http_pool_stats(le_http_stats *stats);

#endif
