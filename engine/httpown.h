/* httpown.h — the client's own HTTP/1.1 transport, for http.c: a request to an http://
 * URL no proxy applies to, sent by our writer (httpwire.c) on a pooled connection
 * (httppool.c) and its answer read by http-parser, instead of through libcurl (which
 * costs ~90 k instructions a signed request, the head printed a byte at a time).
 * http.c chooses it per request with le_http_own_fits; LAMBDAENG_HTTP_TRANSPORT=curl
 * (read as the client starts) sends everything through libcurl.
 * What it keeps of libcurl's behaviour: the request bytes (httpwire.h), keep-alive per
 * host:port within http.c's bound, a request whose kept-alive connection ended before
 * any answer byte sent again once on a new connection (never after answer bytes, nor
 * after any byte of a once request was written), a
 * connect timeout of 10 s and the request's own timeout (from when it leaves http.c's
 * queue, as libcurl's), on one uv timer per exchange; the error kinds "connect",
 * "timeout", "reset", "too_large", "error", with messages that name host:port. */
#ifndef LAMBDAENG_HTTPOWN_H
#define LAMBDAENG_HTTPOWN_H

#include <stddef.h>

#include "http.h"
#include "httpurl.h"

struct le_http_transfer;
struct le_http_conn;

/* Reads LAMBDAENG_HTTP_TRANSPORT and the proxy variables (as the client starts). */
void le_http_own_open(void);
/* Closes its connections (nothing may be in flight). */
void le_http_own_close(void);
/* Whether the own transport sends this request: an http:// URL (u parsed, not NULL) that
 * no proxy variable applies to, a method other than GET and HEAD when there is a body,
 * and the transport not forced to curl. */
int le_http_own_fits(const le_http_url *u, const le_http_request_spec *spec);
/* Prepares t (its url held) for spec: the request's bytes written now, the spec not read
 * after. LE_FAIL: out of memory (err set). */
int le_http_own_prepare(struct le_http_transfer *t, const le_http_request_spec *spec, le_error *err);
/* Starts t's exchange (it left http.c's queue). Its end comes through le_http_end. */
void le_http_own_go(struct le_http_transfer *t);
/* Ends t's exchange now, before its answer (cancelled): nothing more is heard of it. */
void le_http_own_abort(struct le_http_transfer *t);
/* Frees what prepare made, for a transfer that never started or has ended. */
void le_http_own_free(struct le_http_transfer *t);

/* From httppool.c, for the user of a connection: it connected (status 0) or could not
 * (a libuv error; why says which step); bytes arrived (n > 0), or it ended (n < 0: UV_EOF
 * or an error); a send failed. */
void le_http_own_connected(void *user, struct le_http_conn *c, int status, const char *why);
void le_http_own_read(void *user, struct le_http_conn *c, const char *data, long n);
void le_http_own_write_failed(void *user, struct le_http_conn *c, int status);

#endif
