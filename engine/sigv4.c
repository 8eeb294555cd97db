/* sigv4.c — AWS Signature Version 4 (sigv4.h): the date and scope, the canonical request
 * (sigv4_canon.c), the string to sign and its signature (sigv4_key.c: the cached signing
 * key), then what the request gets: header signing's headers, or query signing's query.
 * The Lua binding is sigv4lua.c. */
#include "sigv4.h"

#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "hash.h"
#include "sigv4_canon.h"
#include "sigv4_key.h"

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
  le_canon_header few[FEW_HEADERS];
  char few_names[NAMES_ROOM], few_signed[NAMES_ROOM];
  const le_header **src = n <= FEW_HEADERS ? few_src : malloc(n * sizeof *src);
  le_canon_header *hs = n <= FEW_HEADERS ? few : malloc(n * sizeof *hs);
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
  size_t nh = le_sigv4_collect_headers(src, n, hs, names);
  size_t names_len = le_sigv4_put_signed_names(signed_names, hs, nh);

  if ((in->query || in->query_signing) &&
      le_sigv4_canonical_query(in, scope, amz_date, signed_names, token_signed, &query) != LE_OK)
    goto done;
  out->canonical_request = le_sigv4_canonical_request(in, (const char *)query.data, query.len, hs, nh,
                                                      signed_names, names_len, payload_hash, &canonical_len);
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
