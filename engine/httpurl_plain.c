/* httpurl_plain.c — see httpurl_plain.h. */
#include "httpurl_plain.h"

#include <string.h>

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A byte libcurl keeps as it is in a path or a query (printable ASCII but the ones listed
 * in httpurl_plain.h). A switch, not strchr: every byte of every URL comes here. */
static int is_plain_byte(char c) {
  switch (c) {
    case '"': case '#': case '<': case '>': case '\\': case '^': case '`': case '{': case '|': case '}': return 0;
    default: return c > ' ' && c < 0x7f;
  }
}

/* A number of 1-3 digits without a leading zero (a lone "0" is one) at most 255, ending
 * at '.' or at end: how long it is, 0 when it is not one. */
static size_t octet(const char *p, const char *end) {
  size_t n = 0;
  unsigned value = 0;
  while (p + n < end && p[n] != '.') {
    if (!is_digit(p[n]) || n == 3) return 0;
    value = value * 10 + (unsigned)(p[n] - '0');
    n++;
  }
  if (n == 0 || (n > 1 && p[0] == '0') || value > 255) return 0;
  return n;
}

/* The canonical dotted IPv4 form libcurl leaves as it is (it rewrites "1.2.3", "01.2.3.4"...). */
static int canonical_ipv4(const char *p, size_t len) {
  const char *end = p + len;
  for (int part = 0; part < 4; part++) {
    size_t n = octet(p, end);
    if (n == 0) return 0;
    p += n;
    if (part < 3) {
      if (p == end || *p != '.') return 0;
      p++;
    }
  }
  return p == end;
}

static int plain_name(const char *p, size_t len) {
  if (len == 0 || !is_alpha(p[0])) return 0;
  for (size_t i = 1; i < len; i++)
    if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '-' && p[i] != '.' && p[i] != '_') return 0;
  return 1;
}

/* ":port" of 1-65535 without a leading zero: the port, 0 when it is not one. */
static int plain_port(const char *p, size_t len) {
  if (len == 0 || len > 5 || p[0] == '0') return 0;
  long value = 0;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(p[i])) return 0;
    value = value * 10 + (p[i] - '0');
  }
  return value <= 65535 ? (int)value : 0;
}

/* Whether the path has a "." or ".." segment (libcurl resolves those). */
static int has_dot_segment(const char *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '/') continue;
    size_t n = 1;
    while (i + n < len && p[i + n] == '.') n++;
    if ((n == 2 || n == 3) && (i + n == len || p[i + n] == '/')) return 1;
  }
  return 0;
}

int le_http_plain_url_parse(const char *url, size_t len, le_http_plain_url *out) {
  static const char scheme[] = "http://";
  if (len > LE_HTTP_PLAIN_URL_MAX || len < sizeof scheme - 1 || memcmp(url, scheme, sizeof scheme - 1) != 0) return 0;
  const char *p = url + sizeof scheme - 1, *end = url + len;
  for (const char *q = p; q < end; q++)
    if (!is_plain_byte(*q)) return 0;
  size_t authority = 0; /* up to the path or the query (no '#': not a plain byte) */
  while (p + authority < end && p[authority] != '/' && p[authority] != '?') authority++;
  const char *colon = memchr(p, ':', authority);
  size_t host_len = colon ? (size_t)(colon - p) : authority;
  memset(out, 0, sizeof *out);
  out->host = p;
  out->host_len = host_len;
  out->host_is_address = host_len > 0 && is_digit(p[0]);
  if (out->host_is_address ? !canonical_ipv4(p, host_len) : !plain_name(p, host_len)) return 0;
  out->port_given = colon != NULL;
  out->port_text = colon ? colon + 1 : "80";
  out->port_len = colon ? authority - host_len - 1 : 2;
  out->port = plain_port(out->port_text, out->port_len);
  if (out->port == 0) return 0;
  p += authority;
  const char *mark = memchr(p, '?', (size_t)(end - p));
  const char *path_end = mark ? mark : end;
  out->path = p == path_end ? "/" : p;
  out->path_len = p == path_end ? 1 : (size_t)(path_end - p);
  if (has_dot_segment(p, (size_t)(path_end - p))) return 0;
  if (mark) {
    out->query = mark + 1;
    out->query_len = (size_t)(end - mark - 1);
  }
  return 1;
}
