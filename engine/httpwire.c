/* httpwire.c — see httpwire.h. */
#include "httpwire.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "error.h"

/* v in decimal at p (as printf's %u); returns where it ends. By hand: the two snprintf
 * calls an exchange made (Content-Length, the status line) cost ~2.5 k instructions. */
static char *put_decimal(char *p, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do digits[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n) *p++ = digits[--n];
  return p;
}

static char *put_crlf(char *p) {
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

/* ---- the request ---- */

/* Whether line is the header name (a "Name:" or "Name;" line of it). */
static int names(const char *line, const char *name) {
  size_t n = strlen(name);
  return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

enum { GIVES_HOST = 1, GIVES_LENGTH = 2, GIVES_TYPE = 4 };

/* Which of Host, Content-Length and Content-Type the caller's lines give, in one pass
 * whose first byte of a line decides which name it is compared with (not three scans). */
static int given_names(const char *const *lines, size_t n) {
  int gives = 0;
  for (size_t i = 0; i < n; i++) {
    const char *line = lines[i];
    switch (line[0] | 32) {
    case 'h': gives |= names(line, "Host") ? GIVES_HOST : 0; break;
    case 'c':
      if (names(line, "Content-Length")) gives |= GIVES_LENGTH;
      else if (names(line, "Content-Type")) gives |= GIVES_TYPE;
      break;
    default: break;
    }
  }
  return gives;
}

static int only_blanks(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return *s == '\0';
}

#define PUT(b, s, n) \
  if (le_buffer_append((b), (s), (n)) != LE_OK) return LE_FAIL
#define PUTS(b, s) PUT((b), (s), strlen(s))

/* One caller's line as libcurl's Curl_add_custom_headers sends it (or not). */
static int put_custom(le_buffer *out, const char *line) {
  size_t name_len = strcspn(line, ":;");
  if (name_len == 0 || line[name_len] == '\0') return LE_OK; /* no name, or neither ':' nor ';' */
  if (line[name_len] == ';') {
    if (!only_blanks(line + name_len + 1)) return LE_OK; /* libcurl sends "Name;" lines only bare */
    PUT(out, line, name_len);
    PUT(out, ":\r\n", 3);
    return LE_OK;
  }
  if (only_blanks(line + name_len + 1)) return LE_OK; /* "Name:" takes libcurl's own away */
  PUTS(out, line);
  PUT(out, "\r\n", 2);
  return LE_OK;
}

int le_http_wire_request(le_buffer *out, const char *method, const char *target, const char *host_header,
                         const char *const *lines, size_t n, const void *body, size_t body_len, int has_body) {
  size_t text = strlen(method) + strlen(target) + strlen(host_header) + body_len + 128;
  for (size_t i = 0; i < n; i++) text += strlen(lines[i]) + 2;
  if (le_buffer_reserve(out, text) != LE_OK) return LE_FAIL;
  PUTS(out, method);
  PUT(out, " ", 1);
  PUTS(out, target);
  PUT(out, " HTTP/1.1\r\n", 11);
  int gives = given_names(lines, n);
  if (!(gives & GIVES_HOST)) {
    PUT(out, "Host: ", 6);
    PUTS(out, host_header);
    PUT(out, "\r\n", 2);
  }
  for (size_t i = 0; i < n; i++)
    if (put_custom(out, lines[i]) != LE_OK) return LE_FAIL;
  if (has_body) {
    if (!(gives & GIVES_LENGTH)) {
      char len[48], *end = put_decimal((char *)memcpy(len, "Content-Length: ", 16) + 16, body_len);
      PUT(out, len, (size_t)(put_crlf(end) - len));
    }
    /* (none for an empty body: what the AWS SDKs send, and a form type the local target refuses) */
    if (!(gives & GIVES_TYPE) && body_len > 0) PUTS(out, "Content-Type: application/x-www-form-urlencoded\r\n");
  }
  PUT(out, "\r\n", 2);
  if (body_len > 0) PUT(out, body, body_len);
  return LE_OK;
}

/* ---- the answer ---- */

static le_http_answer *of(http_parser *p) { return p->data; }

/* Counts len more bytes of head; past the cap the answer is too large (http-parser stops). */
static int count_head(le_http_answer *a, size_t len) {
  a->header_bytes += len;
  if (a->header_bytes <= LE_HTTP_MAX_HEADER_BYTES) return 0;
  a->state = LE_HTTP_ANSWER_TOO_LARGE;
  return -1;
}

static int add_head(le_http_answer *a, const char *data, size_t len) {
  if (count_head(a, len) < 0) return -1;
  return le_buffer_append(&a->response->headers, data, len) == LE_OK ? 0 : -1;
}

static int on_message_begin(http_parser *p) {
  le_http_answer *a = of(p);
  a->response->headers.len = 0; /* a new status line starts a new block (after a 1xx) */
  a->in_head = 1;
  a->status_written = a->in_value = 0;
  a->reason_len = 0;
  return 0;
}

static int on_status(http_parser *p, const char *at, size_t len) {
  le_http_answer *a = of(p);
  if (count_head(a, len) < 0) return -1;
  size_t room = sizeof a->reason - 1 - a->reason_len;
  if (len > room) len = room;
  memcpy(a->reason + a->reason_len, at, len);
  a->reason_len += len;
  return 0;
}

/* The status line, written once its reason is whole (before the first header). */
static int write_status(le_http_answer *a) {
  if (a->status_written) return 0;
  a->status_written = 1;
  char line[128], *p = (char *)memcpy(line, "HTTP/", 5) + 5; /* at most 5+5+1+5+1+5+1+63+2 bytes */
  p = put_decimal(p, a->parser.http_major);
  *p++ = '.';
  p = put_decimal(p, a->parser.http_minor);
  *p++ = ' ';
  p = put_decimal(p, a->parser.status_code);
  *p++ = ' ';
  p = put_crlf((char *)memcpy(p, a->reason, a->reason_len) + a->reason_len);
  a->response->headers.len = 0;
  return le_buffer_append(&a->response->headers, line, (size_t)(p - line)) == LE_OK ? 0 : -1;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  le_http_answer *a = of(p);
  if (!a->in_head) return count_head(a, len); /* a chunked body's trailer: not kept */
  if (write_status(a) < 0) return -1;
  if (a->in_value && add_head(a, "\r\n", 2) < 0) return -1;
  a->in_value = 0;
  return add_head(a, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  le_http_answer *a = of(p);
  if (!a->in_head) return count_head(a, len);
  if (!a->in_value && add_head(a, ": ", 2) < 0) return -1;
  a->in_value = 1;
  return add_head(a, at, len);
}

static int on_headers_complete(http_parser *p) {
  le_http_answer *a = of(p);
  if (write_status(a) < 0) return -1;
  if (a->in_value && add_head(a, "\r\n", 2) < 0) return -1;
  if (add_head(a, "\r\n", 2) < 0) return -1;
  a->in_head = 0;
  if (p->status_code / 100 == 1) return 0; /* skipped: its end starts the next answer */
  a->response->status = p->status_code;
  uint64_t declared = p->content_length;
  if (!a->head_request && a->max_body && declared != UINT64_MAX && declared > a->max_body) {
    a->state = LE_HTTP_ANSWER_TOO_LARGE;
    return -1;
  }
  return a->head_request ? 1 : 0; /* 1: no body follows */
}

static int on_body(http_parser *p, const char *at, size_t len) {
  le_http_answer *a = of(p);
  le_http_response *r = a->response;
  if (a->max_body && r->body.len + len > a->max_body) {
    a->state = LE_HTTP_ANSWER_TOO_LARGE;
    return -1;
  }
  return le_buffer_append(&r->body, at, len) == LE_OK ? 0 : -1;
}

static int on_message_complete(http_parser *p) {
  le_http_answer *a = of(p);
  if (p->status_code / 100 == 1) return 0;
  a->state = LE_HTTP_ANSWER_DONE;
  a->keep_alive = http_should_keep_alive(p);
  http_parser_pause(p, 1); /* nothing after the answer is read */
  return 0;
}

static const http_parser_settings SETTINGS = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void le_http_answer_init(le_http_answer *a, le_http_response *response, size_t max_body, int head_request) {
  memset(a, 0, sizeof *a);
  http_parser_init(&a->parser, HTTP_RESPONSE);
  a->parser.data = a;
  /* control bytes in a header's value are read as libcurl reads them (what shows them to a
   * terminal cleans them: an error's type and message come from headers) */
  a->parser.lenient_http_headers = 1;
  a->response = response;
  a->max_body = max_body;
  a->head_request = head_request;
  a->state = LE_HTTP_ANSWER_MORE;
}

le_http_answer_state le_http_answer_feed(le_http_answer *a, const char *data, size_t n) {
  if (a->state != LE_HTTP_ANSWER_MORE) {
    if (a->state == LE_HTTP_ANSWER_DONE && n > 0) a->keep_alive = 0; /* bytes nobody asked for */
    return a->state;
  }
  a->seen += n;
  size_t used = http_parser_execute(&a->parser, &SETTINGS, data, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&a->parser);
  if (a->state == LE_HTTP_ANSWER_DONE) {
    if (used < n) a->keep_alive = 0;
    return a->state;
  }
  if (a->state != LE_HTTP_ANSWER_MORE) return a->state;
  if (n == 0 && (e == HPE_OK || e == HPE_INVALID_EOF_STATE)) {
    a->state = LE_HTTP_ANSWER_BAD; /* the connection ended before the answer did */
    a->bad = a->seen == 0 ? "the connection closed before an answer" : "the connection closed in the middle of the answer";
  } else if (e != HPE_OK) {
    a->state = LE_HTTP_ANSWER_BAD;
    a->bad = e == HPE_CB_header_field || e == HPE_CB_header_value || e == HPE_CB_body || e == HPE_CB_status ||
                     e == HPE_CB_headers_complete
                 ? "out of memory"
                 : http_errno_description(e);
  } else if (a->parser.upgrade) {
    a->state = LE_HTTP_ANSWER_BAD;
    a->bad = "an answer that switches protocols";
  }
  return a->state;
}
