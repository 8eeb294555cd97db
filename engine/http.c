/* http.c — see http.h: libcurl's multi handles on the loop, the transfers from
 * le_http_start to their callback. The Lua binding is httplua.c. */
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "loop.h"

typedef struct shard shard;

typedef struct socket_ctx {
  uv_poll_t poll;
  shard *shard; /* the multi handle whose connection it is */
  curl_socket_t fd;
  int watched; /* libcurl asks for the socket's events */
  int events;  /* what the poll is started for (UV_READABLE | UV_WRITABLE), 0: stopped */
} socket_ctx;

typedef struct host_slot host_slot;

typedef struct transfer {
  CURL *easy;
  struct curl_slist *headers; /* header_list's one block: freed with free() */
  le_http_response response;
  le_http_done done;
  void *userdata;
  struct transfer *prev, *next; /* in flight (queued or started) */
  struct transfer *queue_next;  /* waiting for a connection to its host */
  host_slot *host;
  shard *shard; /* set when it is handed to libcurl */
  size_t max_body;
  size_t header_bytes;
  int cancelled, started, too_large;
} transfer;

/* The transfers to one scheme://host:port: at most H.max_host of them are in
 * libcurl at once (so at most that many connections), the rest wait in order. */
struct host_slot {
  char *key;
  size_t active;
  transfer *queue_head, *queue_tail;
  host_slot *next;
};

/* One multi handle with its connection cache and its timer. libcurl 7.88 looks through
 * every connection of a host in the cache for each new transfer (ConnectionExists),
 * and through all of them again as each finished transfer is removed: with 1,000
 * connections to one endpoint that was ~33 k instructions a request. Transfers are
 * spread over several multi handles on the same loop, each with at most about
 * LE_HTTP_SHARD_TRANSFERS of them, so each look is that short. A connection belongs
 * to one multi handle and is only ever used by one transfer at a time, as before. */
struct shard {
  CURLM *multi;
  uv_timer_t timer;
  size_t active;  /* transfers in this multi handle */
  size_t sockets; /* its connections open now */
};

#define LE_HTTP_SHARD_TRANSFERS 64 /* another multi handle only when each has this many */
#define LE_HTTP_MAX_SHARDS 32      /* (each costs libcurl's two wakeup sockets) */
#define LE_HTTP_MAX_HEADER_BYTES (64 * 1024)
#define LE_HTTP_IDLE_EASY 64 /* easy handles kept for reuse (creating one costs more than resetting it) */

static struct {
  shard *shards[LE_HTTP_MAX_SHARDS]; /* shards[0] made by init, the others when needed */
  size_t nshards;
  uv_async_t alive; /* referenced exactly while requests are in flight */
  socket_ctx **sockets; /* indexed by fd */
  size_t nsockets;
  transfer *in_flight;
  host_slot *hosts;
  host_slot *last_host;      /* the host of the last request's URL ... */
  char last_authority[256];  /* ... whose scheme://authority text was this */
  CURL *idle_easy[LE_HTTP_IDLE_EASY]; /* finished handles, reset, for the next requests */
  size_t idle_easy_count;
  size_t easy_created; /* handles made by curl_easy_init (the rest were reused) */
  long max_host; /* connections per host */
  size_t count, peak, started, queued_peak;
  size_t sockets_open, sockets_peak, sockets_opened;
  size_t idle_socket_events; /* events on kept-alive sockets libcurl did not watch (their polls then stopped) */
  unsigned long cancellations; /* how many times le_http_cancel_all was called */
  int proxy_env; /* a proxy variable is set: libcurl reads them for each request */
  int ready;
} H = {.max_host = LE_HTTP_DEFAULT_MAX_HOST_CONNECTIONS};

/* A libcurl multi call that failed inside a callback, where no caller can be answered. */
static void report_multi(CURLMcode rc, const char *what) {
  if (rc != CURLM_OK) le_report_failure(what, curl_multi_strerror(rc));
}

static socket_ctx *socket_for(curl_socket_t fd, int create) {
  if ((size_t)fd >= H.nsockets) {
    if (!create) return NULL;
    size_t n = H.nsockets ? H.nsockets : 64;
    while (n <= (size_t)fd) n *= 2;
    socket_ctx **p = realloc(H.sockets, n * sizeof *p);
    if (!p) return NULL;
    memset(p + H.nsockets, 0, (n - H.nsockets) * sizeof *p);
    H.sockets = p;
    H.nsockets = n;
  }
  if (!H.sockets[fd] && create) {
    socket_ctx *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->fd = fd;
    if (uv_poll_init_socket(le_loop(), &s->poll, fd) != 0) {
      free(s);
      return NULL;
    }
    s->poll.data = s;
    uv_unref((uv_handle_t *)&s->poll); /* idle kept-alive connections must not hold the loop */
    H.sockets[fd] = s;
  }
  return H.sockets[fd];
}

static void finish(transfer *t, CURLcode code);

/* Completed transfers are handed to their callbacks only here, after curl returned. */
static void check_multi_info(shard *sh) {
  CURLMsg *msg;
  int pending;
  while ((msg = curl_multi_info_read(sh->multi, &pending))) {
    if (msg->msg != CURLMSG_DONE) continue;
    transfer *t = NULL;
    CURL *easy = msg->easy_handle; /* msg is libcurl's, gone once the handle is removed */
    CURLcode code = msg->data.result;
    report_multi(curl_multi_remove_handle(sh->multi, easy), "libcurl: removing a finished request");
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || !t) {
      le_report_failure("libcurl", "a finished request without its transfer");
      continue;
    }
    finish(t, code);
  }
}

/* Stops the poll; 0, or -1 when libuv refused (reported). */
static int stop_polling(socket_ctx *s) {
  if (!s->events) return 0;
  s->events = 0;
  return le_uv_check(uv_poll_stop(&s->poll), "libcurl: unwatching a socket");
}

static void poll_cb(uv_poll_t *p, int status, int events) {
  socket_ctx *s = p->data;
  if (!s->watched) { /* an idle kept-alive connection's news (its peer closed it): libcurl sees it on reuse */
    H.idle_socket_events++;
    stop_polling(s);
    return;
  }
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running;
  shard *sh = s->shard;
  report_multi(curl_multi_socket_action(sh->multi, s->fd, flags, &running), "libcurl: socket action");
  check_multi_info(sh);
}

static void timer_cb(uv_timer_t *t) {
  shard *sh = t->data;
  int running;
  report_multi(curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running), "libcurl: timeout action");
  check_multi_info(sh);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp) {
  (void)easy;
  (void)socketp;
  socket_ctx *s = socket_for(fd, action != CURL_POLL_REMOVE);
  if (!s) return action == CURL_POLL_REMOVE ? 0 : -1;
  s->shard = userp;
  if (action == CURL_POLL_REMOVE) {
    /* REMOVE does not mean closed: the handle is kept until curl closes the socket. A
     * socket polled for reading alone stays polled: a kept-alive connection is quiet
     * until its next request, which asks for reading again, and each stop and start
     * costs epoll_ctl calls (libuv's start deletes the descriptor first): two or three
     * per request. Whatever arrives on it meanwhile stops the poll (poll_cb). */
    s->watched = 0;
    return (s->events & ~UV_READABLE) && stop_polling(s) < 0 ? -1 : 0;
  }
  int events = 0;
  if (action & CURL_POLL_IN) events |= UV_READABLE;
  if (action & CURL_POLL_OUT) events |= UV_WRITABLE;
  s->watched = 1;
  if (events == s->events) return 0; /* polled for these already */
  /* -1 tells libcurl, which fails the transfers on that socket instead of waiting forever. */
  s->events = 0;
  if (le_uv_check(uv_poll_start(&s->poll, events, poll_cb), "libcurl: watching a socket") < 0) return -1;
  s->events = events;
  return 0;
}

/* curl opens a socket: counted, so the bound on connections can be observed; close-on-exec,
 * so that no process the local target starts (a function) holds a connection of ours. */
static curl_socket_t opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) {
  shard *sh = clientp;
  (void)purpose;
  curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  socket_ctx *stale = fd != CURL_SOCKET_BAD ? socket_for(fd, 0) : NULL;
  if (stale) { /* a poll left by a socket closed behind our back: the new one starts afresh */
    H.sockets[fd] = NULL;
    uv_close((uv_handle_t *)&stale->poll, (uv_close_cb)free);
  }
  if (fd != CURL_SOCKET_BAD) {
    if (sh) sh->sockets++; /* (always set: hand_to_libcurl sets it before libcurl connects) */
    H.sockets_opened++;
    if (++H.sockets_open > H.sockets_peak) H.sockets_peak = H.sockets_open;
  }
  return fd;
}

/* curl closes a socket: retire its poll handle first, so a new socket that gets the
 * same descriptor number starts with a fresh one. */
static int closesocket_cb(void *clientp, curl_socket_t fd) {
  shard *sh = clientp;
  if (sh && sh->sockets > 0) sh->sockets--;
  socket_ctx *s = socket_for(fd, 0);
  if (s) {
    H.sockets[fd] = NULL;
    uv_close((uv_handle_t *)&s->poll, (uv_close_cb)free);
  }
  if (H.sockets_open > 0) H.sockets_open--;
  return close(fd);
}

static int timeout_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  shard *sh = userp;
  int rc = timeout_ms < 0 ? uv_timer_stop(&sh->timer)
                          : uv_timer_start(&sh->timer, timer_cb, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms,
                                           0); /* 0 means soon */
  return le_uv_check(rc, "libcurl: its timer") < 0 ? -1 : 0;
}

/* Our own queue keeps each host within max_host; curl's limits are the backstop. */
static CURLMcode set_connection_limits(CURLM *multi, long max_host) {
  CURLMcode mc = curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host);
  if (mc == CURLM_OK) mc = curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_host > 32 ? max_host * 2 : 64L);
  return mc;
}

/* A new multi handle on the loop (NULL with err set when libcurl or libuv refused). */
static shard *shard_new(le_error *err) {
  shard *sh = calloc(1, sizeof *sh);
  if (!sh) {
    le_error_set(err, "out of memory");
    return NULL;
  }
  sh->multi = curl_multi_init();
  if (!sh->multi) {
    free(sh);
    le_error_set(err, "libcurl: cannot create a multi handle");
    return NULL;
  }
  CURLMcode mc = curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  if (mc == CURLM_OK) mc = curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
  if (mc == CURLM_OK) mc = curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, timeout_cb);
  if (mc == CURLM_OK) mc = curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
  if (mc == CURLM_OK) mc = set_connection_limits(sh->multi, H.max_host);
  int rc = mc == CURLM_OK ? uv_timer_init(le_loop(), &sh->timer) : 0;
  if (mc != CURLM_OK || rc != 0) {
    report_multi(curl_multi_cleanup(sh->multi), "libcurl: cleanup");
    free(sh);
    le_error_set(err, "libcurl on the loop: %s", mc != CURLM_OK ? curl_multi_strerror(mc) : uv_strerror(rc));
    return NULL;
  }
  sh->timer.data = sh;
  uv_unref((uv_handle_t *)&sh->timer);
  return sh;
}

static void shard_timer_closed(uv_handle_t *timer) { free(timer->data); }

/* Closes its kept-alive connections (closesocket_cb retires their polls), then its timer. */
static void shard_close(shard *sh) {
  report_multi(curl_multi_cleanup(sh->multi), "libcurl: cleanup");
  sh->multi = NULL;
  uv_close((uv_handle_t *)&sh->timer, shard_timer_closed);
}

/* The multi handle a transfer starting now goes to: the least busy one that has an
 * idle connection to reuse, else the least busy one; a new one when every one has
 * LE_HTTP_SHARD_TRANSFERS transfers (the busiest stays within about max_host / shards). */
static shard *shard_for_transfer(void) {
  shard *least = H.shards[0], *least_idle = NULL;
  for (size_t i = 0; i < H.nshards; i++) {
    shard *sh = H.shards[i];
    if (sh->active < least->active) least = sh;
    if (sh->sockets > sh->active && (!least_idle || sh->active < least_idle->active)) least_idle = sh;
  }
  if (least->active >= LE_HTTP_SHARD_TRANSFERS && H.nshards < LE_HTTP_MAX_SHARDS) {
    le_error err;
    shard *sh = shard_new(&err);
    if (sh) return H.shards[H.nshards++] = sh;
    le_report_failure("libcurl: another multi handle", err.message); /* the existing ones carry on */
  }
  return least_idle && least_idle->active < LE_HTTP_SHARD_TRANSFERS ? least_idle : least;
}

/* Whether any variable libcurl 7.88 reads to choose a proxy for http and https is set
 * (even empty). When none is, each request says "no proxy" itself and libcurl does not
 * look the seven names up again for every transfer (~3 k instructions a request); the
 * process's environment does not change while it runs. */
static int proxy_in_environment(void) {
  static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                      "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (getenv(names[i])) return 1;
  return 0;
}

static int init(le_error *err) {
  if (H.ready) return LE_OK;
  H.proxy_env = proxy_in_environment();
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return le_error_set(err, "libcurl failed to start");
  shard *first = shard_new(err);
  int rc = first ? uv_async_init(le_loop(), &H.alive, NULL) : 0;
  if (!first || rc != 0) {
    if (first) shard_close(first);
    curl_global_cleanup();
    return first ? le_error_set(err, "libcurl on the loop: %s", uv_strerror(rc)) : LE_FAIL;
  }
  H.shards[0] = first;
  H.nshards = 1;
  uv_unref((uv_handle_t *)&H.alive);
  H.ready = 1;
  return LE_OK;
}

/* A request's easy handle: a reset one kept from an earlier request, or a new one. */
static CURL *easy_take(void) {
  if (H.idle_easy_count > 0) return H.idle_easy[--H.idle_easy_count];
  H.easy_created++;
  return curl_easy_init();
}

/* A finished request's handle, out of the multi handle: reset (every option back to its
 * default, as curl_easy_init leaves it) and kept, or cleaned up when enough are kept. */
static void easy_give_back(CURL *easy) {
  if (H.idle_easy_count < LE_HTTP_IDLE_EASY) {
    curl_easy_reset(easy);
    H.idle_easy[H.idle_easy_count++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

size_t le_http_close(void) {
  if (!H.ready) return 0;
  if (H.count > 0) return H.count;
  for (size_t i = 0; i < H.nshards; i++) {
    shard_close(H.shards[i]);
    H.shards[i] = NULL;
  }
  H.nshards = 0;
  for (size_t fd = 0; fd < H.nsockets; fd++) {
    socket_ctx *s = H.sockets[fd];
    if (s) {
      H.sockets[fd] = NULL;
      uv_close((uv_handle_t *)&s->poll, (uv_close_cb)free);
    }
  }
  uv_close((uv_handle_t *)&H.alive, NULL);
  H.last_host = NULL;
  while (H.idle_easy_count > 0) curl_easy_cleanup(H.idle_easy[--H.idle_easy_count]);
  while (H.hosts) {
    host_slot *h = H.hosts;
    H.hosts = h->next;
    free(h->key);
    free(h);
  }
  free(H.sockets);
  H.sockets = NULL;
  H.nsockets = 0;
  curl_global_cleanup();
  H.ready = 0;
  return 0;
}

/* Bodies beyond the request's max_body end the transfer (nothing more is read). */
static size_t write_cb(char *data, size_t size, size_t n, void *userp) {
  transfer *t = userp;
  if (t->max_body && t->response.body.len + size * n > t->max_body) {
    t->too_large = 1;
    return 0;
  }
  return le_buffer_append(&t->response.body, data, size * n) == LE_OK ? size * n : 0;
}

/* A declared Content-Length beyond max_body ends the transfer before its body. */
static int declared_too_large(const transfer *t, const char *data, size_t len) {
  static const char name[] = "content-length:";
  if (!t->max_body || len < sizeof name - 1 || strncasecmp(data, name, sizeof name - 1) != 0) return 0;
  size_t value = 0;
  for (size_t i = sizeof name - 1; i < len; i++) {
    char c = data[i];
    if (c == ' ' || c == '\t') continue;
    if (c < '0' || c > '9') break;
    if (value > (SIZE_MAX - 9) / 10) return 1;
    value = value * 10 + (size_t)(c - '0');
  }
  return value > t->max_body;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userp) {
  transfer *t = userp;
  size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > LE_HTTP_MAX_HEADER_BYTES || declared_too_large(t, data, len)) {
    t->too_large = 1;
    return 0;
  }
  /* A new status line starts a new header block (after 100 Continue). */
  if (len > 5 && strncmp(data, "HTTP/", 5) == 0) t->response.headers.len = 0;
  return le_buffer_append(&t->response.headers, data, len) == LE_OK ? len : 0;
}

/* The host a URL names, as scheme://host:port (NULL when it does not parse). */
static char *host_key(const char *url) {
  CURLU *u = curl_url();
  if (!u) return NULL;
  char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    size_t n = strlen(scheme) + strlen(host) + strlen(port) + 5;
    key = malloc(n);
    if (key) snprintf(key, n, "%s://%s:%s", scheme, host, port);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return key;
}

/* The length of url's scheme://authority part (0 when there is no "://"). */
static size_t authority_length(const char *url) {
  const char *sep = strstr(url, "://");
  if (!sep) return 0;
  return (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
}

static host_slot *host_for(const char *url) {
  /* Calls go to one endpoint: the same scheme://authority text as the last request
   * is the same host (libcurl parses the URL only when the authority changes). */
  size_t alen = authority_length(url);
  if (H.last_host && alen > 0 && alen < sizeof H.last_authority && strncmp(url, H.last_authority, alen) == 0 &&
      H.last_authority[alen] == '\0')
    return H.last_host;
  char *key = host_key(url);
  if (!key) return NULL;
  host_slot *h = NULL;
  for (host_slot *x = H.hosts; x; x = x->next) {
    if (strcmp(x->key, key) == 0) h = x;
  }
  if (h) {
    free(key);
  } else {
    h = calloc(1, sizeof *h);
    if (!h) {
      free(key);
      return NULL;
    }
    h->key = key;
    h->next = H.hosts;
    H.hosts = h;
  }
  if (alen > 0 && alen < sizeof H.last_authority) {
    memcpy(H.last_authority, url, alen);
    H.last_authority[alen] = '\0';
    H.last_host = h;
  }
  return h;
}

static size_t queued_count(void) {
  size_t n = 0;
  for (host_slot *h = H.hosts; h; h = h->next)
    for (transfer *t = h->queue_head; t; t = t->queue_next) n++;
  return n;
}

static void unlink_transfer(transfer *t) {
  if (t->prev) t->prev->next = t->next;
  else H.in_flight = t->next;
  if (t->next) t->next->prev = t->prev;
  if (--H.count == 0) uv_unref((uv_handle_t *)&H.alive);
}

static void start_queued(host_slot *h);

/* Takes t out of its host's queue (it has not started). */
static void dequeue(transfer *t) {
  host_slot *h = t->host;
  transfer **p = &h->queue_head, *prev = NULL;
  while (*p && *p != t) {
    prev = *p;
    p = &(*p)->queue_next;
  }
  if (!*p) return;
  *p = t->queue_next;
  if (h->queue_tail == t) h->queue_tail = prev;
  t->queue_next = NULL;
}

/* curl_easy_setopt over a whole request: rc keeps the first failure (CURLE_OK while none). */
#define SETOPT(rc, e, opt, val)                             \
  do {                                                      \
    if ((rc) == CURLE_OK) (rc) = curl_easy_setopt(e, opt, val); \
  } while (0)

/* Hands t to libcurl in the multi handle shard_for_transfer picks; its sockets are
 * counted to that one. Returns 0, or -1 when libcurl refused (nothing counted). */
static int hand_to_libcurl(transfer *t) {
  shard *sh = shard_for_transfer();
  CURLcode so = CURLE_OK;
  SETOPT(so, t->easy, CURLOPT_OPENSOCKETDATA, sh);
  SETOPT(so, t->easy, CURLOPT_CLOSESOCKETDATA, sh);
  if (so != CURLE_OK || curl_multi_add_handle(sh->multi, t->easy) != CURLM_OK) return -1;
  t->shard = sh;
  sh->active++;
  t->started = 1;
  t->host->active++;
  return 0;
}

static void finish(transfer *t, CURLcode code) {
  unlink_transfer(t);
  if (t->started) {
    t->shard->active--;
    t->host->active--;
    start_queued(t->host);
  } else {
    dequeue(t);
  }
  le_http_response *r = &t->response;
  if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK) r->status = 0;
  if (t->cancelled) {
    r->error_kind = "cancelled";
    snprintf(r->error, sizeof r->error, "request cancelled");
  } else if (t->too_large) {
    r->error_kind = "too_large";
    if (t->header_bytes > LE_HTTP_MAX_HEADER_BYTES)
      snprintf(r->error, sizeof r->error, "the response headers exceed %d bytes", LE_HTTP_MAX_HEADER_BYTES);
    else
      snprintf(r->error, sizeof r->error, "the response body exceeds %zu bytes", t->max_body);
  } else if (code != CURLE_OK) {
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT: r->error_kind = "timeout"; break;
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY: r->error_kind = "connect"; break;
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE: r->error_kind = "reset"; break;
      default: r->error_kind = "error"; break;
    }
    snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(code));
  }
  /* The handle goes back before the callback: a task it resumes that asks again at once
   * takes this one (one handle reused in turn, not two alternating). */
  easy_give_back(t->easy);
  t->easy = NULL;
  free(t->headers); /* the reset handle no longer points at it */
  t->headers = NULL;
  t->done(r, t->userdata);
  le_buffer_free(&r->headers);
  le_buffer_free(&r->body);
  free(t);
}


/* The request's header lines, then "Expect:" and "Accept:" (libcurl adds neither
 * then), as libcurl's list with its nodes and their text in one allocation (libcurl
 * only reads the list; curl_slist_append would make two per line). NULL: out of memory. */
static struct curl_slist *header_list(const char *const *lines, size_t n) {
  static const char *const last[] = {"Expect:", "Accept:"};
  size_t count = n + 2, text = 0;
  for (size_t i = 0; i < count; i++) text += strlen(i < n ? lines[i] : last[i - n]) + 1;
  struct curl_slist *nodes = malloc(count * sizeof *nodes + text);
  if (!nodes) return NULL;
  char *p = (char *)(nodes + count);
  for (size_t i = 0; i < count; i++) {
    const char *line = i < n ? lines[i] : last[i - n];
    size_t len = strlen(line) + 1;
    memcpy(p, line, len);
    nodes[i].data = p;
    nodes[i].next = i + 1 < count ? &nodes[i + 1] : NULL;
    p += len;
  }
  return nodes;
}

int le_http_start(const le_http_request_spec *spec, le_http_done done, void *userdata, le_error *err) {
  if (init(err) != LE_OK) return LE_FAIL;
  transfer *t = calloc(1, sizeof *t);
  if (!t) return le_error_set(err, "out of memory");
  t->easy = easy_take();
  if (!t->easy) {
    free(t);
    return le_error_set(err, "libcurl: cannot create a request");
  }
  t->done = done;
  t->userdata = userdata;
  t->max_body = spec->max_body;
  t->host = host_for(spec->url);
  if (!t->host) {
    curl_easy_cleanup(t->easy);
    free(t);
    return le_error_set(err, "not a URL libcurl can use: %s", spec->url);
  }
  CURL *e = t->easy;
  CURLcode so = CURLE_OK; /* the first option libcurl refused */
  SETOPT(so, e, CURLOPT_URL, spec->url);
  SETOPT(so, e, CURLOPT_PRIVATE, t);
  SETOPT(so, e, CURLOPT_NOSIGNAL, 1L);
  SETOPT(so, e, CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(so, e, CURLOPT_WRITEDATA, t);
  SETOPT(so, e, CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(so, e, CURLOPT_HEADERDATA, t);
  SETOPT(so, e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
  SETOPT(so, e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
  SETOPT(so, e, CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(so, e, CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT(so, e, CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(so, e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  if (!H.proxy_env) { /* what libcurl would find in the environment: no proxy */
    SETOPT(so, e, CURLOPT_PROXY, "");
    SETOPT(so, e, CURLOPT_NOPROXY, "");
  }
  if (spec->timeout_ms > 0) SETOPT(so, e, CURLOPT_TIMEOUT_MS, spec->timeout_ms);
  const char *method = spec->method ? spec->method : "GET";
  if (strcmp(method, "GET") == 0) {
    SETOPT(so, e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    SETOPT(so, e, CURLOPT_NOBODY, 1L);
  } else {
    SETOPT(so, e, CURLOPT_CUSTOMREQUEST, method);
  }
  if (spec->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
    SETOPT(so, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)spec->body_len);
    SETOPT(so, e, CURLOPT_COPYPOSTFIELDS, spec->body ? spec->body : "");
  }
  t->headers = header_list(spec->headers, spec->header_count);
  int listed = t->headers != NULL;
  SETOPT(so, e, CURLOPT_HTTPHEADER, t->headers);
  if (so != CURLE_OK || !listed) {
    curl_easy_cleanup(e);
    free(t->headers);
    free(t);
    return le_error_set(err, "libcurl: cannot set up the request: %s",
                        listed ? curl_easy_strerror(so) : "out of memory");
  }
  host_slot *h = t->host;
  if (h->active < (size_t)H.max_host) {
    if (hand_to_libcurl(t) < 0) {
      curl_easy_cleanup(e);
      free(t->headers);
      free(t);
      return le_error_set(err, "libcurl: cannot start the request");
    }
  } else {
    /* Its timeout starts when it leaves the queue, as it is added to libcurl. */
    if (h->queue_tail) h->queue_tail->queue_next = t;
    else h->queue_head = t;
    h->queue_tail = t;
    size_t q = queued_count();
    if (q > H.queued_peak) H.queued_peak = q;
  }
  t->next = H.in_flight;
  if (H.in_flight) H.in_flight->prev = t;
  H.in_flight = t;
  if (H.count++ == 0) uv_ref((uv_handle_t *)&H.alive);
  H.started++;
  if (H.count > H.peak) H.peak = H.count;
  return LE_OK;
}

/* Hands waiting transfers to libcurl while their host has room. A transfer
 * libcurl refuses completes with an error, like any other. */
static void start_queued(host_slot *h) {
  while (h->queue_head && h->active < (size_t)H.max_host) {
    transfer *t = h->queue_head;
    h->queue_head = t->queue_next;
    if (!h->queue_head) h->queue_tail = NULL;
    t->queue_next = NULL;
    if (t->cancelled || hand_to_libcurl(t) < 0) finish(t, CURLE_FAILED_INIT);
  }
}

int le_http_set_max_host_connections(long n, le_error *err) {
  if (n < 1 || n > 100000) return le_error_code(err, "EINVAL", "the connections per host must be 1 to 100000, got %ld", n);
  for (size_t i = 0; i < H.nshards; i++) {
    CURLMcode mc = set_connection_limits(H.shards[i]->multi, n);
    if (mc != CURLM_OK) return le_error_code(err, "EINVAL", "libcurl: %s", curl_multi_strerror(mc));
  }
  H.max_host = n;
  if (H.ready) {
    for (host_slot *h = H.hosts; h; h = h->next) start_queued(h);
  }
  return LE_OK;
}

/* Cancelled transfers complete on the next turn of the loop, like any other. */
static void cancel_cb(uv_timer_t *timer) {
  uv_close((uv_handle_t *)timer, (uv_close_cb)free);
  /* Finishing one transfer can finish others (its callback, a queue moving on):
   * look for the next cancelled one from the start each time. */
  for (;;) {
    transfer *t = H.in_flight;
    while (t && !t->cancelled) t = t->next;
    if (!t) break;
    if (t->started) report_multi(curl_multi_remove_handle(t->shard->multi, t->easy), "libcurl: cancelling a request");
    finish(t, CURLE_ABORTED_BY_CALLBACK);
  }
}

void le_http_cancel_all(void) {
  H.cancellations++;
  if (!H.ready || !H.in_flight) return;
  for (transfer *t = H.in_flight; t; t = t->next) t->cancelled = 1;
  /* Without the timer the transfers marked cancelled end as libcurl finishes them,
   * each reported as cancelled. */
  uv_timer_t *timer = malloc(sizeof *timer);
  if (!timer) {
    le_report_failure("cancelling requests", "out of memory");
  } else if (le_uv_check(uv_timer_init(le_loop(), timer), "cancelling requests") < 0) {
    free(timer);
  } else if (le_uv_check(uv_timer_start(timer, cancel_cb, 0, 0), "cancelling requests") < 0) {
    uv_close((uv_handle_t *)timer, (uv_close_cb)free);
  }
}

void le_http_get_stats(le_http_stats *stats) {
  memset(stats, 0, sizeof *stats);
  stats->started = H.started;
  stats->in_flight = H.count;
  stats->peak_in_flight = H.peak;
  stats->queued_peak = H.queued_peak;
  stats->max_host_connections = (size_t)H.max_host;
  stats->sockets_open = H.sockets_open;
  stats->sockets_peak = H.sockets_peak;
  stats->sockets_opened = H.sockets_opened;
  stats->idle_socket_events = H.idle_socket_events;
  stats->multi_handles = H.nshards;
  stats->easy_created = H.easy_created;
  stats->cancellations = H.cancellations;
}
