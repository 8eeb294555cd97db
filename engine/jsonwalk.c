/* jsonwalk.c — see jsonwalk.h. */
#include "jsonwalk.h"

#include <string.h>

#include <lauxlib.h>

#include "converter.h"
#include "jsonlex.h"

const unsigned char le_jsonwalk_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    3, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

const unsigned char *le_jsonwalk_spaces(const unsigned char *p, const unsigned char *end) {
  static const unsigned char eight[8] = "        ";
  while (p < end && LE_JSONWALK_IS_SPACE(*p)) {
    p++;
    while (end - p >= 8 && memcmp(p, eight, 8) == 0) p += 8; /* a state's indentation */
  }
  return p;
}

/* The closing quote of the string whose bytes begin at p, or NULL. */
const unsigned char *le_jsonwalk_string_end(const unsigned char *p, const unsigned char *end) {
  for (;;) {
    const unsigned char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) return NULL;
    size_t backslashes = 0;
    while (q - backslashes > p && q[-1 - (ptrdiff_t)backslashes] == '\\') backslashes++;
    if (backslashes % 2 == 0) return q;
    p = q + 1;
  }
}

/* The byte after the value at p. */
const unsigned char *le_jsonwalk_skip(const unsigned char *p, const unsigned char *end) {
  if (*p == '"') return le_jsonwalk_string_end(p + 1, end) + 1;
  if (*p != '{' && *p != '[') { /* a number or a literal: up to what ends it */
    while (p < end && !strchr(",}] \n\r\t", *p)) p++;
    return p;
  }
  for (int depth = 0;; p++) {
    if (*p == '"') p = le_jsonwalk_string_end(p + 1, end);
    else if (*p == '{' || *p == '[') depth++;
    else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
  }
}

/* The first member or item of the object or array at p, or NULL when it is empty. */
const unsigned char *le_jsonwalk_first(const unsigned char *p, const unsigned char *end) {
  p = le_jsonwalk_space(p + 1, end);
  return *p == '}' || *p == ']' ? NULL : p;
}

/* The member or item after the one at p (the value at p, for an item), or NULL at the end. */
const unsigned char *le_jsonwalk_next(const unsigned char *p, const unsigned char *end) {
  p = le_jsonwalk_space(le_jsonwalk_skip(p, end), end);
  return *p == ',' ? le_jsonwalk_space(p + 1, end) : NULL;
}

/* The value of the member whose key is at p. */
const unsigned char *le_jsonwalk_member_value(const unsigned char *p, const unsigned char *end) {
  return le_jsonwalk_space(le_jsonwalk_space(le_jsonwalk_string_end(p + 1, end) + 1, end) + 1, end);
}

/* The string at p as a Lua string; the byte after it. */
static const unsigned char *push_string(lua_State *L, const unsigned char *p, const unsigned char *end) {
  const unsigned char *start = p + 1, *q = memchr(start, '"', (size_t)(end - start));
  const unsigned char *escape = memchr(start, '\\', (size_t)(q - start));
  if (!escape) {
    lua_pushlstring(L, (const char *)start, (size_t)(q - start));
    return q + 1;
  }
  q = escape;
  const unsigned char *close = le_jsonwalk_string_end(q, end);
  luaL_Buffer b;
  size_t len = 0;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)(close - start));
  le_jsonlex_unescape(start, q, close + 1, out, &len);
  luaL_pushresultsize(&b, len);
  return close + 1;
}

/* An object's keys repeat from one entry to the next (every function has its function_name,
 * its handler...): the Lua string of a plain key is kept in a table in the registry (a slot by
 * its length and bytes; a slot holds the last key put there), so a key made before is taken
 * from it, not interned again (~230 instructions a key for lua_pushlstring, ~100 this way). */
#define KEY_SLOTS 256
#define KEY_CACHED_MAX 40 /* bytes: longer keys are made as they are */
static const char key_cache_id = 0;

/* The key cache's table pushed (made the first time). */
static void push_key_cache(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key_cache_id) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, KEY_SLOTS, 0);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &key_cache_id);
}

/* The key (a string) at p as a Lua string, from the cache at index cache when it has it; the
 * byte after it. */
static const unsigned char *push_key(lua_State *L, int cache, const unsigned char *p, const unsigned char *end) {
  const unsigned char *start = p + 1, *q = memchr(start, '"', (size_t)(end - start));
  size_t n = (size_t)(q - start);
  if (n == 0 || n > KEY_CACHED_MAX || memchr(start, '\\', n)) return push_string(L, p, end);
  unsigned slot = (unsigned)(n * 31u + start[0] * 7u + start[n - 1] * 3u + start[n / 2]) % KEY_SLOTS + 1;
  size_t len;
  lua_rawgeti(L, cache, slot);
  const char *s = lua_tolstring(L, -1, &len);
  if (s && len == n && memcmp(s, start, n) == 0) return q + 1;
  lua_pop(L, 1);
  lua_pushlstring(L, (const char *)start, n);
  lua_pushvalue(L, -1);
  lua_rawseti(L, cache, slot);
  return q + 1;
}

/* The object or array at p, its members made first and its table then made at its size
 * and filled in the text's order (what le_json_to_lua makes from jansson's values). */
static const unsigned char *push_container(lua_State *L, const unsigned char *p, const unsigned char *end) {
  int object = *p == '{', n = 0;
  luaL_checkstack(L, 1, "reading a state entry");
  if (object) push_key_cache(L);
  else lua_pushnil(L); /* (the same stack's shape) */
  int cache = lua_gettop(L), first = cache + 1;
  p = le_jsonwalk_space(p + 1, end);
  if (*p != '}' && *p != ']')
    for (;;) {
      luaL_checkstack(L, 3, "reading a state entry");
      if (object) p = le_jsonwalk_space(le_jsonwalk_space(push_key(L, cache, p, end), end) + 1, end); /* the key, its ':' */
      p = le_jsonwalk_space(le_jsonwalk_push(L, p, end), end);
      n++;
      if (*p != ',') break;
      p = le_jsonwalk_space(p + 1, end);
    }
  luaL_checkstack(L, 3, "reading a state entry"); /* the table and a member's two copies */
  lua_createtable(L, object ? 0 : n, object ? n : 0);
  if (!object && n == 0) { /* [] stays one (json.array {}), as le_json_to_lua makes it */
    le_push_json_array_mt(L);
    lua_setmetatable(L, -2);
    lua_remove(L, cache);
    return p + 1;
  }
  for (int i = 0; i < n; i++) {
    if (object) {
      lua_pushvalue(L, first + 2 * i);
      lua_pushvalue(L, first + 2 * i + 1);
      lua_rawset(L, -3);
    } else {
      lua_pushvalue(L, first + i);
      lua_rawseti(L, -2, i + 1);
    }
  }
  lua_copy(L, -1, cache);
  lua_settop(L, cache);
  return p + 1; /* past its closing byte */
}

const unsigned char *le_jsonwalk_push(lua_State *L, const unsigned char *p, const unsigned char *end) {
  le_jsonlex_num num;
  double x;
  switch (*p) {
  case '{':
  case '[': return push_container(L, p, end);
  case '"': return push_string(L, p, end);
  case 't': lua_pushboolean(L, 1); return p + 4;
  case 'f': lua_pushboolean(L, 0); return p + 5;
  case 'n': lua_pushlightuserdata(L, NULL); return p + 4;
  default:
    le_jsonlex_number(p, end, &num);
    if (num.integral) lua_pushinteger(L, (lua_Integer)le_jsonlex_short_integer(&num));
    else lua_pushnumber(L, le_jsonlex_real(&num, &x) == 0 ? x : 0);
    return num.end;
  }
}

/* Whether the Lua table at idx holds exactly n entries (raw). */
static int has_entries(lua_State *L, int idx, lua_Integer n) {
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (++count > n) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return count == n;
}

#define SAME_MAX_MEMBERS 32 /* an object with more is not compared (0: the caller makes it) */

typedef struct {
  const unsigned char *key, *value;
  size_t key_len;
} text_member;

/* The members of the object at p, in the text's order (a state's keys are sorted, byte by
 * byte, without escapes: checked when the file was read); -1 when there are too many or a
 * key has an escape. */
static int members_of(const unsigned char *p, const unsigned char *end, text_member *m) {
  int n = 0;
  for (const unsigned char *at = le_jsonwalk_first(p, end); at; at = le_jsonwalk_next(m[n - 1].value, end)) {
    const unsigned char *close = memchr(at + 1, '"', (size_t)(end - at - 1));
    if (n == SAME_MAX_MEMBERS || memchr(at + 1, '\\', (size_t)(close - at - 1))) return -1;
    m[n].key = at + 1;
    m[n].key_len = (size_t)(close - at - 1);
    m[n].value = le_jsonwalk_space(le_jsonwalk_space(close + 1, end) + 1, end);
    n++;
  }
  return n;
}

/* The member of m (n, sorted by key) whose key is s (len bytes), or NULL. */
static const text_member *member_named(const text_member *m, int n, const char *s, size_t len) {
  int lo = 0, hi = n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    size_t k = m[mid].key_len;
    int c = memcmp(m[mid].key, s, k < len ? k : len);
    if (c == 0) c = k < len ? -1 : k > len;
    if (c == 0) return &m[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* An object: each of the table's entries (lua_next) is a member with the same value, and the
 * table has as many entries as the object members. */
static int same_object(lua_State *L, const unsigned char *p, const unsigned char *end, int idx) {
  text_member m[SAME_MAX_MEMBERS];
  int n = members_of(p, end, m), count = 0;
  if (n < 0) return 0;
  luaL_checkstack(L, 3, "comparing a state entry");
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* k v */
    size_t len = 0;
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
    const text_member *mb = key ? member_named(m, n, key, len) : NULL;
    if (!mb || ++count > n || !le_jsonwalk_same(L, mb->value, end, lua_gettop(L))) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return count == n;
}

static int same_container(lua_State *L, const unsigned char *p, const unsigned char *end, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  const unsigned char *at = le_jsonwalk_first(p, end);
  if (lua_getmetatable(L, idx)) { /* only an empty array is pushed with one: json.array's */
    le_push_json_array_mt(L);
    int marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked && *p == '[' && !at && has_entries(L, idx, 0);
  }
  if (*p == '{') return same_object(L, p, end, idx);
  if (!at) return 0; /* [] is pushed marked */
  luaL_checkstack(L, 2, "comparing a state entry");
  lua_Integer n = 0;
  for (; at; at = le_jsonwalk_next(at, end)) {
    lua_rawgeti(L, idx, ++n);
    int same = le_jsonwalk_same(L, at, end, lua_gettop(L));
    lua_pop(L, 1);
    if (!same) return 0;
  }
  return has_entries(L, idx, n);
}

int le_jsonwalk_same(lua_State *L, const unsigned char *p, const unsigned char *end, int idx) {
  le_jsonlex_num num;
  double x;
  switch (*p) {
  case '{':
  case '[': return same_container(L, p, end, idx);
  case '"': {
    const unsigned char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
    size_t n = (size_t)(close - p - 1), len;
    if (lua_type(L, idx) != LUA_TSTRING || memchr(p + 1, '\\', n)) return 0; /* (escapes: not compared) */
    const char *s = lua_tolstring(L, idx, &len);
    return len == n && memcmp(s, p + 1, n) == 0;
  }
  case 't': return lua_type(L, idx) == LUA_TBOOLEAN && lua_toboolean(L, idx);
  case 'f': return lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx);
  case 'n': return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
  default:
    if (lua_type(L, idx) != LUA_TNUMBER) return 0;
    le_jsonlex_number(p, end, &num);
    if (num.integral) return lua_isinteger(L, idx) && lua_tointeger(L, idx) == (lua_Integer)le_jsonlex_short_integer(&num);
    return !lua_isinteger(L, idx) && lua_tonumber(L, idx) == (le_jsonlex_real(&num, &x) == 0 ? x : 0);
  }
}
