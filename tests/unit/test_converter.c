#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "converter.h"

static json_t *from_lua(lua_State *L, const char *expr, le_error *err) {
  char chunk[512];
  snprintf(chunk, sizeof chunk, "return %s", expr);
  assert_int_equal(luaL_dostring(L, chunk), LUA_OK);
  json_t *v = le_lua_to_json(L, -1, err);
  lua_pop(L, 1);
  return v;
}

static void round_trips_types(void **state) {
  (void)state;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  le_error err;
  json_t *v = from_lua(L, "{ name = 'x', n = 42, f = 1.5, yes = true, list = { 1, 2, 3 }, nested = { a = { b = 'c' } } }", &err);
  assert_non_null(v);
  char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(text, "{\"f\":1.5,\"list\":[1,2,3],\"n\":42,\"name\":\"x\",\"nested\":{\"a\":{\"b\":\"c\"}},\"yes\":true}");
  free(text);
  le_json_to_lua(L, v);
  lua_setglobal(L, "t");
  assert_int_equal(luaL_dostring(L, "assert(math.type(t.n) == 'integer' and t.n == 42); assert(t.f == 1.5);"
                                    "assert(t.list[3] == 3 and t.nested.a.b == 'c' and t.yes == true)"), LUA_OK);
  json_decref(v);
  lua_close(L);
}

/* json.array {} (an empty table with the registry's array metatable) is stored as [] and
 * comes back so marked, at any depth; a plain empty table stays {}, unmarked. */
static void keeps_empty_arrays(void **state) {
  (void)state;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  le_push_json_array_mt(L);
  lua_setglobal(L, "ARRAY_MT");
  le_error err;
  json_t *v = from_lua(L, "{ l = setmetatable({}, ARRAY_MT), m = {}, n = { 1, setmetatable({}, ARRAY_MT) },"
                          " o = setmetatable({ x = 1 }, ARRAY_MT), p = setmetatable({}, {}) }", &err);
  assert_non_null(v);
  char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(text, "{\"l\":[],\"m\":{},\"n\":[1,[]],\"o\":{\"x\":1},\"p\":{}}");
  free(text);
  le_json_to_lua(L, v);
  lua_setglobal(L, "t");
  assert_int_equal(luaL_dostring(L, "assert(getmetatable(t.l) == ARRAY_MT and next(t.l) == nil);"
                                    "assert(getmetatable(t.n[2]) == ARRAY_MT and getmetatable(t.n) == nil);"
                                    "assert(getmetatable(t.m) == nil and getmetatable(t.p) == nil and t.o.x == 1)"),
                   LUA_OK);
  le_push_json_array_mt(L); /* the same table each time */
  assert_int_equal(luaL_dostring(L, "return ARRAY_MT"), LUA_OK);
  assert_true(lua_rawequal(L, -1, -2));
  json_decref(v);
  lua_close(L);
}

static void rejects_what_json_cannot_hold(void **state) {
  (void)state;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  le_error err;
  assert_null(from_lua(L, "{ a = { f = print } }", &err));
  assert_non_null(strstr(err.message, "value.a.f"));
  assert_null(from_lua(L, "{ [true] = 1 }", &err));
  assert_non_null(strstr(err.message, "string keys"));
  assert_null(from_lua(L, "{ x = 0/0 }", &err));
  assert_null(from_lua(L, "{ s = '\\xff\\xfe' }", &err));
  assert_non_null(strstr(err.message, "UTF-8"));
  /* Keys too (found by fuzz_state): they were silently dropped or cut at the NUL. */
  assert_null(from_lua(L, "{ env = { ['A\\xff'] = 'x' } }", &err));
  assert_non_null(strstr(err.message, "value.env"));
  assert_non_null(strstr(err.message, "not valid UTF-8"));
  assert_null(from_lua(L, "{ ['a\\0b'] = 1, a = 2 }", &err));
  assert_non_null(strstr(err.message, "NUL"));
  assert_int_equal(luaL_dostring(L, "local t = {}; t.self = t; return t"), LUA_OK);
  assert_null(le_lua_to_json(L, -1, &err));
  assert_non_null(strstr(err.message, "nested too deeply"));
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trips_types),
      cmocka_unit_test(keeps_empty_arrays),
      cmocka_unit_test(rejects_what_json_cannot_hold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
