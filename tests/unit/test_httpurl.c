/* The plain http:// URLs read without libcurl (httpurl_plain.c) against libcurl's own
 * parse of them (loaded by curlload.c), and libcurl loaded only for the other URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "curlload.h"
#include "httpurl.h"
#include "httpurl_plain.h"

/* Runs first, while nothing in this process has loaded libcurl: plain URLs are read (the
 * parts the own transport sends, whether the host is an address) without it; the first
 * other URL loads it. */
static void libcurl_is_loaded_only_for_a_url_that_is_not_plain(void **state) {
  (void)state;
  static const char *const plain[] = {"http://127.0.0.1:9001/2015-03-31/functions/f/invocations?Qualifier=%24LATEST",
                                      "http://localhost/", "http://h.example:8080", "http://h?x=1"};
  static const char *const target[] = {"/2015-03-31/functions/f/invocations?Qualifier=%24LATEST", "/", "/", "/?x=1"};
  static const char *const host_header[] = {"127.0.0.1:9001", "localhost", "h.example:8080", "h"};
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
    le_http_url *u = le_http_url_take(plain[i]);
    assert_non_null(u);
    const le_http_url_wire *w = le_http_url_wire_parts(u);
    assert_non_null(w);
    assert_string_equal(w->target, target[i]);
    assert_string_equal(w->host_header, host_header[i]);
    assert_int_equal(le_http_url_host_is_address(u), i == 0);
    le_http_url_release(u);
  }
  assert_false(le_curl_loaded());
  le_http_url *u = le_http_url_take("http://10.1.2/"); /* libcurl reads it as 10.1.0.2 */
  assert_true(le_curl_loaded());
  assert_non_null(u);
  assert_string_equal(le_http_url_wire_parts(u)->host, "10.1.0.2");
  assert_int_equal(le_http_url_host_is_address(u), 1);
  le_http_url_release(u);
  le_http_url_close();
}

/* One part of libcurl's parse as text, NULL when it has none. */
static char *curl_part(CURLU *h, CURLUPart part, unsigned flags) {
  char *value = NULL;
  if (curl_url_get(h, part, &value, flags) != CURLUE_OK) return NULL;
  char *copy = strdup(value);
  curl_free(value);
  return copy;
}

static void assert_span(const char *url, const char *what, const char *want, const char *p, size_t n) {
  if (!want || strlen(want) != n || memcmp(want, p, n) != 0)
    fail_msg("%s: %s is \"%.*s\", libcurl's \"%s\"", url, what, (int)n, p, want ? want : "(none)");
}

/* url, when httpurl_plain.c reads it, has the parts libcurl gives it. Returns whether it did. */
static int check_against_libcurl(const char *url) {
  le_http_plain_url p;
  if (!le_http_plain_url_parse(url, strlen(url), &p)) return 0;
  CURLU *h = curl_url();
  assert_non_null(h);
  if (le_http_url_set(h, url) != CURLUE_OK) fail_msg("%s: read as plain, refused by libcurl", url);
  char *scheme = curl_part(h, CURLUPART_SCHEME, 0), *host = curl_part(h, CURLUPART_HOST, 0);
  char *port = curl_part(h, CURLUPART_PORT, 0), *dport = curl_part(h, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  char *path = curl_part(h, CURLUPART_PATH, 0), *query = curl_part(h, CURLUPART_QUERY, 0);
  char *user = curl_part(h, CURLUPART_USER, 0), *fragment = curl_part(h, CURLUPART_FRAGMENT, 0);
  if (!scheme || strcmp(scheme, "http") != 0) fail_msg("%s: libcurl's scheme %s", url, scheme);
  assert_span(url, "host", host, p.host, p.host_len);
  assert_span(url, "path", path, p.path, p.path_len);
  if (p.query) assert_span(url, "query", query, p.query, p.query_len);
  else if (query) fail_msg("%s: no query, libcurl's \"%s\"", url, query);
  if (p.port_given != (port != NULL)) fail_msg("%s: port given %d, libcurl's %s", url, p.port_given, port);
  if (!dport || atoi(dport) != p.port) fail_msg("%s: port %d, libcurl's %s", url, p.port, dport);
  if (user || fragment) fail_msg("%s: libcurl finds a user or a fragment", url);
  int literal = p.host_is_address;
  if (literal != (strspn(host, "0123456789.") == strlen(host)))
    fail_msg("%s: host is an address: %d", url, literal);
  free(scheme), free(host), free(port), free(dport), free(path), free(query), free(user), free(fragment);
  curl_url_cleanup(h);
  return 1;
}

/* Every combination of these pieces: what httpurl_plain.c reads is what libcurl reads, and
 * what it leaves to libcurl includes each form libcurl rewrites. */
static void plain_urls_have_the_parts_libcurl_gives_them(void **state) {
  (void)state;
  le_error err;
  assert_int_equal(le_curl_load("http://h/", &err), LE_OK);
  static const char *const schemes[] = {"http://", "HTTP://", "https://", "http:/", "ftp://"};
  static const char *const hosts[] = {"h", "LocalHost", "127.0.0.1", "1.2.3", "01.2.3.4", "0", "0x7f.0.0.1",
                                      "255.255.255.255", "256.1.1.1", "1.2.3.4.5", "1.2.3.4.", "a_b.c", "h.", "1a.b",
                                      "-h", "[::1]", "", "u@h", "u:p@h", "h-x.example", "a..b", "h%41", "h~"};
  static const char *const ports[] = {"", ":80", ":080", ":0", ":65535", ":65536", ":", ":9001", ":9x"};
  static const char *const paths[] = {"",      "/",   "/a",    "/a/../b", "/.",      "/..",   "/./",   "//k",
                                      "/%7E",  "/a b", "/\xc3\xa9", "/{x}", "/a;b=c,d!$&'()*+@:", "/.well", "/..x",
                                      "/a/.",  "/a\\b", "/a%2e%2e/b", "/x/..y/.z", "/~u"};
  static const char *const queries[] = {"", "?", "?x=1", "?a?b", "?/../", "?%20", "?a b", "?q=\"x\""};
  static const char *const fragments[] = {"", "#", "#f"};
  char url[256];
  size_t plain = 0, all = 0;
  for (size_t s = 0; s < sizeof schemes / sizeof *schemes; s++)
    for (size_t h = 0; h < sizeof hosts / sizeof *hosts; h++)
      for (size_t o = 0; o < sizeof ports / sizeof *ports; o++)
        for (size_t p = 0; p < sizeof paths / sizeof *paths; p++)
          for (size_t q = 0; q < sizeof queries / sizeof *queries; q++)
            for (size_t f = 0; f < sizeof fragments / sizeof *fragments; f++) {
              snprintf(url, sizeof url, "%s%s%s%s%s%s", schemes[s], hosts[h], ports[o], paths[p], queries[q],
                       fragments[f]);
              plain += (size_t)check_against_libcurl(url);
              all++;
            }
  /* (those read as plain: "http://", 8 of the hosts, 4 of the ports, 11 of the paths, 6 of
   * the queries, no fragment; and "http:/" + "/a" or "/x/..y/.z" with those queries) */
  if (plain != 8 * 4 * 11 * 6 + 2 * 6) fail_msg("%zu of %zu read as plain", plain, all);
  static const char *const left[] = {"http://1.2.3/", "http://01.2.3.4/", "http://h:080/", "http://h/a/../b",
                                     "http://h/p/.", "http://h/p#f", "http://[::1]:9001/", "http://u@h/",
                                     "http://h/a b", "HTTP://h/"};
  le_http_plain_url p;
  for (size_t i = 0; i < sizeof left / sizeof *left; i++)
    if (le_http_plain_url_parse(left[i], strlen(left[i]), &p)) fail_msg("%s read as plain", left[i]);
  /* The longest URL libcurl takes is plain; one byte more is libcurl's to refuse. */
  char *longest = malloc(LE_HTTP_PLAIN_URL_MAX + 2);
  assert_non_null(longest);
  memcpy(longest, "http://h/", 9);
  memset(longest + 9, 'a', LE_HTTP_PLAIN_URL_MAX + 1 - 9);
  longest[LE_HTTP_PLAIN_URL_MAX] = '\0';
  assert_true(check_against_libcurl(longest));
  longest[LE_HTTP_PLAIN_URL_MAX] = 'a';
  longest[LE_HTTP_PLAIN_URL_MAX + 1] = '\0';
  assert_false(le_http_plain_url_parse(longest, LE_HTTP_PLAIN_URL_MAX + 1, &p));
  CURLU *h = curl_url();
  assert_int_not_equal(le_http_url_set(h, longest), CURLUE_OK);
  curl_url_cleanup(h);
  free(longest);
}

/* Every byte, and every pair of printable ones, at each place of a URL: whatever
 * httpurl_plain.c reads as plain, libcurl reads the same way. */
static void every_byte_is_read_as_libcurl_reads_it(void **state) {
  (void)state;
  le_error err;
  assert_int_equal(le_curl_load("http://h/", &err), LE_OK);
  static const char *const places[] = {"http://h/a%sb", "http://h/%s",  "http://h/?%s", "http://h%s/", "http://h:1%s/",
                                       "http://%sh/",   "http://h/.%s", "http://h/..%s", "http://h/%s./", "http://h?%s"};
  char url[64], bytes[3];
  size_t plain = 0;
  for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
    for (int c = 1; c < 256; c++) {
      bytes[0] = (char)c, bytes[1] = '\0';
      snprintf(url, sizeof url, places[i], bytes);
      plain += (size_t)check_against_libcurl(url);
      for (int d = ' '; d < 0x7f && c >= ' ' && c < 0x7f; d++) {
        bytes[1] = (char)d, bytes[2] = '\0';
        snprintf(url, sizeof url, places[i], bytes);
        plain += (size_t)check_against_libcurl(url);
      }
    }
  }
  assert_true(plain > 40000); /* (most pairs in the path and the query) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(libcurl_is_loaded_only_for_a_url_that_is_not_plain),
      cmocka_unit_test(plain_urls_have_the_parts_libcurl_gives_them),
      cmocka_unit_test(every_byte_is_read_as_libcurl_reads_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
