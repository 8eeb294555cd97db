/* httpfailure.h — what a failed libcurl transfer says: its error kind and message, from
 * libcurl's code and the detail libcurl wrote in the transfer's error buffer (the
 * response's `error`, set as CURLOPT_ERRORBUFFER by httpeasy.c). Kinds:
 *   "timeout"; "connect" (no connection, no name); "reset" (the connection broke);
 *   "tls" (permanent: the peer's certificate not verified, the CA certificates or the
 *   client certificate unusable, no TLS engine or cipher) with "TLS certificate
 *   verification failed for <scheme://host:port>: <libcurl's detail>" or the like;
 *   "unsupported" (permanent: a protocol or URL libcurl cannot use); else "error".
 * "tls" and "unsupported" are never worth another attempt; the rest may be. And the
 * field an option libcurl refused to set up sets, for le_http_start's message. */
#ifndef LAMBDAENG_HTTPFAILURE_H
#define LAMBDAENG_HTTPFAILURE_H

#include <curl/curl.h>

#include "http.h"

/* What the request field set by a libcurl option is, for a message: "CURLOPT_CUSTOMREQUEST"
 * is "method", CURLOPT_URL "URL", ...; another option its own name; NULL "options". */
const char *le_http_option_field(const char *option);
/* Sets r->error_kind and r->error for code (not CURLE_OK); host names the peer
 * (scheme://host:port) in a TLS message. r->error holds libcurl's detail on entry. */
void le_http_failure(le_http_response *r, CURLcode code, const char *host);

#endif
