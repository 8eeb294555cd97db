/* httpserver_head.c — a request's head and trailer section through picohttpparser
 * (httpserver_head.h). picohttpparser reads a whole head in one pass and keeps no state: a
 * head that arrives in pieces is gathered in c->partial and read again from its start as
 * more comes (its last_len lets it look for the head's end in the new bytes first). Then
 * the fields are copied into the connection's lists (they outlive the read's buffer) and
 * the framing headers judged as http-parser 2.9 judged them. */
#include "httpserver_head.h"

#include <string.h>
#include <strings.h>

#include <picohttpparser.h>

#include "httpserver_conn.h"
#include "httpserver_refuse.h"

#define MAX_HEAD_BYTES (64 * 1024) /* request line and header fields together */
#define MAX_HEADER_FIELDS 128

/* http-parser's methods in its numbering (enum http_method): the first LE_KEPT_METHODS are
 * the ones a server keeps as Lua strings, and the ones its checks name. */
static const char *const METHODS[] = {
    "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
    "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
    "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR",
    "LINK", "UNLINK", "SOURCE"};
#define NMETHODS (sizeof METHODS / sizeof METHODS[0])

const char *le_method_name(int method) {
  return method >= 0 && (size_t)method < NMETHODS ? METHODS[method] : "";
}

static int method_code(const char *m, size_t len) {
  if (len == 3 && memcmp(m, "GET", 3) == 0) return 1; /* the Runtime API's /next */
  if (len == 4 && memcmp(m, "POST", 4) == 0) return 3; /* Invoke, a runtime's /response */
  for (size_t i = 0; i < NMETHODS; i++)
    if (strncmp(METHODS[i], m, len) == 0 && METHODS[i][len] == '\0') return (int)i;
  return -1;
}

/* Appends len bytes and a NUL to b: in place when it has room (nearly always: a
 * connection's lists keep their size from one request to the next). */
static int add_text(le_buffer *b, const char *at, size_t len) {
  if (!b->data || b->cap - b->len < len + 1) {
    if (le_buffer_reserve(b, len + 1)) return -1;
  }
  memcpy(b->data + b->len, at, len);
  b->data[b->len + len] = '\0';
  b->len += len + 1;
  return 0;
}

/* (name is lower case: its first letter compared first, most fields differ there) */
static int is_name(const struct phr_header *h, const char *name, size_t len) {
  return h->name_len == len && (h->name[0] | 0x20) == name[0] && strncasecmp(h->name, name, len) == 0;
}

/* The last comma-separated token of value (spaces around it dropped). */
static const char *last_token(const char *value, size_t len, size_t *tlen) {
  const char *end = value + len, *start;
  while (end > value && (end[-1] == ' ' || end[-1] == '\t')) end--;
  for (start = end; start > value && start[-1] != ','; start--) {}
  while (start < end && (*start == ' ' || *start == '\t')) start++;
  *tlen = (size_t)(end - start);
  return start;
}

/* Whether value's comma-separated tokens include token (case aside). */
static int has_token(const char *value, size_t len, const char *token) {
  size_t tl = strlen(token);
  for (size_t i = 0; i < len;) {
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) i++;
    size_t start = i;
    while (i < len && value[i] != ',') i++;
    size_t end = i;
    while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) end--;
    if (end - start == tl && strncasecmp(value + start, token, tl) == 0) return 1;
  }
  return 0;
}

/* Content-Length's value: decimal digits within 64 bits (ULLONG_MAX itself means none). */
static int parse_length(const char *v, size_t len, uint64_t *out) {
  uint64_t n = 0;
  if (len == 0) return -1;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    unsigned d = (unsigned)(v[i] - '0');
    if (n > (LE_NO_LENGTH - 1 - d) / 10) return -1;
    n = n * 10 + d;
  }
  *out = n;
  return 0;
}

/* The framing the head's fields announce, into c; -1 when they contradict themselves. */
static int judge_framing(le_conn *c, const struct phr_header *h, size_t n, int minor) {
  int close = 0, keep = 0, has_length = 0;
  c->content_length = LE_NO_LENGTH;
  c->chunked = 0;
  for (size_t i = 0; i < n; i++) {
    switch (h[i].name_len) {
    case 10:
      if (is_name(&h[i], "connection", 10)) {
        close |= has_token(h[i].value, h[i].value_len, "close");
        keep |= has_token(h[i].value, h[i].value_len, "keep-alive");
      }
      break;
    case 14:
      if (is_name(&h[i], "content-length", 14)) {
        if (has_length || parse_length(h[i].value, h[i].value_len, &c->content_length)) return -1;
        has_length = 1;
      }
      break;
    case 17:
      if (is_name(&h[i], "transfer-encoding", 17)) {
        size_t tl;
        const char *t = last_token(h[i].value, h[i].value_len, &tl);
        if (tl != 7 || strncasecmp(t, "chunked", 7) != 0) return -1;
        c->chunked = 1;
      }
      break;
    }
  }
  if (has_length && c->chunked) return -1;
  if (c->chunked) c->content_length = LE_NO_LENGTH;
  c->head_keep_alive = minor >= 1 ? !close : keep;
  return 0;
}

/* Appends the fields h[0..n) to c's lists; -1 on a folded line or no memory. */
static int add_fields(le_conn *c, const struct phr_header *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!h[i].name) return -1; /* obs-fold: RFC 9112 lets a server refuse it */
    if (add_text(&c->names, h[i].name, h[i].name_len) || add_text(&c->values, h[i].value, h[i].value_len)) return -1;
  }
  c->nheaders += n;
  return 0;
}

static int refuse_bad(le_conn *c) {
  le_refuse(c, 400, "BadRequestException", "the request is not valid HTTP/1.1");
  return LE_TAKE_REFUSED;
}

/* Gathers a head or trailer section: *buf and *blen: the bytes to read (data, or c->partial with
 * data appended), *last what of them was read before (0: none). */
static int gather(le_conn *c, const char *data, size_t len, const char **buf, size_t *blen, size_t *last) {
  *buf = data, *blen = len, *last = 0;
  if (c->partial.len == 0) return 0;
  *last = c->partial.len;
  size_t room = MAX_HEAD_BYTES + 1 > *last ? MAX_HEAD_BYTES + 1 - *last : 0; /* a byte beyond the limit shows it passed */
  if (le_buffer_append(&c->partial, data, len < room ? len : room)) return -1;
  *buf = (const char *)c->partial.data, *blen = c->partial.len;
  return 0;
}

/* After picohttpparser's answer r on a gathered section (limit: the bytes it may take):
 * LE_TAKE_MORE (kept), LE_TAKE_REFUSED, or -1 for a complete one (*used set). */
static int incomplete(le_conn *c, int r, size_t n, size_t max_fields, const char *data, size_t len, size_t blen,
                      size_t limit, size_t last, size_t *used) {
  if ((r == -2 && blen > limit) || (r > 0 && (size_t)r > limit)) {
    le_refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request line and headers exceed 65536 bytes");
    return LE_TAKE_REFUSED;
  }
  if (r == -1 && n == max_fields) {
    le_refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request has more than 128 header fields");
    return LE_TAKE_REFUSED;
  }
  if (r == -1) return refuse_bad(c);
  if (r == -2) {
    if (last == 0 && le_buffer_append(&c->partial, data, len)) {
      le_conn_close(c);
      return LE_TAKE_REFUSED;
    }
    *used = len;
    return LE_TAKE_MORE;
  }
  *used = (size_t)r - last;
  return -1;
}

int le_head_take(le_conn *c, const char *data, size_t len, size_t *used) {
  const char *buf, *method, *path;
  size_t blen, last, mlen, plen, n = MAX_HEADER_FIELDS;
  int minor;
  struct phr_header h[MAX_HEADER_FIELDS];
  *used = 0;
  if (gather(c, data, len, &buf, &blen, &last)) {
    le_conn_close(c);
    return LE_TAKE_REFUSED;
  }
  int r = phr_parse_request(buf, blen, &method, &mlen, &path, &plen, &minor, h, &n, last);
  int s = incomplete(c, r, n, MAX_HEADER_FIELDS, data, len, blen, MAX_HEAD_BYTES, last, used);
  if (s >= 0) return s;
  if ((c->method = method_code(method, mlen)) < 0 || judge_framing(c, h, n, minor)) return refuse_bad(c);
  c->http_minor = minor;
  c->url.len = 0;
  if (le_buffer_append(&c->url, path, plen) || add_fields(c, h, n)) return refuse_bad(c); /* (the target: no NUL) */
  c->head_bytes = (size_t)r;
  c->head_fields = c->nheaders, c->head_names = c->names.len, c->head_values = c->values.len; /* trailers follow */
  c->partial.len = 0;
  return LE_TAKE_DONE;
}

int le_trailers_take(le_conn *c, const char *data, size_t len, size_t *used) {
  const char *buf;
  size_t blen, last, max = MAX_HEADER_FIELDS - c->nheaders, n = max;
  struct phr_header h[MAX_HEADER_FIELDS];
  *used = 0;
  if (gather(c, data, len, &buf, &blen, &last)) {
    le_conn_close(c);
    return LE_TAKE_REFUSED;
  }
  int r = phr_parse_headers(buf, blen, h, &n, last);
  size_t limit = MAX_HEAD_BYTES > c->head_bytes ? MAX_HEAD_BYTES - c->head_bytes : 0;
  int s = incomplete(c, r, n, max, data, len, blen, limit, last, used);
  if (s >= 0) return s;
  if (add_fields(c, h, n)) return refuse_bad(c);
  c->partial.len = 0;
  return LE_TAKE_DONE;
}
