/* jsontest.h — what unit.jsonload and unit.statefile share (include after cmocka.h).
 * assert_same_json(a, b): equal values, of the same types, keys in the same order
 *   (compared as compact dumps).
 * mutate(text, base, len): the byte mutations both apply to a state's text: one to three
 *   bytes changed, removed or inserted (from bytes that matter to JSON), or a piece
 *   repeated (duplicate keys, doubled escapes). A fixed xorshift sequence: the same texts
 *   every run. */
#ifndef LAMBDAENG_TEST_JSONTEST_H
#define LAMBDAENG_TEST_JSONTEST_H

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void assert_same_json(json_t *a, json_t *b) {
  assert_true(json_equal(a, b));
  size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY;
  char *x = json_dumps(a, flags), *y = json_dumps(b, flags);
  assert_non_null(x);
  assert_non_null(y);
  if (strcmp(x, y) != 0) fail_msg("%s\nand the reference %s", x, y);
  free(x);
  free(y);
}

static uint64_t mutate_rng = 0x9E3779B97F4A7C15u;
static uint64_t next_random(void) {
  mutate_rng ^= mutate_rng << 13;
  mutate_rng ^= mutate_rng >> 7;
  mutate_rng ^= mutate_rng << 17;
  return mutate_rng;
}

/* base (len bytes) copied into text (room for 2 * len + 16) and mutated; its new length. */
static size_t mutate(char *text, const char *base, size_t len) {
  static const char bytes[] = "\"\\{}[],:0-.eEu+ xD8\x00\x1f\x7f\xc3\xa9\xff\xed\xa0";
  memcpy(text, base, len);
  size_t n = len;
  int edits = 1 + (int)(next_random() % 3);
  for (int e = 0; e < edits; e++) {
    size_t at = (size_t)(next_random() % n);
    char b = bytes[next_random() % (sizeof bytes - 1)];
    switch (next_random() % 4) {
    case 0: text[at] = b; break;
    case 1: memmove(text + at, text + at + 1, n - at - 1); n--; break;
    case 2: memmove(text + at + 1, text + at, n - at); text[at] = b; n++; break;
    default: {
      size_t span = 1 + (size_t)(next_random() % 8);
      if (at + span > n || n + span > len * 2) break;
      memmove(text + at + span, text + at, n - at);
      n += span;
    }
    }
  }
  return n;
}

#endif
