/* httpeasy.c — see httpeasy.h. */
#include "httpeasy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpalive.h"
#include "httpmulti.h"
#include "httpsink.h"
#include "httpurl.h"

#define LE_HTTP_IDLE_EASY 64 /* easy handles kept for reuse (creating one costs more than resetting it) */

static struct {
  CURL *idle[LE_HTTP_IDLE_EASY]; /* finished handles, reset, for the next requests */
  size_t idle_count;
  size_t created; /* handles made by curl_easy_init (the rest were reused) */
  int proxy_env; /* a proxy variable is set: libcurl reads them for each request */
  char *ca_file;  /* the CA certificates TLS peers are verified with (NULL: the system's) */
} E;

int le_http_easy_set_ca_file(const char *path, le_error *err) {
  char *copy = NULL;
  if (path && !(copy = strdup(path))) return le_error_set(err, "out of memory");
  free(E.ca_file); /* (kept for the process: the setting outlives le_http_close) */
  E.ca_file = copy;
  return LE_OK;
}

/* Whether any variable libcurl 7.88 reads to choose a proxy for http and https is set
 * (even empty). When none is, each request says "no proxy" itself and libcurl does not
 * look the seven names up again for every transfer (~3 k instructions a request); the
 * process's environment does not change while it runs. */
static int proxy_in_environment(void) {
  static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                      "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (getenv(names[i])) return 1;
  return 0;
}

void le_http_easy_open(void) { E.proxy_env = proxy_in_environment(); }

void le_http_easy_close(void) {
  while (E.idle_count > 0) curl_easy_cleanup(E.idle[--E.idle_count]);
}

CURL *le_http_easy_take(void) {
  if (E.idle_count > 0) return E.idle[--E.idle_count];
  E.created++;
  return curl_easy_init();
}

/* Reset: every option back to its default, as curl_easy_init leaves it. */
void le_http_easy_give_back(CURL *easy) {
  if (E.idle_count < LE_HTTP_IDLE_EASY) {
    curl_easy_reset(easy);
    E.idle[E.idle_count++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

/* Bodies beyond the request's max_body end the transfer (nothing more is read). */
static size_t write_cb(char *data, size_t size, size_t n, void *userp) {
  le_http_transfer *t = userp;
  if (t->max_body && t->response.body.len + size * n > t->max_body) {
    t->too_large = 1;
    return 0;
  }
  if (le_buffer_append(&t->response.body, data, size * n) != LE_OK) return 0;
  le_http_sink_note(t); /* given from the loop, outside libcurl (httpsink.h) */
  return size * n;
}

/* A declared Content-Length beyond max_body ends the transfer before its body. */
static int declared_too_large(const le_http_transfer *t, const char *data, size_t len) {
  static const char name[] = "content-length:";
  if (!t->max_body || len < sizeof name - 1 || strncasecmp(data, name, sizeof name - 1) != 0) return 0;
  size_t value = 0;
  for (size_t i = sizeof name - 1; i < len; i++) {
    char c = data[i];
    if (c == ' ' || c == '\t') continue;
    if (c < '0' || c > '9') break;
    if (value > (SIZE_MAX - 9) / 10) return 1;
    value = value * 10 + (size_t)(c - '0');
  }
  return value > t->max_body;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userp) {
  le_http_transfer *t = userp;
  size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > LE_HTTP_MAX_HEADER_BYTES || declared_too_large(t, data, len)) {
    t->too_large = 1;
    return 0;
  }
  /* A new status line starts a new header block (after 100 Continue). */
  if (len > 5 && strncmp(data, "HTTP/", 5) == 0) t->response.headers.len = 0;
  return le_buffer_append(&t->response.headers, data, len) == LE_OK ? len : 0;
}

/* Whether one of the request's lines gives a Content-Type ("Content-Type:..." or ";"). */
static int gives_content_type(const char *const *lines, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(lines[i], "Content-Type", 12) == 0 && (lines[i][12] == ':' || lines[i][12] == ';')) return 1;
  return 0;
}

/* The request's header lines, then "Expect:" and "Accept:" (libcurl adds neither
 * then), and for an empty body with no type of the caller's "Content-Type:" (no
 * x-www-form-urlencoded: a body-less POST as the AWS SDKs send it, and as httpwire.c
 * writes it), as libcurl's list with its nodes and their text in one allocation (libcurl
 * only reads the list; curl_slist_append would make two per line). NULL: out of memory. */
static struct curl_slist *header_list(const char *const *lines, size_t n, int empty_body) {
  static const char *const last[] = {"Expect:", "Accept:", "Content-Type:"};
  size_t count = n + (empty_body && !gives_content_type(lines, n) ? 3 : 2), text = 0;
  for (size_t i = 0; i < count; i++) text += strlen(i < n ? lines[i] : last[i - n]) + 1;
  struct curl_slist *nodes = malloc(count * sizeof *nodes + text);
  if (!nodes) return NULL;
  char *p = (char *)(nodes + count);
  for (size_t i = 0; i < count; i++) {
    const char *line = i < n ? lines[i] : last[i - n];
    size_t len = strlen(line) + 1;
    memcpy(p, line, len);
    nodes[i].data = p;
    nodes[i].next = i + 1 < count ? &nodes[i + 1] : NULL;
    p += len;
  }
  return nodes;
}

/* libcurl, about to send a once request on a connection (its tunnel and TLS up), sends it
 * again when a kept-alive connection ended under it before any answer byte (libcurl
 * 7.88's Curl_retry_request, up to 5 times, for any method): a second time is refused when
 * an earlier one wrote any byte (CURLINFO_REQUEST_SIZE counts what the socket took). */
static int prereq_cb(void *userp, char *primary_ip, char *local_ip, int primary_port, int local_port) {
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  le_http_transfer *t = userp;
  if (t->prereq_calls++ == 0) return CURL_PREREQFUNC_OK;
  long written = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &written) == CURLE_OK && written == 0)
    return CURL_PREREQFUNC_OK;
  t->resend_refused = 1;
  return CURL_PREREQFUNC_ABORT;
}

/* curl_easy_setopt over a whole request: rc keeps the first failure (CURLE_OK while none),
 * t->refused_option that option's name (for the message: le_http_option_field). */
#define SETOPT(rc, e, opt, val)                                                                     \
  do {                                                                                              \
    if ((rc) == CURLE_OK && ((rc) = curl_easy_setopt(e, opt, val)) != CURLE_OK) t->refused_option = #opt; \
  } while (0)

CURLcode le_http_easy_setup(le_http_transfer *t, const le_http_request_spec *spec) {
  CURL *e = t->easy;
  CURLcode so = CURLE_OK; /* the first option libcurl refused */
  SETOPT(so, e, CURLOPT_URL, spec->url);
  /* With the parsed handle as well libcurl copies it instead of parsing the text and
   * printing it back (httpurl.h); the text stays set, for a retry on a new connection. */
  if (!t->url) t->url = le_http_url_take(spec->url); /* (http.c takes it first) */
  if (t->url) SETOPT(so, e, CURLOPT_CURLU, le_http_url_handle(t->url));
  /* An address is its own resolution: kept for good, libcurl does not walk its DNS cache
   * for expired names at the end of every transfer. A name keeps the default 60 s. */
  if (t->url && le_http_url_host_is_address(t->url)) SETOPT(so, e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
  SETOPT(so, e, CURLOPT_PRIVATE, t);
  SETOPT(so, e, CURLOPT_NOSIGNAL, 1L);
  SETOPT(so, e, CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(so, e, CURLOPT_WRITEDATA, t);
  SETOPT(so, e, CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(so, e, CURLOPT_HEADERDATA, t);
  SETOPT(so, e, CURLOPT_OPENSOCKETFUNCTION, le_http_opensocket);
  SETOPT(so, e, CURLOPT_CLOSESOCKETFUNCTION, le_http_closesocket);
  SETOPT(so, e, CURLOPT_ERRORBUFFER, t->response.error); /* libcurl's detail (httpfailure.c) */
  SETOPT(so, e, CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(so, e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (E.ca_file) { /* the bundle instead of the system's certificates, as the AWS SDKs' ca_bundle */
    SETOPT(so, e, CURLOPT_CAINFO, E.ca_file);
    SETOPT(so, e, CURLOPT_CAPATH, NULL);
  }
  SETOPT(so, e, CURLOPT_TCP_KEEPALIVE, 1L); /* httpalive.h's, as le_http_opensocket sets them */
  SETOPT(so, e, CURLOPT_TCP_KEEPIDLE, LE_HTTP_ALIVE_IDLE);
  SETOPT(so, e, CURLOPT_TCP_KEEPINTVL, LE_HTTP_ALIVE_INTERVAL);
  SETOPT(so, e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  if (!E.proxy_env) { /* what libcurl would find in the environment: no proxy */
    SETOPT(so, e, CURLOPT_PROXY, "");
    SETOPT(so, e, CURLOPT_NOPROXY, "");
  }
  if (spec->timeout_ms > 0) SETOPT(so, e, CURLOPT_TIMEOUT_MS, spec->timeout_ms);
  const char *method = spec->method ? spec->method : "GET";
  if (strcmp(method, "GET") == 0) {
    SETOPT(so, e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    SETOPT(so, e, CURLOPT_NOBODY, 1L);
  } else {
    SETOPT(so, e, CURLOPT_CUSTOMREQUEST, method);
  }
  int has_body = spec->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
  if (has_body) {
    SETOPT(so, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)spec->body_len);
    SETOPT(so, e, CURLOPT_COPYPOSTFIELDS, spec->body ? spec->body : "");
  }
  if (spec->once) {
    t->once = 1;
    SETOPT(so, e, CURLOPT_PREREQFUNCTION, prereq_cb);
    SETOPT(so, e, CURLOPT_PREREQDATA, t);
  }
  t->headers = header_list(spec->headers, spec->header_count, has_body && spec->body_len == 0);
  SETOPT(so, e, CURLOPT_HTTPHEADER, t->headers);
  return so;
}

void le_http_easy_stats(le_http_stats *stats) { stats->easy_created = E.created; }
