#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <openssl/evp.h>
#include <uv.h>

/* SHA-256 as every signed request needs it three or four times: EVP_Digest and HMAC()
 * look the algorithm up and allocate a context per call (about half the cost of a
 * short digest on OpenSSL 3), so the algorithm is fetched once and one context reused.
 * The engine hashes on the loop thread only. */
/* OpenSSL 3's first fetch initialises the library, its default provider and name maps:
 * ~4.6 M instructions, once per process (W3: in the stack phase, where the first package
 * is hashed). hash.warm() makes that fetch on a thread of its own while the caller goes on;
 * the first hash joins the thread and takes its algorithm (written by the thread, read
 * after the join). States: 0 never started, 1 running or done but not joined, 2 joined. */
static uv_thread_t warm_thread;
static int warm_state;
static EVP_MD *warm_md;

static void warm_run(void *arg) {
  (void)arg;
  warm_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void warm_join(void) {
  if (warm_state != 1) return;
  (void)uv_thread_join(&warm_thread); /* (fails only for a thread not joinable: never here) */
  warm_state = 2;
}

static EVP_MD_CTX *sha256_context(void) {
  static EVP_MD *md;
  static EVP_MD_CTX *ctx;
  if (!md) {
    warm_join();
    md = warm_md ? warm_md : EVP_MD_fetch(NULL, "SHA256", NULL);
    warm_md = NULL;
  }
  if (!ctx) ctx = EVP_MD_CTX_new();
  if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, NULL)) return NULL;
  return ctx;
}

static int sha256_parts(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32]) {
  EVP_MD_CTX *ctx = sha256_context();
  if (!ctx) return 0;
  return EVP_DigestUpdate(ctx, a, alen) && (!blen || EVP_DigestUpdate(ctx, b, blen)) &&
         EVP_DigestFinal_ex(ctx, out, NULL);
}

size_t le_digest(le_digest_kind kind, const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 0;
  if (kind == LE_SHA256 && sha256_parts(data, len, NULL, 0, out)) return 32;
  EVP_Digest(data, len, out, &n, kind == LE_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
  return n;
}

void le_hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen, unsigned char out[32]) {
  unsigned char block[64] = {0}, pad[64], inner[32];
  if (klen > sizeof block) le_digest(LE_SHA256, key, klen, block); /* RFC 2104: a long key is hashed */
  else memcpy(block, key, klen);
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
  int ok = sha256_parts(pad, 64, data, dlen, inner);
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
  if (ok) ok = sha256_parts(pad, 64, inner, 32, out);
  if (!ok) { /* no context (out of memory): the one-shot call */
    size_t n = 32;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, data, dlen, out, 32, &n);
  }
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

/* A byte's two digits at once, from the 256 pairs written out: a signed request writes
 * three hashes in hex, ~1.2 k instructions a request a nibble at a time, ~0.6 k so
 * (callgrind, W2's client). */
void le_hex(const unsigned char *raw, size_t n, char *out) {
  static const char pairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
    "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
    "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
  for (size_t i = 0; i < n; i++) memcpy(out + 2 * i, pairs + 2 * raw[i], 2);
  out[2 * n] = '\0';
}

void le_digest_hex(le_digest_kind kind, const void *data, size_t len, char out[65]) {
  unsigned char raw[32];
  le_hex(raw, le_digest(kind, data, len, raw), out);
}

char *le_base64_encode(const void *data, size_t len, size_t *out_len) {
  size_t cap = 4 * ((len + 2) / 3) + 1;
  char *out = malloc(cap);
  if (!out) return NULL;
  /* EVP_EncodeBlock takes an int length; feed it in chunks that keep the output aligned. */
  const unsigned char *in = data;
  size_t written = 0;
  const size_t chunk = 3 * 1024 * 1024;
  while (len > 0) {
    size_t n = len < chunk ? len : chunk;
    written += (size_t)EVP_EncodeBlock((unsigned char *)out + written, in, (int)n);
    in += n;
    len -= n;
  }
  out[written] = '\0';
  if (out_len) *out_len = written;
  return out;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

unsigned char *le_base64_decode(const char *text, size_t len, size_t *out_len, le_error *err) {
  unsigned char *out = malloc(len / 4 * 3 + 3);
  if (!out) {
    le_error_set(err, "out of memory decoding base64");
    return NULL;
  }
  unsigned int acc = 0;
  int bits = 0, pad = 0;
  size_t n = 0, symbols = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      pad++;
      symbols++;
      continue;
    }
    int v = b64_value(c);
    if (v < 0 || pad > 0) {
      free(out);
      le_error_code(err, "EINVAL", "invalid base64: unexpected character '%c' at offset %zu", c, i);
      return NULL;
    }
    symbols++;
    acc = (acc << 6) | (unsigned int)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (symbols % 4 != 0 || pad > 2) {
    free(out);
    le_error_code(err, "EINVAL", "invalid base64: length is not a multiple of 4");
    return NULL;
  }
  if (out_len) *out_len = n;
  return out;
}

int le_file_base64sha256(const char *path, char out[45], le_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return le_error_errno(err, errno, "cannot open %s", path);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
  int failed = ferror(f);
  fclose(f);
  unsigned char raw[32];
  EVP_DigestFinal_ex(ctx, raw, NULL);
  EVP_MD_CTX_free(ctx);
  if (failed) return le_error_set(err, "cannot read %s", path);
  EVP_EncodeBlock((unsigned char *)out, raw, 32);
  return LE_OK;
}

/* Lua binding: functions take strings and return strings; a runtime failure (text
 * that is not base64, a file that cannot be read) is nil, message, code. */

static int l_digest(lua_State *L, le_digest_kind kind) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  le_digest_hex(kind, s, len, hex);
  lua_pushstring(L, hex);
  return 1;
}
static int l_sha1(lua_State *L) { return l_digest(L, LE_SHA1); }
static int l_sha256(lua_State *L) { return l_digest(L, LE_SHA256); }

static int l_sha256_raw(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char raw[32];
  lua_pushlstring(L, (const char *)raw, le_digest(LE_SHA256, s, len, raw));
  return 1;
}

/* hash.hex(bytes) -> lower-case hex text. */
static int l_hex(lua_State *L) {
  size_t n;
  const unsigned char *raw = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, 2 * n + 1);
  le_hex(raw, n, out);
  luaL_pushresultsize(&b, 2 * n);
  return 1;
}

static int l_hmac_sha256(lua_State *L) {
  size_t klen, dlen;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *data = luaL_checklstring(L, 2, &dlen);
  unsigned char raw[32];
  char hex[65];
  le_hmac_sha256(key, klen, data, dlen, raw);
  le_hex(raw, 32, hex);
  lua_pushstring(L, hex);
  return 1;
}

static int l_base64(lua_State *L) {
  size_t len, out_len;
  const char *s = luaL_checklstring(L, 1, &len);
  char *out = le_base64_encode(s, len, &out_len);
  if (!out) return luaL_error(L, "out of memory");
  lua_pushlstring(L, out, out_len);
  free(out);
  return 1;
}

static int l_base64decode(lua_State *L) {
  size_t len, out_len;
  const char *s = luaL_checklstring(L, 1, &len);
  le_error err;
  unsigned char *out = le_base64_decode(s, len, &out_len, &err);
  if (!out) return le_push_error(L, &err);
  lua_pushlstring(L, (const char *)out, out_len);
  free(out);
  return 1;
}

static int l_filebase64sha256(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char out[45];
  le_error err;
  if (le_file_base64sha256(path, out, &err) != LE_OK) return le_push_error(L, &err);
  lua_pushstring(L, out);
  return 1;
}

/* hash.warm() -> whether OpenSSL is being readied on another thread (false: it already
 * was, or no thread could start; the first hash then readies it itself). The thread is
 * joined by the first hash, or when the Lua state closes (a handle in the registry),
 * never left running while the process exits. */
#define WARM_MT "lambdaeng.hash.warm"

static int l_warm_gc(lua_State *L) {
  (void)L;
  warm_join();
  return 0;
}

static int l_warm(lua_State *L) {
  if (warm_state != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_newuserdatauv(L, 1, 0); /* (joins at the state's close: registry[WARM_MT]) */
  if (luaL_newmetatable(L, WARM_MT)) {
    lua_pushcfunction(L, l_warm_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, WARM_MT);
  if (uv_thread_create(&warm_thread, warm_run, NULL) != 0) {
    warm_state = 2; /* (the first hash fetches on its own thread) */
    lua_pushboolean(L, 0);
    return 1;
  }
  warm_state = 1;
  lua_pushboolean(L, 1);
  return 1;
}

/* hash.ready(): returns once hash.warm's thread, if one was started, has finished (joined). */
static int l_ready(lua_State *L) {
  (void)L;
  warm_join();
  return 0;
}

int le_open_hash(lua_State *L) {
  static const luaL_Reg fns[] = {{"sha1", l_sha1},
                                 {"sha256", l_sha256},
                                 {"sha256_raw", l_sha256_raw},
                                 {"hmac_sha256", l_hmac_sha256},
                                 {"hex", l_hex},
                                 {"base64", l_base64},
                                 {"base64decode", l_base64decode},
                                 {"filebase64sha256", l_filebase64sha256},
                                 {"warm", l_warm},
                                 {"ready", l_ready},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
