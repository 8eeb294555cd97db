/* jsonload.c: the fast parse of a state's text is json_loadb's, or nothing. For every
 * text here, and for thousands of mutations of a state-like document, either
 * le_json_load_fast returns NULL (the state reader then asks jansson) or jansson accepts
 * the text too and the two values are the same: equal, of the same types, with keys in
 * the same order (compared as compact dumps). The texts lambdaeng writes take the fast path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonload.h"
#include "jsontest.h"

/* The fast answer agrees with jansson's; returns whether the fast path took the text. */
static int agrees(const char *text, size_t len) {
  json_t *fast = le_json_load_fast(text, len);
  json_error_t err;
  json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  int took = fast != NULL;
  if (fast) {
    if (!ref) fail_msg("fast parse accepted what jansson refuses (%s): %.*s", err.text, (int)len, text);
    assert_same_json(fast, ref);
  }
  json_decref(fast);
  json_decref(ref);
  return took;
}

static int agrees_str(const char *text) { return agrees(text, strlen(text)); }

static const char *const TAKEN[] = {
    "{}",
    "[]",
    " \t\r\n{ \"a\" : 1 , \"b\":[ ] ,\"c\":{ } }\n",
    "{\"z\":1,\"a\":2,\"m\":3}",
    "[0,-0,1,-1,123456789012345678,-123456789012345678]",
    "[1.5,-0.0,0.1,1e3,1E-3,2.5e+10,123456789.123456789]",
    "[true,false,null,\"true\"]",
    "[\"\",\"plain\",\"q\\\"b\\\\s\\/f\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\"]",
    "{\"k\\u00e9y\":\"v\",\"\\n\":1,\"caf\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
    "{\"a\\u0041\":1,\"aB\":2}",
    "[\"\x7f\"]",
    "{\"version\":1,\"serial\":9,\"resources\":{\"fn.a\":{\"kind\":\"function\",\"args\":{\"memory\":128,"
    "\"env\":{\"X\":\"1\"},\"layers\":[]},\"attrs\":{\"arn\":\"arn:aws:lambda:us-east-1:1:function:a\"}}},"
    "\"outputs\":{}}",
};

static const char *const REFUSED_OR_UNSURE[] = {
    "",
    "   ",
    "1",
    "\"s\"",
    "null",
    "{\"a\":1,\"a\":2}",
    "{\"a\":1,\"\\u0061\":2}",
    "{\"a\":1}x",
    "{\"a\":1}{}",
    "{\"a\" 1}",
    "{\"a\":}",
    "{\"a\":1,}",
    "[1,]",
    "[01]",
    "[-01]",
    "[-]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[1e+]",
    "[+1]",
    "[1234567890123456789]",
    "[99999999999999999999]",
    "[-9223372036854775809]",
    "[1e400]",
    "[-1e400]",
    "[1e-320]",
    "[truex]",
    "[True]",
    "[nul]",
    "[\"\\u0000\"]",
    "{\"\\u0000\":1}",
    "[\"\\ud83d\"]",
    "[\"\\ud83d\\ude00\"]", /* a pair jansson takes: jsonlex leaves every surrogate escape to it */
    "[\"\\ud83dx\"]",
    "[\"\\ud83d\\u0041\"]",
    "[\"\\ude00\"]",
    "[\"\\u12\"]",
    "[\"\\u12g4\"]",
    "[\"\\x\"]",
    "[\"a\nb\"]",
    "[\"a\x01\"]",
    "[\"\xff\"]",
    "[\"\xc3\"]",
    "[\"\xed\xa0\x80\"]",
    "[\"\xc0\xaf\"]",
    "{\"\xff\":1}",
    "[\"unterminated]",
    "[\"esc\\",
    "{\"a\":[1,2}",
    "{\"a\":{\"b\":1]}",
    "\xef\xbb\xbf{}",
    "{'a':1}",
    "[1 2]",
    "[/*c*/1]",
    "[NaN]",
    "[Infinity]",
};

static void texts_read_as_jansson_reads_them(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof TAKEN / sizeof *TAKEN; i++) {
    if (!agrees_str(TAKEN[i])) fail_msg("fast parse did not take: %s", TAKEN[i]);
  }
  for (size_t i = 0; i < sizeof REFUSED_OR_UNSURE / sizeof *REFUSED_OR_UNSURE; i++) {
    if (agrees_str(REFUSED_OR_UNSURE[i])) fail_msg("fast parse took: %s", REFUSED_OR_UNSURE[i]);
  }
  /* A NUL byte inside the buffer, and a text cut anywhere. */
  assert_false(agrees("[\"a\0\"]", 6));
  const char *whole = TAKEN[sizeof TAKEN / sizeof *TAKEN - 1];
  for (size_t n = 0; n < strlen(whole); n++) assert_false(agrees(whole, n));
}

static void values_keep_their_types_and_order(void **state) {
  (void)state;
  const char *text = "{\"b\":1,\"a\":1.0,\"s\":\"\\u00e9\",\"n\":-0}";
  json_t *v = le_json_load_fast(text, strlen(text));
  assert_non_null(v);
  assert_true(json_is_integer(json_object_get(v, "b")));
  assert_true(json_is_real(json_object_get(v, "a")));
  assert_string_equal(json_string_value(json_object_get(v, "s")), "\xc3\xa9");
  assert_true(json_is_integer(json_object_get(v, "n")));
  assert_string_equal(json_object_iter_key(json_object_iter(v)), "b");
  json_decref(v);
}

static void nesting_past_the_limit_goes_to_jansson(void **state) {
  (void)state;
  char text[2 * (LE_JSON_FAST_MAX_DEPTH + 2) + 1];
  for (int depth = LE_JSON_FAST_MAX_DEPTH; depth <= LE_JSON_FAST_MAX_DEPTH + 1; depth++) {
    size_t n = 0;
    for (int i = 0; i < depth; i++) text[n++] = '[';
    for (int i = 0; i < depth; i++) text[n++] = ']';
    assert_int_equal(agrees(text, n), depth <= LE_JSON_FAST_MAX_DEPTH);
  }
}

/* A state as lambdaeng writes it (indented, sorted), with escapes, UTF-8, numbers of
 * every kind; then mutated byte by byte. */
static char *state_like_text(void) {
  json_t *entry = json_pack(
      "{s:s, s:{s:i, s:f, s:s, s:[s, s], s:{s:s}, s:b, s:n, s:[]}, s:{s:s, s:i}}", "kind", "function",
      "args", "memory", 128, "ratio", 0.25, "description", "caf\xc3\xa9 \"quoted\" \\ tab\t nl\n \xf0\x9f\x98\x80",
      "layers", "arn:aws:lambda:us-east-1:1:layer:a:1", "b", "environment", "K\xc3\xa9y", "v\x01",
      "publish", 1, "dead", "tags", "attrs", "code_sha256", "q0+/=", "version", -42);
  json_t *doc = json_pack("{s:i, s:i, s:s, s:{s:o, s:O}, s:{}}", "version", 1, "serial", 123456789, "lineage",
                          "0f0e-11", "resources", "fn.a", entry, "fn.b", entry, "outputs");
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
  json_decref(doc);
  return text;
}

static void mutations_never_disagree(void **state) {
  (void)state;
  char *base = state_like_text();
  assert_non_null(base);
  size_t len = strlen(base);
  assert_true(agrees(base, len));
  char *text = malloc(len * 2 + 16);
  assert_non_null(text);
  int taken = 0, refused = 0;
  for (int round = 0; round < 20000; round++) {
    size_t n = mutate(text, base, len);
    json_t *ref = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    if (!ref) refused++;
    json_decref(ref);
    taken += agrees(text, n);
  }
  /* Both sides of the fallback were exercised. */
  assert_true(taken > 1000);
  assert_true(refused > 1000);
  free(text);
  free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(texts_read_as_jansson_reads_them),
      cmocka_unit_test(values_keep_their_types_and_order),
      cmocka_unit_test(nesting_past_the_limit_goes_to_jansson),
      cmocka_unit_test(mutations_never_disagree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
