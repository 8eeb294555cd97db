/* httpresolve.c — see httpresolve.h. A resolution is shared by its thread and the loop
 * under one lock: the thread either hands it to the loop (the done list, then the async
 * handle) or, when it was forgotten or the loop's side is closed, frees it itself. */
#include "httpresolve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "loop.h"

struct le_resolve {
  char *host;
  char port[16];
  le_resolve_cb cb;
  void *user;
  int forgotten; /* under the lock */
  int status;
  struct addrinfo *res;
  le_resolve *next; /* in the done list */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  uv_async_t async;
  int open;        /* the async handle may be sent to (under the lock) */
  le_resolve *done; /* answered, for the loop (under the lock) */
} R;

static void drop(le_resolve *r) {
  if (r->res) freeaddrinfo(r->res);
  free(r->host);
  free(r);
}

/* getaddrinfo's error as libuv names it (uv_getaddrinfo's statuses, which messages print). */
static int uv_status(int rc) {
  switch (rc) {
    case 0: return 0;
    case EAI_AGAIN: return UV_EAI_AGAIN;
    case EAI_BADFLAGS: return UV_EAI_BADFLAGS;
    case EAI_FAIL: return UV_EAI_FAIL;
    case EAI_FAMILY: return UV_EAI_FAMILY;
    case EAI_MEMORY: return UV_EAI_MEMORY;
    case EAI_NODATA: return UV_EAI_NODATA;
    case EAI_NONAME: return UV_EAI_NONAME;
    case EAI_SERVICE: return UV_EAI_SERVICE;
    case EAI_SOCKTYPE: return UV_EAI_SOCKTYPE;
    case EAI_SYSTEM: return errno ? uv_translate_sys_error(errno) : UV_EAI_FAIL;
    default: return UV_EAI_FAIL;
  }
}

static void *resolve_thread(void *arg) {
  le_resolve *r = arg;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
  errno = 0;
  r->status = uv_status(getaddrinfo(r->host, r->port, &hints, &r->res));
  pthread_mutex_lock(&lock);
  int wanted = !r->forgotten && R.open;
  if (wanted) {
    r->next = R.done;
    R.done = r;
    (void)uv_async_send(&R.async); /* cannot fail on an open handle; the lock keeps it open */
  }
  pthread_mutex_unlock(&lock);
  if (!wanted) drop(r);
  return NULL;
}

/* The answered resolutions, taken (with close: the side closed as they are taken). */
static le_resolve *take_done(int close) {
  pthread_mutex_lock(&lock);
  le_resolve *list = R.done;
  R.done = NULL;
  if (close) R.open = 0;
  pthread_mutex_unlock(&lock);
  return list;
}

static void answered(uv_async_t *async) {
  (void)async;
  le_resolve *list = take_done(0);
  while (list) {
    le_resolve *r = list;
    list = r->next;
    /* forgotten is set on the loop thread only, before the thread could read it: read
     * without the lock here, also on the loop thread */
    if (!r->forgotten) r->cb(r->user, r->status, r->status == 0 ? r->res : NULL);
    drop(r);
  }
}

static int open_side(void) {
  if (R.open) return 0;
  int rc = uv_async_init(le_loop(), &R.async, answered);
  if (rc != 0) return rc;
  uv_unref((uv_handle_t *)&R.async);
  pthread_mutex_lock(&lock);
  R.open = 1;
  pthread_mutex_unlock(&lock);
  return 0;
}

/* Starts the thread detached, with every signal blocked (they are the loop thread's). */
static int start_thread(le_resolve *r) {
  pthread_attr_t attr;
  sigset_t all, old;
  if (pthread_attr_init(&attr) != 0) return UV_ENOMEM;
  int rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  if (rc == 0) rc = pthread_create(&thread, &attr, resolve_thread, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : uv_translate_sys_error(rc);
}

le_resolve *le_resolve_start(const char *host, int port, le_resolve_cb cb, void *user, int *status) {
  *status = open_side();
  if (*status != 0) return NULL;
  le_resolve *r = calloc(1, sizeof *r);
  if (!r || !(r->host = strdup(host))) {
    free(r);
    *status = UV_ENOMEM;
    return NULL;
  }
  snprintf(r->port, sizeof r->port, "%d", port);
  r->cb = cb;
  r->user = user;
  *status = start_thread(r);
  if (*status != 0) {
    drop(r);
    return NULL;
  }
  return r;
}

void le_resolve_forget(le_resolve *r) {
  pthread_mutex_lock(&lock);
  r->forgotten = 1;
  pthread_mutex_unlock(&lock);
}

void le_resolve_close(void) {
  if (!R.open) return;
  for (le_resolve *r = take_done(1), *next; r; r = next) {
    next = r->next;
    drop(r);
  }
  uv_close((uv_handle_t *)&R.async, NULL);
}
