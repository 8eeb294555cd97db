#include "shape.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

/* Every key a string (shape.lua's is_object). The table is at idx (absolute). */
static int is_object(lua_State *L, int idx) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* Every key an integer in 1..#t (shape.lua's is_array). */
static int is_array(lua_State *L, int idx) {
  lua_Integer n = luaL_len(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_Integer k;
    if (!lua_isinteger(L, -2) || (k = lua_tointeger(L, -2)) < 1 || k > n) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return 1;
}

static int check(lua_State *L, int spec, int v, void *null);

static int check_object_fields(lua_State *L, int spec, int v, void *null) {
  lua_getfield(L, spec, "required");
  int required = lua_gettop(L);
  for (lua_Integer i = 1;; i++) { /* ipairs(spec.required) */
    if (lua_geti(L, required, i) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    int t = lua_gettable(L, v);
    if (t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == null)) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  /* The value's members, each looked up among the fields (a response has fewer
   * members than its shape has fields); the Lua check walks the fields instead,
   * which decides the same, and names the first problem in its own order. */
  lua_getfield(L, spec, "fields");
  int fields = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, v)) { /* name at -2, its value at -1 */
    lua_pushvalue(L, -2);
    if (lua_rawget(L, fields) != LUA_TNIL) { /* the field's spec */
      if (lua_type(L, -2) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -2) == null) {
        lua_pushvalue(L, -3);
        lua_pushnil(L);
        lua_rawset(L, v); /* optional: null means absent (clearing while traversing is allowed) */
      } else if (!check(L, lua_gettop(L), lua_gettop(L) - 1, null)) {
        lua_pop(L, 4);
        return 0;
      }
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return 1;
}

static int check(lua_State *L, int spec, int v, void *null) {
  luaL_checkstack(L, 8, "shape check");
  lua_getfield(L, spec, "kind");
  const char *kind = lua_tostring(L, -1);
  lua_pop(L, 1); /* the spec keeps the string */
  if (!kind) return luaL_error(L, "shape.check: a spec without a kind");
  int type = lua_type(L, v);
  if (strcmp(kind, "string") == 0) return type == LUA_TSTRING;
  if (strcmp(kind, "integer") == 0) return type == LUA_TNUMBER && lua_isinteger(L, v);
  if (strcmp(kind, "boolean") == 0) return type == LUA_TBOOLEAN;
  if (strcmp(kind, "number") == 0) return type == LUA_TNUMBER;
  if (type != LUA_TTABLE) return 0;
  if (strcmp(kind, "array") == 0) {
    if (!is_array(L, v)) return 0;
    lua_getfield(L, spec, "item");
    int item = lua_gettop(L);
    for (lua_Integer i = 1;; i++) { /* ipairs(v) */
      if (lua_geti(L, v, i) == LUA_TNIL) break;
      if (!check(L, item, lua_gettop(L), null)) {
        lua_pop(L, 2);
        return 0;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return 1;
  }
  if (!is_object(L, v)) return 0;
  if (strcmp(kind, "map") == 0) {
    lua_getfield(L, spec, "value");
    int value = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, v)) {
      if (!check(L, value, lua_gettop(L), null)) {
        lua_pop(L, 3);
        return 0;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 1;
  }
  return strcmp(kind, "object") == 0 ? check_object_fields(L, spec, v, null) : 1;
}

static int l_check(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checktype(L, 3, LUA_TLIGHTUSERDATA);
  lua_settop(L, 3);
  lua_pushboolean(L, check(L, 1, 2, lua_touserdata(L, 3)));
  return 1;
}

int le_open_shape(lua_State *L) {
  static const luaL_Reg fns[] = {{"check", l_check}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
