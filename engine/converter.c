#include "converter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#define MAX_DEPTH 200

static json_t *convert(lua_State *L, int idx, int depth, char *path, size_t path_len, le_error *err);

void le_push_json_array_mt(lua_State *L) {
  luaL_newmetatable(L, LE_JSON_ARRAY_MT); /* (the one there, when there is one) */
}

/* Whether the table at idx (of length 0) is json.array {}: empty, with that metatable. */
static int is_marked_empty(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  le_push_json_array_mt(L);
  int marked = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  if (!marked) return 0;
  lua_pushnil(L);
  if (!lua_next(L, idx)) return 1;
  lua_pop(L, 2);
  return 0;
}

static int is_sequence(lua_State *L, int idx, size_t *len_out) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n == 0) return 0;
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1)) {
      lua_pop(L, 1);
      return 0;
    }
    lua_Integer k = lua_tointeger(L, -1);
    if (k < 1 || k > n) {
      lua_pop(L, 1);
      return 0;
    }
    count++;
  }
  *len_out = (size_t)n;
  return count == n;
}

static json_t *convert_table(lua_State *L, int idx, int depth, char *path, size_t path_len,
                             le_error *err) {
  size_t n = 0;
  size_t base = strlen(path);
  if (is_sequence(L, idx, &n)) {
    json_t *arr = json_array();
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i);
      snprintf(path + base, path_len - base, "[%zu]", i);
      json_t *v = convert(L, lua_gettop(L), depth + 1, path, path_len, err);
      lua_pop(L, 1);
      if (!v) {
        json_decref(arr);
        return NULL;
      }
      json_array_append_new(arr, v);
    }
    path[base] = '\0';
    return arr;
  }
  if (lua_rawlen(L, idx) == 0 && is_marked_empty(L, idx)) return json_array();
  json_t *obj = json_object();
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      snprintf(path + base, path_len - base, "[%s]", luaL_typename(L, -2));
      le_error_set(err, "%s: only string keys can be stored (found a %s key)", path,
                   luaL_typename(L, -2));
      lua_pop(L, 2);
      json_decref(obj);
      return NULL;
    }
    size_t key_len;
    const char *key = lua_tolstring(L, -2, &key_len);
    snprintf(path + base, path_len - base, ".%s", key);
    if (memchr(key, '\0', key_len)) {
      le_error_set(err, "%s: a key with a NUL byte cannot be stored", path);
      lua_pop(L, 2);
      json_decref(obj);
      return NULL;
    }
    json_t *v = convert(L, lua_gettop(L), depth + 1, path, path_len, err);
    lua_pop(L, 1);
    if (!v) {
      lua_pop(L, 1);
      json_decref(obj);
      return NULL;
    }
    /* jansson refuses a key that is not UTF-8: an error, never an entry silently left out */
    if (json_object_set_new(obj, key, v) != 0) {
      le_error_set(err, "%s: a key that is not valid UTF-8 text cannot be stored", path);
      lua_pop(L, 1);
      json_decref(obj);
      return NULL;
    }
  }
  path[base] = '\0';
  return obj;
}

static json_t *convert(lua_State *L, int idx, int depth, char *path, size_t path_len, le_error *err) {
  if (depth > MAX_DEPTH) {
    le_error_set(err, "%s: nested too deeply (a table that contains itself?)", path);
    return NULL;
  }
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return json_null();
    case LUA_TBOOLEAN:
      return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
      if (!isfinite(lua_tonumber(L, idx))) {
        le_error_set(err, "%s: %g cannot be stored in JSON", path, lua_tonumber(L, idx));
        return NULL;
      }
      return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      json_t *v = json_stringn(s, len);
      if (!v) le_error_set(err, "%s: not valid UTF-8 text (store binary data base64-encoded)", path);
      return v;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return json_null();
      break;
    case LUA_TTABLE:
      return convert_table(L, idx, depth, path, path_len, err);
    default:
      break;
  }
  le_error_set(err, "%s: a %s cannot be stored", path, luaL_typename(L, idx));
  return NULL;
}

json_t *le_lua_to_json(lua_State *L, int idx, le_error *err) {
  char path[512] = "value";
  luaL_checkstack(L, MAX_DEPTH * 2 + 10, "converting to JSON");
  return convert(L, lua_absindex(L, idx), 0, path, sizeof path, err);
}

/* An integral real below 2^53 as the integer it is (what json.decode's restore makes of cjson's floats). */
static void push_real(lua_State *L, double x, int flags) {
  lua_Integer i;
  if ((flags & LE_JSON_INTEGRAL_REALS) && x == floor(x) && fabs(x) < 9007199254740992.0 &&
      lua_numbertointeger(x, &i))
    lua_pushinteger(L, i);
  else
    lua_pushnumber(L, x);
}

void le_json_to_lua_as(lua_State *L, const json_t *v, int flags) {
  luaL_checkstack(L, 4, "converting from JSON");
  if (!v) {
    lua_pushnil(L);
    return;
  }
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      const char *key;
      json_t *item;
      lua_createtable(L, 0, (int)json_object_size(v));
      json_object_foreach((json_t *)v, key, item) {
        le_json_to_lua_as(L, item, flags);
        lua_setfield(L, -2, key);
      }
      return;
    }
    case JSON_ARRAY: {
      size_t i;
      json_t *item;
      lua_createtable(L, (int)json_array_size(v), 0);
      if (json_array_size(v) == 0) { /* [] stays one (json.array {}) */
        le_push_json_array_mt(L);
        lua_setmetatable(L, -2);
        return;
      }
      json_array_foreach((json_t *)v, i, item) {
        le_json_to_lua_as(L, item, flags);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      return;
    }
    case JSON_STRING:
      lua_pushlstring(L, json_string_value(v), json_string_length(v));
      return;
    case JSON_INTEGER:
      lua_pushinteger(L, (lua_Integer)json_integer_value(v));
      return;
    case JSON_REAL:
      push_real(L, json_real_value(v), flags);
      return;
    case JSON_TRUE:
      lua_pushboolean(L, 1);
      return;
    case JSON_FALSE:
      lua_pushboolean(L, 0);
      return;
    case JSON_NULL:
      lua_pushlightuserdata(L, NULL);
      return;
  }
}

void le_json_to_lua(lua_State *L, const json_t *v) { le_json_to_lua_as(L, v, 0); }
