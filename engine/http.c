/* http.c — see http.h. The client's transfers, from le_http_start to their callback:
 * each counted against its host (scheme://host:port) and queued past max_host, handed
 * to libcurl (httpmulti.c) with its easy handle set up (httpeasy.c), ended with its
 * error kind, cancelled, and the client closed. libcurl is loaded and started (curlload.h)
 * by the first transfer the own transport does not send. The Lua binding is httplua.c. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curlload.h"
#include "httpeasy.h"
#include "httpfailure.h"
#include "httpmulti.h"
#include "httpown.h"
#include "httppool.h"
#include "httpsink.h"
#include "httptransfer.h"
#include "httpurl.h"
#include "httpurl_plain.h"
#include "loop.h"

typedef le_http_transfer transfer;
typedef struct le_http_host host_slot;

/* The transfers to one scheme://host:port: at most H.max_host of them are in
 * libcurl at once (so at most that many connections), the rest wait in order. */
struct le_http_host {
  char *key;
  size_t active;
  transfer *queue_head, *queue_tail;
  host_slot *next;
};

static struct {
  uv_async_t alive; /* referenced exactly while requests are in flight */
  transfer *in_flight;
  host_slot *hosts;
  host_slot *last_host;      /* the host of the last request's URL ... */
  char last_authority[256];  /* ... whose scheme://authority text was this */
  long max_host; /* connections per host */
  size_t count, peak, started, queued_peak;
  unsigned long cancellations; /* how many times le_http_cancel_all was called */
  int ready;
  int curl_ready; /* libcurl loaded, started and its first multi handle made */
} H = {.max_host = LE_HTTP_DEFAULT_MAX_HOST_CONNECTIONS};

static int init(le_error *err) {
  if (H.ready) return LE_OK;
  le_http_easy_open();
  le_http_own_open();
  int rc = uv_async_init(le_loop(), &H.alive, NULL);
  if (rc != 0) return le_error_set(err, "the HTTP client on the loop: %s", uv_strerror(rc));
  uv_unref((uv_handle_t *)&H.alive);
  if (le_http_sink_open(err) != LE_OK) {
    uv_close((uv_handle_t *)&H.alive, NULL);
    return LE_FAIL;
  }
  H.ready = 1;
  return LE_OK;
}

/* libcurl for a transfer to url: loaded, started and on the loop, the first time one needs it. */
static int curl_ready(const char *url, le_error *err) {
  if (H.curl_ready) return LE_OK;
  if (le_curl_load(url, err) != LE_OK) return LE_FAIL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return le_error_set(err, "libcurl failed to start");
  if (le_http_multi_open(H.max_host, err) != LE_OK) {
    curl_global_cleanup();
    return LE_FAIL;
  }
  H.curl_ready = 1;
  return LE_OK;
}

size_t le_http_close(void) {
  if (!H.ready) return 0;
  if (H.count > 0) return H.count;
  if (H.curl_ready) le_http_multi_close();
  le_http_own_close();
  le_http_sink_close();
  uv_close((uv_handle_t *)&H.alive, NULL);
  H.last_host = NULL;
  le_http_easy_close();
  le_http_url_close();
  while (H.hosts) {
    host_slot *h = H.hosts;
    H.hosts = h->next;
    free(h->key);
    free(h);
  }
  if (H.curl_ready) curl_global_cleanup();
  H.curl_ready = 0;
  H.ready = 0;
  return 0;
}

/* The host a URL names, as scheme://host:port (NULL when it does not parse, or when
 * libcurl, which parses all but plain URLs, cannot be loaded). */
static char *host_key(const char *url) {
  le_http_plain_url plain;
  if (le_http_plain_url_parse(url, strlen(url), &plain)) {
    size_t n = plain.host_len + 16;
    char *key = malloc(n);
    if (key) snprintf(key, n, "http://%.*s:%d", (int)plain.host_len, plain.host, plain.port);
    return key;
  }
  if (le_curl_load(url, NULL) != LE_OK) return NULL;
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

/* Hands t to its transport: the own one, or libcurl in the multi handle
 * le_http_multi_add picks (its sockets counted to that one). Returns 0, or -1 when
 * libcurl refused (nothing counted). */
static int hand_over(transfer *t) {
  if (t->own) {
    t->started = 1;
    t->host->active++;
    le_http_own_go(t);
    return 0;
  }
  le_http_shard *sh = le_http_multi_add(t->easy, H.max_host);
  if (!sh) return -1;
  t->shard = sh;
  t->started = 1;
  t->host->active++;
  return 0;
}

long le_http_max_host(void) { return H.max_host; }

void le_http_finish(transfer *t, CURLcode code) {
  le_http_response *r = &t->response;
  if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK) r->status = 0;
  if (code != CURLE_OK) {
    le_http_failure(r, code, t->host->key); /* its kind and message */
    /* Whether any of the request went out (to the peer or a proxy): libcurl counts the
     * request's head as it sends it; an unknown count is taken as sent. */
    long request_bytes = 0;
    r->sent = curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes) != CURLE_OK || request_bytes > 0;
    /* A once request's count is read only after libcurl was about to send it: a proxy's
     * CONNECT, counted too, never reached the server. */
    if (t->once && !t->prereq_calls) r->sent = 0;
    if (t->resend_refused) {
      r->error_kind = "reset";
      r->sent = 1;
      snprintf(r->error, sizeof r->error, "the connection to %s ended before any answer, after the request was "
               "written; not sent again", t->host->key);
    }
  }
  /* The handle goes back before the callback: a task it resumes that asks again at once
   * takes this one (one handle reused in turn, not two alternating). */
  le_http_easy_give_back(t->easy);
  t->easy = NULL;
  free(t->headers); /* the reset handle no longer points at them */
  t->headers = NULL;
  le_http_end(t);
}

void le_http_end(transfer *t) {
  unlink_transfer(t);
  if (t->started) {
    if (t->shard) le_http_multi_release(t->shard);
    t->host->active--;
    start_queued(t->host);
  } else {
    dequeue(t);
  }
  le_http_response *r = &t->response;
  le_http_sink_forget(t);
  if (t->stopped) {
    r->error_kind = "stopped";
    snprintf(r->error, sizeof r->error, "the body's sink stopped the request");
  } else if (t->cancelled) {
    r->error_kind = "cancelled";
    snprintf(r->error, sizeof r->error, "request cancelled");
  } else if (t->too_large) {
    r->error_kind = "too_large";
    if (t->header_bytes > LE_HTTP_MAX_HEADER_BYTES)
      snprintf(r->error, sizeof r->error, "the response headers exceed %d bytes", LE_HTTP_MAX_HEADER_BYTES);
    else
      snprintf(r->error, sizeof r->error, "the response body exceeds %zu bytes", t->max_body);
  }
  le_http_own_free(t);
  if (t->url) le_http_url_release(t->url);
  t->url = NULL;
  /* the bytes not given yet, a failed answer's too (they arrived); a sink refusing them: stopped */
  if (!t->stopped && le_http_sink_give(t) != 0 && !r->error_kind) {
    r->error_kind = "stopped";
    snprintf(r->error, sizeof r->error, "the body's sink stopped the request");
  }
  t->done(r, t->userdata);
  le_buffer_free(&r->headers);
  le_buffer_free(&r->body);
  free(t);
}

/* A transfer le_http_start could not start: its handle, header list, exchange and URL let go. */
static void discard(transfer *t) {
  if (t->easy) curl_easy_cleanup(t->easy);
  free(t->headers);
  le_http_own_free(t);
  if (t->url) le_http_url_release(t->url);
  free(t);
}

/* Sets t up for its transport, chosen here for each request: the own one when it fits
 * (httpown.h), else libcurl. */
static int set_up(transfer *t, const le_http_request_spec *spec, le_error *err) {
  t->url = le_http_url_take(spec->url);
  if (le_http_own_fits(t->url, spec)) return le_http_own_prepare(t, spec, err);
  if (curl_ready(spec->url, err) != LE_OK) return LE_FAIL;
  t->easy = le_http_easy_take();
  if (!t->easy) return le_error_set(err, "libcurl: cannot create a request");
  CURLcode so = le_http_easy_setup(t, spec); /* the first option libcurl refused */
  int listed = t->headers != NULL;
  if (!listed) return le_error_set(err, "libcurl: cannot set up the request: out of memory");
  if (so != CURLE_OK)
    return le_error_code(err, "EINVAL", "libcurl refuses the request's %s: %s", le_http_option_field(t->refused_option),
                        curl_easy_strerror(so));
  return LE_OK;
}

int le_http_start(const le_http_request_spec *spec, le_http_done done, void *userdata, le_error *err) {
  if (init(err) != LE_OK) return LE_FAIL;
  transfer *t = calloc(1, sizeof *t);
  if (!t) return le_error_set(err, "out of memory");
  t->done = done;
  t->userdata = userdata;
  t->max_body = spec->max_body;
  t->sink = spec->sink;
  t->host = host_for(spec->url);
  if (!t->host) {
    discard(t);
    if (le_curl_load(spec->url, err) != LE_OK) return LE_FAIL; /* (the URL was libcurl's to read) */
    return le_error_code(err, "EINVAL", "not a URL libcurl can use: %s", spec->url);
  }
  if (set_up(t, spec, err) != LE_OK) {
    discard(t);
    return LE_FAIL;
  }
  host_slot *h = t->host;
  if (h->active < (size_t)H.max_host) {
    if (hand_over(t) < 0) {
      discard(t);
      return le_error_set(err, "libcurl: cannot start the request");
    }
  } else {
    /* Its timeout starts when it leaves the queue, as it is handed over. */
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
    if (t->cancelled || hand_over(t) < 0) {
      if (t->own) le_http_end(t); /* only a cancelled one: the own transport always starts */
      else le_http_finish(t, CURLE_FAILED_INIT);
    }
  }
}

int le_http_set_max_host_connections(long n, le_error *err) {
  if (n < 1 || n > 100000) return le_error_code(err, "EINVAL", "the connections per host must be 1 to 100000, got %ld", n);
  CURLMcode mc = le_http_multi_set_limits(n);
  if (mc != CURLM_OK) return le_error_code(err, "EINVAL", "libcurl: %s", curl_multi_strerror(mc));
  H.max_host = n;
  if (H.ready) {
    for (host_slot *h = H.hosts; h; h = h->next) start_queued(h);
  }
  return LE_OK;
}

int le_http_set_own_periods(long dns_seconds, long idle_seconds, le_error *err) {
  if (dns_seconds > 86400 || idle_seconds > 86400 || dns_seconds < -1 || idle_seconds < -1)
    return le_error_code(err, "EINVAL", "dns_cache_seconds and idle_seconds must be 0 to 86400");
  le_http_pool_set_periods(dns_seconds, idle_seconds);
  return LE_OK;
}

void le_http_stop(transfer *t) {
  t->stopped = 1;
  if (t->own) {
    le_http_own_abort(t);
    le_http_end(t);
    return;
  }
  le_http_multi_cancel(t->shard, t->easy);
  le_http_finish(t, CURLE_ABORTED_BY_CALLBACK);
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
    if (t->own) {
      if (t->started) le_http_own_abort(t);
      le_http_end(t);
      continue;
    }
    if (t->started) le_http_multi_cancel(t->shard, t->easy);
    le_http_finish(t, CURLE_ABORTED_BY_CALLBACK);
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
  stats->cancellations = H.cancellations;
  stats->urls_parsed = le_http_url_parsed();
  le_http_multi_stats(stats);
  le_http_pool_stats(stats);
  le_http_easy_stats(stats);
}
