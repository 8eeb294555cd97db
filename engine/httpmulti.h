/* httpmulti.h — libcurl's multi handles driven by the loop, for http.c: curl's
 * multi-uv pattern, one uv_poll_t per socket (kept in a table by descriptor, retired
 * when curl closes the socket) and one uv_timer_t per multi handle, completions handed
 * to le_http_finish only after curl_multi_socket_action returned.
 *
 * Transfers are spread over several multi handles ("shards", each with its connection
 * cache and timer): another is made only when each has LE_HTTP_SHARD_TRANSFERS
 * transfers, and a transfer goes to the least busy one that has an idle connection,
 * else the least busy. A kept-alive connection stays polled for reading between its
 * requests; the first event on it while idle stops that poll. A socket's error is
 * handed to libcurl as no event (it then checks the socket itself, as under its own
 * poll(), and sends a request again when its kept-alive connection was reset under
 * it). A libcurl or libuv
 * failure inside a callback fails what libcurl lets it fail and is reported from the
 * loop (le_report_failure). Before le_http_multi_open and after le_http_multi_close
 * there is no multi handle: set_limits then changes nothing and stats counts none. */
#ifndef LAMBDAENG_HTTPMULTI_H
#define LAMBDAENG_HTTPMULTI_H

#include <curl/curl.h>

#include "error.h"
#include "http.h"

typedef struct le_http_shard le_http_shard;

/* The first multi handle, its connections limited to max_host per host. */
int le_http_multi_open(long max_host, le_error *err);
/* Closes every multi handle (with its kept-alive connections) and every socket's poll. */
void le_http_multi_close(void);
/* Adds easy to the multi handle a transfer starting now goes to (made when needed, with
 * max_host); returns that handle, or NULL when libcurl refused (nothing counted). */
le_http_shard *le_http_multi_add(CURL *easy, long max_host);
/* A transfer of sh has ended (libcurl no longer has it). */
void le_http_multi_release(le_http_shard *sh);
/* Takes easy, a transfer in flight, out of sh before libcurl ends it. */
void le_http_multi_cancel(le_http_shard *sh, CURL *easy);
/* Every multi handle at most max_host connections per host (the first failure). */
CURLMcode le_http_multi_set_limits(long max_host);
/* Fills the sockets_* counts, idle_socket_events and multi_handles of stats. */
void le_http_multi_stats(le_http_stats *stats);

/* CURLOPT_OPENSOCKETFUNCTION and CURLOPT_CLOSESOCKETFUNCTION of every request: sockets
 * opened close-on-exec and counted to their multi handle (its CURLOPT_*SOCKETDATA). */
curl_socket_t le_http_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
int le_http_closesocket(void *clientp, curl_socket_t fd);

#endif
