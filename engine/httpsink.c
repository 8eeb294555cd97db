/* httpsink.c — see httpsink.h. */
#include "httpsink.h"

#include <curl/curl.h>

#include "httptransfer.h"
#include "loop.h"

static struct {
  uv_check_t check;
  le_http_transfer *noted; /* transfers with bytes not given yet, linked by sink_next */
  int ready, running;
} S;

/* The answer's status so far: libcurl's while it holds the transfer, else the response's. */
static long status_of(le_http_transfer *t) {
  long status = t->response.status;
  if (t->easy && curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
  return status;
}

int le_http_sink_give(le_http_transfer *t) {
  le_buffer *b = &t->response.body;
  if (!t->sink || b->len == 0) return 0;
  long status = status_of(t);
  if (status < 200 || status > 299) return 0;
  int rc = t->sink((const char *)b->data, b->len, t->userdata);
  b->len = 0; /* given: the buffer holds only what arrives next */
  return rc;
}

static void check_cb(uv_check_t *h) {
  /* A sink may start requests or end its own; each noted transfer is taken off first. */
  while (S.noted) {
    le_http_transfer *t = S.noted;
    S.noted = t->sink_next;
    t->sink_next = NULL;
    t->sink_noted = 0;
    if (le_http_sink_give(t) != 0) le_http_stop(t);
  }
  le_uv_check(uv_check_stop(h), "http: a body's sink");
  S.running = 0;
}

void le_http_sink_note(le_http_transfer *t) {
  if (!t->sink || t->sink_noted) return;
  t->sink_noted = 1;
  t->sink_next = S.noted;
  S.noted = t;
  if (!S.running && le_uv_check(uv_check_start(&S.check, check_cb), "http: a body's sink") == 0) S.running = 1;
}

void le_http_sink_forget(le_http_transfer *t) {
  if (!t->sink_noted) return;
  for (le_http_transfer **at = &S.noted; *at; at = &(*at)->sink_next) {
    if (*at == t) {
      *at = t->sink_next;
      break;
    }
  }
  t->sink_next = NULL;
  t->sink_noted = 0;
}

int le_http_sink_open(le_error *err) {
  if (S.ready) return LE_OK;
  int rc = uv_check_init(le_loop(), &S.check);
  if (rc != 0) return le_error_set(err, "the HTTP client's body sink on the loop: %s", uv_strerror(rc));
  uv_unref((uv_handle_t *)&S.check); /* the requests in flight keep the loop alive */
  S.ready = 1;
  return LE_OK;
}

void le_http_sink_close(void) {
  if (!S.ready) return;
  uv_close((uv_handle_t *)&S.check, NULL);
  S.ready = S.running = 0;
  S.noted = NULL;
}
