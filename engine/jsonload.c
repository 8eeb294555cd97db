/* jsonload.c — see jsonload.h. A recursive descent over the bytes in memory, building
 * the values with jansson's own constructors (json_stringn and json_object_setn_new check
 * UTF-8 as jansson's parser does); every doubt returns NULL and the caller asks jansson. */
#include "jsonload.h"

#include <stdlib.h>
#include <string.h>

#include "jsonlex.h"

typedef struct {
  const unsigned char *p, *end;
  int depth;
  size_t scratch_cap;     /* room for any string of the text unescaped: its length */
  unsigned char *scratch; /* the last string read that had escapes, unescaped (made on first need) */
} parser;

static json_t *parse_value(parser *ps);

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static void skip_space(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

/* The string whose opening quote is at ps->p: *out points into the text when it has no
 * escape, else into scratch (valid until the next string with escapes). *ascii: it is
 * plain ASCII (so valid UTF-8: jansson's check can be skipped). Escapes are jsonlex's:
 * what it declines (\u0000, any surrogate escape, even a pair) goes to jansson. */
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
  if (p >= end || *p != '\\') return -1; /* unterminated, or a raw control byte */
  *ascii = 0;
  if (!ps->scratch && !(ps->scratch = malloc(ps->scratch_cap ? ps->scratch_cap : 1))) return -1;
  const unsigned char *after = le_jsonlex_unescape(start, p, end, ps->scratch, len);
  if (!after) return -1;
  *out = (const char *)ps->scratch;
  ps->p = after;
  return 0;
}

/* A number as jansson makes it: an integer of up to 18 digits (more might not fit:
 * jansson says how), else a real that strtod reads in range. */
static json_t *scan_number(parser *ps) {
  le_jsonlex_num n;
  if (le_jsonlex_number(ps->p, ps->end, &n) != 0) return NULL;
  ps->p = n.end;
  if (n.integral) return n.ndigits <= 18 ? json_integer(le_jsonlex_short_integer(&n)) : NULL;
  double d;
  return le_jsonlex_real(&n, &d) == 0 ? json_real(d) : NULL;
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
    if (key == (const char *)ps->scratch) { /* the value's strings reuse scratch */
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
  parser ps = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len, .scratch_cap = len};
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
  free(ps.scratch);
  return root;
}

json_t *le_json_load_value(const char **at, const char *end) {
  parser ps = {.p = (const unsigned char *)*at, .end = (const unsigned char *)end,
               .scratch_cap = (size_t)(end - *at)};
  skip_space(&ps);
  json_t *v = parse_value(&ps);
  free(ps.scratch);
  if (v) *at = (const char *)ps.p;
  return v;
}
