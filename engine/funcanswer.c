/* funcanswer.c — see funcanswer.h. The answer's members are read into spans of the text
 * first (funcanswer_read.c; its two maps, Tags and Environment.Variables, into Lua tables),
 * and the projection is made here once the whole text was taken: a decline leaves nothing. */
#include "funcanswer.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "funcanswer_read.h"

enum { ARG_TEXT = 1, ARG_MT, ARG_NO_NESTED, ARG_REGION, SLOT_TAGS, SLOT_VARIABLES, SLOT_NESTED };

static int has(const le_funcanswer_span *s) { return s->set == 1; }

static int is(const le_funcanswer_span *s, const char *lit) {
  return has(s) && s->n == strlen(lit) && memcmp(s->s, lit, s->n) == 0;
}

static void set_string(lua_State *L, int t, const char *field, const le_funcanswer_span *s) {
  if (!has(s)) return;
  lua_pushlstring(L, s->s, s->n);
  lua_setfield(L, t, field);
}

static void set_integer(lua_State *L, int t, const char *field, const le_funcanswer_number *n) {
  if (n->set != 1) return;
  lua_pushinteger(L, n->v);
  lua_setfield(L, t, field);
}

/* A list of n strings set at t's field. */
static void set_list(lua_State *L, int t, const char *field, const le_funcanswer_span *items, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushlstring(L, items[i].s, items[i].n);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, t, field);
}

/* A table { [field] = value } set at t's key. */
static void set_block(lua_State *L, int t, const char *key, const char *field, const le_funcanswer_span *value) {
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, value->s, value->n);
  lua_setfield(L, -2, field);
  lua_setfield(L, t, key);
}

/* from_api's arguments (its order of tests, its defaults left out); the nested table pushed. */
static void push_args(lua_State *L, const le_funcanswer *r) {
  lua_createtable(L, 0, 12);
  int args = lua_gettop(L);
  set_string(L, args, "function_name", &r->name);
  set_string(L, args, "role", &r->role);
  set_string(L, args, "handler", &r->handler);
  set_string(L, args, "runtime", &r->runtime);
  if (has(&r->description) && r->description.n > 0) set_string(L, args, "description", &r->description);
  set_integer(L, args, "timeout", &r->timeout);
  set_integer(L, args, "memory_size", &r->memory);
  if (has(&r->package_type)) set_string(L, args, "package_type", &r->package_type);
  else {
    lua_pushliteral(L, "Zip");
    lua_setfield(L, args, "package_type");
  }
  if (has(&r->kms) && r->kms.n > 0) set_string(L, args, "kms_key_arn", &r->kms);
  if (r->narchitectures > 0 && !(r->narchitectures == 1 && is(&r->architectures[0], "x86_64")))
    set_list(L, args, "architectures", r->architectures, r->narchitectures);
  if (r->variables > 0) {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, SLOT_VARIABLES);
    lua_setfield(L, -2, "variables");
    lua_setfield(L, args, "environment");
  }
  if (r->nlayers > 0) set_list(L, args, "layers", r->layers, r->nlayers);
  if (r->size.set == 1 && r->size.v != 512) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, r->size.v);
    lua_setfield(L, -2, "size");
    lua_setfield(L, args, "ephemeral_storage");
  }
  if (has(&r->mode) && !is(&r->mode, "PassThrough")) set_block(L, args, "tracing_config", "mode", &r->mode);
  int snap = has(&r->apply_on) && !is(&r->apply_on, "None");
  if (snap) set_block(L, args, "snap_start", "apply_on", &r->apply_on);
  set_string(L, args, "image_uri", &r->image_uri);
  if (r->tags > 0) {
    lua_pushvalue(L, SLOT_TAGS);
    lua_setfield(L, args, "tags");
  }
  if (r->reserved.set == 1) lua_pushinteger(L, r->reserved.v);
  else lua_pushinteger(L, -1);
  lua_setfield(L, args, "reserved_concurrent_executions");
  if (!snap) {
    lua_pushvalue(L, ARG_NO_NESTED);
  } else {
    lua_createtable(L, 0, 1); /* nested.snap_start.optimization_status */
    lua_createtable(L, 0, 1);
    if (has(&r->optimization)) lua_pushlstring(L, r->optimization.s, r->optimization.n);
    else lua_pushliteral(L, "Off");
    lua_setfield(L, -2, "optimization_status");
    lua_setfield(L, -2, "snap_start");
  }
  lua_replace(L, SLOT_NESTED);
}

/* The length of func.lua's base_arn of the ARN: what BASE_ARN,
 * ^(arn:[^:]*:lambda:[^:]*:[^:]*:function:[^:]+), matches of it, else all of it. */
static size_t base_arn_len(const char *s, size_t n) {
  size_t i = 4;
  if (n < 4 || memcmp(s, "arn:", 4) != 0) return n;
  while (i < n && s[i] != ':') i++;
  if (n - i < 8 || memcmp(s + i, ":lambda:", 8) != 0) return n;
  for (i += 8; i < n && s[i] != ':';) i++;
  if (i == n) return n;
  for (i++; i < n && s[i] != ':';) i++;
  if (n - i < 10 || memcmp(s + i, ":function:", 10) != 0) return n;
  size_t name = i += 10;
  while (i < n && s[i] != ':') i++;
  return i > name ? i : n;
}

/* func.lua's attrs_from(cfg, region, "$LATEST", tags_all, nested) of the answer, the table
 * tags_all (args.tags, or a new empty one) set in it; region: a string. */
static void push_attrs(lua_State *L, const le_funcanswer *r, int args) {
  static const char INVOKE[] = "arn:aws:apigateway:", PATH[] = ":lambda:path/2015-03-31/functions/",
                    TAIL[] = "/invocations";
  size_t region_len, arn_len = base_arn_len(r->arn.s, r->arn.n);
  const char *region = lua_tolstring(L, ARG_REGION, &region_len);
  lua_createtable(L, 0, 14);
  int t = lua_gettop(L);
  for (int qualified = 0; qualified < 2; qualified++) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, r->arn.s, arn_len);
    if (qualified) luaL_addstring(&b, ":$LATEST");
    luaL_pushresult(&b);
    lua_pushvalue(L, -1);
    lua_setfield(L, t, qualified ? "qualified_arn" : "arn");
    size_t len;
    const char *arn = lua_tolstring(L, -1, &len);
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, INVOKE, sizeof INVOKE - 1);
    luaL_addlstring(&b, region, region_len);
    luaL_addlstring(&b, PATH, sizeof PATH - 1);
    luaL_addlstring(&b, arn, len);
    luaL_addlstring(&b, TAIL, sizeof TAIL - 1);
    luaL_pushresult(&b);
    lua_setfield(L, t, qualified ? "qualified_invoke_arn" : "invoke_arn");
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "$LATEST");
  lua_setfield(L, t, "version");
  set_string(L, t, "last_modified", &r->last_modified);
  set_integer(L, t, "source_code_size", &r->code_size);
  set_string(L, t, "code_sha256", &r->code_sha256);
  static const le_funcanswer_span ACTIVE = {"Active", 6, 1}, EMPTY = {"", 0, 1};
  set_string(L, t, "state", has(&r->state) ? &r->state : &ACTIVE);
  set_string(L, t, "signing_job_arn", has(&r->signing_job) ? &r->signing_job : &EMPTY);
  set_string(L, t, "signing_profile_version_arn", has(&r->signing_profile) ? &r->signing_profile : &EMPTY);
  if (lua_getfield(L, args, "tags") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  lua_setfield(L, t, "tags_all");
  lua_pushnil(L); /* the nested attributes, the same tables */
  while (lua_next(L, SLOT_NESTED)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, t);
  }
}

/* The configuration's members attrs_from reads. */
static void push_cfg(lua_State *L, const le_funcanswer *r) {
  lua_createtable(L, 0, 7);
  int t = lua_gettop(L);
  set_string(L, t, "FunctionArn", &r->arn);
  set_string(L, t, "LastModified", &r->last_modified);
  set_integer(L, t, "CodeSize", &r->code_size);
  set_string(L, t, "CodeSha256", &r->code_sha256);
  set_string(L, t, "State", &r->state);
  set_string(L, t, "SigningJobArn", &r->signing_job);
  set_string(L, t, "SigningProfileVersionArn", &r->signing_profile);
}

int le_json_func_answer(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, ARG_TEXT, &len);
  luaL_checktype(L, ARG_MT, LUA_TTABLE);
  luaL_checktype(L, ARG_NO_NESTED, LUA_TTABLE);
  int with_attrs = lua_type(L, ARG_REGION) == LUA_TSTRING;
  lua_settop(L, ARG_REGION);
  lua_pushnil(L); /* SLOT_TAGS */
  lua_pushnil(L); /* SLOT_VARIABLES */
  lua_pushnil(L); /* SLOT_NESTED */
  le_funcanswer r;
  memset(&r, 0, sizeof r);
  r.L = L;
  r.tags_slot = SLOT_TAGS;
  r.variables_slot = SLOT_VARIABLES;
  if (le_funcanswer_read(&r, text, len) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_createtable(L, 0, 4);
  int out = lua_gettop(L);
  push_args(L, &r);
  if (with_attrs) {
    push_attrs(L, &r, out + 1);
    lua_setfield(L, out, "attrs");
  }
  lua_setfield(L, out, "args");
  lua_pushvalue(L, SLOT_NESTED);
  lua_setfield(L, out, "nested");
  if (!with_attrs) { /* (with them, attrs_from's input is theirs: func.answer_values) */
    push_cfg(L, &r);
    lua_setfield(L, out, "cfg");
  }
  lua_pushvalue(L, ARG_MT);
  lua_setmetatable(L, out);
  return 1;
}
