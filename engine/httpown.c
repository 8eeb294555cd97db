/* httpown.c — see httpown.h. One exchange per transfer: the request's bytes (written
 * when le_http_start accepts it), a connection (an idle one of its host, else a new one),
 * the answer read into the transfer's response, and one timer for the connect timeout,
 * the request's timeout and failures found inside a call (reported from the loop). */
#include "httpown.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httppool.h"
#include "httpsink.h"
#include "httptransfer.h"
#include "httpwire.h"
#include "loop.h"

#define LE_HTTP_CONNECT_TIMEOUT_MS 10000L /* libcurl's CURLOPT_CONNECTTIMEOUT_MS as httpeasy.c sets it */

struct le_http_own {
  le_http_transfer *t;
  le_http_pool_host *host;
  le_http_conn *conn;
  le_buffer request; /* head and body, as sent (again, on a new connection, once) */
  le_http_answer answer;
  uv_timer_t *timer; /* freed by its close callback */
  uint64_t connect_deadline; /* uv_hrtime by which a connection being opened must be up */
  uint64_t deadline; /* uv_hrtime at which the request times out; 0: never (the clock loop.now
                      * reads: a timer counted from the loop's cached time could end it early) */
  long timeout_ms;
  const char *pending_kind; /* a failure found inside a call, ended by the timer */
  char pending[200];
  int head, connecting, resent;
  int once;    /* never sent again once written (le_http_request_spec's once) */
  int written; /* some of it went to a connection (the kernel took bytes, or libuv holds the rest) */
};

typedef struct le_http_own own;

static struct {
  int curl_only;   /* LAMBDAENG_HTTP_TRANSPORT=curl */
  int proxy_set;   /* a proxy variable for http is set */
  char *no_proxy;  /* no_proxy / NO_PROXY when one is */
} O;

static const char *env_value(const char *a, const char *b) {
  const char *v = getenv(a);
  if (!v || !*v) v = getenv(b);
  return v && *v ? v : NULL;
}

void le_http_own_open(void) {
  const char *transport = getenv("LAMBDAENG_HTTP_TRANSPORT");
  O.curl_only = transport && strcmp(transport, "curl") == 0;
  O.proxy_set = env_value("http_proxy", "HTTP_PROXY") || env_value("all_proxy", "ALL_PROXY");
  const char *np = env_value("no_proxy", "NO_PROXY");
  free(O.no_proxy);
  O.no_proxy = np ? strdup(np) : NULL;
}

void le_http_own_close(void) {
  le_http_pool_close();
  free(O.no_proxy);
  O.no_proxy = NULL;
}

/* Whether no_proxy names host as libcurl 7.88 reads it: "*", or an entry equal to host or
 * a domain host is in (a leading dot ignored), case aside. Anything else (a CIDR range, a
 * port): not named, so libcurl decides. */
static int no_proxy_names(const char *host) {
  if (!O.no_proxy) return 0;
  size_t hl = strlen(host);
  const char *p = O.no_proxy;
  while (*p) {
    p += strspn(p, ", \t");
    size_t n = strcspn(p, ", \t");
    const char *e = p;
    p += n;
    if (n == 1 && *e == '*') return 1;
    if (n > 0 && *e == '.') e++, n--;
    if (n == 0 || n > hl) continue;
    if (strncasecmp(host + hl - n, e, n) == 0 && (n == hl || host[hl - n - 1] == '.')) return 1;
  }
  return 0;
}

int le_http_own_fits(const le_http_url *u, const le_http_request_spec *spec) {
  if (O.curl_only || !u) return 0;
  const le_http_url_wire *w = le_http_url_wire_parts(u);
  if (!w) return 0;
  if (O.proxy_set && !no_proxy_names(w->host)) return 0;
  const char *m = spec->method ? spec->method : "GET";
  if (spec->body && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)) return 0; /* libcurl's oddities: its own */
  return m[0] != '\0' && strcspn(m, " \r\n") == strlen(m);
}

int le_http_own_prepare(le_http_transfer *t, const le_http_request_spec *spec, le_error *err) {
  const le_http_url_wire *w = le_http_url_wire_parts(t->url);
  own *o = calloc(1, sizeof *o);
  if (!o) return le_error_set(err, "out of memory");
  t->own = o;
  o->t = t;
  const char *method = spec->method ? spec->method : "GET";
  int has_body = spec->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
  o->head = strcmp(method, "HEAD") == 0;
  o->once = spec->once;
  o->timeout_ms = spec->timeout_ms;
  o->host = le_http_pool_host_for(w->host, w->port, le_http_url_host_is_address(t->url));
  if (!o->host || le_http_wire_request(&o->request, method, w->target, w->host_header, spec->headers,
                                       spec->header_count, spec->body, spec->body_len, has_body) != LE_OK)
    return le_error_set(err, "out of memory");
  return LE_OK;
}

void le_http_own_free(le_http_transfer *t) {
  own *o = t->own;
  if (!o) return;
  le_http_pool_discard(o->conn);
  if (o->timer) uv_close((uv_handle_t *)o->timer, (uv_close_cb)free);
  le_buffer_free(&o->request);
  free(o);
  t->own = NULL;
}

/* Ends the exchange: the connection given back (kept alive) or closed, the transfer ended
 * with kind (NULL: its answer) and message. */
static void end(own *o, const char *kind, int keep, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void end(own *o, const char *kind, int keep, const char *fmt, ...) {
  if (o->conn) {
    if (keep) le_http_pool_give_back(o->conn, le_http_max_host());
    else le_http_pool_discard(o->conn);
    o->conn = NULL;
  }
  if (o->timer) uv_timer_stop(o->timer);
  le_http_response *r = &o->t->response;
  if (kind) {
    r->error_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
  }
  le_http_end(o->t);
}

static void arm(own *o, uint64_t ms);

/* Milliseconds from now to the deadline, rounded up (0: it has passed). */
static uint64_t ms_left(const own *o) {
  uint64_t now = uv_hrtime();
  return o->deadline > now ? (o->deadline - now + 999999) / 1000000 : 0;
}

static void timer_cb(uv_timer_t *timer) {
  own *o = timer->data;
  const char *name = le_http_pool_host_name(o->host);
  if (o->pending_kind) {
    end(o, o->pending_kind, 0, "%s", o->pending);
  } else if (o->connecting && (!o->deadline || ms_left(o) > 0) && uv_hrtime() >= o->connect_deadline) {
    end(o, "timeout", 0, "connecting to %s took longer than %ld ms", name, LE_HTTP_CONNECT_TIMEOUT_MS);
  } else if (o->deadline && ms_left(o) == 0) {
    end(o, "timeout", 0, "no answer from %s within %ld ms", name, o->timeout_ms);
  } else { /* the loop's clock ran ahead of hrtime's: wait the rest */
    uint64_t left = o->deadline ? ms_left(o) : UINT64_MAX;
    if (o->connecting) {
      uint64_t now = uv_hrtime(), c = o->connect_deadline > now ? (o->connect_deadline - now + 999999) / 1000000 : 1;
      if (c < left) left = c;
    }
    arm(o, left ? left : 1);
  }
}

/* Runs the timer in ms (0: at the next loop turn); a libuv failure is reported. */
static void arm(own *o, uint64_t ms) {
  if (!o->timer) {
    uv_timer_t *timer = malloc(sizeof *timer);
    if (!timer || le_uv_check(uv_timer_init(le_loop(), timer), "http: a request's timer") < 0) {
      free(timer);
      if (!timer) le_report_failure("http: a request's timer", "out of memory");
      return;
    }
    timer->data = o;
    uv_unref((uv_handle_t *)timer);
    o->timer = timer;
  }
  le_uv_check(uv_timer_start(o->timer, timer_cb, ms, 0), "http: a request's timer");
}

/* The request's timer for what it waits for now: the connect (at most 10 s) or the answer. */
static void arm_wait(own *o) {
  uint64_t left = o->deadline ? ms_left(o) : UINT64_MAX;
  if (o->connecting && left > (uint64_t)LE_HTTP_CONNECT_TIMEOUT_MS) left = LE_HTTP_CONNECT_TIMEOUT_MS;
  if (left != UINT64_MAX) arm(o, left);
  else if (o->timer) uv_timer_stop(o->timer);
}

/* A failure found inside a call: the transfer ends from the loop. */
static void fail_soon(own *o, const char *kind, const char *fmt, const char *detail) {
  o->pending_kind = kind;
  snprintf(o->pending, sizeof o->pending, fmt, le_http_pool_host_name(o->host), detail);
  arm(o, 0);
}

static void open_connection(own *o) {
  const char *why = NULL;
  o->connecting = 1;
  o->connect_deadline = uv_hrtime() + (uint64_t)LE_HTTP_CONNECT_TIMEOUT_MS * 1000000;
  o->conn = le_http_pool_open(o->host, o, &why);
  if (!o->conn) fail_soon(o, "connect", "cannot connect to %s: %s", why);
  else arm_wait(o);
}

static void send_request(own *o) {
  le_http_response *r = &o->t->response;
  r->headers.len = r->body.len = 0;
  r->status = 0;
  le_http_answer_init(&o->answer, r, o->t->max_body, o->head);
  size_t written = 0;
  int rc = le_http_pool_send(o->conn, o->request.data, o->request.len, &written);
  /* from here the peer may read the request, whatever the rest's fate (a send that
   * failed at once, nothing taken, sent nothing) */
  if (rc == 0 || written > 0) o->written = r->sent = 1;
  if (rc != 0) le_http_own_write_failed(o, o->conn, rc);
}

void le_http_own_go(le_http_transfer *t) {
  own *o = t->own;
  o->deadline = o->timeout_ms > 0 ? uv_hrtime() + (uint64_t)o->timeout_ms * 1000000 : 0;
  /* a once request is not sent again once written: a connection its peer closed while
   * the loop did not look is not taken for it (make_sure) */
  o->conn = le_http_pool_take_idle(o->host, o, o->once);
  if (!o->conn) {
    open_connection(o);
    return;
  }
  arm_wait(o);
  send_request(o);
}

void le_http_own_abort(le_http_transfer *t) {
  own *o = t->own;
  le_http_pool_discard(o->conn);
  o->conn = NULL;
  if (o->timer) uv_timer_stop(o->timer);
}

void le_http_own_connected(void *user, le_http_conn *c, int status, const char *why) {
  own *o = user;
  if (status != 0) {
    end(o, "connect", 0, "%s %s: %s", why, le_http_pool_host_name(o->host), uv_strerror(status));
    return;
  }
  (void)c;
  o->connecting = 0;
  arm_wait(o);
  send_request(o);
}

/* The connection ended under the request before any answer byte: a kept-alive one (its
 * peer closed it as the request went) gets the request again on a new one, once; a once
 * request only when none of it was written (its peer may have read it and acted: Go's
 * net/http resends a POST so only when nothing was written). */
static int send_again(own *o) {
  if (o->answer.seen > 0 || o->resent || !le_http_pool_reused(o->conn)) return 0;
  if (o->once && o->written) return 0;
  o->resent = 1;
  le_http_pool_discard(o->conn);
  o->conn = NULL;
  open_connection(o);
  return 1;
}

void le_http_own_write_failed(void *user, le_http_conn *c, int status) {
  own *o = user;
  (void)c;
  if (send_again(o)) return;
  /* inside send_request, called from go (inside le_http_start) or a loop callback */
  fail_soon(o, "reset", "sending to %s failed: %s", uv_strerror(status));
  le_http_pool_discard(o->conn);
  o->conn = NULL;
}

void le_http_own_read(void *user, le_http_conn *c, const char *data, long n) {
  own *o = user;
  (void)c;
  if (o->pending_kind) return; /* ending already */
  if (n < 0 && n != UV_EOF) {
    if (send_again(o)) return;
    end(o, "reset", 0, "the connection to %s failed: %s", le_http_pool_host_name(o->host), uv_strerror((int)n));
    return;
  }
  if (n < 0 && o->answer.seen == 0 && send_again(o)) return;
  le_http_answer_state st = le_http_answer_feed(&o->answer, data, n < 0 ? 0 : (size_t)n);
  const char *name = le_http_pool_host_name(o->host);
  switch (st) {
    case LE_HTTP_ANSWER_MORE:
      if (o->t->response.body.len > 0) le_http_sink_note(o->t);
      return;
    case LE_HTTP_ANSWER_DONE: end(o, NULL, o->answer.keep_alive && n > 0, "%s", ""); return;
    case LE_HTTP_ANSWER_TOO_LARGE:
      o->t->too_large = 1;
      o->t->header_bytes = o->answer.header_bytes;
      end(o, "too_large", 0, "the answer from %s is too large", name);
      return;
    case LE_HTTP_ANSWER_BAD:
      end(o, n < 0 ? "reset" : "error", 0, "%s from %s", o->answer.bad, name);
      return;
  }
}
