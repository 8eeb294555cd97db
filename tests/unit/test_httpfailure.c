/* What a failed libcurl transfer says (httpfailure.c): each code's kind (the TLS and
 * protocol failures permanent, the connection's own failures not), the TLS message
 * naming the peer with libcurl's detail, libcurl's text when it wrote no detail, a
 * message cut to the buffer ending with "...", and the field a refused option sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "httpfailure.h"

static le_http_response failed(CURLcode code, const char *detail, const char *host) {
  le_http_response r;
  memset(&r, 0, sizeof r);
  snprintf(r.error, sizeof r.error, "%s", detail);
  le_http_failure(&r, code, host);
  return r;
}

static void each_code_has_its_kind(void **state) {
  (void)state;
  const struct {
    CURLcode code;
    const char *kind;
  } cases[] = {
      {CURLE_OPERATION_TIMEDOUT, "timeout"},        {CURLE_COULDNT_CONNECT, "connect"},
      {CURLE_COULDNT_RESOLVE_HOST, "connect"},      {CURLE_COULDNT_RESOLVE_PROXY, "connect"},
      {CURLE_RECV_ERROR, "reset"},                  {CURLE_SEND_ERROR, "reset"},
      {CURLE_GOT_NOTHING, "reset"},                 {CURLE_PARTIAL_FILE, "reset"},
      {CURLE_PEER_FAILED_VERIFICATION, "tls"},      {CURLE_SSL_CACERT_BADFILE, "tls"},
      {CURLE_SSL_CRL_BADFILE, "tls"},               {CURLE_SSL_ISSUER_ERROR, "tls"},
      {CURLE_SSL_INVALIDCERTSTATUS, "tls"},         {CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls"},
      {CURLE_SSL_CERTPROBLEM, "tls"},               {CURLE_SSL_CIPHER, "tls"},
      {CURLE_SSL_ENGINE_NOTFOUND, "tls"},           {CURLE_SSL_ENGINE_SETFAILED, "tls"},
      {CURLE_SSL_ENGINE_INITFAILED, "tls"},         {CURLE_UNSUPPORTED_PROTOCOL, "unsupported"},
      {CURLE_URL_MALFORMAT, "unsupported"},         {CURLE_NOT_BUILT_IN, "unsupported"},
      {CURLE_SSL_CONNECT_ERROR, "error"}, /* a handshake cut short may go through next time */
      {CURLE_WRITE_ERROR, "error"},                 {CURLE_FAILED_INIT, "error"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    le_http_response r = failed(cases[i].code, "", "https://h:443");
    if (strcmp(r.error_kind, cases[i].kind) != 0)
      fail_msg("code %d: kind %s, expected %s", (int)cases[i].code, r.error_kind, cases[i].kind);
  }
}

static void a_tls_failure_names_the_peer_with_libcurls_detail(void **state) {
  (void)state;
  const char *self_signed = "SSL certificate problem: self-signed certificate";
  le_http_response r = failed(CURLE_PEER_FAILED_VERIFICATION, self_signed, "https://127.0.0.1:8443");
  assert_string_equal(r.error, "TLS certificate verification failed for https://127.0.0.1:8443: "
                               "SSL certificate problem: self-signed certificate");
  r = failed(CURLE_SSL_CACERT_BADFILE, "error setting certificate file: /x.pem", "https://h:443");
  assert_string_equal(r.error, "the CA certificates cannot be loaded to verify https://h:443: "
                               "error setting certificate file: /x.pem");
  r = failed(CURLE_PEER_FAILED_VERIFICATION, "", "https://h:443"); /* no detail: libcurl's text for the code */
  char want[512];
  snprintf(want, sizeof want, "TLS certificate verification failed for https://h:443: %s",
           curl_easy_strerror(CURLE_PEER_FAILED_VERIFICATION));
  assert_string_equal(r.error, want);
}

static void other_failures_keep_libcurls_text_for_the_code(void **state) {
  (void)state;
  le_http_response r = failed(CURLE_COULDNT_CONNECT, "Failed to connect to h port 1: Connection refused", "http://h:1");
  assert_string_equal(r.error, curl_easy_strerror(CURLE_COULDNT_CONNECT));
  r = failed(CURLE_URL_MALFORMAT, "missing share in URL path for SMB", "smb://h:445");
  assert_string_equal(r.error, "missing share in URL path for SMB");
}

static void a_message_cut_to_the_buffer_reads_as_cut(void **state) {
  (void)state;
  char detail[sizeof((le_http_response *)0)->error];
  memset(detail, 'd', sizeof detail - 1);
  detail[sizeof detail - 1] = '\0';
  le_http_response r = failed(CURLE_PEER_FAILED_VERIFICATION, detail, "https://h:443");
  assert_int_equal(strlen(r.error), sizeof r.error - 1);
  assert_string_equal(r.error + sizeof r.error - 4, "...");
  assert_memory_equal(r.error, "TLS certificate verification failed for https://h:443: ddd", 58);
}

static void a_refused_option_is_named_by_the_field_it_sets(void **state) {
  (void)state;
  assert_string_equal(le_http_option_field("CURLOPT_CUSTOMREQUEST"), "method");
  assert_string_equal(le_http_option_field("CURLOPT_URL"), "URL");
  assert_string_equal(le_http_option_field("CURLOPT_COPYPOSTFIELDS"), "body");
  assert_string_equal(le_http_option_field("CURLOPT_HTTPHEADER"), "headers");
  assert_string_equal(le_http_option_field("CURLOPT_CAINFO"), "CA bundle");
  assert_string_equal(le_http_option_field("CURLOPT_TCP_KEEPALIVE"), "CURLOPT_TCP_KEEPALIVE");
  assert_string_equal(le_http_option_field(NULL), "options");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_code_has_its_kind),
      cmocka_unit_test(a_tls_failure_names_the_peer_with_libcurls_detail),
      cmocka_unit_test(other_failures_keep_libcurls_text_for_the_code),
      cmocka_unit_test(a_message_cut_to_the_buffer_reads_as_cut),
      cmocka_unit_test(a_refused_option_is_named_by_the_field_it_sets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
