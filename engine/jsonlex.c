#include "jsonlex.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

static int hex4(const unsigned char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i], x;
    if (c >= '0' && c <= '9') x = c - '0';
    else if (c >= 'a' && c <= 'f') x = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') x = c - 'A' + 10;
    else return -1;
    v = (v << 4) | x;
  }
  *out = v;
  return 0;
}

size_t le_jsonlex_escape(const unsigned char *p, const unsigned char *end, unsigned *cp) {
  if (end - p < 2) return 0;
  switch (p[1]) {
  case '"': *cp = '"'; return 2;
  case '\\': *cp = '\\'; return 2;
  case '/': *cp = '/'; return 2;
  case 'b': *cp = '\b'; return 2;
  case 'f': *cp = '\f'; return 2;
  case 'n': *cp = '\n'; return 2;
  case 'r': *cp = '\r'; return 2;
  case 't': *cp = '\t'; return 2;
  case 'u':
    if (end - p < 6 || hex4(p + 2, cp) != 0) return 0;
    if (*cp == 0 || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0; /* the reference's cases */
    return 6;
  default: return 0;
  }
}

const unsigned char *le_jsonlex_unescape(const unsigned char *start, const unsigned char *from,
                                         const unsigned char *end, unsigned char *out, size_t *len) {
  unsigned char *o = out;
  const unsigned char *p = from;
  memcpy(o, start, (size_t)(from - start));
  o += from - start;
  while (p < end && *p != '"') {
    unsigned c = *p;
    if (c < 0x20) return NULL;
    if (c != '\\') {
      *o++ = (unsigned char)c;
      p++;
      continue;
    }
    unsigned cp;
    size_t n = le_jsonlex_escape(p, end, &cp);
    if (n == 0) return NULL;
    if (cp < 0x80) {
      *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
      *o++ = (unsigned char)(0xC0 | (cp >> 6));
      *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
      *o++ = (unsigned char)(0xE0 | (cp >> 12));
      *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    p += n;
  }
  if (p >= end) return NULL;
  *len = (size_t)(o - out);
  return p + 1;
}

static int is_digit(const unsigned char *p, const unsigned char *end) { return p < end && *p >= '0' && *p <= '9'; }

int le_jsonlex_number(const unsigned char *p, const unsigned char *end, le_jsonlex_num *n) {
  n->start = p;
  n->negative = 0;
  n->integral = 1;
  if (p < end && *p == '-') n->negative = 1, p++;
  if (!is_digit(p, end)) return -1;
  n->digits = p;
  if (*p == '0') {
    p++;
    if (is_digit(p, end)) return -1; /* a leading zero */
  } else {
    while (is_digit(p, end)) p++;
  }
  n->ndigits = (size_t)(p - n->digits);
  if (p < end && *p == '.') {
    p++;
    if (!is_digit(p, end)) return -1;
    while (is_digit(p, end)) p++;
    n->integral = 0;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (!is_digit(p, end)) return -1;
    while (is_digit(p, end)) p++;
    n->integral = 0;
  }
  n->end = p;
  return 0;
}

long long le_jsonlex_short_integer(const le_jsonlex_num *n) {
  long long v = 0;
  for (size_t i = 0; i < n->ndigits; i++) v = v * 10 + (n->digits[i] - '0');
  return n->negative ? -v : v;
}

int le_jsonlex_number_value(const le_jsonlex_num *n, double *x, int *is_integer, long long *i) {
  char buf[64];
  size_t len = (size_t)(n->end - n->start);
  if (len >= sizeof buf || localeconv()->decimal_point[0] != '.') return -1;
  memcpy(buf, n->start, len);
  buf[len] = 0;
  *x = strtod(buf, NULL);
  if (isinf(*x)) return -1;
  lua_Integer li = 0;
  *is_integer = *x == floor(*x) && fabs(*x) < 9007199254740992.0 && lua_numbertointeger(*x, &li);
  *i = (long long)li;
  return 0;
}

int le_jsonlex_integer64(const le_jsonlex_num *n, long long *v) {
  if (!n->integral || n->ndigits > 19) return -1;
  unsigned long long m = 0, limit = n->negative ? 9223372036854775808ULL : 9223372036854775807ULL;
  for (size_t i = 0; i < n->ndigits; i++) {
    unsigned digit = (unsigned)(n->digits[i] - '0');
    if (m > (limit - digit) / 10) return -1;
    m = m * 10 + digit;
  }
  *v = n->negative ? (long long)(0ULL - m) : (long long)m;
  return 0;
}

int le_jsonlex_real(const le_jsonlex_num *n, double *x) {
  char buf[64], *stop;
  size_t len = (size_t)(n->end - n->start);
  if (len >= sizeof buf) return -1;
  memcpy(buf, n->start, len);
  buf[len] = 0;
  errno = 0;
  *x = strtod(buf, &stop);
  return stop == buf + len && errno != ERANGE ? 0 : -1;
}
