/* statefile.c: a state file read with its entries kept as text reads exactly as jansson
 * reads it, or not at all (the state then reads it the usual way). For every text here,
 * and for thousands of mutations of a state as lambdaeng writes it (bytes changed, and
 * entries' members given other values or removed), either le_statefile_read is unsure,
 * or jansson accepts the text too and: the document's other members are the same values;
 * every entry kept as text parses to jansson's value of it (types and key order too),
 * makes the same Lua table (le_json_to_lua of jansson's value: types, subtypes, the order
 * next() gives), the same for each of its fields, and its stand-in passes or fails the
 * state's entry check with the message the entry itself gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "converter.h"
#include "jsontest.h"
#include "state.h"
#include "statefile.h"

static const size_t STATE_DUMP = JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17);

/* The Lua values at a and b are the same: type, subtype, value, and for tables the same
 * pairs in the order next() gives them. */
static void assert_same_lua(lua_State *L, int a, int b) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  assert_int_equal(lua_type(L, a), lua_type(L, b));
  if (lua_type(L, a) == LUA_TNUMBER) assert_int_equal(lua_isinteger(L, a), lua_isinteger(L, b));
  if (lua_type(L, a) != LUA_TTABLE) {
    if (!lua_rawequal(L, a, b)) fail_msg("%s differs from %s", luaL_tolstring(L, a, NULL), luaL_tolstring(L, b, NULL));
    return;
  }
  luaL_checkstack(L, 8, "compare");
  int mt_a = lua_getmetatable(L, a), mt_b = lua_getmetatable(L, b); /* an empty array's mark too */
  assert_int_equal(mt_a, mt_b);
  if (mt_a) assert_true(lua_rawequal(L, -1, -2));
  lua_pop(L, mt_a + mt_b);
  int keys = lua_gettop(L) + 1; /* the last key of a, then of b */
  lua_pushnil(L);
  lua_pushnil(L);
  for (;;) {
    lua_pushvalue(L, keys);
    int more_a = lua_next(L, a);
    if (more_a) lua_copy(L, -2, keys);
    lua_pushvalue(L, keys + 1);
    int more_b = lua_next(L, b);
    assert_int_equal(more_a, more_b);
    if (!more_a) break;
    lua_copy(L, -2, keys + 1);
    assert_true(lua_rawequal(L, -4, -2)); /* key a, value a, key b, value b */
    assert_same_lua(L, -3, -1);
    lua_pop(L, 4);
  }
  lua_settop(L, keys - 1);
}

typedef struct {
  lua_State *L;
  int read, unsure, kept, refused_alike, as_dumped;
} tally;

/* The entry's lines as state.c writes them in the document: its key and value at the
 * depth of the resources object, jansson's indented dump with four more spaces a line. */
static char *as_written(const char *addr, json_t *entry) {
  json_t *key = json_string(addr);
  char *key_text = json_dumps(key, JSON_ENCODE_ANY), *value = json_dumps(entry, STATE_DUMP | JSON_ENCODE_ANY);
  size_t n = strlen(value);
  char *out = malloc(strlen(key_text) + 8 + 5 * n), *w = out;
  w += sprintf(w, "    %s: ", key_text);
  for (const char *p = value; *p; p++) {
    *w++ = *p;
    if (*p == '\n') w += sprintf(w, "    ");
  }
  *w = '\0';
  json_decref(key);
  free(key_text);
  free(value);
  return out;
}

static void same_check(json_t *shape, json_t *entry, const char *addr, tally *t) {
  le_error a, b;
  int rc_shape = le_state_check_entry("s.json", addr, shape, &a);
  int rc_entry = le_state_check_entry("s.json", addr, entry, &b);
  assert_int_equal(rc_shape, rc_entry);
  if (rc_entry != LE_OK) {
    assert_string_equal(a.message, b.message);
    t->refused_alike++;
  }
}

/* le_statefile_push called as state:get calls it: from a C function, whose stack has
 * LUA_MINSTACK free slots unless it asks for more (the sanitized build checks each push). */
typedef struct {
  const le_statefile *sf;
  size_t i;
  const char *field;
} push_args;

static int push_kept(lua_State *L) {
  const push_args *a = lua_touserdata(L, 1);
  le_statefile_push(L, a->sf, a->i, a->field, lua_istable(L, 2) ? 2 : 0);
  return 1;
}

/* With memo (a field only): through a new memo table, pushed twice: the second push is the
 * first's table (or value) again. */
static void push_as_a_call(lua_State *L, const le_statefile *sf, size_t i, const char *field, int memo) {
  push_args a = {sf, i, field};
  if (memo) lua_newtable(L);
  lua_pushcfunction(L, push_kept);
  lua_pushlightuserdata(L, &a);
  if (memo) lua_pushvalue(L, -3);
  assert_int_equal(lua_pcall(L, memo ? 2 : 1, 1, 0), LUA_OK);
  if (!memo) return;
  lua_pushcfunction(L, push_kept);
  lua_pushlightuserdata(L, &a);
  lua_pushvalue(L, -4);
  assert_int_equal(lua_pcall(L, 2, 1, 0), LUA_OK);
  if (lua_istable(L, -1)) assert_true(lua_rawequal(L, -1, -2));
  lua_pop(L, 1);
  lua_remove(L, -2); /* the memo */
}

static void same_entry(const le_statefile *sf, size_t i, json_t *entry, const char *addr, tally *t) {
  lua_State *L = t->L;
  json_t *parsed = le_statefile_entry(sf, i);
  assert_non_null(parsed);
  assert_same_json(parsed, entry);
  json_decref(parsed);
  const char *text;
  size_t len;
  if (le_statefile_text(sf, i, &text, &len)) { /* then exactly what a save would write */
    char *expected = as_written(addr, entry);
    if (strlen(expected) != len || memcmp(expected, text, len) != 0)
      fail_msg("kept as written:\n%.*s\nbut written:\n%s", (int)len, text, expected);
    free(expected);
    t->as_dumped++;
  }
  json_t *shape = le_statefile_shape(sf, i, le_state_checked_args);
  assert_non_null(shape);
  same_check(shape, entry, addr, t);
  json_decref(shape);
  push_as_a_call(L, sf, i, NULL, 0);
  le_json_to_lua(L, entry);
  assert_same_lua(L, -2, -1);
  lua_pop(L, 2);
  static const char *const absent[] = {"absent", "", "kinds", NULL};
  const char *field;
  json_t *v;
  json_object_foreach(entry, field, v) {
    for (int memo = 0; memo <= 1; memo++) {
      push_as_a_call(L, sf, i, field, memo);
      le_json_to_lua(L, v);
      assert_same_lua(L, -2, -1);
      lua_pop(L, 2);
    }
  }
  for (const char *const *f = absent; *f; f++) {
    if (json_object_get(entry, *f)) continue;
    push_as_a_call(L, sf, i, *f, 1);
    assert_true(lua_isnil(L, -1));
    lua_pop(L, 1);
  }
  t->kept++;
}

/* Reads text both ways; returns whether it was read with entries kept. */
static int agrees(const char *text, size_t len, tally *t) {
  json_t *root;
  le_statefile *sf;
  int rc = le_statefile_read(text, len, &root, &sf);
  json_error_t err;
  json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (rc != 0) {
    assert_null(root);
    t->unsure++;
    json_decref(ref);
    return 0;
  }
  if (!ref) fail_msg("read what jansson refuses (%s): %.*s", err.text, (int)len, text);
  assert_int_equal(json_object_size(root), json_object_size(ref));
  const char *key;
  json_t *v;
  void *at = json_object_iter(ref);
  json_object_foreach(root, key, v) { /* the same members in the same order */
    assert_string_equal(key, json_object_iter_key(at));
    json_t *theirs = json_object_iter_value(at);
    at = json_object_iter_next(ref, at);
    if (strcmp(key, "resources") != 0 || !json_is_object(v)) {
      assert_same_json(v, theirs);
      continue;
    }
    assert_int_equal(json_object_size(v), json_object_size(theirs));
    const char *addr;
    json_t *entry;
    void *e = json_object_iter(theirs);
    json_object_foreach(v, addr, entry) {
      assert_string_equal(addr, json_object_iter_key(e));
      json_t *their_entry = json_object_iter_value(e);
      e = json_object_iter_next(theirs, e);
      if (json_is_integer(entry)) same_entry(sf, (size_t)json_integer_value(entry), their_entry, addr, t);
      else assert_same_json(entry, their_entry);
    }
  }
  json_decref(root);
  json_decref(ref);
  le_statefile_free(sf);
  t->read++;
  return 1;
}

static int agrees_str(const char *text, tally *t) { return agrees(text, strlen(text), t); }

static json_t *target(void) {
  return json_pack("{s:s, s:s, s:s, s:s}", "account", "000000000000", "endpoint", "http://127.0.0.1:1", "kind",
                   "endpoint", "region", "us-east-1");
}

/* A state as lambdaeng writes it, with entries of several kinds and every sort of value. */
static json_t *state_doc(void) {
  json_t *func = json_pack(
      "{s:s, s:{s:s, s:i, s:f, s:f, s:I, s:s, s:[], s:{s:s, s:s}, s:n, s:[i, s, [i], {s:i}, n, b]},"
      " s:{s:s, s:i, s:{}}, s:{}, s:{}, s:s, s:s, s:o}",
      "kind", "func", "args", "function_name", "bench-0", "memory_size", 128, "ratio", 0.25, "one", 1.0,
      "big", (json_int_t)123456789012345678, "description", "say \"hi\"\n\ttab \\ back /slash\x01", "layers",
      "environment", "K", "v", "EMPTY", "", "nothing", "list", 1, "two", 3, "four", 4, 0, "attrs", "arn",
      "arn:aws:lambda:us-east-1:000000000000:function:bench-0", "version", -42, "tags_all", "dependencies",
      "tags_all", "name", "f0", "site", "stack.lua:3", "target", target());
  json_t *alias = json_pack("{s:s, s:{s:s, s:s}, s:[s, s], s:b, s:b, s:s, s:o}", "kind", "alias", "args",
                            "function_name", "bench-0", "name", "live", "dependencies", "func.f0", "func.f1",
                            "partial", 0, "prevent_destroy", 1, "pending", "create", "target", target());
  json_t *layer = json_pack("{s:s, s:{s:s, s:[s]}, s:{s:f}, s:{}}", "kind", "layer_version", "args", "layer_name",
                            "lay", "compatible_runtimes", "python3.12", "attrs", "tiny", 1e-300, "sensitive");
  json_t *outputs = json_pack("{s:{s:b, s:s}}", "url", "sensitive", 0, "value_digest", "abc");
  return json_pack("{s:s, s:s, s:{s:o, s:o, s:o}, s:i, s:i, s:o}", "lambdaeng_version", "0.1.0", "lineage",
                   "0f0e-11", "resources", "alias.live", alias, "func.f0", func, "layer_version.l", layer,
                   "serial", 7, "version", 1, "outputs", outputs);
}

static char *dump(json_t *doc) { return json_dumps(doc, STATE_DUMP); }

static void what_lambdaeng_writes_is_kept(void **state) {
  tally *t = *state;
  json_t *doc = state_doc();
  char *text = dump(doc);
  assert_true(agrees_str(text, t));
  assert_int_equal(t->kept, 3);
  assert_int_equal(t->as_dumped, 1); /* the two with reals are left to the dump */
  /* Compact, and with members out of order or repeated: read or left to the usual way. */
  char *compact = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
  assert_true(agrees_str(compact, t));
  assert_int_equal(t->as_dumped, 1); /* compact: not as a save writes it */
  /* Escapes the dump does not write (it writes "/" and letters as they are, and \u001F
   * upper-case): read, not as written. */
  static const char *const escaped[] = {"\"l\\u0069ve\"", "\"li\\/ve\"", "\"live\\u001f\"", "\"live\\u001F\""};
  char *at = strstr(text, "\"live\"");
  assert_non_null(at);
  for (size_t i = 0; i < sizeof escaped / sizeof *escaped; i++) {
    char *variant = malloc(strlen(text) + 16);
    sprintf(variant, "%.*s%s%s", (int)(at - text), text, escaped[i], at + strlen("\"live\""));
    int as_dumped = t->as_dumped;
    assert_true(agrees_str(variant, t));
    assert_int_equal(t->as_dumped, as_dumped + (i == 3)); /* \u001F is the dump's own */
    free(variant);
  }
  static const char *const unsure[] = {
      "", "[]", "{\"resources\":{\"b\":{},\"a\":{}}}", "{\"resources\":{\"a\":{},\"a\":{}}}",
      "{\"resources\":{\"a\":{\"x\":1,\"x\":2}}}", "{\"resources\":{\"a\":1}}", "{\"a\":1,\"a\":2}",
      "{\"resources\":{\"a\":{}}}x", "{\"resources\":{\"a\":{\"s\":\"\\ud83d\\ude00\"}}}"};
  for (size_t i = 0; i < sizeof unsure / sizeof *unsure; i++)
    if (agrees_str(unsure[i], t)) fail_msg("read with entries kept: %s", unsure[i]);
  /* Keys of an entry out of order or with escapes: read, that entry parsed, not kept. */
  int kept = t->kept;
  assert_true(agrees_str("{\"resources\":{\"a\":{\"y\":1,\"x\":2},\"b\":{\"k\\u0069nd\":1}}}", t));
  assert_int_equal(t->kept, kept);
  /* Non-ASCII text: that entry is parsed (so its UTF-8 is checked), the others kept. */
  assert_true(agrees_str("{\"resources\":{\"a\":{\"s\":\"caf\xc3\xa9\"},\"b\":{\"s\":\"e\\u00e9\"}}}", t));
  assert_int_equal(t->kept, kept + 1);
  assert_false(agrees_str("{\"resources\":{\"a\":{\"s\":\"\xff\"}}}", t));
  free(compact);
  free(text);
  json_decref(doc);
}

static void byte_mutations_never_disagree(void **state) {
  tally *t = *state;
  json_t *doc = state_doc();
  char *base = dump(doc);
  size_t len = strlen(base);
  char *text = malloc(len * 2 + 16);
  assert_non_null(text);
  for (int round = 0; round < 10000; round++) {
    size_t n = mutate(text, base, len);
    agrees(text, n, t);
  }
  assert_true(t->read > 1000);
  assert_true(t->unsure > 1000);
  assert_true(t->as_dumped > 1000);
  free(text);
  free(base);
  json_decref(doc);
}

/* A member of an entry (or of its args, or an item of its dependencies) given another
 * value or removed: the entry check's every refusal, from the text. */
static void value_mutations_never_disagree(void **state) {
  tally *t = *state;
  static const char *const values[] = {"1", "-1", "2.5", "1e300", "\"\"", "\"func\"", "\"alias\"", "\"x\\\"y\"",
                                       "true", "false", "null", "{}", "{\"a\":1}", "[]", "[\"func.f0\"]",
                                       "[1]", "[\"a\", {}]", "\"\\u00e9\""};
  static const char *const members[] = {"kind", "args", "attrs", "sensitive", "tags_all", "dependencies", "name",
                                         "site", "pending", "partial", "prevent_destroy", "target", "other"};
  static const char *const addrs[] = {"alias.live", "func.f0", "layer_version.l"};
  for (int round = 0; round < 4000; round++) {
    json_t *doc = state_doc();
    json_t *entry = json_object_get(json_object_get(doc, "resources"), addrs[next_random() % 3]);
    json_t *where = entry;
    const char *name = members[next_random() % (sizeof members / sizeof *members)];
    int in = (int)(next_random() % 3);
    if (in == 1) { /* inside args */
      where = json_object_get(entry, "args");
      static const char *const arg_names[] = {"function_name", "layer_name", "name", "other"};
      name = arg_names[next_random() % 4];
    }
    json_t *deps = json_object_get(entry, "dependencies");
    if (next_random() % 8 == 0) {
      json_object_del(where, name);
    } else {
      json_t *v = json_loads(values[next_random() % (sizeof values / sizeof *values)], JSON_DECODE_ANY, NULL);
      assert_non_null(v);
      if (in == 2 && json_is_array(deps) && json_array_size(deps) > 0) json_array_set_new(deps, 0, v);
      else json_object_set_new(where, name, v);
    }
    char *text = dump(doc);
    assert_true(agrees_str(text, t));
    free(text);
    json_decref(doc);
  }
  assert_true(t->refused_alike > 1000);
  assert_true(t->kept > 10000);
}

static int with_lua(void **state) {
  tally *t = calloc(1, sizeof *t);
  if (!t || !(t->L = luaL_newstate())) return -1;
  *state = t;
  return 0;
}

static int close_lua(void **state) {
  tally *t = *state;
  lua_close(t->L);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(what_lambdaeng_writes_is_kept, with_lua, close_lua),
      cmocka_unit_test_setup_teardown(byte_mutations_never_disagree, with_lua, close_lua),
      cmocka_unit_test_setup_teardown(value_mutations_never_disagree, with_lua, close_lua),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
