/* The own transport's wire format (httpwire.c), with no I/O: the request head as libcurl
 * writes ours (custom header rules, Host, Content-Length, the default Content-Type), and
 * answers read from bytes split at every position (Content-Length, chunked with a
 * trailer, 1xx before the answer, no body for HEAD / 204 / 304, a body to the
 * connection's end, keep-alive and close), refused when too large or not HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpwire.h"

static char *request(const char *method, const char *target, const char *host, const char *const *lines, size_t n,
                     const char *body, int has_body) {
  le_buffer b = {0};
  assert_int_equal(le_http_wire_request(&b, method, target, host, lines, n, body, body ? strlen(body) : 0, has_body),
                   LE_OK);
  assert_int_equal(le_buffer_append(&b, "", 1), LE_OK);
  return (char *)b.data;
}

static void a_get_has_its_host_and_nothing_else(void **state) {
  (void)state;
  static const char *const lines[] = {"Expect:", "Accept:"};
  char *r = request("GET", "/2015-03-31/functions/f", "127.0.0.1:9001", lines, 2, NULL, 0);
  assert_string_equal(r, "GET /2015-03-31/functions/f HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n");
  free(r);
}

static void a_post_has_its_lines_then_its_length(void **state) {
  (void)state;
  static const char *const lines[] = {"Content-Type: application/json", "X-Amz-Date: 20261127T000000Z",
                                      "User-Agent: lambdaeng/0.1.0"};
  char *r = request("POST", "/i", "[::1]:9001", lines, 3, "{}", 1);
  assert_string_equal(r, "POST /i HTTP/1.1\r\nHost: [::1]:9001\r\nContent-Type: application/json\r\n"
                         "X-Amz-Date: 20261127T000000Z\r\nUser-Agent: lambdaeng/0.1.0\r\nContent-Length: 2\r\n\r\n{}");
  free(r);
}

/* Content-Length written by hand (no snprintf): lengths of 1 to 7 digits, 0 and 10 among them. */
static void the_length_is_the_bodys_in_decimal(void **state) {
  (void)state;
  static const size_t lengths[] = {0, 9, 10, 99, 100, 1234, 65536, 1000001};
  for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
    char *body = malloc(lengths[i] + 1), want[96];
    assert_non_null(body);
    memset(body, 'b', lengths[i]);
    body[lengths[i]] = '\0';
    char *r = request("POST", "/i", "h", (const char *const[]){"Content-Type: t"}, 1, body, 1);
    snprintf(want, sizeof want, "POST /i HTTP/1.1\r\nHost: h\r\nContent-Type: t\r\nContent-Length: %zu\r\n\r\n",
             lengths[i]);
    assert_memory_equal(r, want, strlen(want));
    assert_string_equal(r + strlen(want), body);
    free(r);
    free(body);
  }
}

/* libcurl's rules for custom lines: "Name:" sends nothing, "Name;" an empty header, a line
 * with neither nothing; a given Host, Content-Length or Content-Type replaces libcurl's own. */
static void custom_lines_follow_libcurls_rules(void **state) {
  (void)state;
  static const char *const lines[] = {"X-Gone:", "X-Empty;", "X-Semi; not empty", "no colon", ":novalue",
                                      "Host: other", "Content-Length: 5"};
  char *r = request("PUT", "/p?q=1", "h", lines, 7, "abcde", 1);
  assert_string_equal(r, "PUT /p?q=1 HTTP/1.1\r\nX-Empty:\r\nHost: other\r\nContent-Length: 5\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n\r\nabcde");
  free(r);
  r = request("DELETE", "/d", "h:8080", NULL, 0, NULL, 0);
  assert_string_equal(r, "DELETE /d HTTP/1.1\r\nHost: h:8080\r\n\r\n");
  free(r);
  /* a body-less POST as the AWS SDKs send it: no form type (the local target refuses one) */
  r = request("POST", "/e", "h", NULL, 0, NULL, 1);
  assert_string_equal(r, "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  free(r);
  static const char *const typed[] = {"Content-Type: application/json"};
  r = request("POST", "/e", "h", typed, 1, NULL, 1);
  assert_string_equal(r, "POST /e HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n");
  free(r);
}

/* What an answer read gave: its state, status, header block, body, keep-alive. */
typedef struct outcome {
  le_http_answer_state state;
  long status;
  char headers[512];
  char body[256];
  int keep_alive;
} outcome;

/* Reads text split into pieces at the cuts (ascending, inside it), then the connection's
 * end when eof. */
static outcome read_answer(const char *text, const size_t *cuts, size_t ncuts, int eof, int head, size_t max_body) {
  le_http_response r;
  memset(&r, 0, sizeof r);
  le_http_answer a;
  le_http_answer_init(&a, &r, max_body, head);
  size_t len = strlen(text), from = 0;
  le_http_answer_state st = LE_HTTP_ANSWER_MORE;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    if (to > from) st = le_http_answer_feed(&a, text + from, to - from);
    from = to;
  }
  if (eof && st == LE_HTTP_ANSWER_MORE) st = le_http_answer_feed(&a, NULL, 0);
  outcome o;
  memset(&o, 0, sizeof o);
  o.state = st;
  o.status = r.status;
  snprintf(o.headers, sizeof o.headers, "%.*s", (int)r.headers.len, r.headers.data ? (char *)r.headers.data : "");
  snprintf(o.body, sizeof o.body, "%.*s", (int)r.body.len, r.body.data ? (char *)r.body.data : "");
  o.keep_alive = a.keep_alive;
  le_buffer_free(&r.headers);
  le_buffer_free(&r.body);
  return o;
}

typedef struct answer_case {
  const char *text;
  int eof, head;
  long status;
  const char *headers, *body;
  int keep_alive;
} answer_case;

static const answer_case CASES[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", 0, 0, 200,
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\n", "hello", 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n", 0, 0,
     200, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "abcde", 1},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-P: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
     0, 0, 201, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n", "ok", 1},
    {"HTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n", 0, 0, 204, "HTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n", "", 1},
    {"HTTP/1.1 304 Not Modified\r\n\r\n", 0, 0, 304, "HTTP/1.1 304 Not Modified\r\n\r\n", "", 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 0, 1, 200, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "", 1},
    {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 0, 0, 200,
     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", "x", 0},
    {"HTTP/1.0 200 OK\r\n\r\nto the end", 1, 0, 200, "HTTP/1.0 200 OK\r\n\r\n", "to the end", 0},
    {"HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", 0, 0, 500, "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", "", 1},
    {"HTTP/1.1 400 Bad\r\nX-E: Evil\x1b[31m\x07\x08\r\nContent-Length: 0\r\n\r\n", 0, 0, 400,
     "HTTP/1.1 400 Bad\r\nX-E: Evil\x1b[31m\x07\x08\r\nContent-Length: 0\r\n\r\n", "", 1},
};

/* Each answer read whole, then split in two at every byte, then a byte at a time. */
static void answers_read_alike_however_split(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
    const answer_case *k = &CASES[c];
    size_t len = strlen(k->text);
    size_t *cuts = malloc(len * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++) cuts[i] = i + 1;
    for (size_t split = 0; split <= len + 1; split++) {
      outcome o = split == len + 1 ? read_answer(k->text, cuts, len, k->eof, k->head, 0)
                                   : read_answer(k->text, &split, split > 0 && split < len, k->eof, k->head, 0);
      if (o.state != LE_HTTP_ANSWER_DONE) fail_msg("case %zu split %zu: state %d", c, split, o.state);
      assert_int_equal(o.status, k->status);
      assert_string_equal(o.headers, k->headers);
      assert_string_equal(o.body, k->body);
      if (o.keep_alive != k->keep_alive) fail_msg("case %zu split %zu: keep_alive %d", c, split, o.keep_alive);
    }
    free(cuts);
  }
}

/* More bytes after the answer (nobody asked for them): the connection is not kept. */
static void bytes_after_the_answer_close_the_connection(void **state) {
  (void)state;
  outcome o = read_answer("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", NULL, 0, 0, 0, 0);
  assert_int_equal(o.state, LE_HTTP_ANSWER_DONE);
  assert_string_equal(o.body, "x");
  assert_int_equal(o.keep_alive, 0);
}

static void too_large_answers_end_at_the_cap(void **state) {
  (void)state;
  size_t big = LE_HTTP_MAX_HEADER_BYTES + 100;
  char *text = malloc(big + 64);
  assert_non_null(text);
  int k = snprintf(text, 64, "HTTP/1.1 200 OK\r\nX-Big: ");
  memset(text + k, 'b', big);
  strcpy(text + k + big, "\r\n\r\n");
  le_http_response r;
  memset(&r, 0, sizeof r);
  le_http_answer a;
  le_http_answer_init(&a, &r, 0, 0);
  assert_int_equal(le_http_answer_feed(&a, text, strlen(text)), LE_HTTP_ANSWER_TOO_LARGE);
  assert_true(a.header_bytes > LE_HTTP_MAX_HEADER_BYTES);
  assert_true(r.headers.len <= LE_HTTP_MAX_HEADER_BYTES); /* nothing kept past the cap */
  le_buffer_free(&r.headers);
  free(text);
  /* a body past max_body, declared or not */
  outcome o = read_answer("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", NULL, 0, 0, 0, 10);
  assert_int_equal(o.state, LE_HTTP_ANSWER_TOO_LARGE);
  o = read_answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n0123456789ab\r\n0\r\n\r\n", NULL, 0, 0, 0, 10);
  assert_int_equal(o.state, LE_HTTP_ANSWER_TOO_LARGE);
  o = read_answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n", NULL, 0, 0, 0, 10);
  assert_int_equal(o.state, LE_HTTP_ANSWER_DONE);
}

static void what_is_not_an_answer_is_refused(void **state) {
  (void)state;
  le_http_response r;
  memset(&r, 0, sizeof r);
  le_http_answer a;
  le_http_answer_init(&a, &r, 0, 0);
  assert_int_equal(le_http_answer_feed(&a, "SSH-2.0-OpenSSH\r\n", 17), LE_HTTP_ANSWER_BAD);
  assert_non_null(a.bad);
  le_http_answer_init(&a, &r, 0, 0);
  assert_int_equal(le_http_answer_feed(&a, NULL, 0), LE_HTTP_ANSWER_BAD);
  assert_int_equal(a.seen, 0); /* nothing came: the caller may send the request again */
  assert_string_equal(a.bad, "the connection closed before an answer");
  le_http_answer_init(&a, &r, 0, 0);
  assert_int_equal(le_http_answer_feed(&a, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 42), LE_HTTP_ANSWER_MORE);
  assert_int_equal(le_http_answer_feed(&a, NULL, 0), LE_HTTP_ANSWER_BAD);
  assert_string_equal(a.bad, "the connection closed in the middle of the answer");
  le_buffer_free(&r.headers);
  le_buffer_free(&r.body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_get_has_its_host_and_nothing_else),
      cmocka_unit_test(a_post_has_its_lines_then_its_length),
      cmocka_unit_test(the_length_is_the_bodys_in_decimal),
      cmocka_unit_test(custom_lines_follow_libcurls_rules),
      cmocka_unit_test(answers_read_alike_however_split),
      cmocka_unit_test(bytes_after_the_answer_close_the_connection),
      cmocka_unit_test(too_large_answers_end_at_the_cap),
      cmocka_unit_test(what_is_not_an_answer_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
