/* httpserver_table.c — what a connection's request is given to Lua as (httpserver_table.h):
 * its request table (method, path, target, query, headers with lower-case names,
 * content_length, the peer's uid), and a bare server's method and path values. With
 * reuse_requests, each connection keeps its table and refills it: the last request's
 * fields that may be absent cleared, a request line and header values alike the last
 * one's left as they are. The server keeps the strings it pushes most (its methods, its
 * header names, a bare server's last short path) as registry references. */
#include "httpserver_table.h"

#include <limits.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_head.h"

/* Lower-cases c's header names where they are (nothing else reads them as sent). */
static void lower_names(le_conn *c) {
  if (!c->names.data) return;
  for (unsigned char *n = c->names.data, *end = n + c->names.len; n < end; n++)
    if (*n >= 'A' && *n <= 'Z') *n = (unsigned char)(*n + 32);
}

/* Pushes header name n[0..len) (lower case): with reuse_requests, from the server's kept
 * names (a registry read, ~30 instructions, where interning a short string costs ~250),
 * kept there when there is room. */
static void push_name(lua_State *L, le_server *srv, const char *n, size_t len) {
  if (!srv->reuse_requests || len >= LE_KEPT_NAME_MAX) {
    lua_pushlstring(L, n, len);
    return;
  }
  for (int i = 0; i < srv->nnames; i++)
    if (srv->name_lens[i] == len && memcmp(srv->name_bytes[i], n, len) == 0) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, srv->name_refs[i]);
      return;
    }
  lua_pushlstring(L, n, len);
  if (srv->nnames == LE_KEPT_NAMES) return;
  lua_pushvalue(L, -1);
  srv->name_refs[srv->nnames] = luaL_ref(L, LUA_REGISTRYINDEX);
  memcpy(srv->name_bytes[srv->nnames], n, len);
  srv->name_lens[srv->nnames++] = (unsigned char)len;
}

/* Whether c's request has a length to give as content_length (not chunked, a length sent). */
static int has_length(const le_conn *c) { return !c->chunked && c->content_length != LE_NO_LENGTH; }

/* Pushes an empty request table, then an empty headers table: new ones, or the connection's
 * own (reuse_requests: a table and a headers table made and collected per request, and each
 * of their fields a new key, cost ~4 k instructions a Runtime API request), its fields that
 * may be absent this time (the last request's headers, content_length, body) set to nil;
 * the others are set again by le_table_push_request (content_length is cleared only when
 * this request has none: it is set anew otherwise). The last request's header names are not
 * cleared when this one has the same names (a client's requests nearly always do): each
 * is set again, or left as it is when its value is the same too; then it returns 1.
 * *kept: 1 when the table is the connection's own from its last request; *kept_headers: 1
 * when the headers table pushed is the one the request table holds already (no need to set
 * it again: a field set ~140 instructions). c's names are lower case. */
static int push_empty_request(lua_State *L, le_conn *c, int *kept, int *kept_headers) {
  *kept = *kept_headers = 0;
  if (!c->srv->reuse_requests || c->reuse_ref == LUA_NOREF || c->reuse_unknown) {
    lua_createtable(L, 0, 10); /* its fields, the body, and what the check adds: no resize */
    if (c->srv->reuse_requests) {
      if (c->reuse_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, c->reuse_ref);
      lua_pushvalue(L, -1);
      c->reuse_ref = luaL_ref(L, LUA_REGISTRYINDEX);
      c->reuse_unknown = 0;
    }
    lua_createtable(L, 0, (int)c->nheaders);
    return 0;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->reuse_ref);
  *kept = 1;
  if (!has_length(c)) {
    lua_pushnil(L);
    lua_setfield(L, -2, "content_length");
  }
  lua_pushnil(L);
  lua_setfield(L, -2, "body");
  if (lua_getfield(L, -1, "headers") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, (int)c->nheaders);
    return 0;
  }
  *kept_headers = 1;
  if (c->reused_names.len == c->head_names &&
      (c->head_names == 0 || memcmp(c->reused_names.data, c->names.data, c->head_names) == 0))
    return 1; /* the same names */
  if (!c->reused_names.data) return 0;
  const char *n = (const char *)c->reused_names.data, *end = n + c->reused_names.len;
  while (n < end) {
    size_t nl = strlen(n);
    push_name(L, c->srv, n, nl);
    lua_pushnil(L);
    lua_rawset(L, -3);
    n += nl + 1;
  }
  return 0;
}

/* Whether c's n header names are all different (checked for up to 32: beyond, "no"). */
static int distinct_names(const le_conn *c) {
  const char *seen[32];
  size_t lens[32], count = 0;
  const char *n = (const char *)c->names.data;
  if (c->nheaders > 32) return 0;
  for (size_t i = 0; i < c->nheaders && n; i++) {
    size_t nl = strlen(n);
    for (size_t k = 0; k < count; k++)
      if (lens[k] == nl && memcmp(seen[k], n, nl) == 0) return 0;
    seen[count] = n, lens[count++] = nl;
    n += nl + 1;
  }
  return 1;
}

/* With reuse_requests, keeps the names (lower-cased in names) and values of the headers just
 * set: the names only when they changed (same: push_empty_request found them alike). */
static void keep_header_names(le_conn *c, int same) {
  if (!c->srv->reuse_requests) return;
  c->reused_values.len = 0;
  if (c->nheaders > 0 && le_buffer_append(&c->reused_values, c->values.data, c->values.len) != 0)
    c->reuse_unknown = 1; /* out of memory: the next request gets a new table */
  if (same) return;
  c->reused_names.len = 0;
  if (c->nheaders > 0 && le_buffer_append(&c->reused_names, c->names.data, c->names.len) != 0)
    c->reuse_unknown = 1; /* out of memory: its names are not known, so a new table next time */
  c->reused_distinct = distinct_names(c);
}

/* Pushes c's method: the server keeps its method strings (a Lua short string is hashed and
 * looked up each time it is made: ~250 instructions; a registry read ~30). */
void le_table_push_method(lua_State *L, le_conn *c) {
  int m = c->method;
  int *ref = m < LE_KEPT_METHODS ? &c->srv->method_refs[m] : NULL;
  if (ref && *ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
    return;
  }
  lua_pushstring(L, le_method_name(m));
  if (ref) {
    lua_pushvalue(L, -1);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

/* Sets the request table's method, path, target and query (at req) from c's request line,
 * and keeps the line's method and target (with reuse_requests). */
static void set_request_line(lua_State *L, le_conn *c, int req) {
  le_table_push_method(L, c);
  lua_setfield(L, req, "method");
  const char *url = c->url.data ? (const char *)c->url.data : "";
  const char *q = memchr(url, '?', c->url.len);
  lua_pushlstring(L, url, c->url.len);
  /* without a query the path is the target: the same string, not a second copy (a
   * runtime's /response path is a long string, allocated and collected each time) */
  if (q) lua_pushlstring(L, url, (size_t)(q - url));
  else lua_pushvalue(L, -1);
  lua_setfield(L, req, "path");
  lua_setfield(L, req, "target");
  lua_pushlstring(L, q ? q + 1 : "", q ? c->url.len - (size_t)(q + 1 - url) : 0);
  lua_setfield(L, req, "query");
  if (!c->srv->reuse_requests) return;
  c->reused_url.len = 0;
  c->reused_url_set = c->url.len == 0 || le_buffer_append(&c->reused_url, url, c->url.len) == 0;
  c->reused_method = c->method;
}

/* Whether the connection's kept table holds c's method and target already (a client's
 * requests on one connection are nearly always to one path: its target, ~40 bytes, made a
 * Lua string, hashed and interned, and the four fields set again cost ~0.8 k an Invoke). */
static int same_request_line(const le_conn *c, int kept) {
  return kept && c->reused_url_set && c->reused_method == c->method && c->reused_url.len == c->url.len &&
         (c->url.len == 0 || memcmp(c->reused_url.data, c->url.data, c->url.len) == 0);
}

void le_table_push_request(lua_State *L, le_conn *c) {
  lower_names(c);
  int kept, kept_headers;
  int same = push_empty_request(L, c, &kept, &kept_headers);
  int req = lua_gettop(L) - 1, headers = req + 1;
  if (!same_request_line(c, kept)) set_request_line(L, c, req);
  /* the same names, all different: a value alike the last one's is in the table already */
  const char *last = same && c->reused_distinct ? (const char *)c->reused_values.data : NULL;
  const char *n = (const char *)c->names.data, *v = (const char *)c->values.data;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n), vl = strlen(v), ll = last ? strlen(last) : 0;
    if (!last || ll != vl || memcmp(last, v, vl) != 0) {
      push_name(L, c->srv, n, nl);
      lua_pushlstring(L, v, vl);
      lua_rawset(L, headers); /* a plain table: no metamethods to run */
    }
    if (last) last += ll + 1;
    n += nl + 1;
    v += vl + 1;
  }
  if (kept_headers) lua_pop(L, 1);
  else lua_setfield(L, req, "headers");
  keep_header_names(c, same);
  if (c->srv->peer_uid && c->peer_uid >= 0) {
    lua_pushinteger(L, (lua_Integer)c->peer_uid);
    lua_setfield(L, req, "peer_uid");
  } else if (c->srv->peer_uid) {
    lua_pushstring(L, strerror(c->peer_errno));
    lua_setfield(L, req, "peer_uid_error");
  }
  if (has_length(c)) {
    /* as a float when it does not fit an integer: the check compares it with a limit */
    if (c->content_length <= (uint64_t)LLONG_MAX) lua_pushinteger(L, (lua_Integer)c->content_length);
    else lua_pushnumber(L, (lua_Number)c->content_length);
    lua_setfield(L, req, "content_length");
  }
}

void le_table_init_server(le_server *srv) {
  for (int i = 0; i < LE_KEPT_METHODS; i++) srv->method_refs[i] = LUA_NOREF;
  srv->path_ref = LUA_NOREF;
  srv->nnames = 0;
}

void le_table_forget(le_server *srv) {
  for (int i = 0; i < LE_KEPT_METHODS; i++) luaL_unref(srv->L, LUA_REGISTRYINDEX, srv->method_refs[i]);
  for (int i = 0; i < srv->nnames; i++) luaL_unref(srv->L, LUA_REGISTRYINDEX, srv->name_refs[i]);
  luaL_unref(srv->L, LUA_REGISTRYINDEX, srv->path_ref);
  le_table_init_server(srv);
}

/* Pushes path[0..len): the server's last short path again when it is the same (a
 * runtime's /next), else a new string, kept when short (a /response path, with its
 * request id, is long: made once, never alike). */
void le_table_push_path(lua_State *L, le_server *srv, const char *path, size_t len) {
  if (srv->path_ref != LUA_NOREF && len == srv->path_len && memcmp(path, srv->path_bytes, len) == 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, srv->path_ref);
    return;
  }
  lua_pushlstring(L, path, len);
  if (len > sizeof srv->path_bytes) return;
  luaL_unref(L, LUA_REGISTRYINDEX, srv->path_ref);
  lua_pushvalue(L, -1);
  srv->path_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  memcpy(srv->path_bytes, path, len);
  srv->path_len = len;
}
