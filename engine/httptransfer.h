/* httptransfer.h — one request of http.h from le_http_start to its callback, as the
 * client's files share it. http.c owns it: it makes it, queues it behind its host's
 * limit, hands it to libcurl (httpmulti.c) and ends it in le_http_finish, which calls
 * its callback and frees it. httpeasy.c sets up its easy handle and fills its response
 * within its caps; httpmulti.c hands it back to le_http_finish once libcurl is done
 * with it (found through CURLINFO_PRIVATE), never from inside a libcurl call. */
#ifndef LAMBDAENG_HTTPTRANSFER_H
#define LAMBDAENG_HTTPTRANSFER_H

#include <stddef.h>

#include <curl/curl.h>

#include "http.h"

#define LE_HTTP_MAX_HEADER_BYTES (64 * 1024)

struct le_http_host;
struct le_http_shard;
struct le_http_url;

typedef struct le_http_transfer {
  CURL *easy;
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
  int cancelled, started, too_large;
} le_http_transfer;

/* (http.c) Ends t with libcurl's result: out of its host's count or queue, its
 * response's error kind set, its handle given back, its callback called, t freed. */
void le_http_finish(le_http_transfer *t, CURLcode code);

#endif
