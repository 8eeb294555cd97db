/* jsonrestore.c — json.lua's helpers around cjson's decode (jsonrestore.h): empty arrays
 * marked in the text before it, values restored after it (integral floats made integers,
 * the marker made an empty array, nulls dropped). */
#include "jsonrestore.h"

#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* Lua's %s */

/* Whether a ']' follows a '[' and spaces only: most texts hold no empty array, and
 * memchr finds that at a fraction of the byte loop's cost (a batch's 470 KB: 4.2 M
 * instructions). A "[]" inside a string counts too; the loop below tells them apart. */
static int may_hold_empty_array(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  while ((p = memchr(p, ']', (size_t)(end - p))) != NULL) {
    const char *q = p;
    while (q > s && is_space((unsigned char)q[-1])) q--;
    if (q > s && q[-1] == '[') return 1;
    p++;
  }
  return 0;
}

int le_json_mark_empty_arrays(lua_State *L) {
  size_t n, marker_len;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *marker = luaL_checklstring(L, 2, &marker_len);
  if (!may_hold_empty_array(s, n)) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_Buffer b;
  int changed = 0;
  size_t run = 0; /* start of the bytes not copied yet */
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') { /* a string: skip to its closing quote, escapes included */
      for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      continue;
    }
    if (s[i] != '[') continue;
    size_t j = i + 1;
    while (j < n && is_space((unsigned char)s[j])) j++;
    if (j >= n || s[j] != ']') continue;
    if (!changed) luaL_buffinit(L, &b);
    changed = 1;
    luaL_addlstring(&b, s + run, i - run);
    luaL_addlstring(&b, marker, marker_len);
    run = j + 1;
    i = j;
  }
  if (!changed) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_addlstring(&b, s + run, n - run);
  luaL_pushresult(&b);
  return 1;
}

/* restore(value, drop_nulls, null, marker, array_mt) -> value, changed in place:
 * the walk aws/lambda_call.lua's Lua restore() does over cjson's output (kept there
 * as the reference; lua.json_values compares them). With a marker string: a float
 * that is integral and below 2^53 in magnitude becomes an integer, and a string
 * equal to the marker a new empty table with array_mt; marker true: the floats
 * alone (json.lua's integers walk over json.decode's value, kept there as the
 * reference). With drop_nulls: a member whose value is null and whose key is not
 * a number is removed. Depth as cjson's. */
typedef struct {
  lua_State *L;
  int drop_nulls, convert;
  void *null;
  const char *marker;
  size_t marker_len;
  int array_mt; /* stack index */
} restorer;

static void restore_table(restorer *r, int t, int depth) {
  lua_State *L = r->L;
  if (depth > 1000) luaL_error(L, "json.restore: nested too deeply");
  luaL_checkstack(L, 4, "json.restore");
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int vt = lua_type(L, -1);
    if (vt == LUA_TTABLE) {
      restore_table(r, lua_gettop(L), depth + 1);
    } else if (vt == LUA_TLIGHTUSERDATA && r->drop_nulls && lua_touserdata(L, -1) == r->null &&
               lua_type(L, -2) != LUA_TNUMBER) {
      lua_pushvalue(L, -2);
      lua_pushnil(L);
      lua_rawset(L, t); /* clearing a field while traversing is allowed */
    } else if (vt == LUA_TNUMBER && r->convert && !lua_isinteger(L, -1)) {
      lua_Number n = lua_tonumber(L, -1), f = floor(n);
      lua_Integer i;
      if (f == n && fabs(n) < 9007199254740992.0 && lua_numbertointeger(f, &i)) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, i);
        lua_rawset(L, t);
      }
    } else if (vt == LUA_TSTRING && r->marker) {
      size_t len;
      const char *v = lua_tolstring(L, -1, &len);
      if (len == r->marker_len && memcmp(v, r->marker, len) == 0) {
        lua_pushvalue(L, -2);
        lua_newtable(L);
        lua_pushvalue(L, r->array_mt);
        lua_setmetatable(L, -2);
        lua_rawset(L, t);
      }
    }
    lua_pop(L, 1);
  }
}

int le_json_restore(lua_State *L) {
  restorer r = {.L = L, .drop_nulls = lua_toboolean(L, 2), .null = lua_touserdata(L, 3), .array_mt = 5};
  luaL_checktype(L, 3, LUA_TLIGHTUSERDATA);
  if (lua_isboolean(L, 4)) {
    r.convert = lua_toboolean(L, 4);
  } else if (!lua_isnoneornil(L, 4)) {
    r.marker = luaL_checklstring(L, 4, &r.marker_len);
    luaL_checktype(L, 5, LUA_TTABLE);
    r.convert = 1;
  }
  lua_settop(L, 5);
  lua_pushvalue(L, 1); /* the result: the value itself, or what it becomes */
  int vt = lua_type(L, 1);
  if (vt == LUA_TTABLE) {
    restore_table(&r, 1, 0);
  } else if (r.convert && vt == LUA_TNUMBER && !lua_isinteger(L, 1)) {
    lua_Number n = lua_tonumber(L, 1), f = floor(n);
    lua_Integer i;
    if (f == n && fabs(n) < 9007199254740992.0 && lua_numbertointeger(f, &i)) lua_pushinteger(L, i);
  } else if (r.marker && vt == LUA_TSTRING) {
    size_t len;
    const char *v = lua_tolstring(L, 1, &len);
    if (len == r.marker_len && memcmp(v, r.marker, len) == 0) {
      lua_newtable(L);
      lua_pushvalue(L, 5);
      lua_setmetatable(L, -2);
    }
  }
  return 1;
}
