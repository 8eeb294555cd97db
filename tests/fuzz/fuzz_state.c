/* fuzz_state — the state reader (engine/state.c) and the Lua <-> JSON converter
 * (engine/converter.c) on arbitrary files.
 *
 * Each input is written as a state file and opened twice: with le_state_open
 * (a file that does not parse or has the wrong shape must be an error, never a
 * crash) and through the Lua module the engine uses (open, addresses, get, put
 * back, outputs, info, document, under pcall). The input is also read as any JSON value
 * and converted JSON -> Lua -> JSON -> Lua -> JSON: the second conversion must
 * give exactly the first (what is stored reads back and stores the same), and
 * the only conversion allowed to fail is one nested deeper than the converter's
 * limit. Last, the input is decoded by lua-cjson (which, unlike jansson, gives
 * Lua strings that are not UTF-8, keys with NUL bytes, infinities) and stored:
 * either the converter refuses the value with a reason, or what it stored reads
 * back as the same Lua value (nothing dropped or changed on the way). The state
 * reader's fast parse (engine/jsonload.c) must give jansson's value or nothing, and its
 * reader that keeps entries as text (engine/statefile.c) read only what jansson reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "converter.h"
#include "jsonload.h"
#include "runtime.h"
#include "state.h"
#include "statefile.h"

static lua_State *L;
static char path[4096];

static const char LUA_READER[] =
    "local state = require 'lambdaeng.native.state'\n"
    "return function(path)\n"
    "  local st = state.open(path)\n"
    "  if not st then return end\n"
    "  for _, addr in ipairs(st:addresses()) do\n"
    "    local entry = st:get(addr)\n"
    "    if type(entry) == 'table' then pcall(st.put, st, addr, entry) end\n"
    "  end\n"
    "  st:outputs()\n"
    "  st:info()\n"
    "  st:document()\n"
    "end\n";

static const char LUA_SAME[] =
    "local function same(a, b, depth)\n"
    "  if depth > 300 then return true end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k], depth + 1) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "local cjson = require 'cjson'\n"
    "return function(text) local ok, v = pcall(cjson.decode, text) if ok then return v end end,\n"
    "       function(a, b) return same(a, b, 0) end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/lambdaeng-fuzz-state-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) abort();
  snprintf(path, sizeof path, "%s/stack.state.json", dir);
  le_error err;
  L = le_runtime_open(LAMBDAENG_SOURCE_DIR, &err);
  if (!L) abort();
  if (luaL_loadstring(L, LUA_READER) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) abort();
  lua_setglobal(L, "read_state");
  if (luaL_loadstring(L, LUA_SAME) != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK) abort();
  lua_setglobal(L, "same");
  lua_setglobal(L, "cjson_decode");
  return 0;
}

/* A Lua value lua-cjson made from the input: refused with a reason, or stored
 * and read back unchanged. */
static void store_lua_value(const uint8_t *data, size_t size) {
  lua_getglobal(L, "cjson_decode");
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_isnil(L, -1)) {
    lua_settop(L, 0);
    return;
  }
  le_error err;
  json_t *stored = le_lua_to_json(L, 1, &err);
  if (!stored) {
    static const char *const reasons[] = {"cannot be stored", "not valid UTF-8", "only string keys",
                                          "nested too deeply"};
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
      if (strstr(err.message, reasons[i])) {
        lua_settop(L, 0);
        return;
      }
    fprintf(stderr, "the converter refused a value without a known reason: %s\n", err.message);
    abort();
  }
  lua_getglobal(L, "same");
  lua_pushvalue(L, 1);
  le_json_to_lua(L, stored);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_toboolean(L, -1)) {
    char *text = json_dumps(stored, JSON_ENCODE_ANY | JSON_SORT_KEYS);
    fprintf(stderr, "a value was stored changed: %s\n", text ? text : "?");
    abort();
  }
  json_decref(stored);
  lua_settop(L, 0);
}

/* JSON -> Lua -> JSON twice: the second round gives what the first gave. */
static void round_trip(const json_t *v) {
  int top = lua_gettop(L);
  le_error err;
  le_json_to_lua(L, v);
  json_t *once = le_lua_to_json(L, -1, &err);
  if (!once) {
    if (!strstr(err.message, "nested too deeply")) {
      fprintf(stderr, "a value read from JSON cannot be stored again: %s\n", err.message);
      abort();
    }
    lua_settop(L, top);
    return;
  }
  le_json_to_lua(L, once);
  json_t *twice = le_lua_to_json(L, -1, &err);
  if (!twice || !json_equal(once, twice)) {
    char *a = json_dumps(once, JSON_ENCODE_ANY | JSON_SORT_KEYS);
    char *b = twice ? json_dumps(twice, JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
    fprintf(stderr, "the converter does not round-trip:\n%s\n%s\n", a ? a : "?", b ? b : err.message);
    abort();
  }
  json_decref(once);
  json_decref(twice);
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);

  le_state *st = NULL;
  le_error err;
  if (le_state_open(path, &st, &err) == LE_OK) {
    (void)le_state_serial(st);
    (void)le_state_lineage(st);
    round_trip(le_state_resources(st));
    round_trip(le_state_outputs(st));
    le_state_free(st);
  }

  lua_getglobal(L, "read_state");
  lua_pushstring(L, path);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1); /* an error is an answer; a crash is not */

  json_error_t jerr;
  /* The state reader's fast parse is jansson's or nothing (engine/jsonload.h). */
  json_t *fast = le_json_load_fast((const char *)data, size);
  if (fast) {
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    const size_t dump = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    char *a = json_dumps(fast, dump), *b = ref ? json_dumps(ref, dump) : NULL;
    if (!ref || !a || !b || strcmp(a, b) != 0) {
      fprintf(stderr, "the fast parse differs from jansson's: %s\n%s\n", a ? a : "?", b ? b : jerr.text);
      abort();
    }
    free(a);
    free(b);
    json_decref(ref);
    json_decref(fast);
  }
  /* The reader that keeps entries as text reads only what jansson reads, each kept
   * entry as jansson reads it (engine/statefile.h; unit.statefile compares more). */
  json_t *kept_root;
  le_statefile *kept;
  if (le_statefile_read((const char *)data, size, &kept_root, &kept) == 0) {
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    json_t *resources = json_object_get(kept_root, "resources"), *entry;
    const char *addr;
    json_object_foreach(resources, addr, entry) {
      json_t *parsed = json_is_integer(entry) ? le_statefile_entry(kept, (size_t)json_integer_value(entry)) : NULL;
      if (!ref || (parsed && !json_equal(parsed, json_object_get(json_object_get(ref, "resources"), addr)))) {
        fprintf(stderr, "the kept entries differ from jansson's reading of %s\n", addr);
        abort();
      }
      json_decref(parsed);
    }
    json_decref(ref);
    json_decref(kept_root);
    le_statefile_free(kept);
  }
  json_t *any = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
  if (any) {
    round_trip(any);
    json_decref(any);
  }
  store_lua_value(data, size);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
