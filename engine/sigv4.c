#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init/Update/Final: see first_blocks below */
#include "sigv4.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include <lauxlib.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "buffer.h"
#include "hash.h"

static int append_str(le_buffer *b, const char *s) { return le_buffer_append(b, s, strlen(s)); }

static char *finish(le_buffer *b) {
  if (le_buffer_append(b, "", 1) != LE_OK) {
    le_buffer_free(b);
    return NULL;
  }
  char *s = (char *)b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

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

/* One header of the canonical request: its name lower-cased (in the names arena,
 * NUL-terminated) and its value as given (trimmed as it is written). */
typedef struct canon_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t order; /* first appearance, to keep the sort stable */
} canon_header;

static int by_name(const void *a, const void *b) {
  const canon_header *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* Sorted by name, equal names in their order (an insertion sort for the few headers
 * a request has: qsort's setup costs more than the sort). */
static void sort_headers(canon_header *hs, size_t n) {
  if (n > 16) {
    qsort(hs, n, sizeof *hs, by_name);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    canon_header h = hs[i];
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
static size_t collect_headers(const le_header *const *src, size_t n, canon_header *hs, char *names) {
  size_t nh = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = src[i]->name;
    char *lower = names;
    while (*s) *names++ = (char)tolower((unsigned char)*s++);
    *names++ = '\0';
    size_t len = (size_t)(names - 1 - lower);
    if (excluded(lower, len)) continue;
    hs[nh] = (canon_header){lower, len, src[i]->value, nh};
    nh++;
  }
  sort_headers(hs, nh);
  return nh;
}

/* "a;b;c": the distinct names of the sorted headers, NUL-terminated at p; returns its length. */
static size_t put_signed_names(char *p, const canon_header *hs, size_t nh) {
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
static char *put_header_lines(char *p, const canon_header *hs, size_t nh) {
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

static void hmac_sha256(const void *key, size_t klen, const char *data, size_t dlen, unsigned char out[32]) {
  le_hmac_sha256(key, klen, data, dlen, out);
}

/* The signing key depends only on the secret, the date, the region and the
 * service, so it is derived once per day and scope, as the AWS SDKs do: the last
 * one is kept, recognised by the secret's length and fingerprint (below; the secret
 * itself is not kept). */
static struct {
  int valid;
  size_t secret_len;
  uint64_t secret_fingerprint;
  char date[16], region[64], service[64];
  unsigned char key[32];
} signing_cache;

/* Texts hashed one after the other often begin with the same 64-byte blocks: the
 * canonical requests of calls to one function (method, path, the first headers; the next
 * block, with the date, within one second), and the strings to sign of one second
 * (algorithm, date and time, most of the scope). The SHA-256 state after such leading
 * blocks is kept, with the blocks, and a text that begins with them is hashed from it:
 * a compression fewer for each. A block's state is kept only when every block before it
 * matched, so texts that differ from the first block on cost one state copy, no more.
 *
 * The states are OpenSSL's SHA256_CTX (SHA256_Init/Update/Final, deprecated in 3.0 but
 * the same block function EVP's default provider calls, SHA-NI where the CPU has it):
 * a state is then a struct copied by assignment, where EVP_MD_CTX_copy_ex, Init_ex2 and
 * Final_ex's provider dispatch cost ~2.3 k instructions a request (callgrind, t10).
 * Hence no FIPS provider for these four hashes; the rest of the engine uses EVP. */
#define KEPT_BLOCKS 2
typedef struct {
  size_t depth; /* how many leading blocks may be kept (at most KEPT_BLOCKS) */
  size_t ready; /* how many are */
  unsigned char block[KEPT_BLOCKS][64];
  SHA256_CTX ctx[KEPT_BLOCKS]; /* the state after blocks 0..i (from base's state, when there is one) */
} first_blocks;

static first_blocks canonical_first = {.depth = 2};
static first_blocks sign_first = {.depth = 1}; /* from the inner pad: reset with it */

/* SHA-256 of base's state (NULL: the initial one) followed by data, into out. */
static void sha256_from(first_blocks *fb, const SHA256_CTX *base, const void *data, size_t len, unsigned char out[32]) {
  const unsigned char *bytes = data;
  SHA256_CTX work;
  size_t blocks = len / 64, hit = 0;
  while (hit < fb->ready && hit < blocks && memcmp(fb->block[hit], bytes + 64 * hit, 64) == 0) hit++;
  if (hit) work = fb->ctx[hit - 1];
  else if (base) work = *base;
  else SHA256_Init(&work);
  size_t keep = hit < fb->depth && hit < blocks ? hit + 1 : hit; /* the first block that did not match */
  if (keep > hit) {
    SHA256_Update(&work, bytes + 64 * hit, 64);
    fb->ctx[hit] = work;
    memcpy(fb->block[hit], bytes + 64 * hit, 64);
    fb->ready = keep; /* the blocks after it were another text's */
  }
  SHA256_Update(&work, bytes + 64 * keep, len - 64 * keep);
  SHA256_Final(out, &work);
  OPENSSL_cleanse(&work, sizeof work); /* (a state from the key's pad) */
}

/* The cached key's HMAC pads, already hashed (inner, outer): a signature with it then
 * hashes the string to sign and the inner digest alone, two blocks fewer. pads_ready
 * says they are the cached key's. */
static SHA256_CTX pad_ctx[2];
static int pads_ready;

static void prepare_pads(const unsigned char key[32]) {
  unsigned char pad[64];
  sign_first.ready = 0; /* its states began with the old key's pad */
  for (int i = 0; i < 2; i++) {
    memset(pad, i ? 0x5c : 0x36, sizeof pad);
    for (int j = 0; j < 32; j++) pad[j] ^= key[j];
    SHA256_Init(&pad_ctx[i]);
    SHA256_Update(&pad_ctx[i], pad, sizeof pad);
  }
  OPENSSL_cleanse(pad, sizeof pad);
  pads_ready = 1;
}

/* HMAC-SHA256(cached key, data) from the hashed pads; 0 when they are not there. */
static int hmac_with_pads(const char *data, size_t len, unsigned char out[32]) {
  if (!pads_ready) return 0;
  unsigned char inner[32];
  sha256_from(&sign_first, &pad_ctx[0], data, len, inner);
  SHA256_CTX outer = pad_ctx[1];
  SHA256_Update(&outer, inner, sizeof inner);
  SHA256_Final(out, &outer);
  OPENSSL_cleanse(&outer, sizeof outer);
  OPENSSL_cleanse(inner, sizeof inner);
  return 1;
}

/* The secret of the cached signing key is recognised by its length and a 64-bit FNV-1a
 * of it from a basis drawn at random once per process, instead of a SHA-256 pass per
 * request (two secrets of one length that differ in a single byte never match, since
 * each step of FNV-1a is a bijection; others match with odds of 2^-64). */
static uint64_t secret_fingerprint(const char *s, size_t len) {
  static uint64_t basis;
  if (!basis && getrandom(&basis, sizeof basis, 0) != (ssize_t)sizeof basis) basis = 0xcbf29ce484222325u;
  uint64_t h = basis;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3u;
  }
  return h;
}

static int signing_key(const char *secret, const char *date, const char *region, const char *service,
                       unsigned char out[32], int *cached) {
  size_t slen = strlen(secret);
  uint64_t fingerprint = secret_fingerprint(secret, slen);
  if (signing_cache.valid && signing_cache.secret_len == slen && signing_cache.secret_fingerprint == fingerprint &&
      strcmp(date, signing_cache.date) == 0 && strcmp(region, signing_cache.region) == 0 &&
      strcmp(service, signing_cache.service) == 0) {
    memcpy(out, signing_cache.key, 32);
    *cached = 1;
    return LE_OK;
  }
  *cached = 0;
  char *k = malloc(slen + 5);
  if (!k) return LE_FAIL;
  memcpy(k, "AWS4", 4);
  memcpy(k + 4, secret, slen + 1);
  unsigned char k_date[32], k_region[32], k_service[32];
  hmac_sha256(k, slen + 4, date, strlen(date), k_date);
  OPENSSL_cleanse(k, slen + 4);
  free(k);
  hmac_sha256(k_date, 32, region, strlen(region), k_region);
  hmac_sha256(k_region, 32, service, strlen(service), k_service);
  hmac_sha256(k_service, 32, "aws4_request", 12, out);
  if (strlen(date) < sizeof signing_cache.date && strlen(region) < sizeof signing_cache.region &&
      strlen(service) < sizeof signing_cache.service) {
    signing_cache.secret_len = slen;
    signing_cache.secret_fingerprint = fingerprint;
    strcpy(signing_cache.date, date);
    strcpy(signing_cache.region, region);
    strcpy(signing_cache.service, service);
    memcpy(signing_cache.key, out, 32);
    signing_cache.valid = 1;
    prepare_pads(out);
    *cached = 1;
  }
  return LE_OK;
}

/* The hex SHA-256 of a request's body (SHA256_*, as sha256_from: no EVP context to set up). */
static void body_hash_hex(const void *body, size_t len, char out[65]) {
  SHA256_CTX ctx;
  unsigned char raw[32];
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, body, len);
  SHA256_Final(raw, &ctx);
  le_hex(raw, 32, out);
}

void le_sigv4_output_free(le_sigv4_output *out) {
  free(out->canonical_request);
  free(out->string_to_sign);
  free(out->signed_query);
  free(out->header_text);
  memset(out, 0, sizeof *out);
}

/* "%Y%m%dT%H%M%SZ" as strftime writes it (digits by hand for years 1000-9999, the
 * strftime call costing more than the rest of the header's text). */
static void put_amz_date(char *out, size_t size, const struct tm *tm) {
  int year = tm->tm_year + 1900;
  if (year < 1000 || year > 9999 || size < 17) { /* strftime writes no leading zeros */
    strftime(out, size, "%Y%m%dT%H%M%SZ", tm);
    return;
  }
  const int fields[] = {year / 100, year % 100, tm->tm_mon + 1, tm->tm_mday, -1, tm->tm_hour, tm->tm_min, tm->tm_sec};
  char *p = out;
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    if (fields[i] < 0) {
      *p++ = 'T';
      continue;
    }
    *p++ = (char)('0' + fields[i] / 10 % 10);
    *p++ = (char)('0' + fields[i] % 10);
  }
  *p++ = 'Z';
  *p = '\0';
}

/* The n parts one after the other at out (size bytes, NUL-terminated, cut where snprintf
 * would cut): the scope and the Authorization value, two per request, without printf. */
static void join(char *out, size_t size, const char *const *parts, size_t n) {
  size_t used = 0;
  for (size_t i = 0; i < n && used + 1 < size; i++) {
    size_t len = strlen(parts[i]);
    if (len > size - 1 - used) len = size - 1 - used;
    memcpy(out + used, parts[i], len);
    used += len;
  }
  out[used] = '\0';
}

/* The headers SigV4 adds, their values in one allocation (out->header_text). */
static int add_headers(le_sigv4_output *out, const char *const *names, const char *const *values, size_t n) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += strlen(values[i]) + 1;
  char *text = malloc(bytes ? bytes : 1);
  if (!text) return LE_FAIL;
  out->header_text = text;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(values[i]) + 1;
    memcpy(text, values[i], len);
    out->add_names[i] = names[i];
    out->add_values[i] = text;
    text += len;
  }
  out->add_count = n;
  return LE_OK;
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
static char *canonical_request(const le_sigv4_input *in, const char *query, size_t query_len,
                               const canon_header *hs, size_t nh, const char *signed_names, size_t names_len,
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
static int canonical_query(const le_sigv4_input *in, const char *scope, const char *amz_date,
                           const char *signed_names, int token_signed, le_buffer *query) {
  param *params = NULL;
  size_t np = 0, pcap = 0;
  int rc = parse_query(in->query, &params, &np, &pcap);
  if (rc == LE_OK && in->query_signing)
    rc = add_query_signing(in, scope, amz_date, signed_names, token_signed, &params, &np, &pcap);
  if (rc == LE_OK && np > 1) qsort(params, np, sizeof *params, by_key_then_value);
  for (size_t i = 0; rc == LE_OK && i < np; i++) {
    if ((i && append_str(query, "&")) || append_str(query, params[i].key) || append_str(query, "=") ||
        append_str(query, params[i].value))
      rc = LE_FAIL;
  }
  for (size_t i = 0; i < np; i++) {
    free(params[i].key);
    free(params[i].value);
  }
  free(params);
  return rc;
}

/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex SHA-256 of the canonical request>". */
static char *string_to_sign(const char *amz_date, const char *scope, const char *canonical, size_t canonical_len) {
  unsigned char raw[32];
  char canon_hash[65];
  sha256_from(&canonical_first, NULL, canonical, canonical_len, raw);
  le_hex(raw, 32, canon_hash);
  const char *parts[] = {"AWS4-HMAC-SHA256\n", amz_date, "\n", scope, "\n", canon_hash};
  size_t size = 1;
  for (size_t i = 0; i < 6; i++) size += strlen(parts[i]);
  char *text = malloc(size);
  if (text) join(text, size, parts, 6);
  return text;
}

/* What header signing adds: X-Amz-Date, the token, the payload hash, Authorization. */
static int add_signed_headers(const le_sigv4_input *in, le_sigv4_output *out, const char *amz_date,
                              const char *scope, const char *signed_names, const char *payload_hash) {
  char auth[1024];
  join(auth, sizeof auth,
       (const char *const[]){"AWS4-HMAC-SHA256 Credential=", in->access_key_id, "/", scope, ", SignedHeaders=",
                             signed_names, ", Signature=", out->signature},
       8);
  const char *names[4], *values[4];
  size_t n = 0;
  names[n] = "X-Amz-Date", values[n++] = amz_date;
  if (in->session_token && *in->session_token) names[n] = "X-Amz-Security-Token", values[n++] = in->session_token;
  if (in->sign_body) names[n] = "X-Amz-Content-Sha256", values[n++] = payload_hash;
  names[n] = "Authorization", values[n++] = auth;
  return add_headers(out, names, values, n);
}

/* The query to send with query signing: the canonical one, the signature, an unsigned token. */
static int finish_signed_query(const le_sigv4_input *in, le_sigv4_output *out, le_buffer *query, int token_signed) {
  if (query->len && append_str(query, "&")) return LE_FAIL;
  if (append_str(query, "X-Amz-Signature=") || append_str(query, out->signature)) return LE_FAIL;
  if (in->session_token && *in->session_token && !token_signed) {
    char *t = le_uri_encode(in->session_token, strlen(in->session_token), 0);
    if (!t) return LE_FAIL;
    int bad = append_str(query, "&X-Amz-Security-Token=") || append_str(query, t);
    free(t);
    if (bad) return LE_FAIL;
  }
  out->signed_query = finish(query);
  return out->signed_query ? LE_OK : LE_FAIL;
}

/* The signature of the string to sign, with the cached signing key's hashed pads when it is cached. */
static int put_signature(const le_sigv4_input *in, const char *date, le_sigv4_output *out) {
  unsigned char k_signing[32], sig[32];
  int cached;
  if (signing_key(in->secret_access_key, date, in->region, in->service, k_signing, &cached) != LE_OK) return LE_FAIL;
  size_t len = strlen(out->string_to_sign);
  if (!cached || !hmac_with_pads(out->string_to_sign, len, sig))
    hmac_sha256(k_signing, 32, out->string_to_sign, len, sig);
  OPENSSL_cleanse(k_signing, sizeof k_signing);
  le_hex(sig, 32, out->signature);
  return LE_OK;
}

#define FEW_HEADERS 16
#define NAMES_ROOM 512

int le_sigv4_sign(const le_sigv4_input *in, le_sigv4_output *out, le_error *err) {
  memset(out, 0, sizeof *out);
  /* The date as text once per second: the requests of a second share it. */
  static time_t dated = (time_t)-1;
  static char dated_text[17];
  char amz_date[17], date[9];
  if (in->timestamp != dated || dated == (time_t)-1) {
    struct tm tm;
    gmtime_r(&in->timestamp, &tm);
    put_amz_date(dated_text, sizeof dated_text, &tm);
    dated = in->timestamp;
  }
  memcpy(amz_date, dated_text, sizeof amz_date);
  memcpy(date, amz_date, 8);
  date[8] = '\0';

  /* Most calls have no body: the SHA-256 of nothing is a constant. */
  static const char empty_hash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  char payload_hash[65];
  if (!in->body || in->body_len == 0) memcpy(payload_hash, empty_hash, sizeof empty_hash);
  else body_hash_hex(in->body, in->body_len, payload_hash);

  char scope[256];
  join(scope, sizeof scope, (const char *const[]){date, "/", in->region, "/", in->service, "/aws4_request"}, 6);
  int token_signed = in->session_token && *in->session_token && !in->omit_session_token;

  /* Headers: the request's own, plus those the signature itself adds; the few a
   * request has (and their lower-cased names) on the stack. */
  le_header extra[3];
  size_t nextra = 0;
  if (!in->query_signing) {
    extra[nextra++] = (le_header){"X-Amz-Date", amz_date};
    if (token_signed) extra[nextra++] = (le_header){"X-Amz-Security-Token", in->session_token};
    if (in->sign_body) extra[nextra++] = (le_header){"X-Amz-Content-Sha256", payload_hash};
  }
  size_t n = in->header_count + nextra, names_bytes = 0;
  const le_header *few_src[FEW_HEADERS];
  canon_header few[FEW_HEADERS];
  char few_names[NAMES_ROOM], few_signed[NAMES_ROOM];
  const le_header **src = n <= FEW_HEADERS ? few_src : malloc(n * sizeof *src);
  canon_header *hs = n <= FEW_HEADERS ? few : malloc(n * sizeof *hs);
  char *names = few_names, *signed_names = few_signed;
  le_buffer query = {0};
  size_t canonical_len = 0;
  int rc = LE_FAIL;
  if (!src || !hs) goto done;
  for (size_t i = 0; i < n; i++) {
    src[i] = i < in->header_count ? &in->headers[i] : &extra[i - in->header_count];
    names_bytes += strlen(src[i]->name) + 1;
  }
  names = names_bytes <= NAMES_ROOM ? few_names : malloc(names_bytes);
  signed_names = names_bytes <= NAMES_ROOM ? few_signed : malloc(names_bytes + 1);
  if (!names || !signed_names) goto done;
  size_t nh = collect_headers(src, n, hs, names);
  size_t names_len = put_signed_names(signed_names, hs, nh);

  if ((in->query || in->query_signing) &&
      canonical_query(in, scope, amz_date, signed_names, token_signed, &query) != LE_OK)
    goto done;
  out->canonical_request = canonical_request(in, (const char *)query.data, query.len, hs, nh, signed_names,
                                             names_len, payload_hash, &canonical_len);
  if (!out->canonical_request) goto done;
  out->string_to_sign = string_to_sign(amz_date, scope, out->canonical_request, canonical_len);
  if (!out->string_to_sign || put_signature(in, date, out) != LE_OK) goto done;
  rc = in->query_signing ? finish_signed_query(in, out, &query, token_signed)
                         : add_signed_headers(in, out, amz_date, scope, signed_names, payload_hash);
done:
  if (rc != LE_OK) {
    le_error_set(err, "out of memory while signing");
    le_sigv4_output_free(out);
  }
  if (src != few_src) free(src);
  if (hs != few) free(hs);
  if (names != few_names) free(names);
  if (signed_names != few_signed) free(signed_names);
  le_buffer_free(&query);
  return rc;
}

/* Lua binding: sigv4.sign{ method=, path=, query=, headers={{name, value}...}, body=,
 * access_key_id=, secret_access_key=, session_token=, region=, service=, time=,
 * sign_body=, normalize=(default true), single_encode= (S3: the path signed as sent) } -> { headers = {{name, value}...},
 * canonical_request=, string_to_sign=, signature= } */

static const char *opt_field(lua_State *L, int idx, const char *name, size_t *len) {
  lua_getfield(L, idx, name);
  const char *s = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, len);
  lua_pop(L, 1); /* the table keeps the string alive */
  return s;
}

static int l_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  le_sigv4_input in;
  memset(&in, 0, sizeof in);
  size_t len = 0;
  in.method = opt_field(L, 1, "method", &len);
  in.path = opt_field(L, 1, "path", &len);
  in.query = opt_field(L, 1, "query", &len);
  in.body = (const unsigned char *)opt_field(L, 1, "body", &in.body_len);
  in.access_key_id = opt_field(L, 1, "access_key_id", &len);
  in.secret_access_key = opt_field(L, 1, "secret_access_key", &len);
  in.session_token = opt_field(L, 1, "session_token", &len);
  in.region = opt_field(L, 1, "region", &len);
  in.service = opt_field(L, 1, "service", &len);
  if (!in.method || !in.path || !in.access_key_id || !in.secret_access_key || !in.region || !in.service)
    return luaL_error(L, "sigv4.sign: method, path, access_key_id, secret_access_key, region and service are required");
  lua_getfield(L, 1, "time");
  in.timestamp = (time_t)luaL_optinteger(L, -1, (lua_Integer)time(NULL));
  lua_pop(L, 1);
  lua_getfield(L, 1, "sign_body");
  in.sign_body = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "normalize");
  in.normalize_path = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "single_encode");
  in.single_encode = lua_toboolean(L, -1);
  lua_pop(L, 1);

  lua_getfield(L, 1, "headers");
  int hidx = lua_gettop(L);
  size_t n = lua_istable(L, hidx) ? lua_rawlen(L, hidx) : 0;
  le_header *headers = lua_newuserdatauv(L, (n ? n : 1) * sizeof *headers, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, hidx, (lua_Integer)i + 1);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    headers[i].name = luaL_checkstring(L, -2);
    headers[i].value = luaL_checkstring(L, -1);
    lua_pop(L, 3); /* strings stay referenced by the headers table */
  }
  in.headers = headers;
  in.header_count = n;

  le_sigv4_output out;
  le_error err;
  /* Signing fails only when memory runs out, which raises as Lua's own allocations do. */
  if (le_sigv4_sign(&in, &out, &err) != LE_OK) return luaL_error(L, "%s", err.message);
  lua_createtable(L, 0, 4);
  lua_createtable(L, (int)out.add_count, 0);
  for (size_t i = 0; i < out.add_count; i++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, out.add_names[i]);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, out.add_values[i]);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "headers");
  lua_pushstring(L, out.canonical_request);
  lua_setfield(L, -2, "canonical_request");
  lua_pushstring(L, out.string_to_sign);
  lua_setfield(L, -2, "string_to_sign");
  lua_pushstring(L, out.signature);
  lua_setfield(L, -2, "signature");
  le_sigv4_output_free(&out);
  return 1;
}

static int l_uri_encode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char *e = le_uri_encode(s, len, lua_toboolean(L, 2));
  if (!e) return luaL_error(L, "out of memory");
  lua_pushstring(L, e);
  free(e);
  return 1;
}

int le_open_sigv4(lua_State *L) {
  static const luaL_Reg fns[] = {{"sign", l_sign}, {"uri_encode", l_uri_encode}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
