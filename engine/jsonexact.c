/* jsonexact.c — see jsonexact.h. */
#include "jsonexact.h"

#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "converter.h"

/* The jansson value is held by a userdata until it is converted, so that a Lua error while
 * converting (out of memory) cannot leak it: the collector frees it then. */
#define BOX_MT "lambdaeng.jsonexact.box"

static int box_gc(lua_State *L) {
  json_t **box = luaL_checkudata(L, 1, BOX_MT);
  json_decref(*box);
  *box = NULL;
  return 0;
}

static json_t **push_box(lua_State *L) {
  json_t **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return box;
}

/* The token jansson's message names ("too big integer near '123...'"), or the whole text. */
static void push_near(lua_State *L, const char *text) {
  const char *near = strstr(text, "near '");
  size_t len = near ? strlen(near + 6) : 0;
  if (near && len > 0 && near[6 + len - 1] == '\'') lua_pushlstring(L, near + 6, len - 1);
  else lua_pushstring(L, text);
}

static int refuse(lua_State *L, const json_error_t *err) {
  lua_pushnil(L);
  if (json_error_code(err) == json_error_numeric_overflow) {
    int integer = strstr(err->text, "integer") != NULL;
    push_near(L, err->text);
    lua_pushfstring(L, integer ? "the integer %s (line %d, column %d) is outside the 64-bit range "
                                 "(-2^63 to 2^63-1) in which lambdaeng keeps integers exact: "
                                 "write it as a string"
                               : "the number %s (line %d, column %d) is beyond a double's range",
                    lua_tostring(L, -1), err->line, err->column);
    lua_remove(L, -2);
    lua_pushliteral(L, "number");
  } else {
    lua_pushfstring(L, "invalid JSON: %s (line %d, column %d)", err->text, err->line, err->column);
    lua_pushliteral(L, "syntax");
  }
  lua_pushinteger(L, (lua_Integer)err->position);
  return 4;
}

/* Whether v nests deeper than max_depth arrays and objects (json.encode, the reference walk and
 * state refuse such a value; refused here, it is named as the variable's). */
static int too_deep(const json_t *v, int max_depth) {
  if (!json_is_object(v) && !json_is_array(v)) return 0;
  if (max_depth == 0) return 1;
  const char *key;
  size_t i;
  json_t *item;
  if (json_is_object(v)) {
    json_object_foreach((json_t *)v, key, item) if (too_deep(item, max_depth - 1)) return 1;
  } else {
    json_array_foreach(v, i, item) if (too_deep(item, max_depth - 1)) return 1;
  }
  return 0;
}

int le_json_decode_exact(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  json_t **box = push_box(L);
  json_error_t err;
  *box = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  if (!*box) return refuse(L, &err);
  if (too_deep(*box, LE_JSON_EXACT_MAX_DEPTH)) {
    lua_pushnil(L);
    lua_pushfstring(L, "nested deeper than %d arrays and objects", LE_JSON_EXACT_MAX_DEPTH);
    lua_pushliteral(L, "depth");
    lua_pushinteger(L, 1);
    return 4;
  }
  le_json_to_lua_as(L, *box, LE_JSON_INTEGRAL_REALS);
  json_decref(*box);
  *box = NULL;
  return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A run of 16 digits covers one byte at every remainder modulo 16: only those at 15, 31, ...
 * are looked at, and around one that is a digit, the run it is in (a 478-byte answer: ~0.4 k
 * instructions where every byte's test took ~5 k). */
int le_json_has_long_digits(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  for (size_t i = 15; i < len; i += 16) {
    if (!is_digit(text[i])) continue;
    size_t from = i, to = i + 1;
    while (from > 0 && is_digit(text[from - 1])) from--;
    while (to < len && is_digit(text[to])) to++;
    if (to - from >= 16) {
      lua_pushboolean(L, 1);
      return 1;
    }
  }
  lua_pushboolean(L, 0);
  return 1;
}
