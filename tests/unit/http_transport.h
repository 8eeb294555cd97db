/* http_transport.h — what the HTTP client's tests (test_http*.c) share to run a test with
 * each transport: the own HTTP/1.1 transport for plain http:// (the default) and libcurl
 * (LAMBDAENG_HTTP_TRANSPORT=curl): a test given force_curl as its setup and
 * transport_default as its teardown runs with libcurl. */
#ifndef LAMBDAENG_HTTP_TRANSPORT_TEST_H
#define LAMBDAENG_HTTP_TRANSPORT_TEST_H

#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* LAMBDAENG_HTTP_TRANSPORT=curl for a test (read as the client starts, at its first
 * request): what is libcurl's alone (easy handles, multi handles), and the cases both
 * transports must pass alike, run once each way. */
static inline int force_curl(void **state) {
  (void)state;
  return setenv("LAMBDAENG_HTTP_TRANSPORT", "curl", 1);
}

static inline int transport_default(void **state) {
  (void)state;
  return unsetenv("LAMBDAENG_HTTP_TRANSPORT");
}

static inline int curl_forced(void) {
  const char *t = getenv("LAMBDAENG_HTTP_TRANSPORT");
  return t && strcmp(t, "curl") == 0;
}

#endif
