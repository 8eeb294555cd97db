/* sigv4_uri.c — URI encoding for SigV4 (sigv4_uri.h): RFC 3986 percent-encoding, the path
 * normalized as the AWS SDKs do (no ".", ".." or empty segments), and the canonical query
 * (each component decoded and encoded again, sorted by key then value; query signing's
 * own parameters added). */
#include "sigv4_uri.h"

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
char *le_sigv4_uri_encode_at(char *p, const char *s, size_t len, int keep_slash) {
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
  if (out) *le_sigv4_uri_encode_at(out, s, len, keep_slash) = '\0';
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
char *le_sigv4_normalize_path(const char *path) {
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
