/* sigv4_canon.h — the canonical request's text for SigV4 (sigv4_canon.c), for sigv4.c.
 *
 * le_sigv4_collect_headers(src, n, hs, names): the n headers to sign into hs, their names
 *   lower-cased into names (room for every name and its NUL), user-agent, expect,
 *   authorization and x-amzn-trace-id left out, sorted by name (equal names in their
 *   order). Returns how many.
 * le_sigv4_put_signed_names(p, hs, nh): "a;b;c", the distinct names of the sorted headers,
 *   NUL-terminated at p (room for the names and a NUL); returns its length.
 * le_sigv4_canonical_query(in, scope, amz_date, signed_names, token_signed, query): the
 *   canonical query string ("k=v&k=v", each component decoded and encoded again, sorted;
 *   with query signing, its own parameters added) appended to query. LE_FAIL: no memory.
 * le_sigv4_canonical_request(in, query, query_len, hs, nh, signed_names, names_len,
 *   payload_hash, &len): method, path (normalized unless in->single_encode or not asked;
 *   URI-encoded once more unless single_encode), query, header lines, signed names and
 *   payload hash, one allocation (its length in len); NULL when memory runs out.
 * le_uri_encode is sigv4.h's. */
#ifndef LAMBDAENG_SIGV4_CANON_H
#define LAMBDAENG_SIGV4_CANON_H

#include <stddef.h>

#include "buffer.h"
#include "sigv4.h"

/* One header of the canonical request: its name lower-cased (in the names arena,
 * NUL-terminated) and its value as given (trimmed as it is written). */
typedef struct le_canon_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t order; /* first appearance, to keep the sort stable */
} le_canon_header;

size_t le_sigv4_collect_headers(const le_header *const *src, size_t n, le_canon_header *hs, char *names);
size_t le_sigv4_put_signed_names(char *p, const le_canon_header *hs, size_t nh);
int le_sigv4_canonical_query(const le_sigv4_input *in, const char *scope, const char *amz_date,
                             const char *signed_names, int token_signed, le_buffer *query);
char *le_sigv4_canonical_request(const le_sigv4_input *in, const char *query, size_t query_len,
                                 const le_canon_header *hs, size_t nh, const char *signed_names, size_t names_len,
                                 const char *payload_hash, size_t *len);

#endif
