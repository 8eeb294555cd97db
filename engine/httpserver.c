#include "httpserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "loop.h"
#include "runtime.h"

typedef struct server {
  uv_tcp_t tcp;
  lua_State *L;
  int dispatch_ref;
  int closed;
  int unrefd; /* neither the server nor its connections keep the loop alive */
} server;

typedef struct conn {
  uv_tcp_t tcp;
  http_parser parser;
  server *srv;
  long id;
  le_buffer url, body, pending;
  le_buffer names, values; /* NUL-separated header names and values */
  size_t nheaders;
  int last_was_value;
  int busy, keep_alive, closing;
  struct conn *next, *prev; /* every live connection, for closing a server's */
  struct conn *hnext;       /* the chain of its bucket in the id table */
} conn;

static conn *conns;
static long next_id = 1;
static http_parser_settings settings;

/* Connections by request id: respond() finds its connection without a walk through
 * thousands of them (a thousand warm runtimes each keep one open). */
#define ID_BUCKETS 4096
static conn *by_id[ID_BUCKETS];

static conn *find_conn(long id) {
  for (conn *c = by_id[(unsigned long)id % ID_BUCKETS]; c; c = c->hnext)
    if (c->id == id) return c;
  return NULL;
}

static void free_conn(uv_handle_t *h) {
  conn *c = h->data;
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  for (conn **p = &by_id[(unsigned long)c->id % ID_BUCKETS]; *p; p = &(*p)->hnext)
    if (*p == c) {
      *p = c->hnext;
      break;
    }
  le_buffer_free(&c->url);
  le_buffer_free(&c->body);
  le_buffer_free(&c->pending);
  le_buffer_free(&c->names);
  le_buffer_free(&c->values);
  free(c);
}

static void close_conn(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, free_conn);
}

static void reset_request(conn *c) {
  c->url.len = c->body.len = c->names.len = c->values.len = 0;
  c->nheaders = 0;
  c->last_was_value = 0;
}

static int on_message_begin(http_parser *p) {
  reset_request(p->data);
  return 0;
}
static int on_url(http_parser *p, const char *at, size_t len) {
  return le_buffer_append(&((conn *)p->data)->url, at, len);
}
static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->last_was_value || c->nheaders == 0) {
    if (c->nheaders > 0 && le_buffer_append(&c->values, "", 1)) return -1;
    c->nheaders++;
    c->last_was_value = 0;
  }
  return le_buffer_append(&c->names, at, len);
}
static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (!c->last_was_value) {
    if (le_buffer_append(&c->names, "", 1)) return -1;
    c->last_was_value = 1;
  }
  return le_buffer_append(&c->values, at, len);
}
static int on_body(http_parser *p, const char *at, size_t len) {
  return le_buffer_append(&((conn *)p->data)->body, at, len);
}

static void dispatch(conn *c) {
  lua_State *L = c->srv->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->srv->dispatch_ref);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, http_method_str((enum http_method)c->parser.method));
  lua_setfield(L, -2, "method");
  lua_pushlstring(L, (const char *)c->url.data, c->url.len);
  lua_setfield(L, -2, "target");
  const char *url = c->url.data ? (const char *)c->url.data : "";
  const char *q = memchr(url, '?', c->url.len);
  lua_pushlstring(L, url, q ? (size_t)(q - url) : c->url.len);
  lua_setfield(L, -2, "path");
  lua_pushlstring(L, q ? q + 1 : "", q ? c->url.len - (size_t)(q + 1 - url) : 0);
  lua_setfield(L, -2, "query");
  lua_newtable(L);
  const char *n = (const char *)c->names.data, *v = (const char *)c->values.data;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n), vl = strlen(v);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t k = 0; k < nl; k++) luaL_addchar(&b, (char)((n[k] >= 'A' && n[k] <= 'Z') ? n[k] + 32 : n[k]));
    luaL_pushresult(&b);
    lua_pushlstring(L, v, vl);
    lua_settable(L, -3);
    n += nl + 1;
    v += vl + 1;
  }
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, c->body.data ? (const char *)c->body.data : "", c->body.len);
  lua_setfield(L, -2, "body");
  lua_pushinteger(L, c->id);
  if (le_pcall_traceback(L, 2, 0) != LUA_OK) {
    fprintf(stderr, "lambdaeng: local target: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  /* close the header lists */
  if (c->nheaders > 0 && le_buffer_append(&c->values, "", 1)) return -1;
  if (c->nheaders > 0 && !c->last_was_value && le_buffer_append(&c->names, "", 1)) return -1;
  c->keep_alive = http_should_keep_alive(p);
  c->busy = 1;
  http_parser_pause(p, 1); /* one request at a time per connection */
  return 0;
}

static void feed(conn *c, const char *data, size_t len);

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (nread < 0) {
    free(buf->base);
    close_conn(c);
    return;
  }
  if (c->busy) {
    le_buffer_append(&c->pending, buf->base, (size_t)nread);
  } else {
    feed(c, buf->base, (size_t)nread);
  }
  free(buf->base);
}

/* Parses data; on a complete request, keeps the rest for later and dispatches. */
static void feed(conn *c, const char *data, size_t len) {
  size_t used = http_parser_execute(&c->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e == HPE_PAUSED) {
    if (used < len) le_buffer_append(&c->pending, data + used, len - used);
    dispatch(c);
    return;
  }
  if (e != HPE_OK || used != len) {
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)bad, sizeof bad - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    close_conn(c);
  }
}

typedef struct write_req {
  uv_write_t req;
  char *data;
  conn *c;
  int close_after;
} write_req;

static void write_cb(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  conn *c = w->c;
  free(w->data);
  if (status < 0 || w->close_after) {
    if (!c->closing) close_conn(c);
    free(w);
    return;
  }
  free(w);
}

static const char *reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

static int l_respond(lua_State *L) {
  long id = (long)luaL_checkinteger(L, 1);
  int status = (int)luaL_checkinteger(L, 2);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 4, "", &blen);
  conn *c = find_conn(id);
  if (!c || c->closing || !c->busy) return 0;
  /* Built in a C buffer: a luaL_Buffer moves the stack top, which lua_next needs. */
  le_buffer out = {0};
  char line[160];
  snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, reason(status));
  int bad = le_buffer_append(&out, line, strlen(line));
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      size_t nl = 0, vl = 0;
      /* never lua_tolstring a non-string key: it would confuse lua_next */
      const char *n = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nl) : NULL;
      const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vl) : NULL;
      if (n && v) {
        bad |= le_buffer_append(&out, n, nl) | le_buffer_append(&out, ": ", 2) | le_buffer_append(&out, v, vl) |
               le_buffer_append(&out, "\r\n", 2);
      }
      lua_pop(L, 1);
    }
  }
  snprintf(line, sizeof line, "Content-Length: %zu\r\nConnection: %s\r\n\r\n", blen,
           c->keep_alive ? "keep-alive" : "close");
  bad |= le_buffer_append(&out, line, strlen(line)) | le_buffer_append(&out, body, blen);
  if (bad) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory writing a response");
  }
  write_req *w = calloc(1, sizeof *w);
  w->data = (char *)out.data; /* handed over to the write */
  w->c = c;
  w->close_after = !c->keep_alive;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)out.len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) != 0) {
    free(w->data);
    free(w);
    close_conn(c);
    return 0;
  }
  c->busy = 0;
  if (c->keep_alive) {
    http_parser_pause(&c->parser, 0);
    if (c->pending.len > 0) { /* requests that arrived meanwhile */
      le_buffer rest = c->pending;
      c->pending = (le_buffer){0};
      feed(c, (const char *)rest.data, rest.len);
      le_buffer_free(&rest);
    }
  }
  return 0;
}

static void on_connection(uv_stream_t *s, int status) {
  server *srv = s->data;
  if (status < 0) return;
  conn *c = calloc(1, sizeof *c);
  if (!c) return;
  uv_tcp_init(le_loop(), &c->tcp);
  c->tcp.data = c;
  c->srv = srv;
  c->id = next_id++;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->next = conns;
  if (conns) conns->prev = c;
  conns = c;
  c->hnext = by_id[(unsigned long)c->id % ID_BUCKETS];
  by_id[(unsigned long)c->id % ID_BUCKETS] = c;
  if (srv->unrefd) uv_unref((uv_handle_t *)&c->tcp);
  if (uv_accept(s, (uv_stream_t *)&c->tcp) != 0 || uv_read_start((uv_stream_t *)&c->tcp, le_alloc_read_buffer, read_cb) != 0)
    close_conn(c);
}

#define SERVER_MT "lambdaeng.httpserver"

static int l_listen(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  int port = (int)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  http_parser_settings_init(&settings);
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  server *srv = calloc(1, sizeof *srv);
  srv->L = le_main_thread(L);
  lua_pushvalue(L, 3);
  srv->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  uv_tcp_init(le_loop(), &srv->tcp);
  srv->tcp.data = srv;
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (rc == 0) rc = uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 1024, on_connection);
  if (rc != 0) {
    luaL_unref(L, LUA_REGISTRYINDEX, srv->dispatch_ref);
    uv_close((uv_handle_t *)&srv->tcp, (uv_close_cb)free);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
    return 2;
  }
  server **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = srv;
  luaL_setmetatable(L, SERVER_MT);
  return 1;
}

static int l_port(lua_State *L) {
  server **ud = luaL_checkudata(L, 1, SERVER_MT);
  struct sockaddr_storage addr;
  int len = sizeof addr;
  uv_tcp_getsockname(&(*ud)->tcp, (struct sockaddr *)&addr, &len);
  int port = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&addr)->sin_port);
  lua_pushinteger(L, port);
  return 1;
}

static int l_close(lua_State *L) {
  server **ud = luaL_checkudata(L, 1, SERVER_MT);
  server *srv = *ud;
  if (srv && !srv->closed) {
    srv->closed = 1;
    luaL_unref(L, LUA_REGISTRYINDEX, srv->dispatch_ref);
    uv_close((uv_handle_t *)&srv->tcp, (uv_close_cb)free);
    for (conn *c = conns; c; c = c->next)
      if (c->srv == srv) close_conn(c);
  }
  return 0;
}

/* server:unref(): the server and its connections no longer keep the loop alive
 * (an in-process target lives exactly as long as its client has work). */
static int l_unref(lua_State *L) {
  server **ud = luaL_checkudata(L, 1, SERVER_MT);
  server *srv = *ud;
  if (srv && !srv->closed) {
    srv->unrefd = 1;
    uv_unref((uv_handle_t *)&srv->tcp);
    for (conn *c = conns; c; c = c->next)
      if (c->srv == srv) uv_unref((uv_handle_t *)&c->tcp);
  }
  return 0;
}

/* abort(id): drops the connection of request id with a TCP reset (fault injection). */
static int l_abort(lua_State *L) {
  conn *c = find_conn((long)luaL_checkinteger(L, 1));
  if (c && !c->closing) {
    c->closing = 1;
    if (uv_tcp_close_reset(&c->tcp, free_conn) != 0) uv_close((uv_handle_t *)&c->tcp, free_conn);
  }
  return 0;
}

/* connected(id): whether the client of request id is still there. */
static int l_connected(lua_State *L) {
  conn *c = find_conn((long)luaL_checkinteger(L, 1));
  lua_pushboolean(L, c && !c->closing);
  return 1;
}

int le_open_httpserver(lua_State *L) {
  if (luaL_newmetatable(L, SERVER_MT)) {
    static const luaL_Reg methods[] = {{"port", l_port}, {"close", l_close}, {"unref", l_unref}, {NULL, NULL}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"listen", l_listen}, {"respond", l_respond}, {"abort", l_abort},
                                 {"connected", l_connected}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
