/* httpheaders.c — see httpheaders.h. */
#include "httpheaders.h"

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
  if (colon && !((size_t)(stop - p) >= 5 && strncmp(p, "HTTP/", 5) == 0)) {
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
 * pairs(). Most answers are read for their status and body alone. */
#define LAZY_HEADERS "lambdaeng.http.headers"
typedef struct {
  size_t len;
  char text[];
} raw_headers;

static void push_lazy_headers(lua_State *L, const char *text, size_t len) {
  raw_headers *h = lua_newuserdatauv(L, sizeof *h + len, 0);
  h->len = len;
  if (len) memcpy(h->text, text, len);
  luaL_setmetatable(L, LAZY_HEADERS);
}

static int lazy_index(lua_State *L) {
  raw_headers *h = luaL_checkudata(L, 1, LAZY_HEADERS);
  size_t key_len;
  const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &key_len) : NULL;
  const char *p = h->text, *end = h->text + h->len, *found = NULL;
  size_t found_len = 0;
  while (key && p < end) {
    const char *name, *value;
    size_t name_len, value_len;
    p = header_line(p, end, &name, &name_len, &value, &value_len);
    if (!name || name_len != key_len) continue;
    size_t i = 0;
    while (i < name_len && lower(name[i]) == key[i]) i++;
    if (i == name_len) found = value, found_len = value_len; /* the last one wins, as in the table */
  }
  if (found) lua_pushlstring(L, found, found_len);
  else lua_pushnil(L);
  return 1;
}

static int table_next(lua_State *L) { /* next(t, k), as the base library's */
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

static int lazy_pairs(lua_State *L) {
  raw_headers *h = luaL_checkudata(L, 1, LAZY_HEADERS);
  lua_pushcfunction(L, table_next);
  push_headers(L, h->text, h->len);
  lua_pushnil(L);
  return 3;
}

void le_http_push_headers(lua_State *L, const char *raw, size_t len, int lazy) {
  if (lazy) push_lazy_headers(L, raw, len);
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
  if (luaL_newmetatable(L, LAZY_HEADERS)) luaL_setfuncs(L, metamethods, 0);
  lua_pop(L, 1);
}
