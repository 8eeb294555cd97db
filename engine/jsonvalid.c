/* jsonvalid.c — jsonvalid.h's scan: one pass over the text with a stack of the containers
 * open (the byte that closes each), numbers read by jsonlex.h's grammar. */
#include "jsonvalid.h"

#include "jsonlex.h"

typedef const unsigned char *cursor;

static cursor skip_space(cursor p, cursor end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

static int hex_digit(unsigned c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* The byte after a string whose bytes begin at p (after its opening quote), or NULL. */
static cursor string_end(cursor p, cursor end) {
  while (p < end) {
    unsigned c = *p;
    if (c == '"') return p + 1;
    if (c < 0x20) return NULL;
    if (c != '\\') {
      p++;
      continue;
    }
    if (end - p < 2) return NULL;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      p += 2;
      break;
    case 'u':
      if (end - p < 6 || !hex_digit(p[2]) || !hex_digit(p[3]) || !hex_digit(p[4]) || !hex_digit(p[5])) return NULL;
      /* a surrogate (D800-DFFF): lua-cjson pairs them its own way */
      if ((p[2] | 0x20) == 'd' && p[3] >= '8') return NULL;
      p += 6;
      break;
    default:
      return NULL;
    }
  }
  return NULL;
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
