/* funcanswer.c — see funcanswer.h. The answer's members are read into spans of the text
 * first (its two maps, Tags and Environment.Variables, into Lua tables), and the projection
 * is made once the whole text was taken: a decline leaves nothing behind. */
#include "funcanswer.h"

#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

enum { ARG_TEXT = 1, ARG_MT, ARG_NO_NESTED, ARG_REGION, SLOT_TAGS, SLOT_VARIABLES, SLOT_NESTED };
#define DECLINE (-1)
#define MAX_ARCHITECTURES 4

typedef struct {
  const char *s;
  size_t n;
  int set;
} span;

typedef struct {
  lua_Integer v;
  int set;
} number;

typedef struct {
  const unsigned char *p, *end;
  lua_State *L;
  /* Configuration */
  span name, arn, runtime, role, handler, description, last_modified, code_sha256, kms, package_type, state,
      signing_job, signing_profile, mode, apply_on, optimization;
  number code_size, timeout, memory, size;
  span architectures[MAX_ARCHITECTURES];
  int narchitectures, has_architectures;
  /* Code, Concurrency, Tags */
  span image_uri;
  number reserved;
  int tags, variables; /* how many members each map took */
  unsigned seen;       /* SEEN_ bits: each member at most once */
} reader;

static void spaces(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

/* The byte c after spaces, taken. */
static int expect(reader *r, unsigned char c) {
  spaces(r);
  if (r->p >= r->end || *r->p != c) return DECLINE;
  r->p++;
  return 0;
}

/* 1: a byte that ends a plain run in a string (a quote, a backslash, a control byte). */
static const unsigned char string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};

/* A string without escapes or control bytes, its bytes in *out. */
static int string(reader *r, span *out) {
  spaces(r);
  if (r->p >= r->end || *r->p != '"') return DECLINE;
  const unsigned char *start = ++r->p, *p = start, *end = r->end;
  while (p < end && !string_stop[*p]) p++;
  r->p = p;
  if (p >= end || *p != '"') return DECLINE;
  out->s = (const char *)start;
  out->n = (size_t)(r->p - start);
  out->set = 1;
  r->p++;
  return 0;
}

/* Whether the value at p (after spaces) is null: then taken. */
static int null(reader *r) {
  spaces(r);
  if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
    r->p += 4;
    return 1;
  }
  return 0;
}

/* A plain integer: -?(0|[1-9][0-9]{0,17}), no fraction or exponent. */
static int integer(reader *r, number *out) {
  spaces(r);
  int negative = r->p < r->end && *r->p == '-';
  const unsigned char *digits = r->p + negative, *q = digits;
  lua_Integer v = 0;
  while (q < r->end && *q >= '0' && *q <= '9') v = v * 10 + (*q++ - '0');
  size_t n = (size_t)(q - digits);
  if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return DECLINE;
  if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E')) return DECLINE;
  out->v = negative ? -v : v;
  out->set = 1;
  r->p = q;
  return 0;
}

/* The string member's value, null (absent) or a string, at most once. */
static int string_member(reader *r, span *out) {
  if (out->set) return DECLINE;
  if (null(r)) {
    out->set = 2; /* (seen, absent) */
    return 0;
  }
  return string(r, out);
}

static int integer_member(reader *r, number *out) {
  if (out->set) return DECLINE;
  if (null(r)) {
    out->set = 2;
    return 0;
  }
  return integer(r, out);
}

typedef int (*member_fn)(reader *r, const span *key);

/* An object's members, each read by fn; null: the object itself is null (absent). */
static int object(reader *r, member_fn fn) {
  if (null(r)) return 0;
  if (expect(r, '{') != 0) return DECLINE;
  spaces(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return 0;
  }
  for (;;) {
    span key = {0};
    if (string(r, &key) != 0 || expect(r, ':') != 0 || fn(r, &key) != 0) return DECLINE;
    spaces(r);
    if (r->p >= r->end) return DECLINE;
    if (*r->p++ == '}') return 0;
    if (r->p[-1] != ',') return DECLINE;
  }
}

#define KEY(k, lit) ((k)->n == sizeof(lit) - 1 && memcmp((k)->s, lit, sizeof(lit) - 1) == 0)

/* A member that is read but makes nothing (a string of the shape's). */
static int skipped_string(reader *r) {
  span ignored = {0};
  return null(r) ? 0 : string(r, &ignored);
}

/* A map of strings (Tags, Variables) into the table at slot: a null value, or a name twice,
 * declines (the decoder declines the first; the second is the decoder's to order). */
static int map_into(reader *r, int slot, int *count) {
  lua_State *L = r->L;
  if (lua_type(L, slot) != LUA_TNIL) return DECLINE; /* the map twice */
  if (null(r)) return 0;
  lua_newtable(L);
  lua_replace(L, slot);
  if (expect(r, '{') != 0) return DECLINE;
  spaces(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return 0;
  }
  for (;;) {
    span key = {0}, value = {0};
    if (string(r, &key) != 0 || expect(r, ':') != 0 || string(r, &value) != 0) return DECLINE;
    lua_pushlstring(L, key.s, key.n);
    if (lua_rawget(L, slot) != LUA_TNIL) return DECLINE;
    lua_pop(L, 1);
    lua_pushlstring(L, key.s, key.n);
    lua_pushlstring(L, value.s, value.n);
    lua_rawset(L, slot);
    (*count)++;
    spaces(r);
    if (r->p >= r->end) return DECLINE;
    if (*r->p++ == '}') return 0;
    if (r->p[-1] != ',') return DECLINE;
  }
}

static int variables_member(reader *r, const span *k) {
  return KEY(k, "Variables") ? map_into(r, SLOT_VARIABLES, &r->variables) : DECLINE;
}

static int ephemeral_member(reader *r, const span *k) {
  return KEY(k, "Size") ? integer_member(r, &r->size) : DECLINE;
}

static int tracing_member(reader *r, const span *k) {
  return KEY(k, "Mode") ? string_member(r, &r->mode) : DECLINE;
}

static int snap_member(reader *r, const span *k) {
  if (KEY(k, "ApplyOn")) return string_member(r, &r->apply_on);
  if (KEY(k, "OptimizationStatus")) return string_member(r, &r->optimization);
  return DECLINE;
}

/* Architectures: strings (a null item declines, as the decoder's). */
static int architectures(reader *r) {
  if (r->has_architectures) return DECLINE;
  r->has_architectures = 1;
  if (null(r)) return 0;
  if (expect(r, '[') != 0) return DECLINE;
  spaces(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return 0;
  }
  for (;;) {
    if (r->narchitectures == MAX_ARCHITECTURES || string(r, &r->architectures[r->narchitectures++]) != 0)
      return DECLINE;
    spaces(r);
    if (r->p >= r->end) return DECLINE;
    if (*r->p++ == ']') return 0;
    if (r->p[-1] != ',') return DECLINE;
  }
}

/* Layers: only none (null or []); a layer's Arn is from_api's to take. */
static int no_layers(reader *r) {
  if (null(r)) return 0;
  if (expect(r, '[') != 0) return DECLINE;
  return expect(r, ']');
}

/* Members read at most once (besides those with a span or number of their own). */
enum { SEEN_VERSION = 1, SEEN_MASTER = 2, SEEN_REVISION = 4, SEEN_REASON = 8, SEEN_REASON_CODE = 16,
       SEEN_UPDATE = 32, SEEN_UPDATE_REASON = 64, SEEN_UPDATE_CODE = 128, SEEN_ENVIRONMENT = 256,
       SEEN_EPHEMERAL = 512, SEEN_TRACING = 1024, SEEN_SNAP = 2048, SEEN_LAYERS = 4096,
       SEEN_CONFIGURATION = 8192, SEEN_CODE = 16384, SEEN_CONCURRENCY = 32768, SEEN_REPOSITORY = 65536,
       SEEN_LOCATION = 131072, SEEN_RESOLVED = 262144 };
static int once(reader *r, unsigned bit) {
  if (r->seen & bit) return DECLINE;
  r->seen |= bit;
  return 0;
}

static int configuration_member(reader *r, const span *k) {
#define NAMED(lit) lit, sizeof(lit) - 1
  static const struct { const char *name; size_t len, offset; } STRINGS[] = {
      {NAMED("FunctionName"), offsetof(reader, name)}, {NAMED("FunctionArn"), offsetof(reader, arn)},
      {NAMED("Runtime"), offsetof(reader, runtime)}, {NAMED("Role"), offsetof(reader, role)},
      {NAMED("Handler"), offsetof(reader, handler)}, {NAMED("Description"), offsetof(reader, description)},
      {NAMED("LastModified"), offsetof(reader, last_modified)}, {NAMED("CodeSha256"), offsetof(reader, code_sha256)},
      {NAMED("KMSKeyArn"), offsetof(reader, kms)}, {NAMED("PackageType"), offsetof(reader, package_type)},
      {NAMED("State"), offsetof(reader, state)}, {NAMED("SigningJobArn"), offsetof(reader, signing_job)},
      {NAMED("SigningProfileVersionArn"), offsetof(reader, signing_profile)}};
  static const struct { const char *name; size_t len; unsigned bit; } SKIPPED[] = {
      {NAMED("Version"), SEEN_VERSION}, {NAMED("MasterArn"), SEEN_MASTER}, {NAMED("RevisionId"), SEEN_REVISION},
      {NAMED("StateReason"), SEEN_REASON}, {NAMED("StateReasonCode"), SEEN_REASON_CODE},
      {NAMED("LastUpdateStatus"), SEEN_UPDATE}, {NAMED("LastUpdateStatusReason"), SEEN_UPDATE_REASON},
      {NAMED("LastUpdateStatusReasonCode"), SEEN_UPDATE_CODE}};
#undef NAMED
  for (size_t i = 0; i < sizeof STRINGS / sizeof *STRINGS; i++)
    if (k->n == STRINGS[i].len && memcmp(k->s, STRINGS[i].name, k->n) == 0)
      return string_member(r, (span *)((char *)r + STRINGS[i].offset));
  for (size_t i = 0; i < sizeof SKIPPED / sizeof *SKIPPED; i++)
    if (k->n == SKIPPED[i].len && memcmp(k->s, SKIPPED[i].name, k->n) == 0)
      return once(r, SKIPPED[i].bit) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "CodeSize")) return integer_member(r, &r->code_size);
  if (KEY(k, "Timeout")) return integer_member(r, &r->timeout);
  if (KEY(k, "MemorySize")) return integer_member(r, &r->memory);
  if (KEY(k, "Architectures")) return architectures(r);
  if (KEY(k, "Layers")) return once(r, SEEN_LAYERS) != 0 ? DECLINE : no_layers(r);
  if (KEY(k, "Environment")) return once(r, SEEN_ENVIRONMENT) != 0 ? DECLINE : object(r, variables_member);
  if (KEY(k, "EphemeralStorage")) return once(r, SEEN_EPHEMERAL) != 0 ? DECLINE : object(r, ephemeral_member);
  if (KEY(k, "TracingConfig")) return once(r, SEEN_TRACING) != 0 ? DECLINE : object(r, tracing_member);
  if (KEY(k, "SnapStart")) return once(r, SEEN_SNAP) != 0 ? DECLINE : object(r, snap_member);
  return DECLINE;
}

static int code_member(reader *r, const span *k) {
  if (KEY(k, "ImageUri")) return string_member(r, &r->image_uri);
  if (KEY(k, "RepositoryType")) return once(r, SEEN_REPOSITORY) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "Location")) return once(r, SEEN_LOCATION) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "ResolvedImageUri")) return once(r, SEEN_RESOLVED) != 0 ? DECLINE : skipped_string(r);
  return DECLINE;
}

static int concurrency_member(reader *r, const span *k) {
  return KEY(k, "ReservedConcurrentExecutions") ? integer_member(r, &r->reserved) : DECLINE;
}

static int answer_member(reader *r, const span *k) {
  if (KEY(k, "Configuration")) {
    /* required: a null one is the decoder's to refuse */
    if (once(r, SEEN_CONFIGURATION) != 0 || null(r)) return DECLINE;
    return object(r, configuration_member);
  }
  if (KEY(k, "Code")) return once(r, SEEN_CODE) != 0 ? DECLINE : object(r, code_member);
  if (KEY(k, "Concurrency")) return once(r, SEEN_CONCURRENCY) != 0 ? DECLINE : object(r, concurrency_member);
  if (KEY(k, "Tags")) return map_into(r, SLOT_TAGS, &r->tags);
  return DECLINE;
}

static int has(const span *s) { return s->set == 1; }

static int is(const span *s, const char *lit) {
  return has(s) && s->n == strlen(lit) && memcmp(s->s, lit, s->n) == 0;
}

static void set_string(lua_State *L, int t, const char *field, const span *s) {
  if (!has(s)) return;
  lua_pushlstring(L, s->s, s->n);
  lua_setfield(L, t, field);
}

static void set_integer(lua_State *L, int t, const char *field, const number *n) {
  if (n->set != 1) return;
  lua_pushinteger(L, n->v);
  lua_setfield(L, t, field);
}

/* A table { [field] = value } set at t's key. */
static void set_block(lua_State *L, int t, const char *key, const char *field, const span *value) {
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, value->s, value->n);
  lua_setfield(L, -2, field);
  lua_setfield(L, t, key);
}

/* from_api's arguments (its order of tests, its defaults left out); the nested table pushed. */
static void push_args(lua_State *L, const reader *r) {
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
  if (r->narchitectures > 0 && !(r->narchitectures == 1 && is(&r->architectures[0], "x86_64"))) {
    lua_createtable(L, r->narchitectures, 0);
    for (int i = 0; i < r->narchitectures; i++) {
      lua_pushlstring(L, r->architectures[i].s, r->architectures[i].n);
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, args, "architectures");
  }
  if (r->variables > 0) {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, SLOT_VARIABLES);
    lua_setfield(L, -2, "variables");
    lua_setfield(L, args, "environment");
  }
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
static void push_attrs(lua_State *L, const reader *r, int args) {
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
  static const span ACTIVE = {"Active", 6, 1}, EMPTY = {"", 0, 1};
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
static void push_cfg(lua_State *L, const reader *r) {
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
  reader r;
  memset(&r, 0, sizeof r);
  r.p = (const unsigned char *)text;
  r.end = r.p + len;
  r.L = L;
  int ok = object(&r, answer_member) == 0 && (r.seen & SEEN_CONFIGURATION) && has(&r.name) && has(&r.arn);
  spaces(&r);
  if (!ok || r.p != r.end) {
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
