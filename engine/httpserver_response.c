/* httpserver_response.c — an HTTP/1.1 response's bytes (httpserver_response.h): the
 * status line, the headers of a Lua table (a field with CR or LF dropped), Content-Length,
 * Connection and the body, built in one C buffer. */
#include "httpserver_response.h"

#include <string.h>

#include <lua.h>

const char *le_response_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

/* Copies n bytes at p onto out, whose room the caller reserved (an append per piece, with
 * its reserve and a strlen, made a keep-alive answer's head ~1.2 k instructions). */
static void put(le_buffer *out, const void *p, size_t n) {
  memcpy(out->data + out->len, p, n);
  out->len += n;
}
#define PUT_TEXT(out, literal) put(out, literal, sizeof literal - 1)

/* Copies the decimal digits of v (what printf's %d / %zu write) onto out, which has room
 * for 24 bytes. */
static void put_decimal(le_buffer *out, long long v) {
  char digits[24];
  size_t n = sizeof digits;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    digits[--n] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) digits[--n] = '-';
  put(out, digits + n, sizeof digits - n);
}

int le_response_lines_ok(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol || eol + 1 >= end || eol[1] != '\n' || memchr(p, '\n', (size_t)(eol - p))) return 0;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (!colon || colon == p || memchr(p, ' ', (size_t)(colon - p))) return 0;
    p = eol + 2;
  }
  return 1;
}

/* The status line, with room reserved for a usual head and `more` bytes after it: no
 * realloc on the way. */
static int build_head(le_buffer *out, int status, size_t more) {
  const char *reason = le_response_reason(status); /* (at most 31 characters) */
  if (le_buffer_reserve(out, 512 + more)) return 1;
  PUT_TEXT(out, "HTTP/1.1 ");
  put_decimal(out, status);
  PUT_TEXT(out, " ");
  put(out, reason, strlen(reason));
  PUT_TEXT(out, "\r\n");
  return 0;
}

static int build_tail(le_buffer *out, const char *body, size_t blen, int close_after) {
  static const char KEEP[] = "\r\nConnection: keep-alive\r\n\r\n", CLOSE[] = "\r\nConnection: close\r\n\r\n";
  if (le_buffer_reserve(out, 16 + 24 + sizeof KEEP + blen)) return 1;
  PUT_TEXT(out, "Content-Length: ");
  put_decimal(out, (long long)blen);
  if (close_after) PUT_TEXT(out, CLOSE);
  else PUT_TEXT(out, KEEP);
  if (blen) put(out, body, blen);
  return 0;
}

int le_response_build_lines(int status, const char *lines, size_t n, const char *body, size_t blen, int close_after,
                            le_buffer *out) {
  return build_head(out, status, n + blen) | le_buffer_append(out, lines, n) | build_tail(out, body, blen, close_after);
}

/* The status line and the headers of the table (or the header lines of the string) at
 * headers_idx (0: none). */
int le_response_head(lua_State *L, int status, int headers_idx, le_buffer *out) {
  int bad = build_head(out, status, 0);
  if (headers_idx && lua_type(L, headers_idx) == LUA_TSTRING) {
    size_t n = 0;
    const char *lines = lua_tolstring(L, headers_idx, &n);
    bad |= le_buffer_append(out, lines, n);
  } else if (headers_idx) {
    lua_pushnil(L);
    while (lua_next(L, headers_idx)) {
      size_t nl = 0, vl = 0;
      /* never lua_tolstring a non-string key: it would confuse lua_next */
      const char *n = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nl) : NULL;
      const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vl) : NULL;
      /* a header with CR or LF would split the response */
      if (n && v && !memchr(n, '\r', nl) && !memchr(n, '\n', nl) && !memchr(v, '\r', vl) && !memchr(v, '\n', vl)) {
        bad |= le_buffer_append(out, n, nl) | le_buffer_append(out, ": ", 2) | le_buffer_append(out, v, vl) |
               le_buffer_append(out, "\r\n", 2);
      }
      lua_pop(L, 1);
    }
  }
  return bad;
}

/* The response: its head, Content-Length, Connection and the body. */
int le_response_build(lua_State *L, int status, int headers_idx, const char *body, size_t blen, int close_after,
                      le_buffer *out) {
  int bad = le_buffer_reserve(out, 512 + blen);
  bad |= le_response_head(L, status, headers_idx, out);
  return bad | build_tail(out, body, blen, close_after);
}
