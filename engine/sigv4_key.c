#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init/Update/Final: see first_blocks below */
/* sigv4_key.c — the hashing of SigV4 (sigv4_key.h): the signing key, derived once per day
 * and scope and kept (recognised by the secret's fingerprint, not the secret), its HMAC
 * pads hashed once; SHA-256 from kept leading blocks for the texts that repeat them (the
 * canonical requests, the strings to sign); a body's hash. */
#include "sigv4_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "hash.h"

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

void le_sigv4_canonical_hash(const char *text, size_t len, unsigned char out[32]) {
  sha256_from(&canonical_first, NULL, text, len, out);
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
void le_sigv4_body_hash(const void *body, size_t len, char out[65]) {
  SHA256_CTX ctx;
  unsigned char raw[32];
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, body, len);
  SHA256_Final(raw, &ctx);
  le_hex(raw, 32, out);
}

/* The signature of the string to sign, with the cached signing key's hashed pads when it is cached. */
int le_sigv4_put_signature(const le_sigv4_input *in, const char *date, le_sigv4_output *out) {
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
