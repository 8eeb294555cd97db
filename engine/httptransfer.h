/* httptransfer.h — one request of http.h from le_http_start to its callback, as the
 * client's files share it. http.c owns it: it makes it, queues it behind its host's
 * limit, hands it to libcurl (httpmulti.c) or to the own transport (httpown.c) and ends
 * it in le_http_end, which calls its callback and frees it. httpeasy.c sets up its easy handle and fills its response
 * within its caps; httpmulti.c hands it back to le_http_finish once libcurl is done
 * with it (found through CURLINFO_PRIVATE), never from inside a libcurl call. */
#ifndef LAMBDAENG_HTTPTRANSFER_H
#define LAMBDAENG_HTTPTRANSFER_H

#include <stddef.h>

#include <curl/curl.h>

#include "http.h"
#include "httpwire.h" /* LE_HTTP_MAX_HEADER_BYTES */

struct le_http_host;
struct le_http_shard;
struct le_http_url;
struct le_http_own;

typedef struct le_http_transfer {
  CURL *easy;                 /* libcurl's handle, or NULL when own is set */
  struct le_http_own *own;    /* the own transport's exchange (httpown.h), or NULL */
  struct curl_slist *headers; /* header_list's one block: freed with free() */
  struct le_http_url *url;     /* its parsed URL (httpurl.h) while the handle may read it, or NULL */
  le_http_response response;
  le_http_done done;
  void *userdata;
  struct le_http_transfer *prev, *next; /* in flight (queued or started) */
  struct le_http_transfer *queue_next;  /* waiting for a connection to its host */
  struct le_http_host *host;
  struct le_http_shard *shard; /* set when it is handed to libcurl */
  size_t max_body;
  size_t header_bytes;
  const char *refused_option; /* the option libcurl refused at setup ("CURLOPT_URL"), or NULL */
  le_http_body_sink sink;       /* its body's sink (httpsink.h), or NULL */
  struct le_http_transfer *sink_next; /* in httpsink.c's list of noted transfers */
  int sink_noted, stopped;      /* stopped: its sink refused (kind "stopped") */
  int cancelled, started, too_large;
  int once;           /* libcurl's: never sent again once written (le_http_request_spec's) */
  int prereq_calls;   /* how often libcurl was about to send it (its connection, tunnel, TLS up) */
  int resend_refused; /* libcurl would have sent it again after writing some: ended instead */
} le_http_transfer;

/* (http.c) Ends t with libcurl's result: its response's error kind set from code, its
 * handle given back, then le_http_end. */
void le_http_finish(le_http_transfer *t, CURLcode code);
/* (http.c) Ends t, its response filled (error_kind and error set on a failure): out of
 * its host's count or queue, "cancelled" or "too_large" when it was, its callback
 * called, t freed. */
void le_http_end(le_http_transfer *t);
/* (http.c) Ends t, started, at once (its sink refused): "stopped", its callback called. */
void le_http_stop(le_http_transfer *t);
/* (http.c) The connections per host now allowed. */
long le_http_max_host(void);

#endif
