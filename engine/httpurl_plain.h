/* httpurl_plain.h — the plain http:// URLs whose parse by libcurl 7.88 is known without
 * asking it (so that a command talking to a local endpoint never loads libcurl,
 * curlload.h): "http://" in lower case; a host that is a name (a letter first, then
 * letters, digits, '-', '.', '_') or an IPv4 address in its canonical dotted form (four
 * numbers 0-255 without leading zeros); an optional ":port" (1-65535, no leading zero); a
 * path with no "." or ".." segment and an optional "?query", both of printable ASCII other
 * than space, '"', '#', '<', '>', '\', '^', '`', '{', '|' and '}'; at most 8,000,000 bytes
 * in all (libcurl refuses a longer URL: CURL_MAX_INPUT_LENGTH). libcurl keeps each part
 * of such a URL as it is written (an empty path as "/", an empty query as ""), which
 * tests/unit/test_httpurl.c checks against libcurl itself. Any other URL (https, a user, a
 * fragment, IPv6, an IPv4 address libcurl would rewrite, dot segments, other bytes) is
 * not recognised here: libcurl parses it. */
#ifndef LAMBDAENG_HTTPURL_PLAIN_H
#define LAMBDAENG_HTTPURL_PLAIN_H

#include <stddef.h>

#define LE_HTTP_PLAIN_URL_MAX 8000000 /* libcurl 7.88's CURL_MAX_INPUT_LENGTH */

/* A recognised URL's parts, as spans of its text. */
typedef struct le_http_plain_url {
  const char *host;
  size_t host_len;
  const char *path; /* "/" when the URL has none */
  size_t path_len;
  const char *query; /* after '?' (possibly empty); NULL without '?' */
  size_t query_len;
  const char *port_text; /* its digits ("80" when not given) */
  size_t port_len;
  int port;              /* 80 when not given */
  int port_given;        /* the URL has ":port" */
  int host_is_address;
} le_http_plain_url;

/* Whether url[0..len) is such a URL; its parts in *out when it is. */
int le_http_plain_url_parse(const char *url, size_t len, le_http_plain_url *out);

#endif
