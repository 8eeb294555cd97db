#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash.h"

static void digests_match_known_vectors(void **state) {
  (void)state;
  char hex[65];
  le_digest_hex(LE_SHA1, "abc", 3, hex);
  assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  le_digest_hex(LE_SHA256, "abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  le_digest_hex(LE_SHA256, "", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void base64_rfc4648_vectors(void **state) {
  (void)state;
  const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *encoded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    size_t n;
    char *e = le_base64_encode(plain[i], strlen(plain[i]), &n);
    assert_string_equal(e, encoded[i]);
    assert_int_equal(n, strlen(encoded[i]));
    le_error err;
    unsigned char *d = le_base64_decode(e, n, &n, &err);
    assert_non_null(d);
    assert_int_equal(n, strlen(plain[i]));
    assert_memory_equal(d, plain[i], n);
    free(d);
    free(e);
  }
}

static void base64_decode_rejects_garbage(void **state) {
  (void)state;
  le_error err;
  size_t n;
  assert_null(le_base64_decode("Zm9v!", 5, &n, &err));
  assert_non_null(strstr(err.message, "invalid base64"));
  assert_null(le_base64_decode("Zm9", 3, &n, &err));
  assert_null(le_base64_decode("Zg==Zg==", 8, &n, &err));
}

static void base64_large_input_round_trips(void **state) {
  (void)state;
  size_t len = 7 * 1024 * 1024 + 1; /* crosses the encoder's chunk size */
  unsigned char *data = malloc(len);
  for (size_t i = 0; i < len; i++) data[i] = (unsigned char)(i * 31 + 7);
  size_t n, m;
  char *e = le_base64_encode(data, len, &n);
  assert_int_equal(n, 4 * ((len + 2) / 3));
  le_error err;
  unsigned char *d = le_base64_decode(e, n, &m, &err);
  assert_int_equal(m, len);
  assert_memory_equal(d, data, len);
  free(d);
  free(e);
  free(data);
}

static void file_base64sha256_matches(void **state) {
  (void)state;
  char path[] = "/tmp/lambdaeng-hash-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "abc", 3), 3);
  close(fd);
  char out[45];
  le_error err;
  assert_int_equal(le_file_base64sha256(path, out, &err), LE_OK);
  assert_string_equal(out, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  unlink(path);
  assert_int_equal(le_file_base64sha256(path, out, &err), LE_FAIL);
  assert_non_null(strstr(err.message, path));
}

/* RFC 4231 test cases 1, 2 and 6 (a 131-byte key, longer than the block, is hashed first);
 * each computed twice, since the digest context is reused between calls. */
static void hmac_sha256_rfc4231_vectors(void **state) {
  (void)state;
  unsigned char key1[20], key6[131], out[32];
  char hex[65];
  memset(key1, 0x0b, sizeof key1);
  memset(key6, 0xaa, sizeof key6);
  const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  for (int round = 0; round < 2; round++) {
    le_hmac_sha256(key1, sizeof key1, "Hi There", 8, out);
    le_hex(out, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    le_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    le_hex(out, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    le_hmac_sha256(key6, sizeof key6, data6, strlen(data6), out);
    le_hex(out, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(digests_match_known_vectors),
      cmocka_unit_test(hmac_sha256_rfc4231_vectors),
      cmocka_unit_test(base64_rfc4648_vectors),
      cmocka_unit_test(base64_decode_rejects_garbage),
      cmocka_unit_test(base64_large_input_round_trips),
      cmocka_unit_test(file_base64sha256_matches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
