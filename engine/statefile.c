/* statefile.c — see statefile.h. The check when the file is read (the grammar, key order,
 * what jansson might read its own way, whether an entry is as jansson's dump writes it),
 * which records each kept entry's span and its members (statefilekept.h); an entry's Lua
 * values are statefilelua.c's, its stand-in for the entry check statefileshape.c's. */
#include "statefile.h"

#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "jsonlex.h"
#include "jsonload.h"
#include "jsonwalk.h"
#include "statefilekept.h"

/* --- the check: SURE, or UNSURE at the first doubt --- */

enum { SURE = 0, UNSURE = -1 };

typedef struct {
  const unsigned char *text, *p, *end;
  unsigned char *scratch; /* escapes are unescaped here to be checked */
  size_t scratch_cap;
  le_statefile *sf;
  int canonical; /* nothing in the entry read so far differs from jansson's dump of it */
} checker;

static void canonical_if(checker *c, int holds) {
  if (!holds) c->canonical = 0;
}

/* ws..p is what jansson's indented dump puts before a member or item at level (its
 * depth in the document), or before the close of a container at level: a newline and
 * two spaces a level. */
static int is_indent(const unsigned char *ws, const unsigned char *p, int level) {
  static const char spaces[] = "                                                                "
                               "                                                                "
                               "                                                                ";
  size_t n = (size_t)(p - ws);
  return n == 1 + 2 * (size_t)level && n <= sizeof spaces && ws[0] == '\n' && memcmp(ws + 1, spaces, n - 1) == 0;
}

/* The escapes between p and close are those jansson's dump writes: a short one, or \u00XX
 * (upper-case) for a control byte that has none. */
static int dumped_escapes(const unsigned char *p, const unsigned char *close) {
  static const char upper_hex[] = "0123456789ABCDEF";
  for (; p < close; p++) {
    if (*p != '\\') continue;
    if (strchr("\"\\bfnrt", *++p)) continue;
    if (*p != 'u' || p[1] != '0' || p[2] != '0' || (p[3] != '0' && p[3] != '1') || !strchr(upper_hex, p[4]))
      return 0;
    unsigned byte = (unsigned)(p[3] - '0') * 16 + (unsigned)(strchr(upper_hex, p[4]) - upper_hex);
    if (strchr("\b\t\n\f\r", (int)byte)) return 0; /* (and byte 0, refused before) */
    p += 4;
  }
  return 1;
}

/* A string at c->p (its quote), plain ASCII; a key may have no escape (so its bytes are
 * its value, and byte order is jansson's order); *s, *n: its bytes in the text. */
static int check_string(checker *c, int key, const unsigned char **s, size_t *n) {
  const unsigned char *start = ++c->p, *p = start;
  while (p < c->end && LE_JSONWALK_IS_PLAIN(*p)) p++;
  *s = start;
  if (p < c->end && *p == '"') {
    *n = (size_t)(p - start);
    c->p = p + 1;
    return SURE;
  }
  if (key || p >= c->end || *p != '\\') return UNSURE;
  const unsigned char *close = le_jsonwalk_string_end(p, c->end);
  if (!close) return UNSURE;
  for (const unsigned char *q = p; q < close; q++)
    if (*q >= 0x80) return UNSURE;
  size_t need = (size_t)(close - start), len;
  if (need > c->scratch_cap) {
    unsigned char *grown = realloc(c->scratch, need);
    if (!grown) return UNSURE;
    c->scratch = grown;
    c->scratch_cap = need;
  }
  if (le_jsonlex_unescape(start, p, close + 1, c->scratch, &len) != close + 1) return UNSURE;
  canonical_if(c, dumped_escapes(p, close));
  *n = (size_t)(close - start);
  c->p = close + 1;
  return SURE;
}

static int check_literal(checker *c, const char *word, size_t n) {
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return UNSURE;
  c->p += n;
  return SURE;
}

static int check_value(checker *c, int depth);

/* After a member or item: 1 past its closing byte, 0 past a comma, UNSURE otherwise. */
static int after_item(checker *c, unsigned char close) {
  c->p = le_jsonwalk_space(c->p, c->end);
  if (c->p < c->end && (*c->p == close || *c->p == ',')) return *c->p++ == close;
  return UNSURE;
}

static int record_member(le_statefile *sf, size_t key, size_t key_len, size_t value) {
  member *room = le_array_grow(sf->members, &sf->members_cap, sf->n_members, sizeof *room, 1024);
  if (!room) return UNSURE;
  sf->members = room;
  sf->members[sf->n_members++] = (member){key, key_len, value};
  return SURE;
}

/* A member's key at c->p, its ':' and the spaces after it: SURE with *key, *n. With
 * last, the key must sort strictly after *last (none yet: NULL), and becomes it: no
 * duplicate, and the order jansson sorts keys in. */
static int read_key(checker *c, const unsigned char **last, size_t *last_n, const unsigned char **key, size_t *n) {
  if (c->p >= c->end || *c->p != '"' || check_string(c, 1, key, n) != SURE) return UNSURE;
  if (last && *last) {
    int cmp = memcmp(*last, *key, *last_n < *n ? *last_n : *n);
    if (cmp > 0 || (cmp == 0 && *last_n >= *n)) return UNSURE;
  }
  if (last) *last = *key, *last_n = *n;
  const unsigned char *after_key = c->p;
  c->p = le_jsonwalk_space(c->p, c->end);
  if (c->p >= c->end || *c->p != ':') return UNSURE;
  c->p = le_jsonwalk_space(c->p + 1, c->end);
  canonical_if(c, c->p == after_key + 2 && after_key[1] == ' '); /* ": " */
  return SURE;
}

/* After a member or item whose spaces begin at ws: 1 past the container's close, 0
 * past a comma and its spaces, UNSURE otherwise; noting whether the spaces are the
 * dump's (none before a comma, the container's indentation before its close). */
static int after_member(checker *c, const unsigned char *ws, unsigned char close, int level) {
  int after = after_item(c, close);
  if (after == 1) canonical_if(c, is_indent(ws, c->p - 1, level));
  if (after != 0) return after;
  canonical_if(c, c->p - 1 == ws);
  ws = c->p;
  c->p = le_jsonwalk_space(c->p, c->end);
  canonical_if(c, is_indent(ws, c->p, level + 1));
  return 0;
}

/* The object at c->p, at depth in its entry; record: its members go to the kept entry's table. */
static int check_object(checker *c, int depth, int record) {
  const unsigned char *last = NULL, *key, *ws = c->p + 1;
  size_t last_n = 0, n;
  c->p = le_jsonwalk_space(ws, c->end);
  if (c->p < c->end && *c->p == '}') return canonical_if(c, c->p == ws), c->p++, SURE; /* "{}" */
  canonical_if(c, is_indent(ws, c->p, depth + 3)); /* an entry is at depth 2 in the document */
  for (;;) {
    if (read_key(c, &last, &last_n, &key, &n) != SURE) return UNSURE;
    if (record && record_member(c->sf, (size_t)(key - c->text), n, (size_t)(c->p - c->text)) != SURE)
      return UNSURE;
    if (check_value(c, depth + 1) != SURE) return UNSURE;
    int after = after_member(c, c->p, '}', depth + 2);
    if (after != 0) return after == 1 ? SURE : UNSURE;
  }
}

static int check_array(checker *c, int depth) {
  const unsigned char *ws = c->p + 1;
  c->p = le_jsonwalk_space(ws, c->end);
  if (c->p < c->end && *c->p == ']') return canonical_if(c, c->p == ws), c->p++, SURE; /* "[]" */
  canonical_if(c, is_indent(ws, c->p, depth + 3));
  for (;;) {
    if (check_value(c, depth + 1) != SURE) return UNSURE;
    int after = after_member(c, c->p, ']', depth + 2);
    if (after != 0) return after == 1 ? SURE : UNSURE;
  }
}

static int check_value(checker *c, int depth) {
  if (c->p >= c->end || depth > LE_STATEFILE_MAX_DEPTH) return UNSURE;
  const unsigned char *s;
  size_t n;
  le_jsonlex_num num;
  double x;
  switch (*c->p) {
  case '{': return check_object(c, depth, 0);
  case '[': return check_array(c, depth);
  case '"': return check_string(c, 0, &s, &n);
  case 't': return check_literal(c, "true", 4);
  case 'f': return check_literal(c, "false", 5);
  case 'n': return check_literal(c, "null", 4);
  default:
    if (le_jsonlex_number(c->p, c->end, &num) != 0) return UNSURE;
    c->p = num.end;
    /* A real's text is the dump's only if it prints the same: left to the dump. */
    canonical_if(c, num.integral && !(num.negative && num.digits[0] == '0')); /* (-0 dumps as 0) */
    if (num.integral) return num.ndigits <= 18 ? SURE : UNSURE; /* as jsonload.c reads them */
    return le_jsonlex_real(&num, &x) == 0 ? SURE : UNSURE;
  }
}

/* The entry at c->p (an object), checked and kept: SURE with its span and members; line:
 * where its line begins (c->canonical: so far, it is the dump's). */
static int keep_entry(checker *c, size_t line) {
  le_statefile *sf = c->sf;
  size_t first = sf->n_members, start = (size_t)(c->p - c->text);
  kept_entry *room = le_array_grow(sf->entries, &sf->entries_cap, sf->n_entries, sizeof *room, 64);
  if (!room) return UNSURE;
  sf->entries = room;
  if (check_object(c, 0, 1) != SURE) {
    sf->n_members = first;
    return UNSURE;
  }
  sf->entries[sf->n_entries++] =
      (kept_entry){start, (size_t)(c->p - c->text), first, sf->n_members - first, line, c->canonical};
  return SURE;
}

/* A value jsonload.c parses (it is sure, or this read is not). */
static json_t *load_value(checker *c) {
  const char *at = (const char *)c->p;
  json_t *v = le_json_load_value(&at, (const char *)c->end);
  c->p = (const unsigned char *)at;
  return v;
}

/* The resources object at c->p: each entry kept, or parsed when the check is unsure of it. */
static json_t *read_resources(checker *c) {
  json_t *resources = json_object();
  const unsigned char *last = NULL, *key;
  size_t last_n = 0, n;
  const unsigned char *ws = c->p + 1;
  c->p = le_jsonwalk_space(ws, c->end);
  if (resources && c->p < c->end && *c->p == '}') return c->p++, resources;
  for (;;) {
    c->canonical = is_indent(ws, c->p, 2); /* each entry's line: "    \"address\": {...}" */
    size_t line = (size_t)(c->p - c->text) - (c->canonical ? 4 : 0);
    if (!resources || read_key(c, &last, &last_n, &key, &n) != SURE) break;
    const unsigned char *value = c->p;
    if (value >= c->end || *value != '{') break; /* not an entry: the usual read names it */
    json_t *v = NULL;
    if (keep_entry(c, line) == SURE) v = json_integer((json_int_t)c->sf->n_entries - 1);
    else c->p = value, v = load_value(c);
    if (!v || json_object_setn_new_nocheck(resources, (const char *)key, n, v) != 0) break;
    int after = after_item(c, '}');
    if (after == 1) return resources;
    if (after != 0) break;
    ws = c->p;
    c->p = le_jsonwalk_space(c->p, c->end);
  }
  json_decref(resources);
  return NULL;
}

static int read_document(checker *c, json_t *root) {
  c->p = le_jsonwalk_space(c->p, c->end);
  if (c->p >= c->end || *c->p != '{') return UNSURE;
  c->p = le_jsonwalk_space(c->p + 1, c->end);
  if (c->p < c->end && *c->p == '}') c->p++;
  else
    for (;;) {
      const unsigned char *key;
      size_t n;
      if (read_key(c, NULL, NULL, &key, &n) != SURE || json_object_getn(root, (const char *)key, n))
        return UNSURE; /* (a duplicate) */
      int resources = n == 9 && memcmp(key, "resources", 9) == 0 && c->p < c->end && *c->p == '{';
      json_t *v = resources ? read_resources(c) : load_value(c);
      if (!v || json_object_setn_new_nocheck(root, (const char *)key, n, v) != 0) return UNSURE;
      int after = after_item(c, '}');
      if (after == 1) break;
      if (after != 0) return UNSURE;
      c->p = le_jsonwalk_space(c->p, c->end);
    }
  return le_jsonwalk_space(c->p, c->end) == c->end ? SURE : UNSURE;
}

int le_statefile_read(const char *text, size_t len, json_t **root, le_statefile **sf) {
  *root = NULL;
  *sf = NULL;
  le_statefile *file = calloc(1, sizeof *file);
  json_t *doc = json_object();
  checker c = {.text = (const unsigned char *)text, .p = (const unsigned char *)text,
               .end = (const unsigned char *)text + len, .sf = file};
  int rc = file && doc && text ? read_document(&c, doc) : UNSURE;
  free(c.scratch);
  if (rc == SURE) {
    file->text = (const unsigned char *)text;
    json_t *stand_ins[STAND_INS] = {json_string(""), json_pack("{s:n}", ""), json_object(), json_array(), json_integer(0)};
    memcpy(file->stand_ins, stand_ins, sizeof stand_ins);
    for (int k = 0; k < STAND_INS; k++)
      if (!stand_ins[k]) rc = UNSURE;
  }
  if (rc != SURE) {
    json_decref(doc);
    le_statefile_free(file);
    return -1;
  }
  *root = doc;
  *sf = file;
  return 0;
}

void le_statefile_free(le_statefile *sf) {
  if (!sf) return;
  for (int k = 0; k < STAND_INS; k++) json_decref(sf->stand_ins[k]);
  free(sf->entries);
  free(sf->members);
  free(sf);
}

int le_statefile_text(const le_statefile *sf, size_t i, const char **text, size_t *len) {
  const kept_entry *e = &sf->entries[i];
  *text = (const char *)sf->text + e->line;
  *len = e->end - e->line;
  return e->canonical;
}

json_t *le_statefile_entry(const le_statefile *sf, size_t i) {
  const char *at = (const char *)sf->text + sf->entries[i].start;
  return le_json_load_value(&at, (const char *)sf->text + sf->entries[i].end);
}
