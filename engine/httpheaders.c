/* httpheaders.c — see httpheaders.h. */
#include "httpheaders.h"

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

/* Each header line of a raw block (status lines skipped): its name, its value with the
 * spaces around it cut. Returns the end of the line. */
static const char *header_line(const char *p, const char *end, const char **name, size_t *name_len,
                               const char **value, size_t *value_len) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  const char *stop = nl ? nl : end;
  const char *colon = memchr(p, ':', (size_t)(stop - p));
  *name = NULL;
  if (colon && !((size_t)(stop - p) >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
    const char *v = colon + 1;
    while (v < stop && (*v == ' ' || *v == '\t')) v++;
    const char *ve = stop;
    while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
    *name = p;
    *name_len = (size_t)(colon - p);
    *value = v;
    *value_len = (size_t)(ve - v);
  }
  return nl ? nl + 1 : end;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* The headers as a table: lower-case name = value, a name given twice keeping its last value. */
static void push_headers(lua_State *L, const char *p, size_t len) {
  lua_newtable(L);
  const char *end = p + len;
  while (p < end) {
    const char *name, *value;
    size_t name_len, value_len;
    p = header_line(p, end, &name, &name_len, &value, &value_len);
    if (!name) continue;
    luaL_Buffer b;
    char *lowered = luaL_buffinitsize(L, &b, name_len);
    for (size_t i = 0; i < name_len; i++) lowered[i] = lower(name[i]);
    luaL_pushresultsize(&b, name_len);
    lua_pushlstring(L, value, value_len);
    lua_settable(L, -3);
  }
}

/* Lazy headers: the raw block kept in a userdata, a header looked up only when read
 * (headers[name]: the value push_headers' table would hold), the table made only for
 * pairs(). Most answers are read for their status and body alone; an answer that is read
 * is often read for several names one after the other (an Invoke's three), so the first
 * read walks the lines once into an index and the reads after it only compare the lengths
 * of a few names, and the bytes of those as long as the key. The index is one per thread,
 * of the block read last (known by its serial number, never reused): an index per answer
 * cost an allocation and a user value each (r10, callgrind: -1.2 k an Invoke). A block of
 * more lines than the index holds is walked at each read. */
#define LAZY_HEADERS "lambdaeng.http.headers"
#define INDEX_ENTRIES 32

typedef struct {
  uint64_t serial; /* this block's number, for the index */
  size_t len;
  char text[];
} raw_headers;

/* Where one header line's name and value lie in the raw text (a block of up to 4 GiB). */
typedef struct {
  uint32_t name_off, name_len, value_off, value_len;
} header_entry;
typedef struct {
  uint64_t serial; /* the block indexed, 0: none */
  size_t count;
  header_entry entries[INDEX_ENTRIES];
} header_index;

static _Thread_local uint64_t last_serial;
static _Thread_local header_index index_of_last;

static void push_lazy_headers(lua_State *L, const char *text, size_t len) {
  raw_headers *h = lua_newuserdatauv(L, sizeof *h + len, 0);
  h->serial = ++last_serial;
  h->len = len;
  if (len) memcpy(h->text, text, len);
  luaL_setmetatable(L, LAZY_HEADERS);
}

/* The index of h, made if it is not the block indexed last; NULL if h has more header lines
 * than an index holds. */
static const header_index *index_of(const raw_headers *h) {
  header_index *ix = &index_of_last;
  if (ix->serial == h->serial) return ix;
  const char *p = h->text, *end = h->text + h->len;
  ix->serial = 0;
  ix->count = 0;
  while (p < end) {
    const char *name, *value;
    size_t name_len, value_len;
    p = header_line(p, end, &name, &name_len, &value, &value_len);
    if (!name) continue;
    if (ix->count == INDEX_ENTRIES) return NULL;
    ix->entries[ix->count++] = (header_entry){(uint32_t)(name - h->text), (uint32_t)name_len,
                                              (uint32_t)(value - h->text), (uint32_t)value_len};
  }
  ix->serial = h->serial;
  return ix;
}

static int same_name(const char *name, size_t name_len, const char *key, size_t key_len) {
  if (name_len != key_len) return 0;
  size_t i = 0;
  while (i < key_len && lower(name[i]) == key[i]) i++;
  return i == key_len;
}

/* Pushes the value of the last line named key (lower case), walking every line. */
static void push_by_walking(lua_State *L, const raw_headers *h, const char *key, size_t key_len) {
  const char *p = h->text, *end = h->text + h->len, *found = NULL;
  size_t found_len = 0;
  while (p < end) {
    const char *name, *value;
    size_t name_len, value_len;
    p = header_line(p, end, &name, &name_len, &value, &value_len);
    if (name && same_name(name, name_len, key, key_len)) found = value, found_len = value_len;
  }
  if (found) lua_pushlstring(L, found, found_len);
  else lua_pushnil(L);
}

/* The lazy headers at index 1, or an error: the metamethods hold their metatable as an
 * upvalue, so the check is a pointer comparison (luaL_checkudata looks the metatable up
 * by its name in the registry, a fifth of a lookup's cost). */
static raw_headers *check_headers(lua_State *L) {
  raw_headers *h = lua_touserdata(L, 1);
  if (!h || !lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1))) luaL_typeerror(L, 1, LAZY_HEADERS);
  lua_pop(L, 1);
  return h;
}

/* Pushes the value of the name at stack index key_idx in h (nil for a key that is not a string). */
static void push_value(lua_State *L, const raw_headers *h, int key_idx) {
  size_t key_len;
  const char *key = lua_type(L, key_idx) == LUA_TSTRING ? lua_tolstring(L, key_idx, &key_len) : NULL;
  if (!key) {
    lua_pushnil(L);
    return;
  }
  const header_index *ix = index_of(h);
  if (!ix) {
    push_by_walking(L, h, key, key_len);
    return;
  }
  for (size_t e = ix->count; e-- > 0;) { /* from the last: a name given twice keeps its last value */
    const header_entry *entry = &ix->entries[e];
    if (same_name(h->text + entry->name_off, entry->name_len, key, key_len)) {
      lua_pushlstring(L, h->text + entry->value_off, entry->value_len);
      return;
    }
  }
  lua_pushnil(L);
}

static int lazy_index(lua_State *L) {
  push_value(L, check_headers(L), 2);
  return 1;
}

/* header_values(headers, name...) -> the value of each name, in one call where reading
 * them one by one costs a metamethod call each (an Invoke reads three: ~1.9 k
 * instructions). headers: the lazy userdata, or any table (read with its metamethods). */
static int header_values(lua_State *L) {
  int n = lua_gettop(L) - 1;
  luaL_checkstack(L, n, "too many header names");
  raw_headers *h = lua_touserdata(L, 1);
  int lazy = h && lua_getmetatable(L, 1) && lua_rawequal(L, -1, lua_upvalueindex(1));
  if (h) lua_settop(L, n + 1); /* the metatable off, if it was pushed */
  if (!lazy) luaL_checktype(L, 1, LUA_TTABLE);
  for (int i = 2; i <= n + 1; i++) {
    if (lazy) push_value(L, h, i);
    else {
      lua_pushvalue(L, i);
      lua_gettable(L, 1);
    }
  }
  return n;
}

static int table_next(lua_State *L) { /* next(t, k), as the base library's */
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

static int lazy_pairs(lua_State *L) {
  raw_headers *h = check_headers(L);
  lua_pushcfunction(L, table_next);
  push_headers(L, h->text, h->len);
  lua_pushnil(L);
  return 3;
}

void le_http_push_headers(lua_State *L, const char *raw, size_t len, int lazy) {
  if (lazy && len <= UINT32_MAX) push_lazy_headers(L, raw, len); /* the index's offsets are 32 bits */
  else push_headers(L, raw, len);
}

/* headers(raw[, lazy]) -> the headers of a raw block as http.request gives them: a table,
 * or with lazy the userdata (lua.signing compares the two). */
int le_http_lua_headers(lua_State *L) {
  size_t len;
  const char *raw = luaL_checklstring(L, 1, &len);
  le_http_push_headers(L, raw, len, lua_toboolean(L, 2));
  return 1;
}

void le_http_headers_metatable(lua_State *L) {
  static const luaL_Reg metamethods[] = {{"__index", lazy_index}, {"__pairs", lazy_pairs}, {NULL, NULL}};
  if (luaL_newmetatable(L, LAZY_HEADERS)) {
    lua_pushvalue(L, -1); /* each metamethod's upvalue: the metatable, for check_headers */
    luaL_setfuncs(L, metamethods, 1);
  }
  lua_pop(L, 1);
}

void le_http_add_header_values(lua_State *L) {
  luaL_getmetatable(L, LAZY_HEADERS); /* its upvalue, as the metamethods' */
  lua_pushcclosure(L, header_values, 1);
  lua_setfield(L, -2, "header_values");
}
