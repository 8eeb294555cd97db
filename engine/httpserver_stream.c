/* httpserver_stream.c — streamed request bodies and chunked responses (httpserver_stream.h). */
#include "httpserver_stream.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_response.h"
#include "loop.h"

/* The connection whose body's sink is running (a chunk given now comes from its body). */
static le_conn *feeding;
static struct {
  long long holds, held;
  size_t queued_peak;
} S;

int le_stream_begin(le_conn *c) {
  le_server *srv = c->srv;
  lua_State *L = srv->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, srv->stream_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, srv->reuse_requests ? c->reuse_ref : c->req_ref);
  if (le_callback_call(L, 1, 1, "local target") != LUA_OK) {
    lua_settop(L, top);
    return -1;
  }
  if (lua_isfunction(L, -1)) {
    c->sink_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c->has_sink = 1;
  }
  lua_settop(L, top);
  return 0;
}

int le_stream_body(le_conn *c, const char *at, size_t len) {
  lua_State *L = c->srv->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->sink_ref);
  lua_pushlstring(L, at, len);
  feeding = c;
  le_callback_call(L, 1, 0, "local target"); /* reported there; the body is read on */
  feeding = NULL;
  return 0;
}

/* The trailer fields: what le_trailers_take added to names and values after the head's
 * (each NUL-ended, as the head's). */
static void push_trailers(lua_State *L, le_conn *c) {
  lua_newtable(L);
  size_t count = c->nheaders - c->head_fields;
  if (count == 0) return;
  char *n = (char *)c->names.data + c->head_names;
  const char *v = (const char *)c->values.data + c->head_values;
  const char *nend = (const char *)c->names.data + c->names.len;
  const char *vend = (const char *)c->values.data + c->values.len;
  for (size_t i = 0; i < count && n < nend && v < vend; i++) {
    size_t nl = strnlen(n, (size_t)(nend - n)), vl = strnlen(v, (size_t)(vend - v));
    for (size_t k = 0; k < nl; k++)
      if (n[k] >= 'A' && n[k] <= 'Z') n[k] = (char)(n[k] + 32);
    lua_pushlstring(L, n, nl);
    lua_pushlstring(L, v, vl);
    lua_rawset(L, -3);
    n += nl + 1;
    v += vl + 1;
  }
}

void le_stream_finish(lua_State *L, le_conn *c, int idx) {
  lua_pushboolean(L, 1);
  lua_setfield(L, idx, "streamed");
  push_trailers(L, c);
  lua_setfield(L, idx, "trailers");
  le_stream_drop(c);
}

/* c's client queue holds source's reading. */
static void hold(le_conn *c, le_conn *source) {
  le_conn_stop_reading(source);
  source->held = 1;
  c->held_id = source->id;
  S.holds++;
  S.held++;
}

/* The connection c's queue held reads again (unless its request ended meanwhile). */
static void release(le_conn *c) {
  le_conn *source = le_conn_find(c->held_id);
  c->held_id = 0;
  if (!source || !source->held) return;
  source->held = 0;
  S.held--;
  le_conn_start_reading(source);
}

void le_stream_drained(le_conn *c) {
  if (c->queued <= LE_STREAM_MAX_QUEUED / 2) release(c);
}

void le_stream_drop(le_conn *c) {
  if (c->held) { /* its request ends: whatever reads it next is not held */
    c->held = 0;
    S.held--;
  }
  if (c->held_id) release(c);
  if (!c->has_sink) return;
  luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->sink_ref);
  c->has_sink = 0;
}

/* The connection of request id while it is answered (or NULL). */
static le_conn *answering(lua_State *L) {
  le_conn *c = le_conn_find((long)luaL_checkinteger(L, 1));
  return c && !c->closing && c->busy ? c : NULL;
}

static int l_respond_start(lua_State *L) {
  int status = (int)luaL_checkinteger(L, 2);
  if (lua_type(L, 3) == LUA_TSTRING) {
    size_t n = 0;
    const char *s = lua_tolstring(L, 3, &n);
    luaL_argcheck(L, le_response_lines_ok(s, n), 3, "header lines, each \"name: value\" ending in CRLF");
  }
  le_conn *c = answering(L);
  if (!c || c->streaming) return lua_pushboolean(L, 0), 1;
  /* an HTTP/1.0 client knows no chunks: the body as it is, its end the connection's */
  int raw = c->http_minor == 0;
  if (raw) c->keep_alive = 0;
  le_buffer out = {0};
  int bad = le_response_head(L, status, lua_istable(L, 3) || lua_type(L, 3) == LUA_TSTRING ? 3 : 0, &out);
  const char *rest = raw              ? "Connection: close\r\n\r\n"
                     : c->keep_alive ? "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                                     : "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  if (bad || le_buffer_append(&out, rest, strlen(rest))) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory writing a response");
  }
  c->streaming = raw ? 2 : 1;
  lua_pushboolean(L, le_conn_send(c, &out, 0) == 0);
  return 1;
}

static int l_respond_chunk(lua_State *L) {
  size_t len = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  le_conn *c = answering(L);
  if (!c || !c->streaming) return lua_pushboolean(L, 0), 1;
  if (len == 0) return lua_pushboolean(L, 1), 1; /* "0\r\n\r\n" would end the body */
  char size[24];
  int n = c->streaming == 2 ? 0 : snprintf(size, sizeof size, "%zx\r\n", len); /* (2: HTTP/1.0, no chunks) */
  le_buffer out = {0};
  if (le_buffer_reserve(&out, (size_t)n + len + 2) || le_buffer_append(&out, size, (size_t)n) ||
      le_buffer_append(&out, data, len) || (n > 0 && le_buffer_append(&out, "\r\n", 2))) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory writing a response");
  }
  int sent = le_conn_send(c, &out, 0) == 0;
  if (c->queued > S.queued_peak) S.queued_peak = c->queued;
  if (sent && feeding && c->queued > LE_STREAM_MAX_QUEUED && !feeding->held && !c->held_id) hold(c, feeding);
  lua_pushboolean(L, sent);
  return 1;
}

static int l_respond_end(lua_State *L) {
  int complete = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  le_conn *c = answering(L);
  if (!c || !c->streaming) return lua_pushboolean(L, 0), 1;
  int raw = c->streaming == 2;
  c->streaming = 0;
  if (c->held_id) release(c); /* nothing more comes from its source for it */
  le_buffer out = {0};
  if (!complete || raw) { /* nothing more: closed once what is queued is written */
    c->keep_alive = 0;
    c->answered_closing = 1;
    c->drain = 0;
    le_conn_arm_closing(c, 0);
    lua_pushboolean(L, le_conn_send(c, &out, 1) == 0);
    return 1;
  }
  if (le_buffer_append(&out, "0\r\n\r\n", 5)) return luaL_error(L, "out of memory writing a response");
  if (!c->keep_alive) {
    c->answered_closing = 1;
    c->drain = LE_LINGER_BYTES;
    le_conn_arm_closing(c, 0);
  }
  if (le_conn_send(c, &out, !c->keep_alive) != 0) return lua_pushboolean(L, 0), 1;
  le_conn_answered(c);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_stream_stats(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)S.holds);
  lua_setfield(L, -2, "holds");
  lua_pushinteger(L, (lua_Integer)S.held);
  lua_setfield(L, -2, "held");
  lua_pushinteger(L, (lua_Integer)S.queued_peak);
  lua_setfield(L, -2, "queued_peak");
  return 1;
}

void le_stream_functions(lua_State *L) {
  static const luaL_Reg fns[] = {{"respond_start", l_respond_start}, {"respond_chunk", l_respond_chunk},
                                 {"respond_end", l_respond_end}, {"stream_stats", l_stream_stats}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
