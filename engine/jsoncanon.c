#include "jsoncanon.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "json.h"
#include "jsonlex.h"
#include "jsonspec.h"

#define MAX_DEPTH 100 /* as decode_response's */
#define DECLINE (-1)
#define WROTE 0
#define WAS_NULL 1 /* nothing written; what the null means is the container's to decide */
#define KEPT_BYTES (1u << 20) /* a workspace buffer grown beyond this is given back after the call */

typedef struct {
  const char *key; /* the unescaped name: in the text, or at key_at in keys when it had escapes */
  size_t key_at, key_len;
  size_t start, end; /* its `"name":value` in out (empty for a null) */
  int in_keys, is_null;
} member;

/* The buffers, kept from call to call in the function's upvalue (a userdata that frees
 * them when the state closes): a Lua error (memory) half-way loses nothing, and a call
 * allocates nothing once they have grown to the answers' size. */
typedef struct {
  le_buffer out;     /* the canonical text */
  le_buffer keys;    /* the unescaped names with escapes of the open objects' members */
  le_buffer scratch; /* a string with escapes, unescaped */
  le_buffer moved;   /* an object's members copied out while they are put back in order */
  member *members;   /* the open objects' members, innermost object's last */
  size_t cap;
} workspace;

typedef struct {
  const unsigned char *p, *end;
  size_t text_len;
  workspace *w;
  size_t nmembers;
  int oom;
} canon;

/* Writing ------------------------------------------------------------------------- */

static void put(canon *c, const char *s, size_t n) {
  le_buffer *b = &c->w->out;
  if (b->cap - b->len >= n) {
    memcpy(b->data + b->len, s, n);
    b->len += n;
  } else if (le_buffer_append(b, s, n) != 0) {
    c->oom = 1;
  }
}

static inline void put_c(canon *c, char ch) {
  le_buffer *b = &c->w->out;
  if (b->len < b->cap) b->data[b->len++] = (unsigned char)ch;
  else put(c, &ch, 1);
}

static void skip_space(canon *c) { /* JSON's four, as decode_response */
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

/* The end of the plain run at p: bytes the encoder copies as they are (no quote, backslash,
 * control byte, DEL, nor byte above ASCII). */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end) {
  while (end - p >= 8 && le_json_plain8(p)) p += 8;
  while (p < end && !le_json_byte_class[*p]) p++;
  return p;
}

/* The string with escapes whose bytes start at start (after its quote), plain up to from,
 * unescaped as decode_response does into scratch (valid until the next string). */
static int unescape(canon *c, const unsigned char *start, const unsigned char *from, const char **s, size_t *n) {
  le_buffer *scratch = &c->w->scratch; /* an unescaped string is never longer than the text */
  scratch->len = 0;
  if (le_buffer_reserve(scratch, c->text_len) != 0) {
    c->oom = 1;
    return DECLINE;
  }
  const unsigned char *after = le_jsonlex_unescape(start, from, c->end, scratch->data, n);
  if (!after) return DECLINE;
  *s = (const char *)scratch->data;
  c->p = after;
  return WROTE;
}

/* The string whose opening quote is at p, written as the encoder writes the string
 * decode_response makes of it; its unescaped bytes in *s, *n (in the text itself, or in
 * scratch until the next string), *escaped set when they are scratch's. */
static int string(canon *c, const char **s, size_t *n, int *escaped) {
  const unsigned char *quote = c->p, *start = quote + 1, *p = plain_run(start, c->end);
  *escaped = 0;
  if (p < c->end && *p == '"') { /* as it is: copied with its quotes */
    put(c, (const char *)quote, (size_t)(p + 1 - quote));
    *s = (const char *)start;
    *n = (size_t)(p - start);
    c->p = p + 1;
    return WROTE;
  }
  while (p < c->end && *p != '"' && *p != '\\' && *p >= 0x20) p++; /* DEL or above ASCII: the encoder's */
  if (p >= c->end || *p < 0x20) return DECLINE;
  if (*p == '"') {
    *s = (const char *)start;
    *n = (size_t)(p - start);
    c->p = p + 1;
  } else {
    if (unescape(c, start, p, s, n) != WROTE) return DECLINE;
    *escaped = 1;
  }
  if (le_json_put_string(&c->w->out, *s, *n) != 0) return DECLINE; /* not UTF-8 (the encoder raises), or memory */
  return WROTE;
}

/* A number in JSON's grammar, written as the encoder writes the value decode_response
 * makes of it. want_integer: anything but an integer declines. */
static int number(canon *c, int want_integer) {
  le_jsonlex_num n;
  if (le_jsonlex_number(c->p, c->end, &n) != 0) return DECLINE;
  c->p = n.end;
  if (LE_JSONLEX_SHORT_INTEGER(&n)) {
    if (n.ndigits == 1 && !n.negative) { /* the text's own digit */
      put(c, (const char *)n.digits, 1);
      return WROTE;
    }
    return le_json_put_integer(&c->w->out, le_jsonlex_short_integer(&n)) == 0 ? WROTE : DECLINE;
  }
  long long i;
  if (n.integral) /* exact within 64 bits, as decode_response reads it; past them declines */
    return le_jsonlex_integer64(&n, &i) == 0 && le_json_put_integer(&c->w->out, i) == 0 ? WROTE : DECLINE;
  double x;
  int is_integer;
  if (le_jsonlex_number_value(&n, &x, &is_integer, &i) != 0) return DECLINE;
  if (want_integer && !is_integer) return DECLINE;
  return le_json_put_number(&c->w->out, x) == 0 ? WROTE : DECLINE;
}

static int literal(canon *c, const char *word, size_t n) {
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return DECLINE;
  c->p += n;
  return WROTE;
}

static const char *key_of(const canon *c, const member *m) {
  return m->in_keys ? (const char *)c->w->keys.data + m->key_at : m->key;
}

static int key_cmp(const canon *c, const member *a, const member *b) {
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int r = n ? memcmp(key_of(c, a), key_of(c, b), n) : 0;
  if (r) return r;
  return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

/* The object's members sorted by name (stable: a name given twice keeps its text order),
 * then one per name, its last, and none whose last value is null; their count. */
static size_t sort_members(canon *c, member *ms, size_t count) {
  for (size_t i = 1; i < count; i++) { /* an API object's few dozen members at most */
    member m = ms[i];
    size_t j = i;
    while (j > 0 && key_cmp(c, &ms[j - 1], &m) > 0) {
      ms[j] = ms[j - 1];
      j--;
    }
    ms[j] = m;
  }
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    if (i + 1 < count && key_cmp(c, &ms[i], &ms[i + 1]) == 0) continue; /* a later one of this name */
    if (!ms[i].is_null) ms[kept++] = ms[i];
  }
  return kept;
}

/* The members written again in their sorted order (copied out first). */
static void rewrite_members(canon *c, size_t obj_start, const member *ms, size_t count) {
  workspace *w = c->w;
  size_t n = w->out.len - obj_start;
  w->moved.len = 0;
  if (le_buffer_append(&w->moved, w->out.data + obj_start, n) != 0) {
    c->oom = 1;
    return;
  }
  w->out.len = obj_start;
  for (size_t i = 0; i < count; i++) {
    if (i) put_c(c, ',');
    put(c, (const char *)w->moved.data + (ms[i].start - obj_start), ms[i].end - ms[i].start);
  }
}

/* Whether each of the spec's required names is among the members (sorted, one per name). */
static int has_required(const canon *c, const le_spec_node *spec, const member *ms, size_t count) {
  if (spec->required_unnamed) return 0;
  for (size_t i = 0; i < spec->nrequired; i++) {
    const le_spec_field *want = &spec->required[i];
    size_t lo = 0, hi = count;
    int found = 0;
    while (lo < hi && !found) {
      size_t mid = lo + (hi - lo) / 2;
      const member *m = &ms[mid];
      size_t n = m->key_len < want->len ? m->key_len : want->len;
      int r = n ? memcmp(key_of(c, m), want->name, n) : 0;
      if (!r) r = m->key_len < want->len ? -1 : m->key_len > want->len;
      if (r == 0) found = 1;
      else if (r < 0) lo = mid + 1;
      else hi = mid;
    }
    if (!found) return 0; /* missing, or null */
  }
  return 1;
}

static int value(canon *c, const le_spec_node *spec, int depth);

/* One member of an object: its name, its value written after it; the member listed. */
static int object_member(canon *c, const le_spec_node *spec, size_t obj_start, int depth) {
  workspace *w = c->w;
  member *grown = le_array_grow(w->members, &w->cap, c->nmembers, sizeof *grown, 32);
  if (!grown) {
    c->oom = 1;
    return DECLINE;
  }
  w->members = grown;
  size_t mi = c->nmembers++; /* (the array may move while the value is read: by index) */
  size_t before = w->out.len;
  if (before > obj_start) put_c(c, ',');
  member m = {.start = w->out.len};
  const char *s;
  int escaped;
  skip_space(c);
  if (c->p >= c->end || *c->p != '"' || string(c, &s, &m.key_len, &escaped) != WROTE) return DECLINE;
  if (escaped) { /* kept while the object is open (scratch is not) */
    m.in_keys = 1;
    m.key_at = w->keys.len;
    if (le_buffer_append(&w->keys, s, m.key_len) != 0) {
      c->oom = 1;
      return DECLINE;
    }
  } else {
    m.key = s;
  }
  put_c(c, ':');
  const le_spec_node *member_spec = NULL;
  if (spec && spec->kind == 'm') {
    member_spec = spec->child;
  } else if (spec && spec->nfields) {
    const le_spec_field *f = le_spec_find_field(spec, s, m.key_len);
    if (f) member_spec = f->spec;
  }
  skip_space(c);
  if (c->p >= c->end || *c->p != ':') return DECLINE;
  c->p++;
  skip_space(c);
  int got = value(c, member_spec, depth + 1);
  if (got == DECLINE) return DECLINE;
  if (got == WAS_NULL) {
    if (spec && spec->kind == 'm') return DECLINE; /* a map's value is never null */
    w->out.len = before;                          /* absent (and it ends an earlier member of its name) */
    m.start = before;
    m.is_null = 1;
  }
  m.end = w->out.len;
  w->members[mi] = m;
  return WROTE;
}

/* The object at p (spec: an object's fields and required, or a map's value). */
static int object(canon *c, const le_spec_node *spec, int depth) {
  workspace *w = c->w;
  c->p++;
  if (spec && spec->kind == 'm' && !spec->child) return DECLINE;
  size_t first = c->nmembers, keys_at = w->keys.len;
  put_c(c, '{');
  size_t obj_start = w->out.len;
  int in_order = 1; /* each name above the one before it: as written, no name twice */
  skip_space(c);
  if (c->p < c->end && *c->p == '}') {
    c->p++;
  } else {
    for (;;) {
      if (object_member(c, spec, obj_start, depth) != WROTE) return DECLINE;
      size_t last = c->nmembers - 1;
      if (last > first && key_cmp(c, &w->members[last - 1], &w->members[last]) >= 0) in_order = 0;
      skip_space(c);
      if (c->p < c->end && *c->p == ',') {
        c->p++;
        continue;
      }
      if (c->p < c->end && *c->p == '}') {
        c->p++;
        break;
      }
      return DECLINE;
    }
  }
  member *ms = w->members + first;
  size_t count = c->nmembers - first;
  if (!in_order) {
    count = sort_members(c, ms, count);
    rewrite_members(c, obj_start, ms, count);
  } else {
    size_t kept = 0; /* the nulls were never written */
    for (size_t i = 0; i < count; i++)
      if (!ms[i].is_null) ms[kept++] = ms[i];
    count = kept;
  }
  if (spec && spec->kind == 'o' && !has_required(c, spec, ms, count)) return DECLINE;
  put_c(c, '}');
  c->nmembers = first;
  w->keys.len = keys_at;
  return WROTE;
}

/* The array at p (spec: an array's item). */
static int array(canon *c, const le_spec_node *spec, int depth) {
  c->p++;
  skip_space(c);
  if (c->p < c->end && *c->p == ']') {
    c->p++;
    put(c, "[]", 2);
    return WROTE;
  }
  const le_spec_node *item = spec ? spec->child : NULL;
  if (spec && !item) return DECLINE;
  put_c(c, '[');
  for (;;) {
    skip_space(c);
    int got = value(c, item, depth + 1);
    if (got == DECLINE || (got == WAS_NULL && item)) return DECLINE;
    if (got == WAS_NULL) put(c, "null", 4);
    skip_space(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      put_c(c, ',');
      continue;
    }
    if (c->p < c->end && *c->p == ']') {
      c->p++;
      break;
    }
    return DECLINE;
  }
  put_c(c, ']');
  return WROTE;
}

/* The value at p (after its spaces), written; spec NULL: none. */
static int value(canon *c, const le_spec_node *spec, int depth) {
  if (c->p >= c->end || depth > MAX_DEPTH) return DECLINE;
  int kind = spec ? spec->kind : 0;
  switch (*c->p) {
  case '{': return (!spec || kind == 'o' || kind == 'm') ? object(c, spec, depth) : DECLINE;
  case '[': return (!spec || kind == 'a') ? array(c, spec, depth) : DECLINE;
  case '"': {
    const char *s;
    size_t n;
    int escaped;
    if (spec && kind != 's') return DECLINE;
    return string(c, &s, &n, &escaped);
  }
  case 't':
  case 'f': {
    int is_true = *c->p == 't';
    if (spec && kind != 'b') return DECLINE;
    if (is_true ? literal(c, "true", 4) : literal(c, "false", 5)) return DECLINE;
    put(c, is_true ? "true" : "false", is_true ? 4 : 5);
    return WROTE;
  }
  case 'n':
    if (literal(c, "null", 4)) return DECLINE;
    return WAS_NULL;
  default:
    if (*c->p != '-' && !(*c->p >= '0' && *c->p <= '9')) return DECLINE;
    if (spec && kind != 'i' && kind != 'n') return DECLINE;
    return number(c, kind == 'i');
  }
}

/* The Lua function ------------------------------------------------------------------ */

enum { UP_WORKSPACE = 1, UP_SPECS, UP_SPEC_MT };

static void give_back(le_buffer *b) {
  if (b->cap > KEPT_BYTES) le_buffer_free(b);
  b->len = 0;
}

static int workspace_gc(lua_State *L) {
  workspace *w = lua_touserdata(L, 1);
  le_buffer_free(&w->out);
  le_buffer_free(&w->keys);
  le_buffer_free(&w->scratch);
  le_buffer_free(&w->moved);
  free(w->members);
  w->members = NULL;
  w->cap = 0;
  return 0;
}

static int canonical_response(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  workspace *w = lua_touserdata(L, lua_upvalueindex(UP_WORKSPACE));
  const le_spec_node *spec = NULL;
  int ok = 1;
  if (lua_istable(L, 2))
    ok = (spec = le_spec_compiled(L, 2, lua_upvalueindex(UP_SPECS), lua_upvalueindex(UP_SPEC_MT))) != NULL;
  w->out.len = w->keys.len = w->scratch.len = w->moved.len = 0;
  canon c = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len, .text_len = len, .w = w};
  ok = ok && le_buffer_reserve(&w->out, len + 16) == 0; /* about the text's size */
  if (ok) {
    skip_space(&c);
    int got = value(&c, spec, 0);
    if (got == WAS_NULL && !spec) put(&c, "null", 4);
    ok = got == WROTE || (got == WAS_NULL && !spec);
    skip_space(&c);
    ok = ok && c.p == c.end && !c.oom;
  }
  if (ok) lua_pushlstring(L, (const char *)w->out.data, w->out.len);
  else lua_pushboolean(L, 0);
  give_back(&w->out);
  give_back(&w->keys);
  give_back(&w->scratch);
  give_back(&w->moved);
  return 1;
}

int le_json_push_canonical_response(lua_State *L) {
  workspace *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, workspace_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_newtable(L); /* the compiled specs, by spec table */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  le_spec_push_metatable(L); /* a compiled spec's metatable */
  lua_pushcclosure(L, canonical_response, 3);
  return 1;
}
