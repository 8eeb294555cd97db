#include "httpserver.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <http_parser.h>
#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "httpserver_response.h"
#include "loop.h"
#include "peeruid.h"
#include "runtime.h"

#define MAX_HEAD_BYTES (64 * 1024) /* request line and header fields together */
#define MAX_HEADER_FIELDS 128
#define MAX_PENDING (1024 * 1024)  /* bytes read ahead while a request is answered */
#define MIN_BODY_RATE 100000.0     /* bytes per second a body must arrive at, at least */
#define DEFAULT_MAX_BODY (6 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS 1024
/* A refused request's body up to this size is read and dropped before the connection
 * closes, so a client that sends its whole body before reading gets the answer rather
 * than a reset; of a larger one (a Content-Length of 10^18) only LINGER_BYTES. */
#define MAX_DRAIN (128 * 1024 * 1024)
/* A closing connection, its answer written, shuts down its side and reads and drops what
 * the client still sends (a pipelined request, more body) until the client closes: this
 * much at most beyond a refused body, within LINGER_SECONDS (the server's timeout when
 * shorter) beyond the time that body may take. */
#define LINGER_BYTES (1024 * 1024)
#define LINGER_SECONDS 5.0

typedef struct server {
  uv_tcp_t tcp;
  lua_State *L;
  int dispatch_ref, check_ref;
  int closed;
  int unrefd; /* neither the server nor its connections keep the loop alive */
  int refs;   /* the listening handle and each connection: freed at zero */
  int nconns, max_connections;
  size_t max_body;
  double timeout; /* seconds; 0: none */
  int peer_uid;   /* find who connected: each request says which uid owns the client's socket */
} server;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the deadline of the request being read, or of an idle connection */
  int open_handles;
  http_parser parser;
  server *srv;
  long id;
  le_buffer url, body, pending;
  le_buffer names, values; /* NUL-separated header names and values */
  size_t nheaders, head_bytes, body_limit;
  char too_large_type[64], too_large_message[192]; /* the check's refusal of a body over body_limit */
  int req_ref; /* the request table built when its headers were complete */
  int last_was_value;
  int busy, keep_alive, closing, refused, reading, in_message;
  int dispatching;          /* inside dispatch: a response given there does not feed (feed's loop does) */
  int writing, want_close; /* writes in flight; close once they are done (and the drain) */
  int answered_closing;     /* its last answer said Connection: close: what it sends now is dropped */
  uint64_t drain;           /* bytes a closing connection may still read and drop (0: close once written) */
  int shut_down, peer_eof;  /* our side shut down after the closing answer; the client closed its side */
  uv_shutdown_t shutdown_req;
  long long peer_uid;       /* the uid owning the client's socket (-1: unknown, peer_errno says why) */
  int peer_errno;
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

static void server_release(server *srv) {
  if (--srv->refs == 0) free(srv);
}

static void free_conn(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->open_handles > 0) return;
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  for (conn **p = &by_id[(unsigned long)c->id % ID_BUCKETS]; *p; p = &(*p)->hnext)
    if (*p == c) {
      *p = c->hnext;
      break;
    }
  if (c->req_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->req_ref);
  le_buffer_free(&c->url);
  le_buffer_free(&c->body);
  le_buffer_free(&c->pending);
  le_buffer_free(&c->names);
  le_buffer_free(&c->values);
  c->srv->nconns--;
  server_release(c->srv);
  free(c);
}

static void free_data(uv_handle_t *h) { free(h->data); }

static void close_conn(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->timer, free_conn);
  uv_close((uv_handle_t *)&c->tcp, free_conn);
}

static void timer_cb(uv_timer_t *t);

/* Starts the connection's deadline, seconds from now. */
static void start_deadline(conn *c, double seconds) {
  if (c->closing) return;
  if (seconds > 86400.0 * 365) seconds = 86400.0 * 365;
  /* A connection whose deadline cannot be armed is not served without one. */
  if (le_uv_check(uv_timer_start(&c->timer, timer_cb, (uint64_t)(seconds * 1000.0), 0), "a connection's deadline") < 0)
    close_conn(c);
}

/* Arms the deadline of a request being read (seconds from now); a server without a timeout has none. */
static void arm(conn *c, double seconds) {
  if (c->srv->timeout > 0) start_deadline(c, seconds);
}

/* Arms a closing connection's deadline: LINGER_SECONDS (the server's timeout when shorter) and extra seconds. */
static void arm_closing(conn *c, double extra) {
  double t = c->srv->timeout;
  start_deadline(c, (t > 0 && t < LINGER_SECONDS ? t : LINGER_SECONDS) + extra);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* One read buffer for every connection: libuv calls read_cb right after the allocation,
 * and read_cb copies what it keeps (pending, the request's buffers) before it returns.
 * A 64 KB malloc and free per read made glibc consolidate its fast bins on every free
 * (a chunk of 64 KB or more does), undoing the reuse of Lua's small blocks. Should a
 * read ever begin while another is handled, it gets a buffer of its own. */
static char read_space[64 * 1024];
static int read_space_taken;

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  if (read_space_taken) {
    le_alloc_read_buffer(h, suggested, buf);
    return;
  }
  read_space_taken = 1;
  *buf = uv_buf_init(read_space, sizeof read_space);
}

static void release_read(const uv_buf_t *buf) {
  if (buf->base == read_space)
    read_space_taken = 0;
  else
    free(buf->base);
}

static void start_reading(conn *c) {
  if (c->reading || c->closing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_read, read_cb) == 0) c->reading = 1;
}

static void stop_reading(conn *c) {
  if (!c->reading) return;
  le_uv_check(uv_read_stop((uv_stream_t *)&c->tcp), "a connection");
  c->reading = 0;
}

typedef struct write_req {
  uv_write_t req;
  char *data;
  conn *c;
  int close_after;
} write_req;

static void shutdown_cb(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (status < 0 && !c->closing) close_conn(c);
}

/* A closing connection (want_close: its answer was queued, or its deadline passed) ends
 * once the answer is written: at once when the client has closed its side or nothing more
 * is to be read (drain 0); otherwise it shuts down its own side (the client reads the
 * answer, then the end) and reads and drops what the client still sends until the client
 * closes, the drain is spent or the deadline passes. Closed with unread bytes, the socket
 * would reset, and the client could lose the answer. */
static void maybe_close(conn *c) {
  if (!c->want_close || c->writing > 0 || c->closing) return;
  if (c->peer_eof || c->drain == 0) {
    close_conn(c);
    return;
  }
  if (c->shut_down) return;
  c->shut_down = 1;
  if (!c->refused) arm_closing(c, 0); /* a refusal's deadline runs from the refusal */
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) /* the client is gone */
    close_conn(c);
  else
    start_reading(c);
}

static void write_cb(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  conn *c = w->c;
  free(w->data);
  c->writing--;
  if (status < 0) close_conn(c);
  else if (w->close_after) {
    c->want_close = 1;
    maybe_close(c);
  }
  free(w);
}

/* Sends out (taken over) on c's socket; closes the connection afterwards when asked.
 * A keep-alive answer is first written at once (uv_try_write): it nearly always fits
 * the socket's buffer, and then needs no write request, no callback on the next turn,
 * and no epoll_ctl (libuv re-arms a stream's watcher after each queued write it
 * completes: one system call per response). What did not fit is queued, in order.
 * A closing answer always goes through the queue, so it closes where it always did. */
static int send_buffer(conn *c, le_buffer *out, int close_after) {
  size_t done = 0;
  if (!close_after && c->writing == 0) {
    uv_buf_t all = uv_buf_init((char *)out->data, (unsigned)out->len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &all, 1);
    if (n < 0 && n != UV_EAGAIN) { /* the client is gone */
      le_buffer_free(out);
      close_conn(c);
      return -1;
    }
    if (n > 0) done = (size_t)n;
    if (done == out->len) {
      le_buffer_free(out);
      return 0;
    }
  }
  write_req *w = calloc(1, sizeof *w);
  if (!w) {
    le_buffer_free(out);
    close_conn(c);
    return -1;
  }
  w->data = (char *)out->data;
  w->c = c;
  w->close_after = close_after;
  uv_buf_t buf = uv_buf_init(w->data + done, (unsigned)(out->len - done));
  *out = (le_buffer){0};
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) != 0) {
    free(w->data);
    free(w);
    close_conn(c);
    return -1;
  }
  c->writing++;
  return 0;
}

/* After a refusal: what the client sends is read and dropped, the body it announced (up
 * to MAX_DRAIN) and LINGER_BYTES beyond, within the time that body may take and the
 * closing deadline (maybe_close ends it). */
static void start_drain(conn *c, int body_follows) {
  uint64_t len = c->parser.content_length;
  int known = body_follows && !(c->parser.flags & F_CHUNKED) && len != ULLONG_MAX && len <= MAX_DRAIN;
  c->drain = (known ? len : 0) + LINGER_BYTES;
  arm_closing(c, known ? (double)len / MIN_BODY_RATE : 0);
}

/* The server's own refusals (limits, timeouts, malformed requests), shaped as Lambda's
 * errors so that SDKs show the reason; the connection closes after it. */
static void refuse_with_body(conn *c, int status, const char *type, const char *message, int body_follows) {
  if (c->closing || c->refused) return;
  c->refused = 1;
  start_drain(c, body_follows);
  char body[512], head[256];
  int bl = snprintf(body, sizeof body, "{\"Type\":\"User\",\"message\":\"%s\"}", message);
  if (bl < 0 || (size_t)bl >= sizeof body) bl = 0;
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nx-amzn-ErrorType: %s\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n",
                    status, le_response_reason(status), type, bl);
  le_buffer out = {0};
  if (hl < 0 || le_buffer_append(&out, head, (size_t)hl) || le_buffer_append(&out, body, (size_t)bl)) {
    le_buffer_free(&out);
    close_conn(c);
    return;
  }
  send_buffer(c, &out, 1);
}

static void refuse(conn *c, int status, const char *type, const char *message) {
  refuse_with_body(c, status, type, message, 0);
}

static void timer_cb(uv_timer_t *t) {
  conn *c = t->data;
  if (c->closing) return;
  if (c->refused || c->answered_closing) { /* closing, and the client neither read to the end nor closed */
    c->drain = 0;
    c->want_close = 1;
    stop_reading(c);
    maybe_close(c);
    return;
  }
  if (c->busy) return;
  if (c->in_message || c->pending.len > 0)
    refuse(c, 408, "RequestTimeoutException", "the request did not arrive in time");
  else
    close_conn(c); /* an idle keep-alive connection */
}

static void reset_request(conn *c) {
  c->url.len = c->body.len = c->names.len = c->values.len = 0;
  c->nheaders = c->head_bytes = 0;
  c->last_was_value = 0;
  c->body_limit = c->srv->max_body;
  c->too_large_type[0] = c->too_large_message[0] = '\0';
  if (c->req_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
}

static int head_grows(conn *c, size_t len) {
  c->head_bytes += len;
  if (c->head_bytes > MAX_HEAD_BYTES) {
    refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request line and headers exceed 65536 bytes");
    return -1;
  }
  return 0;
}

static int on_message_begin(http_parser *p) {
  conn *c = p->data;
  reset_request(c);
  c->in_message = 1;
  return 0;
}
static int on_url(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (head_grows(c, len)) return -1;
  return le_buffer_append(&c->url, at, len);
}
static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (head_grows(c, len)) return -1;
  if (c->last_was_value || c->nheaders == 0) {
    if (c->nheaders >= MAX_HEADER_FIELDS) {
      refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request has more than 128 header fields");
      return -1;
    }
    if (c->nheaders > 0 && le_buffer_append(&c->values, "", 1)) return -1;
    c->nheaders++;
    c->last_was_value = 0;
  }
  return le_buffer_append(&c->names, at, len);
}
static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (head_grows(c, len)) return -1;
  if (!c->last_was_value) {
    if (le_buffer_append(&c->names, "", 1)) return -1;
    c->last_was_value = 1;
  }
  return le_buffer_append(&c->values, at, len);
}

/* Pushes the request table (without its body) for c's current request. */
static void push_request(lua_State *L, conn *c) {
  lua_createtable(L, 0, 10); /* its fields, the body, and what the check adds: no resize */
  lua_pushstring(L, http_method_str((enum http_method)c->parser.method));
  lua_setfield(L, -2, "method");
  const char *url = c->url.data ? (const char *)c->url.data : "";
  const char *q = memchr(url, '?', c->url.len);
  lua_pushlstring(L, url, c->url.len);
  /* without a query the path is the target: the same string, not a second copy (a
   * runtime's /response path is a long string, allocated and collected each time) */
  if (q) lua_pushlstring(L, url, (size_t)(q - url));
  else lua_pushvalue(L, -1);
  lua_setfield(L, -3, "path");
  lua_setfield(L, -2, "target");
  lua_pushlstring(L, q ? q + 1 : "", q ? c->url.len - (size_t)(q + 1 - url) : 0);
  lua_setfield(L, -2, "query");
  lua_createtable(L, 0, (int)c->nheaders);
  /* the names are lower-cased where they are (nothing else reads them), then copied once */
  char *n = (char *)c->names.data;
  const char *v = (const char *)c->values.data;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n), vl = strlen(v);
    for (size_t k = 0; k < nl; k++)
      if (n[k] >= 'A' && n[k] <= 'Z') n[k] = (char)(n[k] + 32);
    lua_pushlstring(L, n, nl);
    lua_pushlstring(L, v, vl);
    lua_rawset(L, -3); /* a fresh table: no metamethods to run */
    n += nl + 1;
    v += vl + 1;
  }
  lua_setfield(L, -2, "headers");
  if (c->srv->peer_uid && c->peer_uid >= 0) {
    lua_pushinteger(L, (lua_Integer)c->peer_uid);
    lua_setfield(L, -2, "peer_uid");
  } else if (c->srv->peer_uid) {
    lua_pushstring(L, strerror(c->peer_errno));
    lua_setfield(L, -2, "peer_uid_error");
  }
  if (!(c->parser.flags & F_CHUNKED) && c->parser.content_length != ULLONG_MAX) {
    /* as a float when it does not fit an integer: the check compares it with a limit */
    if (c->parser.content_length <= (uint64_t)LLONG_MAX) lua_pushinteger(L, (lua_Integer)c->parser.content_length);
    else lua_pushnumber(L, (lua_Number)c->parser.content_length);
    lua_setfield(L, -2, "content_length");
  }
}

/* Answers c with the check's status, headers, body at base..base+2, then closes it. */
static void answer_and_close(lua_State *L, conn *c, int base) {
  int status = (int)lua_tointeger(L, base);
  size_t blen = 0;
  const char *body = lua_type(L, base + 2) == LUA_TSTRING ? lua_tolstring(L, base + 2, &blen) : "";
  le_buffer out = {0};
  int bad = le_response_build(L, status, lua_istable(L, base + 1) ? base + 1 : 0, body, blen, 1, &out);
  c->refused = 1;
  start_drain(c, 1);
  if (bad) {
    le_buffer_free(&out);
    close_conn(c);
  } else {
    send_buffer(c, &out, 1);
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

/* 413 for a body over the request's limit: the check's error type and message when it
 * gave them (an operation's own), else a generic one. */
static void refuse_too_large(conn *c, int body_follows) {
  char msg[160];
  snprintf(msg, sizeof msg, "Request must be smaller than %zu bytes for this operation", c->body_limit + 1);
  if (c->too_large_type[0])
    refuse_with_body(c, 413, c->too_large_type, c->too_large_message, body_follows);
  else
    refuse_with_body(c, 413, "RequestEntityTooLargeException", msg, body_follows);
}

/* Runs the server's check on a request whose headers are complete: 0 to read its body
 * (c->body_limit set, the request table kept in c->req_ref), -1 when it was answered. */
static int run_check(conn *c) {
  server *srv = c->srv;
  lua_State *L = srv->L;
  int top = lua_gettop(L);
  push_request(L, c);
  if (srv->check_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, srv->check_ref);
    lua_pushvalue(L, top + 1);
    if (le_callback_call(L, 1, 4, "local target") != LUA_OK) {
      lua_settop(L, top);
      refuse(c, 500, "ServiceException", "internal error");
      return -1;
    }
    if (lua_isinteger(L, top + 2)) {
      answer_and_close(L, c, top + 2);
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
    if (may_exceed && plain_text(L, top + 4) && plain_text(L, top + 5)) {
      copy_text(c->too_large_type, sizeof c->too_large_type, lua_tostring(L, top + 4));
      copy_text(c->too_large_message, sizeof c->too_large_message, lua_tostring(L, top + 5));
    }
    lua_settop(L, top + 1);
  }
  c->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  if (c->nheaders > 0 && le_buffer_append(&c->values, "", 1)) return -1;
  if (c->nheaders > 0 && !c->last_was_value && le_buffer_append(&c->names, "", 1)) return -1;
  c->last_was_value = 1; /* the lists are closed */
  if (run_check(c) < 0) return -1;
  int chunked = (p->flags & F_CHUNKED) != 0;
  if (!chunked && p->content_length != ULLONG_MAX && p->content_length > c->body_limit) {
    refuse_too_large(c, 1);
    return -1;
  }
  double expected = chunked ? (double)c->body_limit : (p->content_length == ULLONG_MAX ? 0.0 : (double)p->content_length);
  arm(c, c->srv->timeout + expected / MIN_BODY_RATE);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->body.len + len > c->body_limit) {
    refuse_too_large(c, 0);
    return -1;
  }
  return le_buffer_append(&c->body, at, len);
}

static void dispatch(conn *c) {
  lua_State *L = c->srv->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->srv->dispatch_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->req_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->req_ref);
  c->req_ref = LUA_NOREF;
  lua_pushlstring(L, c->body.data ? (const char *)c->body.data : "", c->body.len);
  lua_setfield(L, -2, "body");
  le_buffer_free(&c->body); /* the request's copy is in Lua now */
  lua_pushinteger(L, c->id);
  c->dispatching = 1;
  le_callback_call(L, 2, 0, "local target");
  c->dispatching = 0;
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  c->keep_alive = http_should_keep_alive(p);
  c->busy = 1;
  c->in_message = 0;
  le_uv_check(uv_timer_stop(&c->timer), "a connection's deadline");
  http_parser_pause(p, 1); /* one request at a time per connection */
  return 0;
}

static void feed(conn *c, const char *data, size_t len);

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (nread < 0) {
    release_read(buf);
    if (nread == UV_EOF && (c->refused || c->answered_closing)) { /* closes once the answer is written */
      c->peer_eof = 1;
      stop_reading(c);
      maybe_close(c);
    } else {
      close_conn(c);
    }
    return;
  }
  if (nread == 0) { /* nothing read (EAGAIN): to http-parser an empty chunk would mean end of stream */
    release_read(buf);
    return;
  }
  if (c->refused || c->answered_closing) {
    /* Refused, or answered and closing: what comes now is dropped (the paused parser
     * would dispatch the old request again), read rather than left unread (maybe_close). */
    uint64_t n = (uint64_t)nread < c->drain ? (uint64_t)nread : c->drain;
    c->drain -= n;
    release_read(buf);
    if (c->drain == 0) {
      stop_reading(c);
      maybe_close(c);
    }
    return;
  }
  if (c->busy) {
    if (le_buffer_append(&c->pending, buf->base, (size_t)nread)) close_conn(c);
    else if (c->pending.len > MAX_PENDING) stop_reading(c); /* resumed when the answer is out */
  } else {
    feed(c, buf->base, (size_t)nread);
  }
  release_read(buf);
}

/* Parses data; on a complete request, keeps the rest for later and dispatches.
 * Returns 1 when a request was dispatched. */
static int parse(conn *c, const char *data, size_t len) {
  size_t used = http_parser_execute(&c->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->closing) return 0;
  if (c->refused) { /* answered already: what followed the headers is body to drop */
    size_t rest = used < len ? len - used - 1 : 0; /* the parser stopped on the headers' last byte */
    c->drain = rest < c->drain ? c->drain - rest : 0;
    if (c->drain == 0) {
      stop_reading(c);
      maybe_close(c);
    }
    return 0;
  }
  if (e == HPE_PAUSED) {
    if (used < len && le_buffer_append(&c->pending, data + used, len - used)) {
      close_conn(c);
      return 0;
    }
    dispatch(c);
    return 1;
  }
  if (e == HPE_HEADER_OVERFLOW) {
    refuse(c, 431, "RequestHeaderFieldsTooLargeException", "the request line and headers are too large");
  } else if (e != HPE_OK || used != len) {
    refuse(c, 400, "BadRequestException", "the request is not valid HTTP/1.1");
  }
  return 0;
}

/* Parses data, then, for as long as dispatch answers at once (a handler that never
 * waits responds inside it), the requests that followed: in a loop, not by
 * recursion, so that thousands of pipelined requests cannot exhaust the stack. */
static void feed(conn *c, const char *data, size_t len) {
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

static int l_respond(lua_State *L) {
  long id = (long)luaL_checkinteger(L, 1);
  int status = (int)luaL_checkinteger(L, 2);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 4, "", &blen);
  conn *c = find_conn(id);
  if (!c || c->closing || !c->busy) return 0;
  /* Built in a C buffer: a luaL_Buffer moves the stack top, which lua_next needs. */
  le_buffer out = {0};
  if (le_response_build(L, status, lua_istable(L, 3) ? 3 : 0, body, blen, !c->keep_alive, &out)) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory writing a response");
  }
  if (!c->keep_alive) {
    c->answered_closing = 1;
    c->drain = LINGER_BYTES;
  }
  if (send_buffer(c, &out, !c->keep_alive) != 0) return 0;
  c->busy = 0;
  if (c->keep_alive) {
    arm(c, c->srv->timeout); /* the next request's headers, or idle */
    http_parser_pause(&c->parser, 0);
    start_reading(c);
    if (c->pending.len > 0 && !c->dispatching) { /* requests that arrived meanwhile (feed's loop when answered in dispatch) */
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
  int rc = uv_timer_init(le_loop(), &c->timer);
  if (rc != 0) {
    free(c);
  } else if ((rc = uv_tcp_init(le_loop(), &c->tcp)) != 0) {
    c->timer.data = c;
    uv_close((uv_handle_t *)&c->timer, free_data);
  }
  if (le_uv_check(rc, "accepting a connection") < 0) return;
  c->open_handles = 2;
  c->tcp.data = c->timer.data = c;
  c->srv = srv;
  srv->refs++;
  srv->nconns++;
  c->id = next_id++;
  c->req_ref = LUA_NOREF;
  c->body_limit = srv->max_body;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->next = conns;
  if (conns) conns->prev = c;
  conns = c;
  c->hnext = by_id[(unsigned long)c->id % ID_BUCKETS];
  by_id[(unsigned long)c->id % ID_BUCKETS] = c;
  if (srv->unrefd) {
    uv_unref((uv_handle_t *)&c->tcp);
    uv_unref((uv_handle_t *)&c->timer);
  }
  if (uv_accept(s, (uv_stream_t *)&c->tcp) != 0) {
    close_conn(c);
    return;
  }
  if (srv->nconns > srv->max_connections) {
    refuse(c, 503, "ServiceUnavailableException", "too many connections");
    return;
  }
  c->peer_uid = -1;
  if (srv->peer_uid) { /* once per connection: its requests all come from the same socket */
    uv_os_fd_t fd;
    unsigned uid;
    int rc = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? le_tcp_peer_uid(fd, &uid) : -EBADF;
    if (rc == 0) c->peer_uid = uid;
    else c->peer_errno = -rc;
  }
  start_reading(c);
  if (!c->reading) close_conn(c);
  else arm(c, srv->timeout);
}

#define SERVER_MT "lambdaeng.httpserver"

static void init_settings(void) {
  http_parser_settings_init(&settings);
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
}

/* A server from dispatch (index 2 of the caller's arguments after the address) and
 * opts; NULL with *rc set when libuv cannot make its handle. */
static server *new_server(lua_State *L, int dispatch_idx, int opts_idx, int *rc) {
  luaL_checktype(L, dispatch_idx, LUA_TFUNCTION);
  init_settings();
  server *srv = calloc(1, sizeof *srv);
  if (!srv) luaL_error(L, "out of memory");
  srv->L = le_main_thread(L);
  srv->refs = 1;
  srv->max_body = DEFAULT_MAX_BODY;
  srv->max_connections = DEFAULT_MAX_CONNECTIONS;
  srv->check_ref = LUA_NOREF;
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
    lua_pop(L, 4);
    lua_getfield(L, opts_idx, "check");
    if (lua_isfunction(L, -1)) srv->check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
  }
  *rc = uv_tcp_init(le_loop(), &srv->tcp);
  if (*rc != 0) {
    if (srv->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->check_ref);
    free(srv);
    return NULL;
  }
  lua_pushvalue(L, dispatch_idx);
  srv->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  srv->tcp.data = srv;
  return srv;
}

static void server_closed(uv_handle_t *h) { server_release(h->data); }

/* nil, "what: why", code; srv (NULL when it was never made) is closed. */
static int failed(lua_State *L, server *srv, const char *what, int rc) {
  if (srv) {
    luaL_unref(L, LUA_REGISTRYINDEX, srv->dispatch_ref);
    if (srv->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->check_ref);
    uv_close((uv_handle_t *)&srv->tcp, server_closed);
  }
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, uv_strerror(rc));
  lua_pushstring(L, uv_err_name(rc));
  return 3;
}

static int push_server(lua_State *L, server *srv) {
  server **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = srv;
  luaL_setmetatable(L, SERVER_MT);
  return 1;
}

static int l_listen(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  int port = (int)luaL_checkinteger(L, 2);
  int rc;
  server *srv = new_server(L, 3, 4, &rc);
  if (!srv) return failed(L, NULL, lua_pushfstring(L, "cannot listen on %s:%d", host, port), rc);
  struct sockaddr_storage addr;
  rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (rc == 0) rc = uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 1024, on_connection);
  if (rc != 0) return failed(L, srv, lua_pushfstring(L, "cannot listen on %s:%d", host, port), rc);
  return push_server(L, srv);
}

/* adopt(fd, dispatch[, opts]): serves a listening TCP socket made elsewhere (the fd is ours now). */
static int l_adopt(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd < INT_MAX, 1, "a file descriptor");
  int rc;
  server *srv = new_server(L, 2, 3, &rc);
  if (!srv) {
    close((int)fd);
    return failed(L, NULL, "cannot serve the socket", rc);
  }
  rc = uv_tcp_open(&srv->tcp, (uv_os_sock_t)fd);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 128, on_connection);
  if (rc != 0) return failed(L, srv, "cannot serve the socket", rc);
  return push_server(L, srv);
}

static int l_port(lua_State *L) {
  server **ud = luaL_checkudata(L, 1, SERVER_MT);
  struct sockaddr_storage addr;
  int len = sizeof addr;
  if (!*ud || uv_tcp_getsockname(&(*ud)->tcp, (struct sockaddr *)&addr, &len) != 0) return 0;
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
    *ud = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, srv->dispatch_ref);
    if (srv->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, srv->check_ref);
    srv->check_ref = LUA_NOREF;
    for (conn *c = conns; c; c = c->next)
      if (c->srv == srv) close_conn(c);
    uv_close((uv_handle_t *)&srv->tcp, server_closed);
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
      if (c->srv == srv) {
        uv_unref((uv_handle_t *)&c->tcp);
        uv_unref((uv_handle_t *)&c->timer);
      }
  }
  return 0;
}

/* abort(id): drops the connection of request id with a TCP reset (fault injection). */
static int l_abort(lua_State *L) {
  conn *c = find_conn((long)luaL_checkinteger(L, 1));
  if (c && !c->closing) {
    c->closing = 1;
    uv_close((uv_handle_t *)&c->timer, free_conn);
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
  static const luaL_Reg methods[] = {{"port", l_port}, {"close", l_close}, {"unref", l_unref}, {NULL, NULL}};
  le_new_class(L, SERVER_MT, methods, NULL);
  static const luaL_Reg fns[] = {{"listen", l_listen}, {"adopt", l_adopt}, {"respond", l_respond},
                                 {"abort", l_abort}, {"connected", l_connected}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
