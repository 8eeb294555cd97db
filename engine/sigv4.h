/* sigv4.h — AWS Signature Version 4 (header and query signing) on OpenSSL.
 *
 * le_sigv4_sign computes the canonical request, the string to sign and the
 * signature of a request exactly as AWS's test suite specifies, and returns
 * what must be added to the request: headers (X-Amz-Date, X-Amz-Security-Token,
 * X-Amz-Content-Sha256, Authorization) for header signing, or the full query
 * string for query signing. The path is as on the wire (already URI-encoded);
 * with normalize_path (every service but S3) dot segments and repeated slashes
 * are removed, and the canonical path is URI-encoded once more, as the AWS SDKs
 * do; with single_encode (S3) the canonical path is the path as sent. Header names are
 * compared case-insensitively; values are trimmed, inner runs of spaces collapsed, and
 * repeated headers joined with commas in order. The parts: sigv4.c (the signature's
 * steps, the canonical request), sigv4_uri.c (URI encoding, the path, the query),
 * sigv4_key.c (hashing, the cached signing key), sigv4lua.c (le_open_sigv4:
 * lambdaeng.native.sigv4). */
#ifndef LAMBDAENG_SIGV4_H
#define LAMBDAENG_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "error.h"

struct lua_State;

typedef struct le_header {
  const char *name;
  const char *value;
} le_header;

typedef struct le_sigv4_input {
  const char *method;
  const char *path;  /* without the query */
  const char *query; /* raw query string without '?', or NULL */
  const le_header *headers;
  size_t header_count;
  const unsigned char *body;
  size_t body_len;
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token; /* or NULL */
  const char *region;
  const char *service;
  time_t timestamp;
  int normalize_path;
  int single_encode;      /* S3: the canonical path is the path as sent, not encoded once more */
  int sign_body;          /* add and sign x-amz-content-sha256 (header signing) */
  int omit_session_token; /* add the token after signing, unsigned */
  int query_signing;      /* presigned URL instead of an Authorization header */
  long expires;           /* seconds, for query signing */
} le_sigv4_input;

typedef struct le_sigv4_output {
  char *canonical_request;
  char *string_to_sign;
  char signature[65];
  /* Header signing: headers to add, in order (the values in header_text, owned here). */
  const char *add_names[4];
  char *add_values[4];
  size_t add_count;
  char *header_text;
  /* Query signing: the query string to send (without '?'). */
  char *signed_query;
} le_sigv4_output;

int le_sigv4_sign(const le_sigv4_input *in, le_sigv4_output *out, le_error *err);
void le_sigv4_output_free(le_sigv4_output *out);

/* RFC 3986 percent-encoding of everything but unreserved characters ('/' kept when keep_slash). */
char *le_uri_encode(const char *s, size_t len, int keep_slash);

int le_open_sigv4(struct lua_State *L);

#endif
