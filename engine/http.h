/* http.h — HTTP requests on the event loop: libcurl's multi socket interface
 * driven by libuv (one uv_poll_t per socket, one uv_timer_t per multi handle for
 * curl's timeouts). Past 64 transfers in flight on each, another multi handle takes the
 * next ones (libcurl 7.88 walks its whole connection cache per transfer); a transfer
 * goes where an idle connection is, and a connection stays with its handle. Plain
 * http:// requests go through the own transport (httpown.h) instead, and libcurl is
 * loaded only when a request needs it (curlload.h): a failed load fails that request
 * with a message naming the library, as le_http_start's error.
 *
 * Many requests are in flight at once on one thread; connections are kept alive
 * and reused by the multi handle; TLS peers are always verified (with the system's CA
 * certificates, or configure's ca_file). At most
 * max_host_connections requests (default 64) are in libcurl per
 * scheme://host:port, so at most that many connections to a host are open; the
 * rest wait in order, and a request's timeout starts when it leaves the queue.
 * A response whose body would exceed the request's max_body (or whose headers
 * exceed 64 KiB) ends at that point with the kind "too_large": nothing beyond
 * the cap is buffered. Each request has its own timeout, and
 * le_http_cancel_all ends every request in flight or queued with the kind
 * "cancelled". A request with a sink has its 2xx answer's body given to the sink as it
 * arrives (httpsink.h) rather than buffered; a sink that refuses ends it, kind "stopped".
 * A completion callback is called exactly once per request that
 * le_http_start accepted, from the loop, never from inside le_http_start.
 * Every libcurl and libuv result is checked: a request libcurl refuses to set up
 * fails in le_http_start; a failure inside a callback, where no caller can be
 * answered, fails the transfers it concerns where libcurl allows (a socket or
 * timer callback returning -1) and is reported from the loop (le_report_failure).
 *
 * Lua: lambdaeng.native.http.request({ method=, url=, headers={{name, value}...},
 * body=, timeout=seconds, max_body=bytes, sign=, user_agent=, once= } [, sink]) from a task (with
 * sign = { host=, path=, query=, access_key_id=, secret_access_key=, session_token=,
 * region=, service=, time=, sign_body=, normalize=, single_encode= } the request is
 * signed here with SigV4, Host first, and sent with its headers, then the ones
 * signing adds, then User-Agent: user_agent; signed_lines(spec) gives those lines,
 * for the equivalence test with sigv4.sign): yields, then returns
 * { status=, headers={lower-case name = value}, body= } or nil, message, kind, nil, sent
 * (sent: true once any byte of the request went to a connection, so the peer may have
 * acted on it; false when it failed before: no connection, or the connect timed out;
 * for a once request, libcurl's, the connection's proxy tunnel and TLS up first).
 * Both transports send a request again, once (libcurl: up to 5 times), on a new
 * connection when a kept-alive one ends under it before any answer byte (its peer had
 * closed it); once = true (a request whose repetition is a second effect: an Invoke)
 * allows that only while no byte of it was written: after, it fails, kind "reset", sent
 * true. The kind is one of "timeout", "connect", "reset", "cancelled", "too_large",
 * "stopped" (the sink, a function called with each piece of a 2xx answer's body as it
 * arrives, raised: its error is the message; it runs on the loop and must not wait),
 * "unsent" (refused before anything was sent: a header httplines.c refuses, a URL or
 * option libcurl refuses, both with a 4th value "EINVAL"; a library missing, "ENOENT";
 * the transport failing to set up, "EFAIL"), "tls" and "unsupported" (permanent:
 * httpfailure.h), "error".
 * configure{ max_host_connections = N, ca_file = path | false, dns_cache_seconds = S,
 * idle_seconds = S } (the last two the own transport's, le_http_set_own_periods); stats() -> { started=,
 * in_flight=, peak_in_flight=, sockets_open=, sockets_peak=, sockets_opened=,
 * queued_peak=, max_host_connections=, easy_created=, urls_parsed=, idle_socket_events=, multi_handles=,
 * own_connections_opened=, own_connections_reused=, dns_resolutions=, idle_expired= } (easy_created and
 * multi_handles count libcurl's handles, the own_ ones and the last two the own transport's);
 * cancel_all();
 * cancellations() -> how many times cancel_all was called (so a caller that waited
 * elsewhere can tell). A kept-alive connection stays polled for reading between its
 * requests (no epoll_ctl per request); the first event on it while idle (its peer
 * closed it) stops that poll, counted in idle_socket_events. */
#ifndef LAMBDAENG_HTTP_H
#define LAMBDAENG_HTTP_H

#include <stddef.h>

#include "buffer.h"
#include "error.h"

struct lua_State;

typedef struct le_http_response {
  long status;
  le_buffer headers; /* raw header block of the final response */
  le_buffer body;
  const char *error_kind; /* NULL on success */
  int sent; /* the request's first bytes were handed to a connection (its peer may have acted on it) */
  char error[256];
} le_http_response;

typedef void (*le_http_done)(le_http_response *response, void *userdata);
/* A body's sink (httpsink.h): a 2xx answer's body bytes as they arrive, from the loop,
 * with the request's userdata; nonzero ends the request with the kind "stopped". */
typedef int (*le_http_body_sink)(const char *data, size_t len, void *userdata);

typedef struct le_http_request_spec {
  const char *method;
  const char *url;
  const char *const *headers; /* "Name: value" lines */
  size_t header_count;
  const void *body;
  size_t body_len;
  long timeout_ms;
  size_t max_body; /* 0: no cap (with a sink: of the bytes not given yet) */
  le_http_body_sink sink; /* NULL: the body is buffered whole */
  int once; /* never sent again on a new connection once any byte of it was written (below) */
} le_http_request_spec;

#define LE_HTTP_DEFAULT_MAX_HOST_CONNECTIONS 64L

int le_http_start(const le_http_request_spec *spec, le_http_done done, void *userdata, le_error *err);
void le_http_cancel_all(void);
/* Ends the client when nothing is in flight: closes the kept-alive connections and
 * the loop handles (le_loop_close). Returns how many transfers are still in flight
 * (then nothing is closed). */
size_t le_http_close(void);
/* At most n (1..100000) requests in libcurl per host from now on. */
int le_http_set_max_host_connections(long n, le_error *err);

/* The own transport's periods (httppool.h), in seconds (0 to 86400; -1: left as it is):
 * a resolved name is used dns_seconds (60, libcurl's DNS cache), a connection kept idle
 * idle_seconds (118, libcurl's). libcurl's transfers keep libcurl's. */
int le_http_set_own_periods(long dns_seconds, long idle_seconds, le_error *err);

/* What the client has done so far (http.stats() in Lua gives all but cancellations,
 * which cancellations() gives). */
typedef struct le_http_stats {
  size_t started, in_flight, peak_in_flight, queued_peak, max_host_connections;
  size_t sockets_open, sockets_peak, sockets_opened, idle_socket_events, multi_handles;
  size_t easy_created, urls_parsed;
  /* the own transport's (httppool.h): connections it opened, requests it sent on a kept-alive
   * one, names it resolved (uv_getaddrinfo started), idle connections its timer closed */
  size_t own_connections_opened, own_connections_reused, dns_resolutions, idle_expired;
  unsigned long cancellations; /* how many times le_http_cancel_all was called */
} le_http_stats;
void le_http_get_stats(le_http_stats *stats);

/* lambdaeng.native.http (httplua.c), as the comment above describes it. */
int le_open_http(struct lua_State *L);

#endif
