/* jsonload.c — see jsonload.h. A recursive descent over the bytes in memory, building
 * the values with jansson's own constructors (json_stringn and json_object_setn_new check
 * UTF-8 as jansson's parser does); every doubt returns NULL and the caller asks jansson. */
#include "jsonload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "error.h"

typedef struct {
  const unsigned char *p, *end;
  int depth;
  le_buffer scratch; /* the last string read that had escapes, decoded */
} parser;

static json_t *parse_value(parser *ps);

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static void skip_space(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static int hex4(const unsigned char *s, const unsigned char *end, unsigned *out) {
  if (end - s < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

static int put_utf8(le_buffer *b, unsigned cp) {
  unsigned char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (unsigned char)(0xC0 | cp >> 6);
    u[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (unsigned char)(0xE0 | cp >> 12);
    u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (unsigned char)(0xF0 | cp >> 18);
    u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return le_buffer_append(b, u, n);
}

/* The escape at p (its backslash): appended to scratch; the byte after it, or NULL.
 * \u0000 and surrogates that do not pair are refused, as jansson refuses them. */
static const unsigned char *decode_escape(parser *ps, const unsigned char *p) {
  static const char plain[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
  if (ps->end - p < 2) return NULL;
  const char *at = p[1] ? strchr(plain, p[1]) : NULL;
  if (at) return le_buffer_append(&ps->scratch, &meaning[at - plain], 1) == LE_OK ? p + 2 : NULL;
  if (p[1] != 'u') return NULL;
  unsigned cp, low;
  if (hex4(p + 2, ps->end, &cp) != 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return NULL;
  p += 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (ps->end - p < 2 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, ps->end, &low) != 0 ||
        low < 0xDC00 || low > 0xDFFF)
      return NULL;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    p += 6;
  }
  return put_utf8(&ps->scratch, cp) == LE_OK ? p : NULL;
}

/* The string whose opening quote is at ps->p: *out points into the text when it has no
 * escape, else into scratch (valid until the next string with escapes). *ascii: it is
 * plain ASCII (so valid UTF-8: jansson's check can be skipped). */
static int scan_string(parser *ps, const char **out, size_t *len, int *ascii) {
  const unsigned char *start = ++ps->p, *p = start, *end = ps->end;
  unsigned char bits = 0;
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) bits |= *p++;
  if (p < end && *p == '"') {
    *out = (const char *)start;
    *len = (size_t)(p - start);
    *ascii = !(bits & 0x80);
    ps->p = p + 1;
    return 0;
  }
  *ascii = 0;
  ps->scratch.len = 0;
  const unsigned char *run = start;
  for (;;) {
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) p++;
    if (p > run && le_buffer_append(&ps->scratch, run, (size_t)(p - run)) != LE_OK) return -1;
    if (p >= end || *p < 0x20) return -1; /* unterminated, or a raw control byte */
    if (*p == '"') break;
    if (!(p = decode_escape(ps, p))) return -1;
    run = p;
  }
  *out = (const char *)ps->scratch.data;
  *len = ps->scratch.len;
  ps->p = p + 1;
  return 0;
}

static json_t *scan_number(parser *ps) {
  const unsigned char *start = ps->p, *p = start, *end = ps->end;
  int negative = *p == '-', real = 0;
  if (negative) p++;
  if (p >= end || !is_digit(*p)) return NULL;
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) return NULL; /* a leading zero */
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && *p == '.') {
    real = 1;
    if (++p >= end || !is_digit(*p)) return NULL;
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = 1;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p)) return NULL;
    while (p < end && is_digit(*p)) p++;
  }
  size_t n = (size_t)(p - start);
  ps->p = p;
  if (!real) {
    if (n - (size_t)negative > 18) return NULL; /* might not fit: jansson says how */
    json_int_t v = 0;
    for (const unsigned char *q = start + negative; q < p; q++) v = v * 10 + (*q - '0');
    return json_integer(negative ? -v : v);
  }
  char token[64];
  if (n >= sizeof token) return NULL;
  memcpy(token, start, n);
  token[n] = '\0';
  char *stop;
  errno = 0;
  double d = strtod(token, &stop);
  if (stop != token + n || errno == ERANGE) return NULL;
  return json_real(d);
}

static json_t *literal(parser *ps, const char *word, size_t n, json_t *value) {
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return NULL;
  ps->p += n;
  if (ps->p < ps->end && is_alpha(*ps->p)) return NULL; /* "truex": jansson's invalid token */
  return value;
}

/* After a member of an object or array: 1 at its closing byte (consumed), 0 after a
 * comma (consumed, with the space after it), -1 at anything else. */
static int after_member(parser *ps, unsigned char close) {
  skip_space(ps);
  if (ps->p >= ps->end) return -1;
  if (*ps->p == close) {
    ps->p++;
    return 1;
  }
  if (*ps->p != ',') return -1;
  ps->p++;
  skip_space(ps);
  return 0;
}

static json_t *parse_object(parser *ps) {
  json_t *object = json_object();
  if (!object) return NULL;
  ps->p++;
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    return object;
  }
  for (;;) {
    const char *key;
    char *own_key = NULL;
    size_t key_len;
    int ascii;
    if (ps->p >= ps->end || *ps->p != '"' || scan_string(ps, &key, &key_len, &ascii) != 0) break;
    if (key == (const char *)ps->scratch.data) { /* the value's strings reuse scratch */
      if (!(own_key = malloc(key_len ? key_len : 1))) break;
      memcpy(own_key, key, key_len);
      key = own_key;
    }
    skip_space(ps);
    json_t *value = NULL;
    if (ps->p < ps->end && *ps->p == ':') {
      ps->p++;
      skip_space(ps);
      value = parse_value(ps);
    }
    size_t before = json_object_size(object);
    /* json_object_setn_new checks the key's UTF-8; both take value even when they fail. */
    int stored = value && (ascii ? json_object_setn_new_nocheck(object, key, key_len, value)
                                 : json_object_setn_new(object, key, key_len, value)) == 0;
    free(own_key);
    if (!stored || json_object_size(object) == before) break; /* failed, or a duplicate key */
    int after = after_member(ps, '}');
    if (after == 1) return object;
    if (after < 0) break;
  }
  json_decref(object);
  return NULL;
}

static json_t *parse_array(parser *ps) {
  json_t *array = json_array();
  if (!array) return NULL;
  ps->p++;
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    return array;
  }
  for (;;) {
    json_t *value = parse_value(ps);
    if (!value || json_array_append_new(array, value) != 0) break;
    int after = after_member(ps, ']');
    if (after == 1) return array;
    if (after < 0) break;
  }
  json_decref(array);
  return NULL;
}

static json_t *parse_value(parser *ps) {
  if (ps->p >= ps->end) return NULL;
  switch (*ps->p) {
    case '{':
    case '[': {
      if (++ps->depth > LE_JSON_FAST_MAX_DEPTH) return NULL;
      json_t *v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
      ps->depth--;
      return v;
    }
    case '"': {
      const char *s;
      size_t n;
      int ascii;
      if (scan_string(ps, &s, &n, &ascii) != 0) return NULL;
      return ascii ? json_stringn_nocheck(s, n) : json_stringn(s, n); /* NULL: not UTF-8 */
    }
    case 't':
      return literal(ps, "true", 4, json_true());
    case 'f':
      return literal(ps, "false", 5, json_false());
    case 'n':
      return literal(ps, "null", 4, json_null());
    default:
      return (*ps->p == '-' || is_digit(*ps->p)) ? scan_number(ps) : NULL;
  }
}

json_t *le_json_load_fast(const char *text, size_t len) {
  if (!text) return NULL;
  parser ps = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
  json_t *root = NULL;
  skip_space(&ps);
  if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '[')) root = parse_value(&ps);
  if (root) {
    skip_space(&ps);
    if (ps.p != ps.end) { /* something after the document */
      json_decref(root);
      root = NULL;
    }
  }
  le_buffer_free(&ps.scratch);
  return root;
}
