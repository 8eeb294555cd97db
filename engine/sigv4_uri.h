/* sigv4_uri.h — URI encoding for SigV4 (sigv4_uri.c), for sigv4.c.
 *
 * le_sigv4_uri_encode_at(p, s, len, keep_slash): s percent-encoded at p (room for 3 * len
 *   bytes: everything but RFC 3986's unreserved characters, '/' kept when keep_slash);
 *   returns where it ends. le_uri_encode (sigv4.h) is the same into a new string.
 * le_sigv4_normalize_path(path): a new string, path without ".", ".." and empty segments
 *   (a trailing slash kept); NULL when memory runs out.
 * le_sigv4_canonical_query(in, scope, amz_date, signed_names, token_signed, query): the
 *   canonical query string ("k=v&k=v", each component decoded and encoded again, sorted;
 *   with query signing, its own parameters added) appended to query. LE_FAIL: no memory. */
#ifndef LAMBDAENG_SIGV4_URI_H
#define LAMBDAENG_SIGV4_URI_H

#include <stddef.h>

#include "buffer.h"
#include "sigv4.h"

char *le_sigv4_uri_encode_at(char *p, const char *s, size_t len, int keep_slash);
char *le_sigv4_normalize_path(const char *path);
int le_sigv4_canonical_query(const le_sigv4_input *in, const char *scope, const char *amz_date,
                             const char *signed_names, int token_signed, le_buffer *query);

#endif
