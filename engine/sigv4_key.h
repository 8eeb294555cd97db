/* sigv4_key.h — the hashing of SigV4 (sigv4_key.c), for sigv4.c.
 *
 * le_sigv4_body_hash(body, len, hex): the hex SHA-256 of a request's body.
 * le_sigv4_canonical_hash(text, len, raw): the SHA-256 of a canonical request, from the
 *   state after the leading blocks it shares with the last one (kept, two at most).
 * le_sigv4_put_signature(in, date, out): out->signature, the hex HMAC of
 *   out->string_to_sign with the signing key of in's secret, date (YYYYMMDD), region and
 *   service: the last key derived is kept (with its HMAC pads hashed), recognised by the
 *   secret's length and a keyed 64-bit fingerprint; the secret itself is not kept.
 *   LE_FAIL when memory runs out. */
#ifndef LAMBDAENG_SIGV4_KEY_H
#define LAMBDAENG_SIGV4_KEY_H

#include <stddef.h>

#include "sigv4.h"

void le_sigv4_body_hash(const void *body, size_t len, char out[65]);
void le_sigv4_canonical_hash(const char *text, size_t len, unsigned char out[32]);
int le_sigv4_put_signature(const le_sigv4_input *in, const char *date, le_sigv4_output *out);

#endif
