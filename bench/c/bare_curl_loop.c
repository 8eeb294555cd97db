/* The floor for client CPU per request: libcurl, one reused easy handle (its
 * connection kept alive), N sequential GETs of a function (GetFunction) against
 * the same endpoint, with the header lines given (bench.py passes the signed
 * request's, signed once and replayed) but no signing, no JSON and no event loop.
 * Usage: bare_curl_loop URL N [HEADER-LINE...] */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long n = strtol(argv[2], NULL, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, argv[1]);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  struct curl_slist *headers = NULL;
  for (int i = 3; i < argc; i++) headers = curl_slist_append(headers, argv[i]);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  int failed = 0;
  long status = 0;
  for (long i = 0; i < n; i++)
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
      failed++;
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  curl_global_cleanup();
  printf("%ld requests, %d failed\n", n, failed);
  return failed ? 1 : 0;
}
