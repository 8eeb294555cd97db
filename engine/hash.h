/* hash.h — digests and base64 on OpenSSL.
 *
 * le_digest_hex writes the lower-case hex digest of data; le_base64_encode and
 * le_base64_decode work on standard base64 with padding (RFC 4648 section 4).
 * Returned buffers are malloc'd and owned by the caller. The Lua binding
 * (lambdaeng.native.hash) exposes the same operations to the stdlib. */
#ifndef LAMBDAENG_HASH_H
#define LAMBDAENG_HASH_H

#include <stddef.h>

#include "error.h"

struct lua_State;

typedef enum { LE_SHA1, LE_SHA256 } le_digest_kind;

/* Raw digest into out (20 or 32 bytes); returns the digest length. */
size_t le_digest(le_digest_kind kind, const void *data, size_t len, unsigned char out[32]);

/* HMAC-SHA256 of data under key (RFC 2104). */
void le_hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen, unsigned char out[32]);

/* Lower-case hex of raw[0..n) into out (2n+1 bytes with the terminating NUL). */
void le_hex(const unsigned char *raw, size_t n, char *out);

/* Hex digest into out (41 or 65 bytes with the terminating NUL). */
void le_digest_hex(le_digest_kind kind, const void *data, size_t len, char out[65]);

/* Base64 of data; *out_len excludes the NUL terminator. */
char *le_base64_encode(const void *data, size_t len, size_t *out_len);

/* Decodes base64 (whitespace ignored); NULL with err set on malformed input. */
unsigned char *le_base64_decode(const char *text, size_t len, size_t *out_len, le_error *err);

/* base64(sha256(contents of path)), as Terraform's filebase64sha256(). */
int le_file_base64sha256(const char *path, char out[45], le_error *err);

int le_open_hash(struct lua_State *L);

#endif
