/* httpserver_request.c — a connection's requests (httpserver_request.h): what it reads
 * goes through http-parser, whose callbacks gather the request line and header fields
 * within the head's limits, build the request table and run the server's check when the
 * headers are complete, gather the body within its limit, and, the request complete,
 * pause the parser and hand the request to the server's dispatch (a bare server's: its
 * method, path and body as values, no table unless a check reads one). */
#include "httpserver_request.h"

#include <limits.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_guard.h"
#include "httpserver_refuse.h"
#include "httpserver_stream.h"
#include "loop.h"

#define MAX_HEAD_BYTES (64 * 1024) /* request line and header fields together */
#define MAX_HEADER_FIELDS 128

static void reset_request(le_conn *c) {
  c->url.len = c->body.len = c->names.len = c->values.len = 0;
  c->nheaders = c->head_bytes = 0;
  c->last_was_value = 0;
  c->body_limit = c->srv->max_body;
  c->too_large_type[0] = c->too_large_message[0] = '\0';
  if (c->req_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
  if (c->has_sink) le_stream_drop(c); /* (the check here: a call per request otherwise) */
}

/* Appends len bytes at at to b: in place when it has room (nearly always: a connection's
 * buffers keep their size from one request to the next), else through le_buffer_append.
 * The parser's callbacks run ~40 times an invocation at the local target. */
static inline int add_bytes(le_buffer *b, const char *at, size_t len) {
  if (b->data && b->cap - b->len >= len) {
    memcpy(b->data + b->len, at, len);
    b->len += len;
    return 0;
  }
  return le_buffer_append(b, at, len);
}

static int head_grows(le_conn *c, size_t len) {
  c->head_bytes += len;
  if (c->head_bytes > MAX_HEAD_BYTES) {
    le_refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request line and headers exceed 65536 bytes");
    return -1;
  }
  return 0;
}

static int on_message_begin(http_parser *p) {
  le_conn *c = p->data;
  reset_request(c);
  c->in_message = 1;
  return 0;
}
static int on_url(http_parser *p, const char *at, size_t len) {
  le_conn *c = p->data;
  if (head_grows(c, len)) return -1;
  return add_bytes(&c->url, at, len);
}
static int on_header_field(http_parser *p, const char *at, size_t len) {
  le_conn *c = p->data;
  if (head_grows(c, len)) return -1;
  if (c->last_was_value || c->nheaders == 0) {
    if (c->nheaders >= MAX_HEADER_FIELDS) {
      le_refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request has more than 128 header fields");
      return -1;
    }
    if (c->nheaders > 0 && add_bytes(&c->values, "", 1)) return -1;
    c->nheaders++;
    c->last_was_value = 0;
  }
  return add_bytes(&c->names, at, len);
}
static int on_header_value(http_parser *p, const char *at, size_t len) {
  le_conn *c = p->data;
  if (head_grows(c, len)) return -1;
  if (!c->last_was_value) {
    if (add_bytes(&c->names, "", 1)) return -1;
    c->last_was_value = 1;
  }
  return add_bytes(&c->values, at, len);
}

/* Pushes an empty request table, then an empty headers table: new ones, or the connection's
 * own (reuse_requests: a table and a headers table made and collected per request, and each
 * of their fields a new key, cost ~4 k instructions a Runtime API request), its fields that
 * may be absent this time (the last request's headers, content_length, body) set to nil;
 * the others are set again by push_request. */
static void push_empty_request(lua_State *L, le_conn *c) {
  if (!c->srv->reuse_requests || c->reuse_ref == LUA_NOREF || c->reuse_unknown) {
    lua_createtable(L, 0, 10); /* its fields, the body, and what the check adds: no resize */
    if (c->srv->reuse_requests) {
      if (c->reuse_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, c->reuse_ref);
      lua_pushvalue(L, -1);
      c->reuse_ref = luaL_ref(L, LUA_REGISTRYINDEX);
      c->reuse_unknown = 0;
    }
    lua_createtable(L, 0, (int)c->nheaders);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->reuse_ref);
  lua_pushnil(L);
  lua_setfield(L, -2, "content_length");
  lua_pushnil(L);
  lua_setfield(L, -2, "body");
  if (lua_getfield(L, -1, "headers") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, (int)c->nheaders);
    return;
  }
  const char *n = (const char *)c->reused_names.data, *end = n + c->reused_names.len;
  while (n && n < end) {
    size_t nl = strlen(n);
    lua_pushlstring(L, n, nl);
    lua_pushnil(L);
    lua_rawset(L, -3);
    n += nl + 1;
  }
}

/* With reuse_requests, keeps the names of the headers just set (lower-cased in names). */
static void keep_header_names(le_conn *c) {
  if (!c->srv->reuse_requests) return;
  c->reused_names.len = 0;
  if (c->nheaders > 0 && le_buffer_append(&c->reused_names, c->names.data, c->names.len) != 0)
    c->reuse_unknown = 1; /* out of memory: its names are not known, so a new table next time */
}

/* Pushes c's method: the server keeps its method strings (a Lua short string is hashed and
 * looked up each time it is made: ~250 instructions; a registry read ~30). */
static void push_method(lua_State *L, le_conn *c) {
  unsigned m = c->parser.method;
  int *ref = m < LE_KEPT_METHODS ? &c->srv->method_refs[m] : NULL;
  if (ref && *ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
    return;
  }
  lua_pushstring(L, http_method_str((enum http_method)m));
  if (ref) {
    lua_pushvalue(L, -1);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

/* Pushes the request table (without its body) for c's current request. */
static void push_request(lua_State *L, le_conn *c) {
  push_empty_request(L, c);
  int req = lua_gettop(L) - 1, headers = req + 1;
  push_method(L, c);
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
  /* the names are lower-cased where they are (nothing else reads them), then copied once */
  char *n = (char *)c->names.data;
  const char *v = (const char *)c->values.data;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n), vl = strlen(v);
    for (size_t k = 0; k < nl; k++)
      if (n[k] >= 'A' && n[k] <= 'Z') n[k] = (char)(n[k] + 32);
    lua_pushlstring(L, n, nl);
    lua_pushlstring(L, v, vl);
    lua_rawset(L, headers); /* a plain table: no metamethods to run */
    n += nl + 1;
    v += vl + 1;
  }
  lua_setfield(L, req, "headers");
  keep_header_names(c);
  if (c->srv->peer_uid && c->peer_uid >= 0) {
    lua_pushinteger(L, (lua_Integer)c->peer_uid);
    lua_setfield(L, req, "peer_uid");
  } else if (c->srv->peer_uid) {
    lua_pushstring(L, strerror(c->peer_errno));
    lua_setfield(L, req, "peer_uid_error");
  }
  if (!(c->parser.flags & F_CHUNKED) && c->parser.content_length != ULLONG_MAX) {
    /* as a float when it does not fit an integer: the check compares it with a limit */
    if (c->parser.content_length <= (uint64_t)LLONG_MAX) lua_pushinteger(L, (lua_Integer)c->parser.content_length);
    else lua_pushnumber(L, (lua_Number)c->parser.content_length);
    lua_setfield(L, req, "content_length");
  }
}

/* Copies s into dst of size bytes, cut as snprintf(dst, size, "%s", s) would (each
 * checked request gives two: a printf each cost more than the copy). */
static void copy_text(char *dst, size_t size, const char *s) {
  size_t n = strlen(s);
  if (n >= size) n = size - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

/* Whether the value at idx is a string that goes into a header and a JSON string as it
 * is: printable ASCII, no quote or backslash. */
static int plain_text(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  for (const unsigned char *p = (const unsigned char *)lua_tostring(L, idx); *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\') return 0;
  return 1;
}

/* Runs the server's check on a request whose headers are complete: 0 to read its body
 * (c->body_limit set, the request table kept in c->req_ref), -1 when it was answered. */
static int run_check(le_conn *c) {
  le_server *srv = c->srv;
  lua_State *L = srv->L;
  if (le_guard_check(c) < 0) return -1; /* the server's own checks, before any table */
  if (srv->bare && srv->check_ref == LUA_NOREF) return 0; /* nothing reads a table */
  int top = lua_gettop(L);
  push_request(L, c);
  if (srv->check_ref != LUA_NOREF && !le_memo_answer(c)) { /* else the same answer as the last one kept */
    lua_rawgeti(L, LUA_REGISTRYINDEX, srv->check_ref);
    lua_pushvalue(L, top + 1);
    if (le_callback_call(L, 1, 6, "local target") != LUA_OK) {
      lua_settop(L, top);
      le_refuse(c, 500, "ServiceException", "internal error");
      return -1;
    }
    if (lua_isinteger(L, top + 2)) {
      le_refuse_with_answer(L, c, top + 2);
      lua_settop(L, top);
      return -1;
    }
    if (lua_isnumber(L, top + 3)) {
      lua_Number limit = lua_tonumber(L, top + 3);
      if (limit >= 0 && limit < (lua_Number)c->body_limit) c->body_limit = (size_t)limit;
    }
    /* nil, limit, type, message: the refusal's words are kept only for a body that may
     * pass the limit (chunked, or announced larger); one announced within it never does,
     * and most requests are that (a copy and check of both strings each cost ~1.4 k
     * instructions per invocation at the local target) */
    int may_exceed = (c->parser.flags & F_CHUNKED) || c->parser.content_length == ULLONG_MAX ||
                     c->parser.content_length > c->body_limit;
    if ((may_exceed || srv->memo.on) && plain_text(L, top + 4) && plain_text(L, top + 5)) { /* a kept answer keeps them */
      copy_text(c->too_large_type, sizeof c->too_large_type, lua_tostring(L, top + 4));
      copy_text(c->too_large_message, sizeof c->too_large_message, lua_tostring(L, top + 5));
    }
    le_memo_keep(L, c, top + 2);
    lua_settop(L, top + 1);
  }
  if (srv->reuse_requests || srv->bare) lua_settop(L, top); /* the connection keeps it; or no one reads it */
  else c->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Asks the server's stream hook whether this chunked body is streamed (le_stream_begin).
 * A bare server keeps no request table: the hook gets one made for it (only chunked
 * requests, so the plain Runtime API exchanges still make none). */
static int begin_stream(le_conn *c) {
  if (!c->srv->bare) return le_stream_begin(c);
  lua_State *L = c->srv->L;
  push_request(L, c);
  c->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  int r = le_stream_begin(c);
  luaL_unref(L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
  return r;
}

static int on_headers_complete(http_parser *p) {
  le_conn *c = p->data;
  if (c->nheaders > 0 && add_bytes(&c->values, "", 1)) return -1;
  if (c->nheaders > 0 && !c->last_was_value && add_bytes(&c->names, "", 1)) return -1;
  c->last_was_value = 1; /* the lists are closed */
  c->head_fields = c->nheaders, c->head_names = c->names.len, c->head_values = c->values.len; /* trailers follow */
  if (run_check(c) < 0) return -1;
  int chunked = (p->flags & F_CHUNKED) != 0;
  if (chunked && c->srv->stream_ref != LUA_NOREF && begin_stream(c) < 0) {
    le_refuse(c, 500, "ServiceException", "internal error");
    return -1;
  }
  if (!chunked && p->content_length != ULLONG_MAX && p->content_length > c->body_limit) {
    le_refuse_too_large(c, 1);
    return -1;
  }
  double expected = chunked ? (double)c->body_limit : (p->content_length == ULLONG_MAX ? 0.0 : (double)p->content_length);
  le_conn_arm(c, c->srv->timeout + expected / LE_MIN_BODY_RATE);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  le_conn *c = p->data;
  if (c->has_sink) return le_stream_body(c, at, len);
  if (c->body.len + len > c->body_limit) {
    le_refuse_too_large(c, 0);
    return -1;
  }
  return add_bytes(&c->body, at, len);
}

/* After its body went to Lua: the connection keeps a small body buffer for its next
 * request (a runtime's /response and a client's Invoke each needed a malloc and a free)
 * and frees a larger one. */
#define KEPT_BODY_MAX 4096
static void body_handed_over(le_conn *c) {
  if (c->body.cap <= KEPT_BODY_MAX) c->body.len = 0;
  else le_buffer_free(&c->body);
}

void le_request_init_server(le_server *srv) {
  for (int i = 0; i < LE_KEPT_METHODS; i++) srv->method_refs[i] = LUA_NOREF;
  srv->path_ref = LUA_NOREF;
}

void le_request_forget(le_server *srv) {
  for (int i = 0; i < LE_KEPT_METHODS; i++) luaL_unref(srv->L, LUA_REGISTRYINDEX, srv->method_refs[i]);
  luaL_unref(srv->L, LUA_REGISTRYINDEX, srv->path_ref);
  le_request_init_server(srv);
}

/* Pushes path[0..len): the server's last short path again when it is the same (a
 * runtime's /next), else a new string, kept when short (a /response path, with its
 * request id, is long: made once, never alike). */
static void push_path(lua_State *L, le_server *srv, const char *path, size_t len) {
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

/* bare: dispatch(method, path, body, id), each a value on the stack, no table (a request
 * table, its headers table refilled and their strings cost ~3 k instructions a request). */
static int push_bare_request(lua_State *L, le_conn *c) {
  const char *url = c->url.data ? (const char *)c->url.data : "";
  const char *q = memchr(url, '?', c->url.len);
  push_method(L, c);
  push_path(L, c->srv, url, q ? (size_t)(q - url) : c->url.len);
  lua_pushlstring(L, c->body.data ? (const char *)c->body.data : "", c->body.len);
  body_handed_over(c);
  lua_pushinteger(L, c->id);
  return 4;
}

static void dispatch(le_conn *c) {
  lua_State *L = c->srv->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->srv->dispatch_ref);
  if (c->srv->bare) {
    int nargs = push_bare_request(L, c);
    if (c->has_sink) { /* a streamed body: the sink had it; its trailers as a fifth value */
      lua_newtable(L);
      le_stream_finish(L, c, lua_gettop(L));
      nargs++;
    }
    c->dispatching = 1;
    le_callback_call(L, nargs, 0, "local target");
    c->dispatching = 0;
    return;
  }
  if (c->srv->reuse_requests) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reuse_ref);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->req_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->req_ref);
    c->req_ref = LUA_NOREF;
  }
  lua_pushlstring(L, c->body.data ? (const char *)c->body.data : "", c->body.len);
  lua_setfield(L, -2, "body");
  if (c->has_sink) le_stream_finish(L, c, lua_gettop(L));
  body_handed_over(c); /* the request's copy is in Lua now */
  lua_pushinteger(L, c->id);
  c->dispatching = 1;
  le_callback_call(L, 2, 0, "local target");
  c->dispatching = 0;
}

static int on_message_complete(http_parser *p) {
  le_conn *c = p->data;
  c->keep_alive = http_should_keep_alive(p);
  c->busy = 1;
  c->in_message = 0;
  le_conn_disarm(c); /* (no timer stop: a busy connection's timer does nothing) */
  http_parser_pause(p, 1); /* one request at a time per connection */
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Parses data; on a complete request, keeps the rest for later and dispatches.
 * Returns 1 when a request was dispatched. */
static int parse(le_conn *c, const char *data, size_t len) {
  size_t used = http_parser_execute(&c->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->closing) return 0;
  if (c->refused) { /* answered already: what followed the headers is body to drop */
    size_t rest = used < len ? len - used - 1 : 0; /* the parser stopped on the headers' last byte */
    c->drain = rest < c->drain ? c->drain - rest : 0;
    if (c->drain == 0) {
      le_conn_stop_reading(c);
      le_conn_maybe_close(c);
    }
    return 0;
  }
  if (e == HPE_PAUSED) {
    if (used < len && le_buffer_append(&c->pending, data + used, len - used)) {
      le_conn_close(c);
      return 0;
    }
    dispatch(c);
    return 1;
  }
  if (e == HPE_HEADER_OVERFLOW) {
    le_refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request line and headers are too large");
  } else if (e != HPE_OK || used != len) {
    le_refuse(c, 400, "BadRequestException", "the request is not valid HTTP/1.1");
  }
  return 0;
}

/* Parses data, then, for as long as dispatch answers at once (a handler that never
 * waits responds inside it), the requests that followed: in a loop, not by
 * recursion, so that thousands of pipelined requests cannot exhaust the stack. */
void le_request_feed(le_conn *c, const char *data, size_t len) {
  le_buffer rest = {0};
  while (parse(c, data, len) && !c->closing && !c->busy && c->keep_alive && c->pending.len > 0) {
    le_buffer_free(&rest);
    rest = c->pending;
    c->pending = (le_buffer){0};
    data = (const char *)rest.data;
    len = rest.len;
  }
  le_buffer_free(&rest);
}
