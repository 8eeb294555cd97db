/* httplua.c — lambdaeng.native.http, the Lua face of http.h (whose comment states
 * it): request(spec [, sink]) from a task yields until the response (its header lines
 * from httplines.c, its headers read by httpheaders.c; a sink gets a 2xx body's pieces as
 * they arrive, httpsink.h), and configure, stats, cancel_all, cancellations,
 * signed_lines, headers, url_parts. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "curlload.h"
#include "httpeasy.h"
#include "httpheaders.h"
#include "httplines.h"
#include "httpurl.h"
#include "httpurl_plain.h"
#include "loop.h"

typedef struct lua_waiter {
  lua_State *co;
  int lazy_headers;
  int sink_ref;     /* the sink function in the registry, or LUA_NOREF */
  char *sink_error; /* what the sink raised, or NULL */
} lua_waiter;

/* A request's sink: the Lua function given with each piece of the body, called on the
 * main thread (the task waits), protected: what it raises (or a wait: it cannot yield)
 * stops the request, its message kept for the task. */
static int lua_sink(const char *data, size_t len, void *userdata) {
  lua_waiter *w = userdata;
  lua_State *L = le_main_thread(w->co);
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->sink_ref);
  lua_pushlstring(L, data, len);
  if (le_callback_catch(L, 1, 0) == LUA_OK) return 0;
  const char *m = lua_tostring(L, -1);
  if (!w->sink_error) w->sink_error = strdup(m ? m : "the sink raised an error that is not a string");
  lua_pop(L, 1);
  return 1;
}

static void lua_done(le_http_response *r, void *userdata) {
  lua_waiter *w = userdata;
  lua_State *co = w->co;
  int w_lazy = w->lazy_headers;
  char *sink_error = w->sink_error;
  if (w->sink_ref != LUA_NOREF) luaL_unref(co, LUA_REGISTRYINDEX, w->sink_ref);
  free(w);
  if (r->error_kind) {
    lua_pushnil(co);
    lua_pushstring(co, sink_error ? sink_error : r->error);
    lua_pushstring(co, r->error_kind);
    lua_pushnil(co); /* (the 4th value is an unsent request's cause) */
    lua_pushboolean(co, r->sent);
    free(sink_error);
    le_task_resume(co, 5);
    return;
  }
  free(sink_error);
  lua_createtable(co, 0, 4); /* status, headers, body, and the client's attempts (no rehash) */
  lua_pushinteger(co, r->status);
  lua_setfield(co, -2, "status");
  const char *raw = r->headers.data ? (const char *)r->headers.data : "";
  le_http_push_headers(co, raw, r->headers.len, w_lazy);
  lua_setfield(co, -2, "headers");
  lua_pushlstring(co, r->body.data ? (const char *)r->body.data : "", r->body.len);
  lua_setfield(co, -2, "body");
  le_task_resume(co, 1);
}

/* A request refused before anything was sent: nil, message, "unsent", cause, where cause
 * (the error's code) says whose it was: "EINVAL" the request's (a header no request can
 * carry, a URL or an option libcurl refuses), "ENOENT" a library missing (libcurl, for
 * https), else the transport's setting up (libcurl failing to start, out of memory). */
static int unsent(lua_State *L, const le_error *err) {
  lua_pushnil(L);
  lua_pushstring(L, err->message);
  lua_pushstring(L, "unsent");
  lua_pushstring(L, err->code ? err->code : "EFAIL");
  return 4;
}

static int l_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int has_sink = !lua_isnoneornil(L, 2);
  if (has_sink) luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!le_task_can_wait(L)) return luaL_error(L, "http.request must be called from a task");
  le_http_request_spec spec;
  memset(&spec, 0, sizeof spec);
  int at[LE_HTTP_SPEC_FIELDS];
  le_http_read_spec(L, 1, at); /* one pass over the table, not a lua_getfield a field */
  spec.method = luaL_optstring(L, at[LE_HTTP_SPEC_METHOD], "GET");
  spec.url = luaL_checkstring(L, at[LE_HTTP_SPEC_URL]);
  spec.body = lua_isnil(L, at[LE_HTTP_SPEC_BODY]) ? NULL : luaL_checklstring(L, at[LE_HTTP_SPEC_BODY], &spec.body_len);
  spec.timeout_ms = (long)(luaL_optnumber(L, at[LE_HTTP_SPEC_TIMEOUT], 0) * 1000);
  lua_Integer max_body = luaL_optinteger(L, at[LE_HTTP_SPEC_MAX_BODY], 0);
  if (max_body < 0) return luaL_argerror(L, 1, "max_body must not be negative");
  spec.max_body = (size_t)max_body;
  int lazy_headers = lua_toboolean(L, at[LE_HTTP_SPEC_LAZY_HEADERS]);
  spec.once = lua_toboolean(L, at[LE_HTTP_SPEC_ONCE]);
  const char **lines;
  le_error err;
  long lines_count = le_http_header_lines(L, at, &lines, &err);
  if (lines_count < 0) return unsent(L, &err);
  spec.header_count = (size_t)lines_count;
  spec.headers = lines;
  lua_waiter *w = malloc(sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->co = L;
  w->lazy_headers = lazy_headers;
  w->sink_error = NULL;
  w->sink_ref = LUA_NOREF;
  if (has_sink) {
    lua_pushvalue(L, 2);
    w->sink_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    spec.sink = lua_sink;
  }
  if (le_http_start(&spec, lua_done, w, &err) != LE_OK) {
    if (w->sink_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, w->sink_ref);
    free(w);
    return unsent(L, &err);
  }
  return lua_yield(L, 0);
}

static int l_stats(lua_State *L) {
  le_http_stats s;
  le_http_get_stats(&s);
  const struct {
    const char *name;
    size_t value;
  } stats[] = {
      {"sockets_open", s.sockets_open}, {"sockets_peak", s.sockets_peak},   {"sockets_opened", s.sockets_opened},
      {"queued_peak", s.queued_peak},   {"max_host_connections", s.max_host_connections},
      {"started", s.started},           {"in_flight", s.in_flight},         {"peak_in_flight", s.peak_in_flight},
      {"easy_created", s.easy_created}, {"urls_parsed", s.urls_parsed}, {"idle_socket_events", s.idle_socket_events},
      {"multi_handles", s.multi_handles},
      {"own_connections_opened", s.own_connections_opened}, {"own_connections_reused", s.own_connections_reused},
      {"dns_resolutions", s.dns_resolutions}, {"idle_expired", s.idle_expired},
  };
  lua_createtable(L, 0, (int)(sizeof stats / sizeof *stats));
  for (size_t i = 0; i < sizeof stats / sizeof *stats; i++) {
    lua_pushinteger(L, (lua_Integer)stats[i].value);
    lua_setfield(L, -2, stats[i].name);
  }
  return 1;
}

/* configure{ max_host_connections = N, ca_file = path | false, dns_cache_seconds = S,
 * idle_seconds = S } -> true | nil, message, code (ca_file: the CA certificates TLS peers
 * are verified with; false: the system's; the two periods: the own transport's). */
static int l_configure(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "ca_file");
  if (!lua_isnil(L, -1)) {
    le_error err;
    const char *path = lua_toboolean(L, -1) ? luaL_checkstring(L, -1) : NULL;
    if (le_http_easy_set_ca_file(path, &err) != LE_OK) return le_push_error(L, &err);
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "max_host_connections");
  if (!lua_isnil(L, -1)) {
    le_error err;
    if (le_http_set_max_host_connections((long)luaL_checkinteger(L, -1), &err) != LE_OK)
      return le_push_error(L, &err);
  }
  lua_getfield(L, 1, "dns_cache_seconds");
  lua_getfield(L, 1, "idle_seconds");
  if (!lua_isnil(L, -1) || !lua_isnil(L, -2)) {
    le_error err;
    if (le_http_set_own_periods((long)luaL_optinteger(L, -2, -1), (long)luaL_optinteger(L, -1, -1), &err) != LE_OK)
      return le_push_error(L, &err);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* cancellations() -> n: a caller that saw n before waiting (a pacer's queue, a
 * backoff) knows a cancel_all happened meanwhile when n has changed. */
static int l_cancellations(lua_State *L) {
  le_http_stats s;
  le_http_get_stats(&s);
  lua_pushinteger(L, (lua_Integer)s.cancellations);
  return 1;
}

static int l_cancel_all(lua_State *L) {
  (void)L;
  le_http_cancel_all();
  return 0;
}

/* A plain URL's parts (httpurl_plain.h) as libcurl gives them (the port when it is written). */
static int push_plain_parts(lua_State *L, const le_http_plain_url *p) {
  lua_createtable(L, 0, 5);
  lua_pushliteral(L, "http");
  lua_setfield(L, -2, "scheme");
  lua_pushlstring(L, p->host, p->host_len);
  lua_setfield(L, -2, "host");
  if (p->port_given) {
    lua_pushlstring(L, p->port_text, p->port_len);
    lua_setfield(L, -2, "port");
  }
  lua_pushlstring(L, p->path, p->path_len);
  lua_setfield(L, -2, "path");
  if (p->query) {
    lua_pushlstring(L, p->query, p->query_len);
    lua_setfield(L, -2, "query");
  }
  return 1;
}

/* url_parts(text) -> { scheme, host, port, path, query, fragment, user, password } (the parts
 * present) as libcurl would parse text for a request | nil, why libcurl refuses it | nil,
 * why libcurl cannot be loaded, "ENOENT" (a plain URL is read without it). */
static int l_url_parts(lua_State *L) {
  static const struct {
    CURLUPart part;
    const char *name;
  } parts[] = {{CURLUPART_SCHEME, "scheme"}, {CURLUPART_HOST, "host"},         {CURLUPART_PORT, "port"},
               {CURLUPART_PATH, "path"},     {CURLUPART_QUERY, "query"},       {CURLUPART_FRAGMENT, "fragment"},
               {CURLUPART_USER, "user"},     {CURLUPART_PASSWORD, "password"}};
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  le_http_plain_url plain;
  if (strlen(text) == len && le_http_plain_url_parse(text, len, &plain)) return push_plain_parts(L, &plain);
  le_error err;
  if (le_curl_load(text, &err) != LE_OK) return le_push_error(L, &err); /* (code ENOENT) */
  CURLU *h = curl_url();
  if (!h) return luaL_error(L, "out of memory");
  CURLUcode rc = le_http_url_set(h, text);
  if (rc != CURLUE_OK) {
    curl_url_cleanup(h);
    lua_pushnil(L);
    lua_pushstring(L, curl_url_strerror(rc));
    return 2;
  }
  lua_createtable(L, 0, 8);
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    char *value = NULL;
    if (curl_url_get(h, parts[i].part, &value, 0) == CURLUE_OK && value) {
      lua_pushstring(L, value);
      lua_setfield(L, -2, parts[i].name);
    }
    curl_free(value);
  }
  curl_url_cleanup(h);
  return 1;
}

static void set_spec_readers(lua_State *L) {
  const struct {
    const char *name;
    lua_CFunction f;
  } readers[] = {{"request", l_request}, {"signed_lines", le_http_lua_signed_lines}};
  for (size_t i = 0; i < sizeof readers / sizeof *readers; i++) {
    lua_pushcclosure(L, readers[i].f, le_http_push_field_names(L));
    lua_setfield(L, -2, readers[i].name);
  }
}

int le_open_http(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"stats", l_stats}, {"configure", l_configure},
      {"cancel_all", l_cancel_all}, {"cancellations", l_cancellations}, {"headers", le_http_lua_headers},
      {"url_parts", l_url_parts}, {NULL, NULL}};
  le_http_headers_metatable(L);
  luaL_newlib(L, fns);
  /* (the two that read a spec hold its field names' strings: le_http_push_field_names) */
  set_spec_readers(L);
  le_http_add_header_values(L);
  return 1;
}

