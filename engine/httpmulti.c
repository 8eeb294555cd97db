/* httpmulti.c — see httpmulti.h. */
#include "httpmulti.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpalive.h"
#include "httptransfer.h"
#include "loop.h"

typedef le_http_shard shard;

typedef struct socket_ctx {
  uv_poll_t poll;
  shard *shard; /* the multi handle whose connection it is */
  curl_socket_t fd;
  int watched; /* libcurl asks for the socket's events */
  int events;  /* what the poll is started for (UV_READABLE | UV_WRITABLE), 0: stopped */
} socket_ctx;

/* One multi handle with its connection cache and its timer. libcurl 7.88 looks through
 * every connection of a host in the cache for each new transfer (ConnectionExists),
 * and through all of them again as each finished transfer is removed: with 1,000
 * connections to one endpoint that was ~33 k instructions a request. Transfers are
 * spread over several multi handles on the same loop, each with at most about
 * LE_HTTP_SHARD_TRANSFERS of them, so each look is that short. A connection belongs
 * to one multi handle and is only ever used by one transfer at a time, as before.
 * libcurl 8.14 (measured, bench/NOTES.md W6) is slower still there: one handle with 1,000
 * connections cost 464 k instructions a request against 260 k spread over 64-transfer handles. */
struct le_http_shard {
  CURLM *multi;
  uv_timer_t timer;
  size_t active;  /* transfers in this multi handle */
  size_t sockets; /* its connections open now */
};

#define LE_HTTP_SHARD_TRANSFERS 64 /* another multi handle only when each has this many */
#define LE_HTTP_MAX_SHARDS 32      /* (each costs libcurl's two wakeup sockets) */

static struct {
  shard *shards[LE_HTTP_MAX_SHARDS]; /* shards[0] made by le_http_multi_open, the others when needed */
  size_t nshards;
  socket_ctx **sockets; /* indexed by fd */
  size_t nsockets;
  size_t sockets_open, sockets_peak, sockets_opened;
  size_t idle_socket_events; /* events on kept-alive sockets libcurl did not watch (their polls then stopped) */
} M;

/* A libcurl multi call that failed inside a callback, where no caller can be answered. */
static void report_multi(CURLMcode rc, const char *what) {
  if (rc != CURLM_OK) le_report_failure(what, curl_multi_strerror(rc));
}

static socket_ctx *socket_for(curl_socket_t fd, int create) {
  if ((size_t)fd >= M.nsockets) {
    if (!create) return NULL;
    size_t n = M.nsockets ? M.nsockets : 64;
    while (n <= (size_t)fd) n *= 2;
    socket_ctx **p = realloc(M.sockets, n * sizeof *p);
    if (!p) return NULL;
    memset(p + M.nsockets, 0, (n - M.nsockets) * sizeof *p);
    M.sockets = p;
    M.nsockets = n;
  }
  if (!M.sockets[fd] && create) {
    socket_ctx *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->fd = fd;
    if (uv_poll_init_socket(le_loop(), &s->poll, fd) != 0) {
      free(s);
      return NULL;
    }
    s->poll.data = s;
    uv_unref((uv_handle_t *)&s->poll); /* idle kept-alive connections must not hold the loop */
    M.sockets[fd] = s;
  }
  return M.sockets[fd];
}

/* Completed transfers are handed to their callbacks only here, after curl returned. */
static void check_multi_info(shard *sh) {
  CURLMsg *msg;
  int pending;
  while ((msg = curl_multi_info_read(sh->multi, &pending))) {
    if (msg->msg != CURLMSG_DONE) continue;
    le_http_transfer *t = NULL;
    CURL *easy = msg->easy_handle; /* msg is libcurl's, gone once the handle is removed */
    CURLcode code = msg->data.result;
    report_multi(curl_multi_remove_handle(sh->multi, easy), "libcurl: removing a finished request");
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || !t) {
      le_report_failure("libcurl", "a finished request without its transfer");
      continue;
    }
    le_http_finish(t, code);
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
    M.idle_socket_events++;
    stop_polling(s);
    return;
  }
  int flags = 0;
  if (status < 0) {
    /* libuv 1.44 reports a socket's POLLERR (a reset) as UV_EBADF with no events, its
     * poll stopped. Told only "error", libcurl fails the transfer as a send error; told
     * nothing, it checks the socket itself, reads the reset as its peer's doing and, on
     * a kept-alive connection that had sent nothing back, sends the request again on a
     * new one, as under its own poll(). */
    s->events = 0;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
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
curl_socket_t le_http_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) {
  shard *sh = clientp;
  (void)purpose;
  curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  socket_ctx *stale = fd != CURL_SOCKET_BAD ? socket_for(fd, 0) : NULL;
  if (stale) { /* a poll left by a socket closed behind our back: the new one starts afresh */
    M.sockets[fd] = NULL;
    uv_close((uv_handle_t *)&stale->poll, (uv_close_cb)free);
  }
  if (fd != CURL_SOCKET_BAD && le_http_alive(fd) != 0) { /* (libcurl then sets the same idle and interval) */
    close(fd);
    return CURL_SOCKET_BAD;
  }
  if (fd != CURL_SOCKET_BAD) {
    if (sh) sh->sockets++; /* (always set: le_http_multi_add sets it before libcurl connects) */
    M.sockets_opened++;
    if (++M.sockets_open > M.sockets_peak) M.sockets_peak = M.sockets_open;
  }
  return fd;
}

/* curl closes a socket: retire its poll handle first, so a new socket that gets the
 * same descriptor number starts with a fresh one. */
int le_http_closesocket(void *clientp, curl_socket_t fd) {
  shard *sh = clientp;
  if (sh && sh->sockets > 0) sh->sockets--;
  socket_ctx *s = socket_for(fd, 0);
  if (s) {
    M.sockets[fd] = NULL;
    uv_close((uv_handle_t *)&s->poll, (uv_close_cb)free);
  }
  if (M.sockets_open > 0) M.sockets_open--;
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
static shard *shard_new(long max_host, le_error *err) {
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
  if (mc == CURLM_OK) mc = set_connection_limits(sh->multi, max_host);
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

/* Closes its kept-alive connections (le_http_closesocket retires their polls), then its timer. */
static void shard_close(shard *sh) {
  report_multi(curl_multi_cleanup(sh->multi), "libcurl: cleanup");
  sh->multi = NULL;
  uv_close((uv_handle_t *)&sh->timer, shard_timer_closed);
}

/* The multi handle a transfer starting now goes to: the least busy one that has an
 * idle connection to reuse, else the least busy one; a new one when every one has
 * LE_HTTP_SHARD_TRANSFERS transfers (the busiest stays within about max_host / shards). */
static shard *shard_for_transfer(long max_host) {
  shard *least = M.shards[0], *least_idle = NULL;
  for (size_t i = 0; i < M.nshards; i++) {
    shard *sh = M.shards[i];
    if (sh->active < least->active) least = sh;
    if (sh->sockets > sh->active && (!least_idle || sh->active < least_idle->active)) least_idle = sh;
  }
  if (least->active >= LE_HTTP_SHARD_TRANSFERS && M.nshards < LE_HTTP_MAX_SHARDS) {
    le_error err;
    shard *sh = shard_new(max_host, &err);
    if (sh) return M.shards[M.nshards++] = sh;
    le_report_failure("libcurl: another multi handle", err.message); /* the existing ones carry on */
  }
  return least_idle && least_idle->active < LE_HTTP_SHARD_TRANSFERS ? least_idle : least;
}


int le_http_multi_open(long max_host, le_error *err) {
  shard *first = shard_new(max_host, err);
  if (!first) return LE_FAIL;
  M.shards[0] = first;
  M.nshards = 1;
  return LE_OK;
}

void le_http_multi_close(void) {
  for (size_t i = 0; i < M.nshards; i++) {
    shard_close(M.shards[i]);
    M.shards[i] = NULL;
  }
  M.nshards = 0;
  for (size_t fd = 0; fd < M.nsockets; fd++) {
    socket_ctx *s = M.sockets[fd];
    if (s) {
      M.sockets[fd] = NULL;
      uv_close((uv_handle_t *)&s->poll, (uv_close_cb)free);
    }
  }
  free(M.sockets);
  M.sockets = NULL;
  M.nsockets = 0;
}

le_http_shard *le_http_multi_add(CURL *easy, long max_host) {
  shard *sh = shard_for_transfer(max_host);
  CURLcode so = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, sh);
  if (so == CURLE_OK) so = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, sh);
  if (so != CURLE_OK || curl_multi_add_handle(sh->multi, easy) != CURLM_OK) return NULL;
  sh->active++;
  return sh;
}

void le_http_multi_release(le_http_shard *sh) { sh->active--; }

void le_http_multi_cancel(le_http_shard *sh, CURL *easy) {
  report_multi(curl_multi_remove_handle(sh->multi, easy), "libcurl: cancelling a request");
}

CURLMcode le_http_multi_set_limits(long max_host) {
  for (size_t i = 0; i < M.nshards; i++) {
    CURLMcode mc = set_connection_limits(M.shards[i]->multi, max_host);
    if (mc != CURLM_OK) return mc;
  }
  return CURLM_OK;
}

void le_http_multi_stats(le_http_stats *stats) {
  stats->sockets_open = M.sockets_open;
  stats->sockets_peak = M.sockets_peak;
  stats->sockets_opened = M.sockets_opened;
  stats->idle_socket_events = M.idle_socket_events;
  stats->multi_handles = M.nshards;
}
