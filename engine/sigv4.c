/* sigv4.c — AWS Signature Version 4 (sigv4.h): the date and scope, the headers to sign
 * (names lower-cased, some excluded, sorted stably; values trimmed, a repeated name's joined
 * with commas), the canonical request in one allocation (its path and query: sigv4_uri.c),
 * the string to sign and its signature (sigv4_key.c: the cached signing key), then what
 * the request gets: header signing's headers, or query signing's query. The Lua binding
 * is sigv4lua.c. */
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "hash.h"
#include "sigv4_key.h"
#include "sigv4_uri.h"

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
    normalized = le_sigv4_normalize_path(path);
    if (!normalized) return NULL;
    path = normalized;
  }
  size_t path_len = strlen(path), bound = strlen(in->method) + 3 * path_len + query_len + names_len + 64 + 8;
  for (size_t i = 0; i < nh; i++) bound += hs[i].name_len + strlen(hs[i].value) + 2;
  char *text = malloc(bound), *p = text;
  if (text) {
    p = (char *)memcpy(p, in->method, strlen(in->method)) + strlen(in->method);
    *p++ = '\n';
    p = in->single_encode ? (char *)memcpy(p, path, path_len) + path_len
                          : le_sigv4_uri_encode_at(p, path, path_len, 1);
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

/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex SHA-256 of the canonical request>". */
static char *string_to_sign(const char *amz_date, const char *scope, const char *canonical, size_t canonical_len) {
  unsigned char raw[32];
  char canon_hash[65];
  le_sigv4_canonical_hash(canonical, canonical_len, raw);
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
  if (query->len && le_buffer_append_str(query, "&")) return LE_FAIL;
  if (le_buffer_append_str(query, "X-Amz-Signature=") || le_buffer_append_str(query, out->signature)) return LE_FAIL;
  if (in->session_token && *in->session_token && !token_signed) {
    char *t = le_uri_encode(in->session_token, strlen(in->session_token), 0);
    if (!t) return LE_FAIL;
    int bad = le_buffer_append_str(query, "&X-Amz-Security-Token=") || le_buffer_append_str(query, t);
    free(t);
    if (bad) return LE_FAIL;
  }
  out->signed_query = finish(query);
  return out->signed_query ? LE_OK : LE_FAIL;
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
  else le_sigv4_body_hash(in->body, in->body_len, payload_hash);

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
      le_sigv4_canonical_query(in, scope, amz_date, signed_names, token_signed, &query) != LE_OK)
    goto done;
  out->canonical_request = canonical_request(in, (const char *)query.data, query.len, hs, nh, signed_names,
                                             names_len, payload_hash, &canonical_len);
  if (!out->canonical_request) goto done;
  out->string_to_sign = string_to_sign(amz_date, scope, out->canonical_request, canonical_len);
  if (!out->string_to_sign || le_sigv4_put_signature(in, date, out) != LE_OK) goto done;
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
