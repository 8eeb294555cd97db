/* httpserver_request.c — a connection's requests (httpserver_request.h): what it reads is
 * taken in steps by what it is (c->framing): the head (httpserver_head.c, picohttpparser),
 * after which the request table is built (httpserver_table.c) and the server's check
 * run; a body of announced length, or a chunked one (decoded in place by picohttpparser)
 * and its trailers, within the body's limit; then, the request complete, it waits
 * (c->busy) while the server's dispatch has it (a bare server's: its method, path and
 * body as values, no table unless a check reads one). */
#include "httpserver_request.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_guard.h"
#include "httpserver_head.h"
#include "httpserver_refuse.h"
#include "httpserver_stream.h"
#include "httpserver_table.h"
#include "loop.h"

static void reset_request(le_conn *c) {
  c->url.len = c->body.len = c->names.len = c->values.len = 0;
  c->nheaders = c->head_bytes = 0;
  c->body_limit = c->srv->max_body;
  c->too_large_type[0] = c->too_large_message[0] = '\0';
  if (c->req_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
  if (c->has_sink) le_stream_drop(c); /* (the check here: a call per request otherwise) */
}

/* Appends len bytes at at to b: in place when it has room (nearly always: a connection's
 * buffers keep their size from one request to the next), else through le_buffer_append. */
static inline int add_bytes(le_buffer *b, const char *at, size_t len) {
  if (b->data && b->cap - b->len >= len) {
    memcpy(b->data + b->len, at, len);
    b->len += len;
    return 0;
  }
  return le_buffer_append(b, at, len);
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
  le_table_push_request(L, c);
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
    int may_exceed = c->chunked || c->content_length == LE_NO_LENGTH || c->content_length > c->body_limit;
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
  le_table_push_request(L, c);
  c->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  int r = le_stream_begin(c);
  luaL_unref(L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
  return r;
}

/* The head read: the check, the body's limit and deadline; 0 to read on, -1 when answered. */
static int head_complete(le_conn *c) {
  if (run_check(c) < 0) return -1;
  if (c->chunked && c->srv->stream_ref != LUA_NOREF && begin_stream(c) < 0) {
    le_refuse(c, 500, "ServiceException", "internal error");
    return -1;
  }
  uint64_t length = c->content_length;
  if (!c->chunked && length != LE_NO_LENGTH && length > c->body_limit) {
    le_refuse_too_large(c, 1);
    return -1;
  }
  double expected = c->chunked ? (double)c->body_limit : (length == LE_NO_LENGTH ? 0.0 : (double)length);
  le_conn_arm(c, c->srv->timeout + expected / LE_MIN_BODY_RATE);
  return 0;
}

static int on_body(le_conn *c, const char *at, size_t len) {
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

/* bare: dispatch(method, path, body, id), each a value on the stack, no table (a request
 * table, its headers table refilled and their strings cost ~3 k instructions a request). */
static int push_bare_request(lua_State *L, le_conn *c) {
  const char *url = c->url.data ? (const char *)c->url.data : "";
  const char *q = memchr(url, '?', c->url.len);
  le_table_push_method(L, c);
  le_table_push_path(L, c->srv, url, q ? (size_t)(q - url) : c->url.len);
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

/* The request read whole: one at a time per connection (what follows waits in pending). */
static void message_complete(le_conn *c) {
  c->keep_alive = c->head_keep_alive;
  c->busy = 1;
  c->in_message = 0;
  c->framing = LE_READ_HEAD;
  le_conn_disarm(c); /* (no timer stop: a busy connection's timer does nothing) */
}

/* What a step of reading did: took all it was given and needs more; read its part and the
 * next step reads on; completed the request; stopped (refused, or the connection closed). */
enum { STEP_MORE, STEP_NEXT, STEP_DONE, STEP_STOP };

/* The head: skips the empty lines between requests, reads it (httpserver_head.h), runs
 * head_complete and chooses how the body is read. */
static int read_head(le_conn *c, const char *data, size_t len, size_t *used) {
  size_t skip = 0;
  if (!c->in_message)
    while (skip < len && (data[skip] == '\r' || data[skip] == '\n')) skip++;
  *used = skip;
  if (skip == len) return STEP_MORE;
  if (!c->in_message) {
    reset_request(c);
    c->in_message = 1;
  }
  size_t took = 0;
  int r = le_head_take(c, data + skip, len - skip, &took);
  *used += took;
  if (r == LE_TAKE_MORE) return STEP_MORE;
  if (r == LE_TAKE_REFUSED || head_complete(c) < 0) return STEP_STOP;
  if (c->chunked) {
    memset(&c->chunks, 0, sizeof c->chunks); /* (consume_trailer 0: le_trailers_take reads them) */
    c->framing = LE_READ_CHUNKS;
    return STEP_NEXT;
  }
  if (c->content_length != LE_NO_LENGTH && c->content_length > 0) {
    c->body_left = c->content_length;
    c->framing = LE_READ_BODY;
    return STEP_NEXT;
  }
  message_complete(c);
  return STEP_DONE;
}

static int read_body(le_conn *c, const char *data, size_t len, size_t *used) {
  size_t n = (uint64_t)len < c->body_left ? len : (size_t)c->body_left;
  *used = n;
  if (n > 0 && on_body(c, data, n) < 0) return STEP_STOP;
  c->body_left -= n;
  if (c->body_left > 0) return STEP_MORE;
  message_complete(c);
  return STEP_DONE;
}

/* A chunked body: data appended to c->body and decoded there in place (picohttpparser's
 * phr_decode_chunked keeps where it is between calls); the decoded bytes stay in the body,
 * or go to its sink. After the last chunk, the trailer section. */
static int read_chunks(le_conn *c, const char *data, size_t len, size_t *used) {
  size_t start = c->body.len, size = len;
  if (add_bytes(&c->body, data, len)) {
    le_conn_close(c);
    return STEP_STOP;
  }
  ssize_t r = phr_decode_chunked(&c->chunks, (char *)c->body.data + start, &size);
  c->body.len = start + size; /* (what followed the last chunk is not body) */
  if (r == -1) {
    le_refuse(c, 400, "BadRequestException", "the request is not valid HTTP/1.1");
    return STEP_STOP;
  }
  *used = r >= 0 ? len - (size_t)r : len;
  if (c->has_sink) {
    c->body.len = start;
    if (size > 0 && le_stream_body(c, (const char *)c->body.data + start, size) < 0) return STEP_STOP;
  } else if (c->body.len > c->body_limit) {
    c->body.len = start;
    le_refuse_too_large(c, 0);
    return STEP_STOP;
  }
  if (r == -2) return STEP_MORE;
  c->framing = LE_READ_TRAILERS;
  return STEP_NEXT;
}

static int read_step(le_conn *c, const char *data, size_t len, size_t *used) {
  *used = 0;
  if (c->framing == LE_READ_HEAD) return read_head(c, data, len, used);
  if (len == 0) return STEP_MORE;
  if (c->framing == LE_READ_BODY) return read_body(c, data, len, used);
  if (c->framing == LE_READ_CHUNKS) return read_chunks(c, data, len, used);
  int r = le_trailers_take(c, data, len, used);
  if (r != LE_TAKE_DONE) return r == LE_TAKE_MORE ? STEP_MORE : STEP_STOP;
  message_complete(c);
  return STEP_DONE;
}

/* Reads data; on a complete request, keeps the rest for later and dispatches.
 * Returns 1 when a request was dispatched. */
static int parse(le_conn *c, const char *data, size_t len) {
  size_t at = 0;
  int step = STEP_NEXT;
  while (step == STEP_NEXT && !c->closing && !c->refused) {
    size_t used = 0;
    step = read_step(c, data + at, len - at, &used);
    at += used;
  }
  if (c->closing) return 0;
  if (c->refused) { /* answered already: what followed is body to drop */
    size_t rest = len - at;
    c->drain = rest < c->drain ? c->drain - rest : 0;
    if (c->drain == 0) {
      le_conn_stop_reading(c);
      le_conn_maybe_close(c);
    }
    return 0;
  }
  if (step != STEP_DONE) return 0;
  if (at < len && le_buffer_append(&c->pending, data + at, len - at)) {
    le_conn_close(c);
    return 0;
  }
  dispatch(c);
  return 1;
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
