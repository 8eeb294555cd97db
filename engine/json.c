/* json.c — lambdaeng.native.json (json.h): the canonical encoder in one walk (keys sorted,
 * numbers and strings as json.lua writes them, errors naming the value's path), and the
 * module's table; mark_empty_arrays and restore are jsonrestore.c's, the others come from
 * jsonitems.c, jsonspan.c, jsonexact.c, jsoninvoke.c, jsondecode.c and jsoncanon.c. */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "converter.h"
#include "funcanswer.h"
#include "jsoncanon.h"
#include "jsondecode.h"
#include "jsonexact.h"
#include "jsoninvoke.h"
#include "jsonitems.h"
#include "jsonrestore.h"
#include "jsonspan.h"

#define MAX_DEPTH 100 /* json.lua: deeper than this is a table that contains itself */

typedef struct {
  int is_index;
  lua_Integer index;
  const char *key;
  size_t key_len;
} path_entry;

typedef struct {
  lua_State *L;
  int array_mt, null; /* stack indexes of the arguments */
  le_buffer out;
  path_entry path[MAX_DEPTH + 2];
  le_buffer message; /* set on an error */
  int fallback;      /* a table with a foreign metatable: the Lua encoder's job */
  int out_of_memory;
} encoder;

typedef struct {
  const char *s;
  size_t len;
  int value; /* the stack index of the member's value, kept there while the table is encoded; 0: look it up */
} key_ref;

#define KEYS_ON_STACK 32 /* an object with more keys lists them in memory from malloc */

/* Appends to b; running out of memory is noted in *oom and reported once at the end. */
static inline void buf_put(le_buffer *b, int *oom, const char *s, size_t n) {
  if (b->cap - b->len >= n) { /* the common case, without a call */
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
  } else if (le_buffer_append(b, s, n) != 0) {
    *oom = 1;
  }
}
static inline void buf_put_c(le_buffer *b, int *oom, char c) {
  if (b->len < b->cap) {
    b->data[b->len++] = (unsigned char)c;
    return;
  }
  buf_put(b, oom, &c, 1);
}
static inline int put(encoder *e, const char *s, size_t n) {
  buf_put(&e->out, &e->out_of_memory, s, n);
  return 0;
}
static inline int put_c(encoder *e, char c) {
  buf_put_c(&e->out, &e->out_of_memory, c);
  return 0;
}

/* Sets the error "value.a[2].b: <what>" for the value at depth. */
static int fail(encoder *e, int depth, const char *what) {
  le_buffer *m = &e->message;
  m->len = 0;
  le_buffer_append(m, "value", 5);
  char num[32];
  for (int i = 1; i <= depth; i++) {
    if (e->path[i].is_index) {
      int n = snprintf(num, sizeof num, "[%lld]", (long long)e->path[i].index);
      le_buffer_append(m, num, (size_t)n);
    } else {
      le_buffer_append(m, ".", 1);
      le_buffer_append(m, e->path[i].key, e->path[i].key_len);
    }
  }
  le_buffer_append(m, ": ", 2);
  le_buffer_append(m, what, strlen(what));
  return -1;
}

/* One UTF-8 character at s[0..n) as Lua 5.4's strict utf8.len accepts it; its length, or 0. */
static size_t utf8_char(const unsigned char *s, size_t n) {
  static const unsigned long limits[] = {~0UL, 0x80, 0x800, 0x10000UL, 0x200000UL, 0x4000000UL};
  unsigned int c = s[0];
  unsigned long res = 0;
  if (c < 0x80) return 1;
  size_t count = 0;
  for (; c & 0x40; c <<= 1) {
    if (++count >= n) return 0;
    unsigned int cc = s[count];
    if ((cc & 0xC0) != 0x80) return 0;
    res = (res << 6) | (cc & 0x3F);
  }
  res |= ((unsigned long)(c & 0x7F) << (count * 5));
  if (count > 5 || res > 0x7FFFFFFFUL || res < limits[count]) return 0;
  if (res > 0x10FFFFUL || (res >= 0xD800UL && res <= 0xDFFFUL)) return 0; /* strict */
  return count + 1;
}

/* What each byte asks of the encoder: 0 nothing (copied), 1 an escape, 2 a UTF-8 check. */
const unsigned char le_json_byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

/* One pass: runs of plain bytes copied at once (eight tested at a time), each character
 * above ASCII checked as utf8.len does; -1 on a string that is not valid UTF-8 (the
 * caller drops the text, so nothing half-written shows). */
static inline int string_into(le_buffer *b, int *oom, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  buf_put_c(b, oom, '"');
  size_t run = 0; /* start of the bytes not written yet */
  for (size_t i = 0; i < n;) {
    while (i + 8 <= n && le_json_plain8(u + i)) i += 8;
    while (i < n && !le_json_byte_class[u[i]]) i++;
    if (i >= n) break;
    unsigned char c = u[i], cls = le_json_byte_class[c];
    if (cls == 2) {
      size_t len = utf8_char(u + i, n - i);
      if (!len) return -1;
      i += len;
      continue;
    }
    buf_put(b, oom, s + run, i - run);
    run = ++i;
    char esc[8];
    switch (c) {
    case '"': buf_put(b, oom, "\\\"", 2); break;
    case '\\': buf_put(b, oom, "\\\\", 2); break;
    case '\b': buf_put(b, oom, "\\b", 2); break;
    case '\f': buf_put(b, oom, "\\f", 2); break;
    case '\n': buf_put(b, oom, "\\n", 2); break;
    case '\r': buf_put(b, oom, "\\r", 2); break;
    case '\t': buf_put(b, oom, "\\t", 2); break;
    default: snprintf(esc, sizeof esc, "\\u%04x", c); buf_put(b, oom, esc, 6);
    }
  }
  buf_put(b, oom, s + run, n - run);
  buf_put_c(b, oom, '"');
  return 0;
}

static int encode_string(encoder *e, const char *s, size_t n, int depth) {
  if (string_into(&e->out, &e->out_of_memory, s, n) != 0) return fail(e, depth, "string is not valid UTF-8");
  return 0;
}

int le_json_put_string(le_buffer *b, const char *s, size_t n) {
  int oom = 0;
  if (string_into(b, &oom, s, n) != 0) return -1;
  return oom ? -1 : 0;
}

/* An integer in decimal, as "%lld" writes it. */
static inline void integer_into(le_buffer *b, int *oom, long long v) {
  char num[24], *p = num + sizeof num;
  unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    *--p = (char)('0' + m % 10);
    m /= 10;
  } while (m);
  if (v < 0) *--p = '-';
  buf_put(b, oom, p, (size_t)(num + sizeof num - p));
}
static int put_integer(encoder *e, long long v) {
  integer_into(&e->out, &e->out_of_memory, v);
  return 0;
}

/* A finite number as json.lua writes it: integral and below 2^53 without a fraction,
 * else the shortest of %.15g/%.16g/%.17g that reads back exactly. */
static void number_into(le_buffer *b, int *oom, double x) {
  if (x == floor(x) && fabs(x) < 9007199254740992.0) { /* math.tointeger, < 2^53 */
    integer_into(b, oom, (long long)x);
    return;
  }
  static const char *const formats[] = {"%.15g", "%.16g", "%.17g"};
  char num[64];
  int n = 0;
  for (int i = 0; i < 3; i++) {
    n = snprintf(num, sizeof num, formats[i], x);
    if (strtod(num, NULL) == x) break;
  }
  buf_put(b, oom, num, (size_t)n);
}

int le_json_put_integer(le_buffer *b, long long v) {
  int oom = 0;
  integer_into(b, &oom, v);
  return oom ? -1 : 0;
}

int le_json_put_number(le_buffer *b, double x) {
  int oom = 0;
  number_into(b, &oom, x);
  return oom ? -1 : 0;
}

static int encode_number(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  if (lua_isinteger(L, idx)) return put_integer(e, (long long)lua_tointeger(L, idx));
  double x = lua_tonumber(L, idx);
  if (isnan(x) || isinf(x)) {
    const char *shown = luaL_tolstring(L, idx, NULL); /* tostring(x), as json.lua says it */
    char what[96];
    snprintf(what, sizeof what, "%s has no JSON form", shown);
    lua_pop(L, 1);
    return fail(e, depth, what);
  }
  number_into(&e->out, &e->out_of_memory, x);
  return 0;
}

static inline int key_order(const void *a, const void *b) {
  const key_ref *x = a, *y = b;
  if (x->len && y->len && x->s[0] != y->s[0]) return (unsigned char)x->s[0] < (unsigned char)y->s[0] ? -1 : 1;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

static int encode_value(encoder *e, int idx, int depth);

/* The first key of the table at idx that is not a string, as an error. */
static int non_string_key(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      const char *type = luaL_typename(L, -1);
      const char *shown = luaL_tolstring(L, -1, NULL);
      size_t len = strlen(type) + strlen(shown) + 64;
      char *what = malloc(len);
      if (what) snprintf(what, len, "object keys must be strings, found a %s key (%s)", type, shown);
      fail(e, depth, what ? what : "object keys must be strings");
      free(what);
      lua_pop(L, 2); /* the key and its text */
      return -1;
    }
  }
  return fail(e, depth, "object keys must be strings");
}

static int encode_array(encoder *e, int idx, int depth, lua_Integer n) {
  lua_State *L = e->L;
  put_c(e, '[');
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1) put_c(e, ',');
    e->path[depth + 1] = (path_entry){1, i, NULL, 0};
    lua_rawgeti(L, idx, i);
    int rc = encode_value(e, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
    if (rc != 0) return -1;
  }
  return put_c(e, ']');
}

static int encode_object(encoder *e, int idx, int depth, key_ref *keys, size_t nkeys) {
  lua_State *L = e->L;
  if (nkeys > 1 && nkeys <= 48) { /* an API object's few keys: insertion sort, no call per comparison */
    for (size_t i = 1; i < nkeys; i++) {
      key_ref k = keys[i];
      size_t j = i;
      while (j > 0 && key_order(&keys[j - 1], &k) > 0) {
        keys[j] = keys[j - 1];
        j--;
      }
      keys[j] = k;
    }
  } else if (nkeys > 1) {
    qsort(keys, nkeys, sizeof *keys, key_order); /* qsort(NULL, 0) is undefined */
  }
  put_c(e, '{');
  for (size_t i = 0; i < nkeys; i++) {
    if (i > 0) put_c(e, ',');
    e->path[depth + 1] = (path_entry){0, 0, keys[i].s, keys[i].len};
    if (encode_string(e, keys[i].s, keys[i].len, depth + 1) != 0) return -1;
    put_c(e, ':');
    int rc;
    if (keys[i].value) {
      rc = encode_value(e, keys[i].value, depth + 1);
    } else {
      lua_pushlstring(L, keys[i].s, keys[i].len);
      lua_rawget(L, idx);
      rc = encode_value(e, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    if (rc != 0) return -1;
  }
  return put_c(e, '}');
}

/* The table's keys in one walk: its string keys listed, each with its value left on
 * the stack (no lookup later) while the stack has room, and whether every other key
 * is an integer in 1..n. */
static int encode_table(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  if (depth > MAX_DEPTH) return fail(e, depth, "nested too deeply (does a table contain itself?)");
  luaL_checkstack(L, 8, "json.encode");
  int marked = 0;
  if (lua_getmetatable(L, idx)) {
    marked = lua_rawequal(L, -1, e->array_mt);
    lua_pop(L, 1);
    if (!marked) {
      e->fallback = 1;
      return -1;
    }
  }
  int base = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), ints = 0;
  key_ref first_keys[KEYS_ON_STACK], *keys = first_keys;
  size_t nkeys = 0, cap = KEYS_ON_STACK;
  int keys_ok = 1, rc;
  /* room for the values of the first keys (two slots each while lua_next runs), asked once */
  int room = lua_checkstack(L, 2 * KEYS_ON_STACK + 4) ? KEYS_ON_STACK : 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      if (nkeys == cap) {
        key_ref *grown = keys == first_keys ? malloc(2 * cap * sizeof *grown) : realloc(keys, 2 * cap * sizeof *grown);
        if (!grown) {
          rc = fail(e, depth, "out of memory");
          goto done;
        }
        if (keys == first_keys) memcpy(grown, first_keys, sizeof first_keys);
        keys = grown;
        cap *= 2;
      }
      keys[nkeys].s = lua_tolstring(L, -2, &keys[nkeys].len); /* anchored by the table */
      if (nkeys < (size_t)room || lua_checkstack(L, 4)) { /* the value stays, the key pushed again for lua_next */
        keys[nkeys].value = lua_gettop(L);
        lua_pushvalue(L, -2);
      } else {
        keys[nkeys].value = 0;
        lua_pop(L, 1);
      }
      nkeys++;
    } else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 && lua_tointeger(L, -2) <= n) {
      lua_pop(L, 1);
      ints++;
    } else {
      keys_ok = 0;
      lua_pop(L, 2);
      break;
    }
  }
  if (keys_ok && nkeys == 0 && (ints > 0 || marked) && ints == n) {
    rc = encode_array(e, idx, depth, n);
  } else if (!keys_ok || ints > 0) {
    rc = non_string_key(e, idx, depth);
  } else {
    rc = encode_object(e, idx, depth, keys, nkeys);
  }
done:
  if (keys != first_keys) free(keys);
  lua_settop(L, base);
  return rc;
}

static int encode_value(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    return encode_string(e, s, n, depth);
  }
  case LUA_TNUMBER: return encode_number(e, idx, depth);
  case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? put(e, "true", 4) : put(e, "false", 5);
  case LUA_TNIL: return put(e, "null", 4);
  case LUA_TTABLE: return encode_table(e, idx, depth);
  default:
    if (lua_rawequal(L, idx, e->null)) return put(e, "null", 4);
    char what[64];
    snprintf(what, sizeof what, "a %s cannot be encoded as JSON", luaL_typename(L, idx));
    return fail(e, depth, what);
  }
}

static int l_encode(lua_State *L) {
  luaL_checkany(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checkany(L, 3);
  lua_settop(L, 3);
  encoder e = {.L = L, .array_mt = 2, .null = 3};
  int rc = encode_value(&e, 1, 0);
  if (rc == 0 && e.out_of_memory) rc = fail(&e, 0, "out of memory");
  if (rc == 0) {
    lua_pushlstring(L, (const char *)e.out.data, e.out.len);
  } else if (e.fallback) {
    lua_pushboolean(L, 0);
  } else {
    lua_pushnil(L);
    if (e.message.len) lua_pushlstring(L, (const char *)e.message.data, e.message.len);
    else lua_pushliteral(L, "value: out of memory");
  }
  le_buffer_free(&e.out);
  le_buffer_free(&e.message);
  return rc == 0 || e.fallback ? 1 : 2;
}

int le_open_json(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"encode", l_encode}, {"mark_empty_arrays", le_json_mark_empty_arrays}, {"restore", le_json_restore},
      {"array_items", le_json_array_items},
      {"member_span", le_json_member_span}, {"item_starts", le_json_item_starts},
      {"decode_exact", le_json_decode_exact}, {"has_long_digits", le_json_has_long_digits},
      {"invoke_printed", le_json_invoke_printed}, {"decode_items", le_json_decode_items},
      {"func_answer", le_json_func_answer}, {NULL, NULL}};
  luaL_newlib(L, fns);
  le_json_push_decode_response(L);
  lua_setfield(L, -2, "decode_response");
  le_json_push_canonical_response(L);
  lua_setfield(L, -2, "canonical_response");
  le_push_json_array_mt(L); /* json.array's, the one state's empty arrays come back with */
  lua_setfield(L, -2, "array_mt");
  return 1;
}
