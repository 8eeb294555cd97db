/* jsonvalid.c — jsonvalid.h's scan: one pass over the text with a stack of the containers
 * open (the byte that closes each), numbers read by jsonlex.h's grammar. */
#include "jsonvalid.h"

#include "jsonlex.h"

typedef const unsigned char *cursor;

static cursor skip_space(cursor p, cursor end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* The byte after a string whose bytes begin at p (after its opening quote), or NULL; its
 * escapes read as jsonlex reads them (\u0000 and surrogates declined: lua-cjson's to judge). */
static cursor string_end(cursor p, cursor end) {
  while (p < end && *p != '"') {
    unsigned cp;
    size_t n = *p == '\\' ? le_jsonlex_escape(p, end, &cp) : *p >= 0x20;
    if (n == 0) return NULL;
    p += n;
  }
  return p < end ? p + 1 : NULL;
}

/* The byte after the literal word at p, or NULL. */
static cursor literal_end(cursor p, cursor end, const char *word, size_t n) {
  if ((size_t)(end - p) < n) return NULL;
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)word[i]) return NULL;
  return p + n;
}

/* The byte after the scalar (string, number, literal) at p, or NULL. */
static cursor scalar_end(cursor p, cursor end) {
  switch (*p) {
  case '"': return string_end(p + 1, end);
  case 't': return literal_end(p, end, "true", 4);
  case 'f': return literal_end(p, end, "false", 5);
  case 'n': return literal_end(p, end, "null", 4);
  default: {
    le_jsonlex_num n;
    return le_jsonlex_number(p, end, &n) == 0 ? n.end : NULL;
  }
  }
}

int le_json_valid(const char *text, size_t len) {
  cursor p = (cursor)text, end = p + len;
  unsigned char closers[LE_JSON_VALID_DEPTH];
  int depth = 0;
  p = skip_space(p, end);
  for (;;) {
    /* a value at p (white space skipped) */
    if (p >= end) return 0;
    if (*p == '{' || *p == '[') {
      if (depth == LE_JSON_VALID_DEPTH) return 0;
      unsigned char closer = *p == '{' ? '}' : ']';
      p = skip_space(p + 1, end);
      if (p < end && *p == closer) {
        p++; /* empty: a value ended */
      } else {
        closers[depth++] = closer;
        if (closer == ']') continue; /* its first element */
        goto member;
      }
    } else if (!(p = scalar_end(p, end))) {
      return 0;
    }
    /* a value ended: what follows it */
    for (;;) {
      p = skip_space(p, end);
      if (depth == 0) return p == end;
      if (p >= end) return 0;
      if (*p == closers[depth - 1]) {
        p++;
        depth--;
        continue;
      }
      if (*p != ',') return 0;
      p = skip_space(p + 1, end);
      if (closers[depth - 1] == ']') break; /* the next element */
      goto member;
    }
    continue;
  member: /* an object's member at p: its name, a colon, then its value */
    if (p >= end || *p != '"' || !(p = string_end(p + 1, end))) return 0;
    p = skip_space(p, end);
    if (p >= end || *p != ':') return 0;
    p = skip_space(p + 1, end);
  }
}
