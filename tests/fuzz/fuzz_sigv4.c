/* fuzz_sigv4 — the SigV4 canonicaliser (engine/sigv4.c) on arbitrary requests.
 *
 * Input: one byte of flags (path normalisation, body signing, session token,
 * token left unsigned, query signing), then lines: the method, the path, the
 * query (empty: none), "name:value" headers up to an empty line, and the body.
 * Checked besides the sanitizers: signing is deterministic; the canonical
 * request does not depend on the order of headers with distinct names; and
 * le_uri_encode gives only unreserved characters and %XX escapes that decode
 * back to its input. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4.h"

#define MAX_HEADERS 64

static char *line(const uint8_t **p, const uint8_t *end) {
  const uint8_t *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
  const uint8_t *stop = nl ? nl : end;
  *p = nl ? nl + 1 : end;
  return strndup((const char *)start, (size_t)(stop - start));
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void check_uri_encode(const uint8_t *data, size_t size, int keep_slash) {
  char *enc = le_uri_encode((const char *)data, size, keep_slash);
  if (!enc) return;
  size_t n = strlen(enc), j = 0;
  unsigned char *back = malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)enc[i];
    if (c == '%') {
      if (i + 2 >= n) abort(); /* a truncated escape */
      int hi = hexval(enc[i + 1]), lo = hexval(enc[i + 2]);
      if (hi < 0 || lo < 0) abort(); /* escapes are upper-case hex */
      back[j++] = (unsigned char)(hi * 16 + lo);
      i += 2;
    } else {
      if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))) abort();
      back[j++] = c;
    }
  }
  if (j != size || memcmp(back, data, size) != 0) abort(); /* decodes back to the input */
  free(back);
  free(enc);
}

static int distinct_names(const le_header *h, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = i + 1; k < n; k++)
      if (strcasecmp(h[i].name, h[k].name) == 0) return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  check_uri_encode(data, size, 0);
  check_uri_encode(data, size, 1);
  uint8_t flags = data[0];
  const uint8_t *p = data + 1, *end = data + size;
  char *method = line(&p, end), *path = line(&p, end), *query = line(&p, end);
  le_header headers[MAX_HEADERS], reversed[MAX_HEADERS];
  char *owned[MAX_HEADERS];
  size_t nh = 0;
  while (p < end && nh < MAX_HEADERS) {
    char *h = line(&p, end);
    if (!*h) {
      free(h);
      break;
    }
    char *colon = strchr(h, ':');
    if (colon) *colon = '\0';
    owned[nh] = h;
    headers[nh].name = h;
    headers[nh].value = colon ? colon + 1 : "";
    nh++;
  }
  le_sigv4_input in = {
      .method = method, .path = path, .query = *query ? query : NULL, .headers = headers, .header_count = nh,
      .body = p, .body_len = (size_t)(end - p), .access_key_id = "AKIDEXAMPLE",
      .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      .session_token = (flags & 4) ? "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW" : NULL,
      .region = "us-east-1", .service = "lambda", .timestamp = 1440938160, .normalize_path = flags & 1,
      .sign_body = (flags & 2) != 0, .omit_session_token = (flags & 8) != 0, .query_signing = (flags & 16) != 0,
      .expires = 300};
  le_sigv4_output a, b;
  le_error err;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  if (le_sigv4_sign(&in, &a, &err) == LE_OK) {
    if (le_sigv4_sign(&in, &b, &err) != LE_OK || strcmp(a.signature, b.signature) != 0) abort();
    le_sigv4_output_free(&b);
    if (nh > 1 && distinct_names(headers, nh)) {
      for (size_t i = 0; i < nh; i++) reversed[i] = headers[nh - 1 - i];
      in.headers = reversed;
      memset(&b, 0, sizeof b);
      if (le_sigv4_sign(&in, &b, &err) != LE_OK) abort();
      if (strcmp(a.canonical_request, b.canonical_request) != 0) abort(); /* header order must not matter */
      le_sigv4_output_free(&b);
    }
  }
  le_sigv4_output_free(&a);
  for (size_t i = 0; i < nh; i++) free(owned[i]);
  free(method);
  free(path);
  free(query);
  return 0;
}
