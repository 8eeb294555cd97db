/* jsonspec.c — see jsonspec.h. */
#include "jsonspec.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"

static void free_node(le_spec_node *n) {
  if (!n) return;
  free_node(n->child);
  for (size_t i = 0; i < n->nfields; i++) {
    free(n->fields[i].name);
    free_node(n->fields[i].spec);
  }
  for (size_t i = 0; i < n->nrequired; i++) free(n->required[i].name);
  free(n->fields);
  free(n->required);
  free(n->slots);
  free(n);
}

static int field_order(const void *a, const void *b) {
  const le_spec_field *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int r = n ? memcmp(x->name, y->name, n) : 0;
  if (r) return r;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* A cheap hash of a name for the fields' table: its length and three of its bytes (the
 * names of one object differ there), the rest settled by comparing. */
static size_t name_hash(const char *s, size_t len) {
  if (!len) return 0;
  const unsigned char *u = (const unsigned char *)s;
  return len * 0x9e37u ^ (size_t)u[0] << 7 ^ (size_t)u[len / 2] << 3 ^ u[len - 1];
}

/* The fields' hash table (open addressing, at most half full). */
static int index_fields(le_spec_node *n) {
  size_t size = 4;
  while (size < 2 * n->nfields) size *= 2;
  n->slots = calloc(size, sizeof *n->slots);
  if (!n->slots) return 0;
  n->slot_mask = size - 1;
  for (size_t i = 0; i < n->nfields; i++) {
    size_t at = name_hash(n->fields[i].name, n->fields[i].len) & n->slot_mask;
    while (n->slots[at]) at = (at + 1) & n->slot_mask;
    n->slots[at] = (unsigned)i + 1;
  }
  return 1;
}

/* What compile fills besides the nodes: the names table (at stack index names) and its length. */
typedef struct {
  lua_State *L;
  int names, count;
} compiling;

/* The field named by the string on top of the stack added to list, the string to the names table. */
static int add_field(compiling *cc, le_spec_field **list, size_t *count, size_t *cap, le_spec_node *spec) {
  size_t len;
  const char *name = lua_tolstring(cc->L, -1, &len);
  le_spec_field *grown = le_array_grow(*list, cap, *count, sizeof **list, 8);
  char *copy = grown ? malloc(len + 1) : NULL;
  if (!copy) {
    if (grown) *list = grown;
    return -1;
  }
  *list = grown;
  memcpy(copy, name, len);
  copy[len] = '\0';
  lua_pushvalue(cc->L, -1);
  lua_rawseti(cc->L, cc->names, ++cc->count);
  (*list)[(*count)++] = (le_spec_field){copy, len, spec, cc->count};
  return 0;
}

static le_spec_node *compile(compiling *cc, int idx, int depth);

/* spec[key] compiled when it is a table (*out NULL otherwise); -1 when memory runs out. */
static int compile_child(compiling *cc, int idx, const char *key, int depth, le_spec_node **out) {
  *out = NULL;
  int rc = 0;
  lua_pushstring(cc->L, key);
  if (lua_rawget(cc->L, idx) == LUA_TTABLE && !(*out = compile(cc, lua_gettop(cc->L), depth + 1))) rc = -1;
  lua_pop(cc->L, 1);
  return rc;
}

/* An object's fields (those whose spec is a table) and required names, from the spec at idx. */
static int compile_object(compiling *cc, int idx, int depth, le_spec_node *n) {
  lua_State *L = cc->L;
  size_t cap = 0, rcap = 0;
  int ok = 1;
  lua_pushliteral(L, "fields");
  if (lua_rawget(L, idx) == LUA_TTABLE) {
    int fields = lua_gettop(L);
    lua_pushnil(L);
    while (ok && lua_next(L, fields)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
        le_spec_node *child = compile(cc, lua_gettop(L), depth + 1);
        lua_pushvalue(L, -2);
        ok = child && add_field(cc, &n->fields, &n->nfields, &cap, child) == 0;
        lua_pop(L, 1);
        if (!ok) free_node(child);
      }
      lua_pop(L, 1);
    }
    if (!ok) lua_pop(L, 1); /* the key lua_next left */
    if (n->nfields > 1) qsort(n->fields, n->nfields, sizeof *n->fields, field_order);
    if (ok && n->nfields) ok = index_fields(n);
  }
  lua_pop(L, 1);
  lua_pushliteral(L, "required");
  if (ok && lua_rawget(L, idx) == LUA_TTABLE) {
    for (lua_Integer i = 1; ok; i++) {
      int type = lua_rawgeti(L, -1, i);
      if (type == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      if (type == LUA_TSTRING) ok = add_field(cc, &n->required, &n->nrequired, &rcap, NULL) == 0;
      else n->required_unnamed = 1;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return ok;
}

/* The spec table at idx read into a node (the same raw lookups the readers made in the
 * table); NULL when memory runs out or the specs nest deeper than any value can. */
static le_spec_node *compile(compiling *cc, int idx, int depth) {
  lua_State *L = cc->L;
  if (depth > LE_SPEC_MAX_DEPTH + 1 || !lua_checkstack(L, 8)) return NULL;
  le_spec_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = '?';
  lua_pushliteral(L, "kind");
  if (lua_rawget(L, idx) == LUA_TSTRING) n->kind = (unsigned char)lua_tostring(L, -1)[0];
  lua_pop(L, 1);
  lua_pushliteral(L, "skip");
  n->skip = lua_rawget(L, idx) == LUA_TBOOLEAN && lua_toboolean(L, -1);
  lua_pop(L, 1);
  int ok = 1;
  if (n->kind == 'a' || n->kind == 'm')
    ok = compile_child(cc, idx, n->kind == 'a' ? "item" : "value", depth, &n->child) == 0;
  else if (n->kind == 'o') ok = compile_object(cc, idx, depth, n);
  if (!ok) {
    free_node(n);
    return NULL;
  }
  return n;
}

const le_spec_field *le_spec_find_field(const le_spec_node *n, const char *name, size_t len) {
  if (!n->slots) return NULL;
  for (size_t at = name_hash(name, len) & n->slot_mask; n->slots[at]; at = (at + 1) & n->slot_mask) {
    const le_spec_field *f = &n->fields[n->slots[at] - 1];
    if (f->len == len && memcmp(f->name, name, len) == 0) return f;
  }
  return NULL;
}

typedef struct {
  le_spec_node *root;
} compiled_spec;

static int compiled_gc(lua_State *L) {
  compiled_spec *c = lua_touserdata(L, 1);
  free_node(c->root);
  c->root = NULL;
  return 0;
}

void le_spec_push_metatable(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, compiled_gc);
  lua_setfield(L, -2, "__gc");
}

const le_spec_node *le_spec_compiled(lua_State *L, int idx, int cache, int mt) {
  lua_pushvalue(L, idx);
  if (lua_rawget(L, cache) == LUA_TUSERDATA) return ((compiled_spec *)lua_touserdata(L, -1))->root;
  lua_pop(L, 1);
  compiled_spec *cs = lua_newuserdatauv(L, sizeof *cs, 1);
  cs->root = NULL;
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);
  int at = lua_gettop(L);
  lua_newtable(L);
  compiling cc = {L, at + 1, 0};
  cs->root = compile(&cc, idx, 0);
  lua_settop(L, at + 1);
  lua_setiuservalue(L, at, 1);
  if (!cs->root) {
    lua_pop(L, 1);
    return NULL;
  }
  lua_pushvalue(L, idx);
  lua_pushvalue(L, at);
  lua_rawset(L, cache);
  return cs->root;
}
