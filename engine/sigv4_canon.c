/* sigv4_canon.c — the canonical request's text for SigV4 (sigv4_canon.h): URI encoding
 * (RFC 3986), the path normalized as the AWS SDKs do, the canonical query (components
 * decoded and encoded again, sorted; query signing's own parameters added), the headers to
 * sign (names lower-cased, some excluded, sorted stably; values trimmed, a repeated name's
 * joined with commas) and the request's text in one allocation. */
#include "sigv4_canon.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3986's unreserved characters: A-Z a-z 0-9 - _ . ~ (a table: isalnum goes through
 * the locale's table and a call per character). */
static int unreserved(unsigned char c) {
  static const uint64_t bits[4] = {0x03ff600000000000u, 0x47fffffe87fffffeu, 0, 0};
  return (int)(bits[c >> 6] >> (c & 63)) & 1;
}

/* s percent-encoded at p (room for 3 * len bytes); returns where it ends. */
static char *uri_encode_at(char *p, const char *s, size_t len, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c) || (keep_slash && c == '/')) {
      *p++ = (char)c;
    } else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  return p;
}

char *le_uri_encode(const char *s, size_t len, int keep_slash) {
  char *out = malloc(len * 3 + 1);
  if (out) *uri_encode_at(out, s, len, keep_slash) = '\0';
  return out;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..len) into a new string (invalid escapes are kept as they are). */
static char *uri_decode(const char *s, size_t len, size_t *out_len) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out[n++] = s[i];
    }
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* Removes "." and ".." segments and empty segments; keeps a trailing slash. */
static char *normalize_path(const char *path) {
  size_t len = strlen(path);
  const char **segs = malloc((len + 1) * sizeof *segs);
  size_t *lens = malloc((len + 1) * sizeof *lens);
  char *out = malloc(len + 2);
  if (!segs || !lens || !out) {
    free(segs);
    free(lens);
    free(out);
    return NULL;
  }
  size_t n = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *start = p;
    while (*p && *p != '/') p++;
    size_t l = (size_t)(p - start);
    if (l == 1 && start[0] == '.') continue;
    if (l == 2 && start[0] == '.' && start[1] == '.') {
      if (n > 0) n--;
      continue;
    }
    segs[n] = start;
    lens[n] = l;
    n++;
  }
  char *q = out;
  *q++ = '/';
  for (size_t i = 0; i < n; i++) {
    memcpy(q, segs[i], lens[i]);
    q += lens[i];
    if (i + 1 < n) *q++ = '/';
  }
  int trailing = len > 0 && path[len - 1] == '/';
  if (trailing && n > 0) *q++ = '/';
  *q = '\0';
  free(segs);
  free(lens);
  return out;
}

typedef struct param {
  char *key, *value; /* both canonically encoded */
} param;

static int by_key_then_value(const void *a, const void *b) {
  const param *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : strcmp(x->value, y->value);
}

static int push_param(param **params, size_t *n, size_t *cap, char *key, char *value) {
  if (!key || !value) {
    free(key);
    free(value);
    return LE_FAIL;
  }
  param *grown = le_array_grow(*params, cap, *n, sizeof *grown, 16);
  if (!grown) {
    free(key);
    free(value);
    return LE_FAIL;
  }
  *params = grown;
  (*params)[*n].key = key;
  (*params)[*n].value = value;
  (*n)++;
  return LE_OK;
}

/* Canonical encoding of one raw (possibly percent-encoded) query component. */
static char *canonical_component(const char *s, size_t len) {
  size_t dlen;
  char *decoded = uri_decode(s, len, &dlen);
  if (!decoded) return NULL;
  char *enc = le_uri_encode(decoded, dlen, 0);
  free(decoded);
  return enc;
}

static int parse_query(const char *query, param **params, size_t *n, size_t *cap) {
  if (!query) return LE_OK;
  const char *p = query;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t l = amp ? (size_t)(amp - p) : strlen(p);
    if (l > 0) {
      const char *eq = memchr(p, '=', l);
      size_t klen = eq ? (size_t)(eq - p) : l;
      const char *v = eq ? eq + 1 : p + l;
      size_t vlen = eq ? l - klen - 1 : 0;
      if (push_param(params, n, cap, canonical_component(p, klen), canonical_component(v, vlen)) != LE_OK)
        return LE_FAIL;
    }
    if (!amp) break;
    p = amp + 1;
  }
  return LE_OK;
}

static int by_name(const void *a, const void *b) {
  const le_canon_header *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* Sorted by name, equal names in their order (an insertion sort for the few headers
 * a request has: qsort's setup costs more than the sort). */
static void sort_headers(le_canon_header *hs, size_t n) {
  if (n > 16) {
    qsort(hs, n, sizeof *hs, by_name);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    le_canon_header h = hs[i];
    size_t k = i;
    while (k > 0 && strcmp(hs[k - 1].name, h.name) > 0) {
      hs[k] = hs[k - 1];
      k--;
    }
    hs[k] = h;
  }
}

/* Writes value at p trimmed, with inner runs of spaces and tabs made one space;
 * returns where the text ends (at most strlen(value) bytes written). */
static char *put_trimmed(char *p, const char *v) {
  size_t len = strlen(v);
  /* Nearly every value has no tab and no leading, trailing or doubled space: copied as
   * it is, with libc's word-wide scans rather than the loop below a byte at a time. */
  if ((len == 0 || (v[0] != ' ' && v[len - 1] != ' ')) && !strchr(v, '\t') && !strstr(v, "  "))
    return (char *)memcpy(p, v, len) + len;
  while (*v == ' ' || *v == '\t') v++;
  const char *end = v + strlen(v);
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
  int space = 0;
  for (; v < end; v++) {
    if (*v == ' ' || *v == '\t') {
      space = 1;
      continue;
    }
    if (space) *p++ = ' ';
    space = 0;
    *p++ = *v;
  }
  return p;
}

static int excluded(const char *lower, size_t len) {
  switch (len) {
  case 6: return memcmp(lower, "expect", 6) == 0;
  case 10: return memcmp(lower, "user-agent", 10) == 0;
  case 13: return memcmp(lower, "authorization", 13) == 0;
  case 15: return memcmp(lower, "x-amzn-trace-id", 15) == 0;
  default: return 0;
  }
}

/* The headers to sign: the request's own and the extra ones, names lower-cased into
 * names (room for every name and its NUL), excluded names left out, sorted. Returns
 * how many. */
size_t le_sigv4_collect_headers(const le_header *const *src, size_t n, le_canon_header *hs, char *names) {
  size_t nh = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = src[i]->name;
    char *lower = names;
    while (*s) *names++ = (char)tolower((unsigned char)*s++);
    *names++ = '\0';
    size_t len = (size_t)(names - 1 - lower);
    if (excluded(lower, len)) continue;
    hs[nh] = (le_canon_header){lower, len, src[i]->value, nh};
    nh++;
  }
  sort_headers(hs, nh);
  return nh;
}

/* "a;b;c": the distinct names of the sorted headers, NUL-terminated at p; returns its length. */
size_t le_sigv4_put_signed_names(char *p, const le_canon_header *hs, size_t nh) {
  char *start = p;
  for (size_t i = 0; i < nh; i++) {
    if (i && strcmp(hs[i].name, hs[i - 1].name) == 0) continue;
    if (i) *p++ = ';'; /* (i: not the first name, even when that one was empty) */
    memcpy(p, hs[i].name, hs[i].name_len);
    p += hs[i].name_len;
  }
  *p = '\0';
  return (size_t)(p - start);
}

/* "name:value\n" per distinct name, a repeated name's values joined with commas in order. */
static char *put_header_lines(char *p, const le_canon_header *hs, size_t nh) {
  for (size_t i = 0; i < nh; i++) {
    if (i && strcmp(hs[i].name, hs[i - 1].name) == 0) {
      *p++ = ',';
    } else {
      if (i) *p++ = '\n';
      memcpy(p, hs[i].name, hs[i].name_len);
      p += hs[i].name_len;
      *p++ = ':';
    }
    p = put_trimmed(p, hs[i].value);
  }
  if (nh) *p++ = '\n';
  return p;
}

/* Whether normalize_path gives the path back as it is: it starts with '/' and has no
 * empty, "." or ".." segment (the common case, which then costs no copies). */
static int normal_already(const char *path) {
  if (path[0] != '/') return 0;
  for (const char *p = path; *p; p++) {
    if (*p != '/') continue;
    const char *s = p + 1;
    if (*s == '/' || (s[0] == '.' && (s[1] == '/' || s[1] == '\0')) ||
        (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0')))
      return 0;
  }
  return 1;
}

/* The canonical request, in one allocation of the size it can reach: method, path,
 * query, header lines, signed names, payload hash. Returns it (NUL-terminated, its
 * length in *len) or NULL when memory runs out. */
char *le_sigv4_canonical_request(const le_sigv4_input *in, const char *query, size_t query_len,
                                  const le_canon_header *hs, size_t nh, const char *signed_names, size_t names_len,
                               const char *payload_hash, size_t *len) {
  char *normalized = NULL;
  const char *path = in->path;
  if (in->normalize_path && !normal_already(path)) {
    normalized = normalize_path(path);
    if (!normalized) return NULL;
    path = normalized;
  }
  size_t path_len = strlen(path), bound = strlen(in->method) + 3 * path_len + query_len + names_len + 64 + 8;
  for (size_t i = 0; i < nh; i++) bound += hs[i].name_len + strlen(hs[i].value) + 2;
  char *text = malloc(bound), *p = text;
  if (text) {
    p = (char *)memcpy(p, in->method, strlen(in->method)) + strlen(in->method);
    *p++ = '\n';
    p = in->single_encode ? (char *)memcpy(p, path, path_len) + path_len : uri_encode_at(p, path, path_len, 1);
    *p++ = '\n';
    if (query_len) p = (char *)memcpy(p, query, query_len) + query_len;
    *p++ = '\n';
    p = put_header_lines(p, hs, nh);
    *p++ = '\n';
    p = (char *)memcpy(p, signed_names, names_len) + names_len;
    *p++ = '\n';
    p = (char *)memcpy(p, payload_hash, 64) + 64;
    *p = '\0';
    *len = (size_t)(p - text);
  }
  free(normalized);
  return text;
}

/* Query signing's parameters added to params (the credential, date, expiry, signed names, token). */
static int add_query_signing(const le_sigv4_input *in, const char *scope, const char *amz_date,
                             const char *signed_names, int token_signed, param **params, size_t *np, size_t *pcap) {
  char credential[512], expires[32];
  snprintf(credential, sizeof credential, "%s/%s", in->access_key_id, scope);
  snprintf(expires, sizeof expires, "%ld", in->expires > 0 ? in->expires : 3600);
  const char *kv[][2] = {{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
                         {"X-Amz-Credential", credential},
                         {"X-Amz-Date", amz_date},
                         {"X-Amz-Expires", expires},
                         {"X-Amz-SignedHeaders", signed_names},
                         {"X-Amz-Security-Token", token_signed ? in->session_token : NULL}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
    if (!kv[i][1]) continue;
    if (push_param(params, np, pcap, le_uri_encode(kv[i][0], strlen(kv[i][0]), 0),
                   le_uri_encode(kv[i][1], strlen(kv[i][1]), 0)) != LE_OK)
      return LE_FAIL;
  }
  return LE_OK;
}

/* The canonical query string ("k=v&k=v", sorted) into query. */
int le_sigv4_canonical_query(const le_sigv4_input *in, const char *scope, const char *amz_date,
                              const char *signed_names, int token_signed, le_buffer *query) {
  param *params = NULL;
  size_t np = 0, pcap = 0;
  int rc = parse_query(in->query, &params, &np, &pcap);
  if (rc == LE_OK && in->query_signing)
    rc = add_query_signing(in, scope, amz_date, signed_names, token_signed, &params, &np, &pcap);
  if (rc == LE_OK && np > 1) qsort(params, np, sizeof *params, by_key_then_value);
  for (size_t i = 0; rc == LE_OK && i < np; i++) {
    if ((i && le_buffer_append_str(query, "&")) || le_buffer_append_str(query, params[i].key) ||
        le_buffer_append_str(query, "=") || le_buffer_append_str(query, params[i].value))
      rc = LE_FAIL;
  }
  for (size_t i = 0; i < np; i++) {
    free(params[i].key);
    free(params[i].value);
  }
  free(params);
  return rc;
}
