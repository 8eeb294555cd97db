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

/* The object or array at p, its members made first and its table then made at its size
 * and filled in the text's order (what le_json_to_lua makes from jansson's values). */
static const unsigned char *push_container(lua_State *L, const unsigned char *p, const unsigned char *end) {
  int object = *p == '{', first = lua_gettop(L) + 1, n = 0;
  p = le_jsonwalk_space(p + 1, end);
  if (*p != '}' && *p != ']')
    for (;;) {
      luaL_checkstack(L, 3, "reading a state entry");
      if (object) p = le_jsonwalk_space(le_jsonwalk_space(push_string(L, p, end), end) + 1, end); /* the key, its ':' */
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
  lua_copy(L, -1, first);
  lua_settop(L, first);
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
