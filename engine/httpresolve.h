/* httpresolve.h — a host name resolved for the own transport (httppool.c) by getaddrinfo
 * on a detached thread of its own, as libcurl's threaded resolver does it: nothing of the
 * loop waits for it (uv_getaddrinfo's request kept loop.run from returning, and
 * le_loop_close from closing, until a slow name server answered), and one its caller no
 * longer wants is freed by its thread when getaddrinfo returns. Answers come back on the
 * loop through one unreferenced uv_async_t; a callback is never called from inside a call
 * of this file. Loop thread only, except the threads it starts. */
#ifndef LAMBDAENG_HTTPRESOLVE_H
#define LAMBDAENG_HTTPRESOLVE_H

#include <netdb.h>

typedef struct le_resolve le_resolve;

/* status: 0 or a libuv error (UV_EAI_*); res (NULL on an error) is the callee's only for
 * the call: freed after it. */
typedef void (*le_resolve_cb)(void *user, int status, const struct addrinfo *res);

/* Starts resolving host for port (TCP, any family the machine has an address of). NULL:
 * nothing started, *status says why (a libuv error). */
le_resolve *le_resolve_start(const char *host, int port, le_resolve_cb cb, void *user, int *status);
/* Its callback will not be called (its thread, or the loop, frees it). */
void le_resolve_forget(le_resolve *r);
/* Closes the loop's side (every resolution forgotten first); a later start opens it again. */
void le_resolve_close(void);

#endif
