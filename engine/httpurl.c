/* httpurl.c — see httpurl.h. */
#include "httpurl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlload.h"
#include "httpurl_plain.h"

#define LE_HTTP_URLS 32 /* parsed URLs kept for reuse */

struct le_http_url {
  CURLU *handle; /* NULL for a plain one (httpurl_plain.h) until libcurl needs it */
  size_t users; /* transfers holding it */
  size_t len;
  unsigned long used; /* when last taken (for which kept one to let go) */
  int kept;           /* in U.kept; else freed by its last release */
  int literal_host;   /* its host is an IP address, not a name */
  le_http_url_wire wire; /* its parts as the own transport sends them (wire.usable 0: none) */
  char text[];
};

static struct {
  le_http_url *kept[LE_HTTP_URLS];
  size_t count;      /* kept[0 .. count) */
  size_t last;       /* the kept one found or made last */
  unsigned long now; /* a counter of takes */
  size_t parsed;
} U;

/* Whether the parsed URL's host is an IPv4 or IPv6 address (libcurl gives the latter in brackets). */
static int host_is_address(CURLU *handle) {
  char *host = NULL;
  int literal = 0;
  if (curl_url_get(handle, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    unsigned char addr[16];
    size_t len = strlen(host);
    if (inet_pton(AF_INET, host, addr) == 1) {
      literal = 1;
    } else if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < 64) {
      char inner[64];
      memcpy(inner, host + 1, len - 2);
      inner[len - 2] = '\0';
      literal = inet_pton(AF_INET6, inner, addr) == 1;
    }
  }
  curl_free(host);
  return literal;
}

static void url_free(le_http_url *u) {
  curl_url_cleanup(u->handle);
  free(u->wire.host);
  free(u->wire.host_header);
  free(u->wire.target);
  free(u);
}

/* The parts of an http:// URL the own transport needs (httpown.c): the host to connect
 * to (an IPv6 address without its brackets), its port, the Host header's value (the port
 * unless it is 80) and the request target (path, then "?" and the query when there is
 * one), all as libcurl 7.88 sends them. An https:// URL, one with a user or an IPv6 zone,
 * or one memory ran out for, has none. */
static void wire_parts(le_http_url *u) {
  le_http_url_wire *w = &u->wire;
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL, *zone = NULL;
  CURLU *h = u->handle;
  int ok = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && strcmp(scheme, "http") == 0 &&
           curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
           curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
           curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
           curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
           curl_url_get(h, CURLUPART_ZONEID, &zone, 0) != CURLUE_OK;
  if (ok && curl_url_get(h, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = NULL;
  long p = ok ? strtol(port, NULL, 10) : 0;
  if (ok && p > 0 && p < 65536) {
    size_t hl = strlen(host), pl = strlen(path), ql = query ? strlen(query) + 1 : 0;
    int bracketed = hl > 2 && host[0] == '[';
    w->host = malloc(hl + 1);
    w->host_header = malloc(hl + 8);
    w->target = malloc(pl + ql + 1);
    if (w->host && w->host_header && w->target) {
      memcpy(w->host, host + bracketed, hl - 2 * bracketed);
      w->host[hl - 2 * bracketed] = '\0';
      if (p == 80) snprintf(w->host_header, hl + 8, "%s", host);
      else snprintf(w->host_header, hl + 8, "%s:%ld", host, p);
      snprintf(w->target, pl + ql + 1, "%s%s%s", path, query ? "?" : "", query ? query : "");
      w->port = (int)p;
      w->usable = 1;
    }
  }
  curl_free(scheme), curl_free(host), curl_free(port), curl_free(path), curl_free(query), curl_free(user), curl_free(zone);
}

/* The n bytes at a, then the m at b (m may be 0), as a new string; NULL: out of memory. */
static char *joined(const char *a, size_t n, const char *b, size_t m) {
  char *s = malloc(n + m + 1);
  if (!s) return NULL;
  memcpy(s, a, n);
  memcpy(s + n, b, m);
  s[n + m] = '\0';
  return s;
}

/* A plain URL's parts as wire_parts finds them in libcurl's parse of it (httpurl_plain.h),
 * copied without printf (~900 instructions a call, three a URL). */
static void plain_wire_parts(le_http_url *u, const le_http_plain_url *p) {
  le_http_url_wire *w = &u->wire;
  char port[8] = ":"; /* ":port" unless it is 80 (a plain port has at most 5 digits) */
  size_t port_len = 0;
  if (p->port != 80) {
    memcpy(port + 1, p->port_text, p->port_len);
    port_len = p->port_len + 1;
  }
  w->host = joined(p->host, p->host_len, "", 0);
  w->host_header = joined(p->host, p->host_len, port, port_len);
  w->target = p->query ? joined(p->path, p->path_len, p->query - 1, p->query_len + 1) /* "?query" follows the path */
                       : joined(p->path, p->path_len, "", 0);
  if (!w->host || !w->host_header || !w->target) return;
  w->port = p->port;
  w->usable = 1;
}

/* url parsed as libcurl 7.88 parses a transfer's CURLOPT_URL (parseurlandfillconn's
 * flags, with CURLOPT_PATH_AS_IS and CURLOPT_DISALLOW_USERNAME_IN_URL off). */
CURLUcode le_http_url_set(CURLU *handle, const char *url) {
  return curl_url_set(handle, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
}

static le_http_url *url_parse(const char *url, size_t len) {
  le_http_url *u = malloc(sizeof *u + len + 1);
  if (!u) return NULL;
  /* A plain URL is read here: libcurl is loaded only for the others (curlload.h). */
  le_http_plain_url plain;
  int is_plain = le_http_plain_url_parse(url, len, &plain);
  u->handle = is_plain || le_curl_load(url, NULL) != LE_OK ? NULL : curl_url();
  if (!is_plain && (!u->handle || le_http_url_set(u->handle, url) != CURLUE_OK)) {
    curl_url_cleanup(u->handle);
    free(u);
    return NULL;
  }
  memcpy(u->text, url, len + 1);
  u->len = len;
  u->users = 0;
  u->kept = 0;
  u->literal_host = is_plain ? plain.host_is_address : host_is_address(u->handle);
  memset(&u->wire, 0, sizeof u->wire);
  if (is_plain) plain_wire_parts(u, &plain);
  else wire_parts(u);
  U.parsed++;
  return u;
}

/* Where a new one is kept: a free place, else the least recently taken one nobody holds
 * (freed); LE_HTTP_URLS when every one kept is held. */
static size_t place_for_new(void) {
  if (U.count < LE_HTTP_URLS) return U.count++;
  size_t best = LE_HTTP_URLS;
  for (size_t i = 0; i < U.count; i++)
    if (U.kept[i]->users == 0 && (best == LE_HTTP_URLS || U.kept[i]->used < U.kept[best]->used)) best = i;
  if (best < LE_HTTP_URLS) url_free(U.kept[best]);
  return best;
}

static int same(const le_http_url *u, const char *url, size_t len) {
  return u->len == len && memcmp(u->text, url, len) == 0;
}

le_http_url *le_http_url_take(const char *url) {
  size_t len = strlen(url);
  le_http_url *u = NULL;
  if (U.last < U.count && same(U.kept[U.last], url, len)) {
    u = U.kept[U.last];
  } else {
    for (size_t i = 0; i < U.count && !u; i++)
      if (same(U.kept[i], url, len)) u = U.kept[U.last = i];
  }
  if (!u) {
    u = url_parse(url, len);
    if (!u) return NULL;
    size_t at = place_for_new();
    if (at < LE_HTTP_URLS) {
      U.kept[at] = u;
      u->kept = 1;
      U.last = at;
    }
  }
  u->users++;
  u->used = ++U.now;
  return u;
}

CURLU *le_http_url_handle(le_http_url *u) {
  if (!u->handle && le_curl_loaded()) { /* a plain one, now wanted by libcurl */
    u->handle = curl_url();
    if (u->handle && le_http_url_set(u->handle, u->text) != CURLUE_OK) {
      curl_url_cleanup(u->handle);
      u->handle = NULL;
    }
  }
  return u->handle;
}

int le_http_url_host_is_address(const le_http_url *u) { return u->literal_host; }

const le_http_url_wire *le_http_url_wire_parts(const le_http_url *u) { return u->wire.usable ? &u->wire : NULL; }

void le_http_url_release(le_http_url *u) {
  if (--u->users == 0 && !u->kept) url_free(u);
}

void le_http_url_close(void) {
  for (size_t i = 0; i < U.count; i++) url_free(U.kept[i]);
  U.count = U.last = 0;
}

size_t le_http_url_parsed(void) { return U.parsed; }
