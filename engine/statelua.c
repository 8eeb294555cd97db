/* statelua.c — lambdaeng.native.state (state.h's le_open_state): open, prefetch, lock and
 * force_unlock, and the state object's methods (addresses, get,
 * get_without, get_in, same, put, remove, outputs, set_outputs, save,
 * save_in_background, dirty, document, info), which a backend's object takes as its own. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "converter.h"
#include "loop.h"
#include "runtime.h"
#include "statedoc.h"

/* Lua binding: lambdaeng.native.state.open(path) -> state | nil, message, code;
 * state.lock(path, operation) -> lock | nil, message, code (EBUSY: held by another
 * run); state.force_unlock(path[, id]) -> true | nil, message, code. */

#define STATE_MT "lambdaeng.state"

/* The state object at 1, for one of its methods, which hold its metatable as their upvalue:
 * compared there without luaL_checkudata's registry lookup by name (a refresh calls
 * methods ~4 times an entry). A backend's object (state/local.lua, state/s3.lua: a table
 * whose field native is the state) stands for its state: it is replaced at 1 by it, so
 * the backends take these functions as their methods without a Lua wrapper between. */
static le_state *check_state(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushvalue(L, lua_upvalueindex(2)); /* "native" (lua_getfield made the key: ~90 more) */
    lua_rawget(L, 1);
    lua_replace(L, 1);
  }
  le_state **p = lua_touserdata(L, 1);
  int ok = p && lua_getmetatable(L, 1) && lua_rawequal(L, -1, lua_upvalueindex(1));
  if (!ok) luaL_typeerror(L, 1, STATE_MT);
  lua_pop(L, 1);
  if (!*p) luaL_error(L, "state already closed");
  return *p;
}

static int push_error(lua_State *L, const le_error *err) { return le_push_error(L, err); }

#define PREFETCH_MT "lambdaeng.state.prefetch"

/* state.prefetch(path) -> a handle (stateprefetch.h); nil when no thread could start. */
static int l_prefetch(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  le_state_prefetch **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  luaL_setmetatable(L, PREFETCH_MT);
  *p = le_state_prefetch_start(path);
  if (!*p) lua_pushnil(L);
  return 1;
}

static int l_prefetch_gc(lua_State *L) {
  le_state_prefetch **p = luaL_checkudata(L, 1, PREFETCH_MT);
  le_state_prefetch_free(*p);
  *p = NULL;
  return 0;
}

/* state.open(path[, prefetch]) -> state | nil, message, code */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  le_state_prefetch **prefetch = lua_isnoneornil(L, 2) ? NULL : luaL_checkudata(L, 2, PREFETCH_MT);
  le_state **p = lua_newuserdatauv(L, sizeof *p, 2); /* addresses() list and its version */
  *p = NULL;
  luaL_setmetatable(L, STATE_MT);
  le_error err;
  if (le_state_open_prefetched(path, prefetch ? *prefetch : NULL, p, &err) != LE_OK) return push_error(L, &err);
  return 1;
}

static int l_state_gc(lua_State *L) {
  le_state **p = luaL_checkudata(L, 1, STATE_MT);
  le_state_free(*p);
  *p = NULL;
  return 0;
}

static void push_sorted_keys(lua_State *L, json_t *obj) {
  size_t n = json_object_size(obj), i = 0;
  const char **keys = malloc((n ? n : 1) * sizeof *keys);
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) keys[i++] = key;
  for (size_t a = 1; a < n; a++) /* insertion sort: states are small and usually sorted */
    for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
      const char *t = keys[b];
      keys[b] = keys[b - 1];
      keys[b - 1] = t;
    }
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, keys[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(keys);
}

/* The list is kept with the state (user values 1 and 2) and given again, the same table,
 * until an address comes or goes: a plan asks ~5 times (0.5 M instructions each at
 * 1,000 entries). Callers read it and never change it. */
static int l_addresses(lua_State *L) {
  le_state *st = check_state(L);
  if (lua_getiuservalue(L, 1, 2) == LUA_TNUMBER && lua_tointeger(L, -1) == (lua_Integer)st->addresses_version &&
      lua_getiuservalue(L, 1, 1) == LUA_TTABLE)
    return 1;
  push_sorted_keys(L, resources_of(st));
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 1);
  lua_pushinteger(L, (lua_Integer)st->addresses_version);
  lua_setiuservalue(L, 1, 2);
  return 1;
}

/* state:get(addr[, field[, memo]]) -> the entry (a new table), or only its field, or nil.
 * The field form converts just that part: what reads one field of every entry
 * (each entry's target) need not convert whole entries. With memo (a table the caller
 * keeps between calls), a field that is a table and reads as one seen before is that
 * same table again, which the caller must not change: the thousand entries of a state
 * hold a few distinct targets. */
static int l_get(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  const char *field = lua_isnoneornil(L, 3) ? NULL : luaL_checkstring(L, 3);
  int memo = 0;
  if (field && !lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    memo = 4;
  }
  if (st->file && json_is_integer(entry)) { /* kept as text: made from it, as from its values */
    le_statefile_push(L, st->file, (size_t)json_integer_value(entry), field, memo);
    return 1;
  }
  if (field) entry = json_object_get(entry, field); /* NULL-safe */
  le_json_to_lua(L, entry);
  return 1;
}

/* state:get_without(addr, name...) -> the entry without its members named (at most 8), or
 * nil: a refresh makes the fields it reads back only when they differ (state:same). */
#define MAX_LEFT 8
static int l_get_without(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  const char *left[MAX_LEFT];
  size_t n_left = (size_t)lua_gettop(L) - 2;
  luaL_argcheck(L, n_left <= MAX_LEFT, 3 + MAX_LEFT, "at most 8 names");
  for (size_t k = 0; k < n_left; k++) left[k] = luaL_checkstring(L, 3 + (int)k);
  if (st->file && json_is_integer(entry)) {
    le_statefile_push_without(L, st->file, (size_t)json_integer_value(entry), left, n_left);
    return 1;
  }
  le_json_to_lua(L, entry);
  if (lua_istable(L, -1))
    for (size_t k = 0; k < n_left; k++) {
      lua_pushnil(L);
      lua_setfield(L, -2, left[k]);
    }
  return 1;
}

/* state:get_in(addr, field, key[, field2, key2 ...]) -> the entry's field[key] for each pair
 * (nil for what it has not). */
static int l_get_in(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  int pairs = (lua_gettop(L) - 1) / 2, kept = st->file && json_is_integer(entry);
  luaL_checkstack(L, pairs, "reading a state entry");
  for (int k = 0; k < pairs; k++) {
    const char *field = luaL_checkstring(L, 3 + 2 * k), *key = luaL_checkstring(L, 4 + 2 * k);
    if (kept) le_statefile_push_in(L, st->file, (size_t)json_integer_value(entry), field, key);
    else le_json_to_lua(L, json_object_get(json_object_get(entry, field), key)); /* NULL-safe */
  }
  return pairs;
}

/* state:same(addr, field, value[, field2, value2 ...]) -> true when each value is what
 * state:get(addr, field) would make, up to the identity of its tables (le_statefile_same),
 * read from the file's text without making it; false when one is not, or when that cannot
 * be told that way (an entry not kept as text, a string with an escape): the caller then
 * makes the fields and compares. */
static int l_same(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  int pairs = (lua_gettop(L) - 1) / 2, same = st->file && json_is_integer(entry);
  for (int k = 0; k < pairs && same; k++)
    same = le_statefile_same(L, st->file, (size_t)json_integer_value(entry), luaL_checkstring(L, 3 + 2 * k), 4 + 2 * k);
  lua_pushboolean(L, same);
  return 1;
}

static int l_put(lua_State *L) {
  le_state *st = check_state(L);
  const char *addr = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  le_error err;
  json_t *v = le_lua_to_json(L, 3, &err);
  if (!v) return luaL_error(L, "state of %s: %s", addr, err.message);
  json_t *old = le_state_entry_parsed(st, addr); /* (NULL when out of memory: counted as changed) */
  if (!json_object_get(resources_of(st), addr)) st->addresses_version++;
  if (!old || !json_equal(old, v)) {
    st->dirty = 1;
    if (st->entry_texts) json_object_del(st->entry_texts, addr);
  }
  json_object_set_new(resources_of(st), addr, v);
  return 0;
}

static int l_remove(lua_State *L) {
  le_state *st = check_state(L);
  const char *addr = luaL_checkstring(L, 2);
  int removed = json_object_del(resources_of(st), addr) == 0;
  if (removed) st->dirty = 1, st->addresses_version++;
  if (st->entry_texts) json_object_del(st->entry_texts, addr);
  lua_pushboolean(L, removed);
  return 1;
}

static int l_outputs(lua_State *L) {
  le_json_to_lua(L, outputs_of(check_state(L)));
  return 1;
}

static int l_set_outputs(lua_State *L) {
  le_state *st = check_state(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  le_error err;
  json_t *v = le_lua_to_json(L, 2, &err);
  if (!v) return luaL_error(L, "outputs: %s", err.message);
  if (!json_is_object(v)) {
    json_decref(v);
    v = json_object();
  }
  if (!json_equal(outputs_of(st), v)) st->dirty = 1;
  json_object_set_new(st->root, "outputs", v);
  return 0;
}

static int l_save(lua_State *L) {
  le_error err;
  if (le_state_save(check_state(L), &err) != LE_OK) return push_error(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/* state:save_in_background() -> true | nil, message, code: as save, from a task, which
 * waits while a worker thread writes (the loop goes on); with nothing to write, or no
 * task to wait in, it saves on the spot. Misuse: a second save while one is written. */
static int l_save_in_background(lua_State *L) {
  le_state *st = check_state(L);
  if (st->writing) return luaL_error(L, "state file %s: a save is already being written", st->path);
  if (!st->dirty || !le_task_can_wait(L)) return l_save(L); /* (a merge check at most: no write) */
  return le_state_save_in_background(L, st);
}

/* state:dirty() -> whether something was put, removed or set since the last write. */
static int l_dirty(lua_State *L) {
  lua_pushboolean(L, check_state(L)->dirty);
  return 1;
}

/* The document as save would write it now (serial as read), for a copy kept elsewhere. */
static int l_document(lua_State *L) {
  le_state *st = check_state(L);
  char *text = le_state_parse_all(st) == LE_OK ? json_dumps(st->root, DUMP_FLAGS) : NULL;
  if (!text) return luaL_error(L, "cannot serialise the state");
  lua_pushstring(L, text);
  lua_pushliteral(L, "\n");
  lua_concat(L, 2);
  free(text);
  return 1;
}

static int l_info(lua_State *L) {
  le_state *st = check_state(L);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, st->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, le_state_lineage(st));
  lua_setfield(L, -2, "lineage");
  lua_pushinteger(L, (lua_Integer)le_state_serial(st));
  lua_setfield(L, -2, "serial");
  return 1;
}

int le_open_state(lua_State *L) {
  static const luaL_Reg methods[] = {{"addresses", l_addresses}, {"get", l_get},
                                     {"get_without", l_get_without}, {"get_in", l_get_in},
                                     {"same", l_same},
                                     {"put", l_put},             {"remove", l_remove},
                                     {"outputs", l_outputs},     {"set_outputs", l_set_outputs},
                                     {"save", l_save},           {"info", l_info},
                                     {"document", l_document},   {"save_in_background", l_save_in_background},
                                     {"dirty", l_dirty},         {NULL, NULL}};
  if (luaL_newmetatable(L, STATE_MT)) {
    luaL_newlibtable(L, methods);
    lua_pushvalue(L, -2); /* each method's upvalues: the metatable and "native" (check_state) */
    lua_pushliteral(L, "native");
    luaL_setfuncs(L, methods, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, PREFETCH_MT)) {
    lua_pushcfunction(L, l_prefetch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  le_statelock_register(L);
  static const luaL_Reg fns[] = {{"open", l_open},
                                 {"prefetch", l_prefetch},
                                 {"lock", le_statelock_l_lock},
                                 {"force_unlock", le_statelock_l_force_unlock},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
