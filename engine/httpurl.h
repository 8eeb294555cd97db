/* httpurl.h — the client's URLs parsed once, for httpeasy.c. libcurl 7.88, given a
 * transfer's URL as text (CURLOPT_URL), parses it as the transfer starts and prints the
 * parsed URL back whole with its own printf, a byte at a time (~13 k instructions an
 * Invoke); given the parsed handle as well (CURLOPT_CURLU), it copies that handle
 * instead. A URL is parsed here with the flags libcurl would use itself, and the parsed
 * handle is kept for the next transfers to the same URL text (an Invoke's URL is the
 * same for every call to a function): at most LE_HTTP_URLS are kept, a handle in use
 * is never freed, and past that many in use a transfer gets a handle of its own.
 * A URL libcurl does not parse gets no handle: the transfer then fails in libcurl as
 * before. A plain http:// URL (httpurl_plain.h) is read without libcurl, which is loaded
 * (curlload.h) only to parse the others; its handle is made when libcurl is to send it
 * (LAMBDAENG_HTTP_TRANSPORT=curl, a proxy). Each also knows whether its host is an IP
 * address (httpeasy.c then keeps its DNS entry for good). Nothing here is used after le_http_url_close. */
#ifndef LAMBDAENG_HTTPURL_H
#define LAMBDAENG_HTTPURL_H

#include <stddef.h>

#include <curl/curl.h>

typedef struct le_http_url le_http_url;

/* Parses url into handle as a transfer's URL is parsed (the flags libcurl uses). */
CURLUcode le_http_url_set(CURLU *handle, const char *url);
/* The parsed form of url for one transfer, held until le_http_url_release; NULL when
 * libcurl does not parse it or memory ran out. */
le_http_url *le_http_url_take(const char *url);
/* Its parsed handle, for CURLOPT_CURLU (valid while it is held): a plain URL's made at the
 * first call once libcurl is loaded; NULL when libcurl is not, or out of memory. */
CURLU *le_http_url_handle(le_http_url *u);
/* Whether its host is an IP address (IPv4, or IPv6 in brackets), not a name to resolve. */
int le_http_url_host_is_address(const le_http_url *u);
/* An http:// URL's parts as the own transport (httpown.c) sends them, as libcurl would. */
typedef struct le_http_url_wire {
  char *host;        /* to connect to: a name, an IPv4 address, or an IPv6 one without brackets */
  char *host_header; /* Host's value: host, with ":port" unless the port is 80 */
  char *target;      /* the request line's target: path, and "?query" when there is one */
  int port;
  int usable;
} le_http_url_wire;
/* Its parts when it is an http:// URL the own transport can send (no user, no IPv6 zone);
 * NULL otherwise. Valid while it is held. */
const le_http_url_wire *le_http_url_wire_parts(const le_http_url *u);
/* A transfer no longer needs it (its easy handle was reset or cleaned up). */
void le_http_url_release(le_http_url *u);
/* Frees the parsed URLs kept (none may be held any more). */
void le_http_url_close(void);
/* How many URLs were parsed so far (the rest were found kept). */
size_t le_http_url_parsed(void);

#endif
