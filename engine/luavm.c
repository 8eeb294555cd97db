#include "luavm.h"

#include <lauxlib.h>
#include <lua.h>

/* Sizes beyond this are a caller's mistake, not a table worth preallocating. */
#define MAX_PRESIZE (1 << 24)

static int checked_size(lua_State *L, int arg) {
  lua_Integer n = luaL_optinteger(L, arg, 0);
  luaL_argcheck(L, n >= 0 && n <= MAX_PRESIZE, arg, "a table size from 0 to 2^24");
  return (int)n;
}

static int l_new(lua_State *L) {
  int narr = checked_size(L, 1), nrec = checked_size(L, 2);
  lua_createtable(L, narr, nrec);
  return 1;
}

static lua_Unsigned count_entries(lua_State *L, int t) {
  lua_Unsigned entries = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    entries++;
    lua_pop(L, 1);
  }
  return entries;
}

/* An empty table with room for t's entries and extra more keys. */
static void push_sized_like(lua_State *L, int t, int extra) {
  lua_Unsigned border = lua_rawlen(L, t);
  lua_Unsigned entries = count_entries(L, t);
  if (border > entries) border = entries; /* (a border counts only entries, but be safe) */
  if (entries > MAX_PRESIZE) entries = border = 0; /* grown as it goes, then */
  lua_createtable(L, (int)border, (int)(entries - border) + extra);
}

static int l_sized_like(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  push_sized_like(L, 1, 0);
  return 1;
}

static int l_count(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushinteger(L, (lua_Integer)count_entries(L, 1));
  return 1;
}

static int l_copy(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int extra = checked_size(L, 2);
  push_sized_like(L, 1, extra);
  int copy = lua_gettop(L), tables = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) { /* key value */
    if (lua_type(L, -1) == LUA_TTABLE) tables = 1;
    lua_pushvalue(L, -2);
    lua_insert(L, -2); /* key key value */
    lua_rawset(L, copy);
  }
  lua_pushboolean(L, tables);
  return 2;
}

/* Values nested deeper than this are refused (a cycle would recurse without end). */
#define MAX_EQUAL_DEPTH 1000

static int equal_values(lua_State *L, int a, int b, int unknown, int depth);

static int plain_table(lua_State *L, int t);

/* Whether tables a and b hold the same keys (b has every key of a and a every key of b,
 * read as Lua reads t[k]) with values that are ==, or, when deep, equal_values. Two tables
 * without metatables are read raw, and b's keys are then only counted: b holds every key
 * of a (a value is never nil), so it holds no other when it has as many. */
static int same_entries(lua_State *L, int a, int b, int unknown, int depth) {
  luaL_checkstack(L, 4, "comparing nested values");
  int raw = plain_table(L, a) && plain_table(L, b);
  lua_Unsigned entries = 0;
  lua_pushnil(L);
  while (lua_next(L, a)) { /* k v */
    int v = lua_gettop(L);
    lua_pushvalue(L, v - 1);
    if (raw) lua_rawget(L, b); /* k v w */
    else lua_gettable(L, b);
    int same = depth < 0 ? lua_compare(L, v, v + 1, LUA_OPEQ) : equal_values(L, v, v + 1, unknown, depth + 1);
    lua_pop(L, 2);
    if (!same) {
      lua_pop(L, 1);
      return 0;
    }
    entries++;
  }
  if (raw) return count_entries(L, b) == entries;
  lua_pushnil(L);
  while (lua_next(L, b)) { /* k v */
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    int missing = lua_gettable(L, a) == LUA_TNIL;
    lua_pop(L, 1);
    if (missing) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return 1;
}

/* plan.equal: ==, or both tables (neither UNKNOWN) with the same keys and equal values. */
static int equal_values(lua_State *L, int a, int b, int unknown, int depth) {
  if (lua_compare(L, a, b, LUA_OPEQ)) return 1;
  if (lua_compare(L, a, unknown, LUA_OPEQ) || lua_compare(L, b, unknown, LUA_OPEQ)) return 0;
  if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE) return 0;
  if (depth >= MAX_EQUAL_DEPTH) return luaL_error(L, "values nested more than %d deep", MAX_EQUAL_DEPTH);
  return same_entries(L, a, b, unknown, depth);
}

static int l_equal(lua_State *L) {
  lua_settop(L, 2);
  lua_pushboolean(L, equal_values(L, 1, 2, lua_upvalueindex(1), 0));
  return 1;
}

static int l_equality(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_pushcclosure(L, l_equal, 1);
  return 1;
}

static int l_same_entries(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushboolean(L, same_entries(L, 1, 2, 0, -1));
  return 1;
}

/* t[k] for the key on top of the stack, replaced by the value: raw when t has no
 * metatable (the same value, without the metamethod path an absent key takes). */
static int get_field(lua_State *L, int t, int raw) {
  return raw ? lua_rawget(L, t) : lua_gettable(L, t);
}

static int plain_table(lua_State *L, int t) {
  if (!lua_getmetatable(L, t)) return 1;
  lua_pop(L, 1);
  return 0;
}

/* The first index i >= from of keys whose key k needs a closer look: read[k] ~= kept[k],
 * or stored[k] a table, or stored[k] non-nil and watch[k] true (a refresh's merge: 21
 * arguments a function, most of them the same; tables read as Lua reads t[k]). */
static int l_next_change(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer from = luaL_checkinteger(L, 2);
  for (int t = 3; t <= 6; t++) luaL_checktype(L, t, LUA_TTABLE);
  lua_settop(L, 6);
  int raw_stored = plain_table(L, 3), raw_read = plain_table(L, 4), raw_kept = plain_table(L, 5);
  int raw_watch = plain_table(L, 6), kept_is_stored = lua_rawequal(L, 3, 5);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  for (lua_Integer i = from < 1 ? 1 : from; i <= n; i++) {
    lua_rawgeti(L, 1, i); /* k (at 7) */
    lua_pushvalue(L, 7);
    get_field(L, 4, raw_read); /* read[k] (8) */
    lua_pushvalue(L, 7);
    int kept = get_field(L, 5, raw_kept); /* kept[k] (9) */
    int look = !lua_compare(L, 8, 9, LUA_OPEQ);
    if (!look) {
      int stored = kept; /* stored[k]: kept[k] when kept is stored */
      if (!kept_is_stored) {
        lua_pushvalue(L, 7);
        stored = get_field(L, 3, raw_stored);
      }
      if (stored == LUA_TTABLE) look = 1;
      else if (stored != LUA_TNIL) {
        lua_pushvalue(L, 7);
        look = get_field(L, 6, raw_watch) != LUA_TNIL && lua_toboolean(L, -1);
      }
    }
    lua_settop(L, 6);
    if (look) {
      lua_pushinteger(L, i);
      return 1;
    }
  }
  return 0;
}

static int ascii_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* ~100 instructions for a declaration's name; the pattern ^[%a_][%w_%-]*$ was ~1,500. */
static int l_is_name(lua_State *L) {
  size_t n = 0;
  const unsigned char *s = lua_type(L, 1) == LUA_TSTRING ? (const unsigned char *)lua_tolstring(L, 1, &n) : NULL;
  int ok = s && n > 0 && (ascii_letter(s[0]) || s[0] == '_');
  for (size_t i = 1; ok && i < n; i++)
    ok = ascii_letter(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-';
  lua_pushboolean(L, ok);
  return 1;
}

/* A plain Lambda function name: 1 to 64 of [A-Za-z0-9_-] (validate.lua's function_name_problem
 * asks this first: W3's 1,000 distinct names went through a substring and a pattern each). */
static int l_is_function_name(lua_State *L) {
  size_t n = 0;
  const unsigned char *s = lua_type(L, 1) == LUA_TSTRING ? (const unsigned char *)lua_tolstring(L, 1, &n) : NULL;
  int ok = s && n >= 1 && n <= 64;
  for (size_t i = 0; ok && i < n; i++)
    ok = ascii_letter(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-';
  lua_pushboolean(L, ok);
  return 1;
}

static int l_frame(lua_State *L) {
  lua_Integer level = luaL_checkinteger(L, 1);
  luaL_argcheck(L, level >= 0 && level <= 1000000, 1, "a stack level from 0");
  lua_Debug ar;
  if (!lua_getstack(L, (int)level, &ar)) return 0;
  if (!lua_getinfo(L, "fl", &ar)) return 0; /* (cannot fail with these options) */
  lua_pushinteger(L, ar.currentline);
  return 2; /* the function lua_getinfo pushed, then its line */
}

int le_open_vm(lua_State *L) {
  static const luaL_Reg functions[] = {
      {"new", l_new}, {"sized_like", l_sized_like}, {"count", l_count}, {"copy", l_copy},
      {"frame", l_frame}, {"equality", l_equality}, {"same_entries", l_same_entries},
      {"next_change", l_next_change}, {"is_name", l_is_name},
      {"is_function_name", l_is_function_name}, {NULL, NULL}};
  luaL_newlib(L, functions);
  return 1;
}
