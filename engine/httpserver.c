/* httpserver.c — httpserver.h's Lua binding: listen and adopt make a server (its options
 * read once), respond answers a request through its connection and resumes its parser,
 * abort and connected look a request's connection up; the server's close and unref reach
 * its connections. The parts: httpserver_conn.c (connections), httpserver_request.c (the
 * parser), httpserver_table.c (the request table), httpserver_refuse.c (refusals),
 * httpserver_response.c. */
#include "httpserver.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "httpserver_admit.h"
#include "httpserver_conn.h"
#include "httpserver_request.h"
#include "httpserver_table.h"
#include "httpserver_response.h"
#include "httpserver_stream.h"
#include "loop.h"
#include "runtime.h"

#define DEFAULT_MAX_BODY (6 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS 1024

/* Sends out, c's answer to its current request (taken over), and resumes its connection:
 * the next request's deadline, its parser, and requests that arrived meanwhile. */
static void send_answer(le_conn *c, le_buffer *out) {
  if (!c->keep_alive) {
    c->answered_closing = 1;
    c->drain = LE_LINGER_BYTES;
    /* its deadline: the answer written at the least rate a body must arrive at, and the
     * linger (le_conn_maybe_close arms the linger anew once it is written) */
    le_conn_arm_closing(c, (double)out->len / LE_MIN_BODY_RATE);
  }
  if (le_conn_send(c, out, !c->keep_alive) != 0) return;
  le_conn_answered(c);
}

static int l_respond(lua_State *L) {
  long id = (long)luaL_checkinteger(L, 1);
  int status = (int)luaL_checkinteger(L, 2);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 4, "", &blen);
  int lines = lua_type(L, 3) == LUA_TSTRING;
  if (lines) {
    size_t n = 0;
    const char *s = lua_tolstring(L, 3, &n);
    luaL_argcheck(L, le_response_lines_ok(s, n), 3, "header lines, each \"name: value\" ending in CRLF");
  }
  le_conn *c = le_conn_find(id);
  if (!c || c->closing || !c->busy || c->streaming) return 0;
  /* Built in a C buffer: a luaL_Buffer moves the stack top, which lua_next needs. */
  le_buffer out = le_conn_answer_buffer();
  if (le_response_build(L, status, lua_istable(L, 3) || lines ? 3 : 0, body, blen, !c->keep_alive, &out)) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory writing a response");
  }
  send_answer(c, &out);
  return 0;
}

int le_httpserver_respond_lines(long id, int status, const char *lines, size_t n, const char *body, size_t blen) {
  le_conn *c = le_conn_find(id);
  if (!c || c->closing || !c->busy || c->streaming) return 0;
  le_buffer out = le_conn_answer_buffer();
  if (le_response_build_lines(status, lines, n, body, blen, !c->keep_alive, &out)) {
    le_buffer_free(&out);
    return -1;
  }
  send_answer(c, &out);
  return 0;
}

#define SERVER_MT "lambdaeng.httpserver"

/* The server's own checks (httpserver_guard.h) from opts (a table or not): uid, own_host,
 * no_browsers; read before the server is made, since a value of another type raises. */
static le_server_guard guard_options(lua_State *L, int opts_idx) {
  le_server_guard g = {.uid = -1, .pid = 0};
  if (!lua_istable(L, opts_idx)) return g;
  if (lua_getfield(L, opts_idx, "uid") != LUA_TNIL) {
    luaL_argcheck(L, lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0, opts_idx, "uid: a user id");
    g.uid = (long long)lua_tointeger(L, -1);
    g.on = 1;
  }
  if (lua_getfield(L, opts_idx, "pid") != LUA_TNIL) {
    luaL_argcheck(L, lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0, opts_idx, "pid: a process id");
    g.pid = (long long)lua_tointeger(L, -1);
    g.on = 1;
  }
  if (lua_getfield(L, opts_idx, "own_host") != LUA_TNIL) {
    size_t n = 0;
    const char *host = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    luaL_argcheck(L, host && n > 0 && n < sizeof g.own_host, opts_idx, "own_host: an address");
    memcpy(g.own_host, host, n + 1);
    g.on = 1;
  }
  lua_getfield(L, opts_idx, "no_browsers");
  if (lua_toboolean(L, -1)) g.no_browsers = g.on = 1;
  lua_pop(L, 4);
  return g;
}

/* A server from dispatch (index 2 of the caller's arguments after the address) and
 * opts; NULL with *rc set when libuv cannot make its handle. */
static le_server *new_server(lua_State *L, int dispatch_idx, int opts_idx, int *rc) {
  luaL_checktype(L, dispatch_idx, LUA_TFUNCTION);
  le_server_guard guard = guard_options(L, opts_idx);
  le_check_memo memo;
  if (lua_istable(L, opts_idx)) lua_getfield(L, opts_idx, "check_memo");
  else lua_pushnil(L);
  le_memo_options(L, -1, &memo);
  lua_pop(L, 1);
  le_server *srv = calloc(1, sizeof *srv);
  if (!srv) luaL_error(L, "out of memory");
  srv->guard = guard;
  srv->memo = memo;
  srv->L = le_main_thread(L);
  srv->refs = 1;
  srv->max_body = DEFAULT_MAX_BODY;
  srv->max_connections = DEFAULT_MAX_CONNECTIONS;
  srv->check_ref = srv->stream_ref = LUA_NOREF;
  if (lua_istable(L, opts_idx)) {
    lua_getfield(L, opts_idx, "max_body");
    if (lua_isnumber(L, -1) && lua_tonumber(L, -1) >= 0 && lua_tonumber(L, -1) < 4e9)
      srv->max_body = (size_t)lua_tonumber(L, -1);
    lua_getfield(L, opts_idx, "max_connections");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 && lua_tointeger(L, -1) < INT_MAX)
      srv->max_connections = (int)lua_tointeger(L, -1);
    lua_getfield(L, opts_idx, "timeout");
    if (lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0) srv->timeout = lua_tonumber(L, -1);
    lua_getfield(L, opts_idx, "peer_uid");
    srv->peer_uid = lua_toboolean(L, -1);
    lua_getfield(L, opts_idx, "reuse_requests");
    srv->reuse_requests = lua_toboolean(L, -1);
    lua_getfield(L, opts_idx, "bare");
    srv->bare = lua_toboolean(L, -1);
    lua_pop(L, 6);
    lua_getfield(L, opts_idx, "check");
    if (lua_isfunction(L, -1)) srv->check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
    lua_getfield(L, opts_idx, "stream");
    if (lua_isfunction(L, -1)) srv->stream_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
  }
  *rc = uv_tcp_init(le_loop(), &srv->tcp);
  if (*rc != 0) {
    if (srv->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->check_ref);
    if (srv->stream_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->stream_ref);
    free(srv);
    return NULL;
  }
  lua_pushvalue(L, dispatch_idx);
  srv->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  srv->tcp.data = srv;
  le_table_init_server(srv);
  le_server_verdict_init(srv);
  le_server_track(srv);
  return srv;
}

static void server_closed(uv_handle_t *h) { le_server_release(h->data); }

/* Closes srv (open): its references into L let go of, its connections and handles closed. */
static void close_server(lua_State *L, le_server *srv) {
  srv->closed = 1;
  luaL_unref(L, LUA_REGISTRYINDEX, srv->dispatch_ref);
  if (srv->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->check_ref);
  srv->check_ref = LUA_NOREF;
  if (srv->stream_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->stream_ref);
  srv->stream_ref = LUA_NOREF;
  le_conn_close_all(srv);
  le_table_forget(srv);
  le_server_verdict_close(srv);
  uv_close((uv_handle_t *)&srv->tcp, server_closed);
}

/* nil, "what: why", code; srv (NULL when it was never made) is closed. */
static int failed(lua_State *L, le_server *srv, const char *what, int rc) {
  if (srv) close_server(L, srv); /* (no connection yet) */
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, uv_strerror(rc));
  lua_pushstring(L, uv_err_name(rc));
  return 3;
}

static int push_server(lua_State *L, le_server *srv) {
  le_server **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = srv;
  luaL_setmetatable(L, SERVER_MT);
  return 1;
}

static int l_listen(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  int port = (int)luaL_checkinteger(L, 2);
  int rc;
  le_server *srv = new_server(L, 3, 4, &rc);
  if (!srv) return failed(L, NULL, lua_pushfstring(L, "cannot listen on %s:%d", host, port), rc);
  struct sockaddr_storage addr;
  rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (rc == 0) rc = uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 1024, le_conn_accept);
  if (rc != 0) return failed(L, srv, lua_pushfstring(L, "cannot listen on %s:%d", host, port), rc);
  le_server_note_address(srv);
  return push_server(L, srv);
}

/* adopt(fd, dispatch[, opts]): serves a listening TCP socket made elsewhere (the fd is ours now). */
static int l_adopt(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd < INT_MAX, 1, "a file descriptor");
  int rc;
  le_server *srv = new_server(L, 2, 3, &rc);
  if (!srv) {
    close((int)fd);
    return failed(L, NULL, "cannot serve the socket", rc);
  }
  rc = uv_tcp_open(&srv->tcp, (uv_os_sock_t)fd);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 128, le_conn_accept);
  if (rc != 0) return failed(L, srv, "cannot serve the socket", rc);
  le_server_note_address(srv);
  return push_server(L, srv);
}

static int l_port(lua_State *L) {
  le_server **ud = luaL_checkudata(L, 1, SERVER_MT);
  struct sockaddr_storage addr;
  int len = sizeof addr;
  if (!*ud || uv_tcp_getsockname(&(*ud)->tcp, (struct sockaddr *)&addr, &len) != 0) return 0;
  int port = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&addr)->sin_port);
  lua_pushinteger(L, port);
  return 1;
}

static int l_close(lua_State *L) {
  le_server **ud = luaL_checkudata(L, 1, SERVER_MT);
  le_server *srv = *ud;
  if (srv && !srv->closed) {
    *ud = NULL;
    close_server(L, srv);
  }
  return 0;
}

/* The state's sentinel's __gc (it lives in the registry: collected only when the state
 * closes): the state's servers that are still open close, and every connection of its
 * servers lets go of its references into it now, while it is there. Their handles are
 * freed when the loop next turns, if ever: the state is gone by then (a program ending
 * with connections open; a test closing its state first). */
static int l_state_closes(lua_State *L) {
  lua_State *main = le_main_thread(L);
  for (le_server *srv = le_servers(); srv; srv = srv->next_server)
    if (srv->L == main && !srv->closed) close_server(main, srv);
  le_conn_let_go_of_state(main);
  return 0;
}

#define STATE_SENTINEL "lambdaeng.httpserver.state"

/* Puts the sentinel in L's registry, once. */
static void watch_state(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, STATE_SENTINEL) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, l_state_closes);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, STATE_SENTINEL);
}

/* server:connections(): how many of its connections are open (each counts against
 * max_connections from its accept until its close begins: httpserver_conn.c). */
static int l_connections(lua_State *L) {
  le_server **ud = luaL_checkudata(L, 1, SERVER_MT);
  lua_pushinteger(L, *ud ? (*ud)->nconns : 0);
  return 1;
}

/* server:unref(): the server and its connections no longer keep the loop alive
 * (an in-process target lives exactly as long as its client has work). */
static int l_unref(lua_State *L) {
  le_server **ud = luaL_checkudata(L, 1, SERVER_MT);
  le_server *srv = *ud;
  if (srv && !srv->closed) {
    srv->unrefd = 1;
    uv_unref((uv_handle_t *)&srv->tcp);
    le_conn_unref_all(srv);
  }
  return 0;
}

/* abort(id): drops the connection of request id with a TCP reset (fault injection). */
static int l_abort(lua_State *L) {
  le_conn *c = le_conn_find((long)luaL_checkinteger(L, 1));
  if (c && !c->closing) le_conn_reset(c);
  return 0;
}

/* connected(id): whether the client of request id is still there. */
static int l_connected(lua_State *L) {
  le_conn *c = le_conn_find((long)luaL_checkinteger(L, 1));
  lua_pushboolean(L, c && !c->closing);
  return 1;
}

int le_open_httpserver(lua_State *L) {
  static const luaL_Reg methods[] = {{"port", l_port}, {"close", l_close}, {"unref", l_unref},
                                         {"connections", l_connections}, {NULL, NULL}};
  le_new_class(L, SERVER_MT, methods, NULL);
  watch_state(L);
  static const luaL_Reg fns[] = {{"listen", l_listen}, {"adopt", l_adopt}, {"respond", l_respond},
                                 {"abort", l_abort}, {"connected", l_connected}, {NULL, NULL}};
  luaL_newlib(L, fns);
  le_stream_functions(L);
  return 1;
}
