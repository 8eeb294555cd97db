/* fuzz_httpserver — the HTTP server's request handling (engine/httpserver.c),
 * driven only through its public interface: the Lua module, over loopback TCP.
 *
 * Two servers listen for the whole run (lambdaeng.native.httpserver, as the local
 * target uses it: a check hook, a body limit, a client timeout; its dispatch answers
 * or aborts, by path), one making a request table per request and one with
 * reuse_requests (a connection's requests in one table, emptied and refilled: what
 * the local target's API server runs), and each input goes to both. It is sent as is
 * by a client on the same libuv loop, which then half-closes and reads until the
 * server closes: the server must survive whatever arrives, answer or close, and
 * never hang (a guard ends the exchange after 5 s and reports it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <uv.h>

#include "loop.h"
#include "runtime.h"

static lua_State *L;
static int ports[2]; /* the server with a table per request, the one with reuse_requests */

/* (the dispatch reads what it answers with before it returns: with reuse_requests the
 * table is the connection's next request's once it has) */
static const char LUA_SERVER[] =
    "local hs = require 'lambdaeng.native.httpserver'\n"
    "local loop = require 'lambdaeng.native.loop'\n"
    "local function check(req)\n"
    "  if req.path == '/refuse' then return 413, { ['Content-Type'] = 'text/plain' }, 'too large' end\n"
    "  if req.path == '/small' then return nil, 16 end\n"
    "end\n"
    "local function dispatch(req, id)\n"
    "  local abort, body = req.path == '/abort', (req.query or '') .. (req.body or '')\n"
    "  local headers = { ['x-method'] = req.method, ['x-length'] = tostring(#(req.body or '')) }\n"
    "  for k, v in pairs(req.headers) do if #k < 40 then headers['x-echo-' .. k] = v:sub(1, 64) end end\n"
    "  loop.spawn(function()\n"
    "    if abort then return hs.abort(id) end\n"
    "    hs.connected(id)\n"
    "    hs.respond(id, 200, headers, body)\n"
    "  end)\n"
    "end\n"
    "SERVERS = {}\n"
    "for i, reuse in ipairs { false, true } do\n"
    "  local server, err = hs.listen('127.0.0.1', 0, dispatch,\n"
    "    { check = check, max_body = 65536, timeout = 2, reuse_requests = reuse })\n"
    "  assert(server, err)\n"
    "  server:unref()\n"
    "  SERVERS[i] = server\n"
    "end\n"
    "return SERVERS[1]:port(), SERVERS[2]:port()\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  le_error err;
  L = le_runtime_open(LAMBDAENG_SOURCE_DIR, &err);
  if (!L) abort();
  if (luaL_loadstring(L, LUA_SERVER) != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_httpserver: %s\n", lua_tostring(L, -1));
    abort();
  }
  ports[0] = (int)lua_tointeger(L, -2);
  ports[1] = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  return 0;
}

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  uv_shutdown_t shutdown;
  uv_timer_t guard;
  uv_buf_t data;
  int open_handles, timed_out;
  size_t received;
} client;

static void on_closed(uv_handle_t *h) {
  client *c = h->data;
  c->open_handles--;
}

static void finish(client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_closed);
  if (!uv_is_closing((uv_handle_t *)&c->guard)) uv_close((uv_handle_t *)&c->guard, on_closed);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client *c = s->data;
  free(buf->base);
  if (n > 0) c->received += (size_t)n;
  if (n < 0) finish(c); /* the server closed (or reset) the connection */
}

static void on_written(uv_write_t *w, int status) {
  (void)w;
  (void)status; /* a server that answered early and closed makes the write fail: fine */
}

static void on_shutdown(uv_shutdown_t *r, int status) {
  (void)r;
  (void)status;
}

static void on_connect(uv_connect_t *r, int status) {
  client *c = r->data;
  if (status < 0) {
    fprintf(stderr, "fuzz_httpserver: cannot connect: %s\n", uv_strerror(status));
    abort();
  }
  uv_read_start((uv_stream_t *)&c->tcp, le_alloc_read_buffer, on_read);
  if (c->data.len) uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->data, 1, on_written);
  uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
}

static void on_guard(uv_timer_t *t) {
  client *c = t->data;
  c->timed_out = 1;
  finish(c);
}

/* Sends data to the server on port and waits until it answered and closed (or aborts). */
static void exchange(int port, const uint8_t *data, size_t size) {
  client c;
  memset(&c, 0, sizeof c);
  c.data = uv_buf_init((char *)data, (unsigned)size);
  uv_tcp_init(le_loop(), &c.tcp);
  uv_timer_init(le_loop(), &c.guard);
  c.tcp.data = c.guard.data = c.connect.data = &c;
  c.open_handles = 2;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, on_connect);
  uv_timer_start(&c.guard, on_guard, 5000, 0);
  while (c.open_handles > 0) uv_run(le_loop(), UV_RUN_ONCE);
  if (c.timed_out) {
    fprintf(stderr, "fuzz_httpserver: the server (%s) neither answered nor closed within 5 s of the client's "
                    "half-close (%zu bytes received)\n", port == ports[1] ? "reuse_requests" : "a table per request",
            c.received);
    abort();
  }
  uv_run(le_loop(), UV_RUN_NOWAIT); /* let the server see the close */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  exchange(ports[0], data, size);
  exchange(ports[1], data, size);
  return 0;
}
