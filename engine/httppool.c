/* httppool.c — see httppool.h. A connection (le_http_conn) is ours alone; its socket
 * (uv_tcp_t with its connect request) is a separate allocation freed by libuv's close
 * callback, so a connection can be let go at once and an address that failed can be
 * followed by a fresh socket for the next one. */
#include "httppool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "httpalive.h"
#include "httpown.h"
#include "httpresolve.h"
#include "loop.h"

#define LE_HTTP_ADDRESSES 8 /* addresses of a name tried, in getaddrinfo's order */

typedef struct sock {
  uv_tcp_t tcp; /* tcp.data: its connection, NULL once that let it go */
  uv_connect_t connect;
} sock;

struct le_http_conn {
  sock *s;
  le_http_pool_host *host;
  void *user;              /* NULL while idle */
  le_http_conn *next;      /* in its host's idle or resolving list */
  uint64_t idle_since;     /* uv_now when it was given back */
  uint64_t idle_since_ns;  /* uv_hrtime then (uv_now stands still while the loop does not run) */
  size_t next_address;     /* the address a failed connect tries next */
  int used;                /* it carried an answer before */
  int failed;              /* a libuv error to report from the loop (in P.failed) */
};

struct le_http_pool_host {
  char *host; /* as connected to */
  int port;
  char name[300]; /* host:port for messages ([host]:port for IPv6) */
  struct sockaddr_storage addresses[LE_HTTP_ADDRESSES];
  size_t address_count;
  uint64_t resolved_at; /* uv_now of the last resolution; literal: forever */
  int literal;
  le_resolve *resolving;        /* a resolution under way */
  le_http_conn *waiting;        /* connections waiting for it */
  le_http_conn *idle;           /* kept-alive connections, the last given back first */
  size_t open;                  /* its connections open (in use, idle, connecting) */
  le_http_pool_host *next;
};

static struct {
  le_http_pool_host *hosts, *last;
  le_http_conn *failed; /* connections whose failure is reported on the next loop turn */
  uv_timer_t later;
  int later_ready;
  uv_timer_t sweep; /* closes idle connections past their age (armed while any is idle) */
  int sweep_ready;
  uint64_t dns_ms, idle_ms; /* how long a resolution is kept, and an idle connection */
  size_t sockets_open, sockets_peak, sockets_opened, idle_socket_events;
  size_t connections_opened, connections_reused, resolutions_started, idle_expired;
  char read_buffer[64 * 1024]; /* every read is handled before the next one */
} P = {.dns_ms = LE_HTTP_DNS_SECONDS * 1000, .idle_ms = LE_HTTP_IDLE_SECONDS * 1000};

static void set_literal(le_http_pool_host *h) {
  struct sockaddr_in *v4 = (struct sockaddr_in *)&h->addresses[0];
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&h->addresses[0];
  if (uv_ip4_addr(h->host, h->port, v4) == 0 || uv_ip6_addr(h->host, h->port, v6) == 0) {
    h->address_count = 1;
    h->literal = 1;
  }
}

le_http_pool_host *le_http_pool_host_for(const char *host, int port, int host_is_address) {
  le_http_pool_host *h = P.last;
  if (h && h->port == port && strcmp(h->host, host) == 0) return h;
  for (h = P.hosts; h; h = h->next)
    if (h->port == port && strcmp(h->host, host) == 0) return P.last = h;
  h = calloc(1, sizeof *h);
  if (!h || !(h->host = strdup(host))) {
    free(h);
    return NULL;
  }
  h->port = port;
  snprintf(h->name, sizeof h->name, strchr(host, ':') ? "[%.255s]:%d" : "%.255s:%d", host, port);
  if (host_is_address) set_literal(h);
  h->next = P.hosts;
  P.hosts = h;
  return P.last = h;
}

const char *le_http_pool_host_name(const le_http_pool_host *h) { return h->name; }

int le_http_pool_reused(const le_http_conn *c) { return c->used; }

static void sock_closed(uv_handle_t *handle) {
  free(handle);
  if (P.sockets_open > 0) P.sockets_open--;
}

/* Lets go of the connection's socket (its callbacks to come see no connection). */
static void close_sock(le_http_conn *c) {
  if (!c->s) return;
  c->s->tcp.data = NULL;
  uv_close((uv_handle_t *)&c->s->tcp, sock_closed);
  c->s = NULL;
}

static void unlist(le_http_conn **head, le_http_conn *c) {
  for (le_http_conn **p = head; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  c->next = NULL;
}

void le_http_pool_discard(le_http_conn *c) {
  if (!c) return;
  le_http_pool_host *h = c->host;
  if (!c->user) unlist(&h->idle, c);
  else if (c->failed) unlist(&P.failed, c);
  else unlist(&h->waiting, c);
  close_sock(c);
  if (h->open > 0) h->open--;
  free(c);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(P.read_buffer, sizeof P.read_buffer);
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  le_http_conn *c = stream->data;
  if (!c || n == 0) return;
  if (!c->user) { /* idle: its peer closed it, or said what nobody asked */
    P.idle_socket_events++;
    le_http_pool_discard(c);
    return;
  }
  le_http_own_read(c->user, c, buf->base, (long)n);
}

static void connect_next(le_http_conn *c);

static void later_cb(uv_timer_t *timer) {
  (void)timer;
  while (P.failed) {
    le_http_conn *c = P.failed;
    P.failed = c->next;
    c->next = NULL;
    int status = c->failed;
    c->failed = 0;
    le_http_own_connected(c->user, c, status, "cannot connect to");
  }
}

/* A connect libuv refused at once: its user hears it from the loop, as any other. */
static void fail_later(le_http_conn *c, int status) {
  int rc = 0;
  if (!P.later_ready) {
    rc = uv_timer_init(le_loop(), &P.later);
    if (rc == 0) uv_unref((uv_handle_t *)&P.later);
    P.later_ready = rc == 0;
  }
  if (rc == 0) rc = uv_timer_start(&P.later, later_cb, 0, 0);
  if (rc != 0) {
    le_report_failure("connecting", uv_strerror(rc)); /* its user's timer ends it */
    return;
  }
  c->failed = status;
  c->next = P.failed;
  P.failed = c;
}

static void connect_cb(uv_connect_t *req, int status) {
  le_http_conn *c = req->handle->data;
  if (!c || status == UV_ECANCELED) return;
  if (status == 0) status = uv_read_start((uv_stream_t *)&c->s->tcp, alloc_cb, read_cb);
  if (status == 0) {
    le_http_own_connected(c->user, c, 0, NULL);
    return;
  }
  close_sock(c);
  if (c->next_address < c->host->address_count) {
    connect_next(c);
  } else {
    le_http_own_connected(c->user, c, status, "cannot connect to");
  }
}

/* Connects c to its host's next address; a failure is reported from the loop. */
static void connect_next(le_http_conn *c) {
  le_http_pool_host *h = c->host;
  int rc = UV_ENOMEM;
  while (c->next_address < h->address_count) {
    const struct sockaddr *addr = (const struct sockaddr *)&h->addresses[c->next_address++];
    sock *s = calloc(1, sizeof *s);
    rc = s ? uv_tcp_init(le_loop(), &s->tcp) : UV_ENOMEM;
    if (rc != 0) {
      free(s);
      break;
    }
    s->tcp.data = c;
    c->s = s;
    uv_unref((uv_handle_t *)&s->tcp); /* http.c keeps the loop alive while requests are in flight */
    P.sockets_opened++;
    if (++P.sockets_open > P.sockets_peak) P.sockets_peak = P.sockets_open;
    rc = uv_tcp_nodelay(&s->tcp, 1);
    if (rc == 0) rc = uv_tcp_connect(&s->connect, &s->tcp, addr, connect_cb);
    uv_os_fd_t fd; /* (the socket exists once the connect started) */
    if (rc == 0) rc = uv_fileno((uv_handle_t *)&s->tcp, &fd);
    int refused = rc == 0 ? le_http_alive(fd) : 0;
    if (refused) rc = uv_translate_sys_error(refused);
    if (rc == 0) return;
    close_sock(c); /* refused at once: the next address */
  }
  fail_later(c, rc);
}

static void resolved_cb(void *user, int status, const struct addrinfo *res) {
  le_http_pool_host *h = user;
  h->resolving = NULL;
  size_t n = 0;
  for (const struct addrinfo *a = res; a && n < LE_HTTP_ADDRESSES; a = a->ai_next) {
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || a->ai_addrlen > sizeof h->addresses[0]) continue;
    memcpy(&h->addresses[n++], a->ai_addr, a->ai_addrlen);
  }
  h->address_count = n;
  h->resolved_at = uv_now(le_loop());
  if (status == 0 && n == 0) status = UV_EAI_NODATA;
  while (h->waiting) {
    le_http_conn *c = h->waiting;
    h->waiting = c->next;
    c->next = NULL;
    if (status != 0) {
      h->address_count = 0; /* not kept: the next request asks again */
      le_http_own_connected(c->user, c, status, "cannot resolve");
    } else {
      connect_next(c);
    }
  }
}

/* Starts resolving h's name (one resolution at a time); 0 or a libuv error. */
static int resolve(le_http_pool_host *h) {
  if (h->resolving) return 0;
  int rc;
  h->resolving = le_resolve_start(h->host, h->port, resolved_cb, h, &rc);
  if (!h->resolving) return rc;
  P.resolutions_started++;
  return 0;
}

static int fresh(const le_http_pool_host *h) {
  return h->address_count > 0 && (h->literal || uv_now(le_loop()) - h->resolved_at < P.dns_ms);
}

le_http_conn *le_http_pool_open(le_http_pool_host *h, void *user, const char **why) {
  le_http_conn *c = calloc(1, sizeof *c);
  if (!c) {
    *why = "out of memory";
    return NULL;
  }
  c->host = h;
  c->user = user;
  h->open++;
  if (fresh(h)) {
    P.connections_opened++;
    connect_next(c);
    return c;
  }
  int rc = resolve(h);
  if (rc != 0) {
    h->open--;
    free(c);
    *why = uv_strerror(rc);
    return NULL;
  }
  P.connections_opened++;
  c->next = h->waiting;
  h->waiting = c;
  return c;
}

/* Whether an idle connection's peer closed it (or sent what nobody asked) while the loop
 * did not read it (its read callback would have let it go): a look that does not wait,
 * taken only after a second idle (a REPL waiting for its next line, a script's pause),
 * not between the requests of a run, which reuse connections at once. */
#define LE_HTTP_LOOK_AFTER_NS 1000000000ull
static int closed_while_idle(const le_http_conn *c) {
  if (uv_hrtime() - c->idle_since_ns < LE_HTTP_LOOK_AFTER_NS) return 0;
  uv_os_fd_t fd;
  if (uv_fileno((const uv_handle_t *)&c->s->tcp, &fd) != 0) return 1;
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

le_http_conn *le_http_pool_take_idle(le_http_pool_host *h, void *user, int make_sure) {
  uint64_t now = uv_now(le_loop());
  while (h->idle) {
    le_http_conn *c = h->idle;
    if (now - c->idle_since >= P.idle_ms || (make_sure && closed_while_idle(c))) {
      le_http_pool_discard(c);
      continue;
    }
    h->idle = c->next;
    c->next = NULL;
    c->user = user;
    P.connections_reused++;
    return c;
  }
  return NULL;
}

typedef struct pending_write {
  uv_write_t req;
  size_t len;
  char data[];
} pending_write;

static void write_cb(uv_write_t *req, int status) {
  le_http_conn *c = req->handle->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED && c && c->user) le_http_own_write_failed(c->user, c, status);
}

int le_http_pool_send(le_http_conn *c, const void *data, size_t len, size_t *written) {
  /* send() as libcurl sends: MSG_NOSIGNAL (a peer gone is an error, not SIGPIPE), and the
   * same system call (the kill -9 tests stop a run at its n-th sendto) */
  uv_os_fd_t fd;
  int rc = uv_fileno((uv_handle_t *)&c->s->tcp, &fd);
  if (rc != 0) return rc;
  ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return uv_translate_sys_error(errno);
  if (n < 0) n = 0;
  *written = (size_t)n;
  if ((size_t)n == len) return 0;
  pending_write *w = malloc(sizeof *w + len - (size_t)n);
  if (!w) return UV_ENOMEM;
  w->len = len - (size_t)n;
  memcpy(w->data, (const char *)data + n, w->len);
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
  rc = uv_write(&w->req, (uv_stream_t *)&c->s->tcp, &buf, 1, write_cb);
  if (rc != 0) free(w);
  return rc;
}

static void sweep_cb(uv_timer_t *timer);

/* The sweep runs in ms unless it is due sooner; a libuv failure leaves idle connections to
 * be closed when their host is next used. */
static void sweep_in(uint64_t ms) {
  if (!P.sweep_ready) {
    if (le_uv_check(uv_timer_init(le_loop(), &P.sweep), "http: the idle connections' timer") < 0) return;
    uv_unref((uv_handle_t *)&P.sweep);
    P.sweep_ready = 1;
  }
  if (uv_is_active((uv_handle_t *)&P.sweep) && uv_timer_get_due_in(&P.sweep) <= ms) return;
  le_uv_check(uv_timer_start(&P.sweep, sweep_cb, ms, 0), "http: the idle connections' timer");
}

/* Closes every connection idle for idle_ms or more; runs again when the next one will be. */
static void sweep_cb(uv_timer_t *timer) {
  (void)timer;
  uint64_t now = uv_now(le_loop()), next = UINT64_MAX;
  for (le_http_pool_host *h = P.hosts; h; h = h->next) {
    for (le_http_conn *c = h->idle, *n; c; c = n) {
      n = c->next;
      uint64_t age = now - c->idle_since;
      if (age >= P.idle_ms) {
        P.idle_expired++;
        le_http_pool_discard(c);
      } else if (P.idle_ms - age < next) {
        next = P.idle_ms - age;
      }
    }
  }
  if (next != UINT64_MAX) sweep_in(next);
}

void le_http_pool_set_periods(long dns_seconds, long idle_seconds) {
  if (dns_seconds >= 0) P.dns_ms = (uint64_t)dns_seconds * 1000;
  if (idle_seconds >= 0) P.idle_ms = (uint64_t)idle_seconds * 1000;
  if (idle_seconds >= 0 && P.sweep_ready && uv_is_active((uv_handle_t *)&P.sweep)) sweep_in(0);
}

void le_http_pool_give_back(le_http_conn *c, long max_open) {
  le_http_pool_host *h = c->host;
  c->user = NULL;
  c->used = 1;
  if (!c->s || h->open > (size_t)max_open) {
    le_http_pool_discard(c);
    return;
  }
  c->idle_since = uv_now(le_loop());
  c->idle_since_ns = uv_hrtime();
  c->next = h->idle;
  h->idle = c;
  if (!P.sweep_ready || !uv_is_active((uv_handle_t *)&P.sweep)) sweep_in(P.idle_ms);
}

void le_http_pool_close(void) {
  if (P.later_ready) uv_close((uv_handle_t *)&P.later, NULL);
  if (P.sweep_ready) uv_close((uv_handle_t *)&P.sweep, NULL);
  P.later_ready = P.sweep_ready = 0;
  while (P.hosts) {
    le_http_pool_host *h = P.hosts;
    P.hosts = h->next;
    while (h->idle) le_http_pool_discard(h->idle);
    if (h->resolving) le_resolve_forget(h->resolving); /* its thread frees it */
    free(h->host);
    free(h);
  }
  le_resolve_close();
  P.last = NULL;
}

void le_http_pool_stats(le_http_stats *stats) {
  stats->sockets_open += P.sockets_open;
  stats->sockets_opened += P.sockets_opened;
  stats->idle_socket_events += P.idle_socket_events;
  stats->own_connections_opened = P.connections_opened;
  stats->own_connections_reused = P.connections_reused;
  stats->dns_resolutions = P.resolutions_started;
  stats->idle_expired = P.idle_expired;
  if (P.sockets_peak > stats->sockets_peak) stats->sockets_peak = P.sockets_peak;
}
