/* httpeasy.h — a request's libcurl easy handle, for http.c: handles reused (a finished
 * one reset, as curl_easy_init leaves it, and kept for the next requests, up to 64),
 * the options a request spec sets (always in the same order: TLS peers verified,
 * with the CA file set by le_http_easy_set_ca_file when there is one, libcurl's error
 * detail written in the response's `error` (httpfailure.h),
 * keep-alive, "no proxy" when no proxy variable was set at open, an address host's
 * DNS entry kept for good, the method, the
 * body, the header lines then "Expect:" and "Accept:"), and the response
 * written into the transfer: the final header block (a new status line, after 100
 * Continue, starts it again) and the body, ended as too_large past 64 KiB of headers,
 * past max_body, or at a declared Content-Length past max_body. */
#ifndef LAMBDAENG_HTTPEASY_H
#define LAMBDAENG_HTTPEASY_H

#include <curl/curl.h>

#include "http.h"
#include "httptransfer.h"

/* Reads whether any proxy variable is set (the environment does not change while the
 * process runs). Called as the client starts. */
void le_http_easy_open(void);
/* TLS peers verified with the CA certificates in path (PEM) from the next request on,
 * instead of the system's; NULL: the system's again. */
int le_http_easy_set_ca_file(const char *path, le_error *err);
/* Cleans up the handles kept for reuse. */
void le_http_easy_close(void);
/* A reset handle kept from an earlier request, or a new one (NULL: libcurl refused). */
CURL *le_http_easy_take(void);
/* A finished request's handle, out of its multi handle: kept (reset) or cleaned up. */
void le_http_easy_give_back(CURL *easy);
/* Sets t->easy up for spec, with t as its private pointer and the response's writer;
 * t->headers is the header list it sends (NULL when out of memory), t->url the parsed
 * URL it reads (httpurl.h; NULL: libcurl parses the text itself), both for the caller
 * to free and release once the handle is reset or cleaned up. Returns the first
 * option libcurl refused, CURLE_OK when none. */
CURLcode le_http_easy_setup(le_http_transfer *t, const le_http_request_spec *spec);
/* Fills easy_created of stats. */
void le_http_easy_stats(le_http_stats *stats);

#endif
