/* httpserver_conn.c — the server's connections (httpserver_conn.h): accepted, found by
 * request id, their deadlines, their reads (one shared buffer) and writes (a keep-alive
 * answer tried at once, the rest queued in order), and their closing: at once, or, after a
 * closing answer, a shutdown of our side and a linger that reads and drops what the
 * client still sends. An idle connection's deadline does not close it while a request
 * that came in time waits unread. What a connection reads goes to le_request_feed; its
 * timeouts to le_refuse; a new connection to le_admit (httpserver_admit.c: max_connections,
 * and one there is no memory for). */
#include "httpserver_conn.h"

#include <stdlib.h>
#include <sys/socket.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_admit.h"
#include "httpserver_refuse.h"
#include "httpserver_request.h"
#include "httpserver_stream.h"
#include "loop.h"

#define MAX_PENDING (1024 * 1024) /* bytes read ahead while a request is answered */
#define LINGER_SECONDS 5.0         /* a closing connection's linger (the server's timeout when shorter) */

static le_conn *conns;
static long next_id = 1;

/* Connections by request id: respond() finds its connection without a walk through
 * thousands of them (a thousand warm runtimes each keep one open). */
#define ID_BUCKETS 4096
static le_conn *by_id[ID_BUCKETS];

le_conn *le_conn_find(long id) {
  for (le_conn *c = by_id[(unsigned long)id % ID_BUCKETS]; c; c = c->hnext)
    if (c->id == id) return c;
  return NULL;
}

static le_server *servers; /* every server not yet freed */

void le_server_track(le_server *srv) {
  srv->prev_server = NULL;
  srv->next_server = servers;
  if (servers) servers->prev_server = srv;
  servers = srv;
}

le_server *le_servers(void) { return servers; }

void le_server_release(le_server *srv) {
  if (--srv->refs == 0) {
    if (srv->prev_server) srv->prev_server->next_server = srv->next_server;
    else if (servers == srv) servers = srv->next_server;
    if (srv->next_server) srv->next_server->prev_server = srv->prev_server;
    le_memo_free(&srv->memo);
    free(srv);
  }
}

/* Lets go of c's references into its server's Lua state (each once: they are then none). */
static void let_go_of_lua(le_conn *c) {
  if (c->req_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->req_ref);
  if (c->reuse_ref != LUA_NOREF) luaL_unref(c->srv->L, LUA_REGISTRYINDEX, c->reuse_ref);
  c->req_ref = c->reuse_ref = LUA_NOREF;
  le_stream_drop(c);
}

void le_conn_let_go_of_state(lua_State *L) {
  for (le_conn *c = conns; c; c = c->next)
    if (c->srv->L == L) {
      let_go_of_lua(c);
      le_conn_close(c);
    }
}

static void free_conn(uv_handle_t *h) {
  le_conn *c = h->data;
  if (--c->open_handles > 0) return;
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  for (le_conn **p = &by_id[(unsigned long)c->id % ID_BUCKETS]; *p; p = &(*p)->hnext)
    if (*p == c) {
      *p = c->hnext;
      break;
    }
  let_go_of_lua(c); /* none left when its state closed first (le_conn_let_go_of_state) */
  le_buffer_free(&c->url);
  le_buffer_free(&c->body);
  le_buffer_free(&c->pending);
  le_buffer_free(&c->partial);
  le_buffer_free(&c->names);
  le_buffer_free(&c->reused_names);
  le_buffer_free(&c->reused_values);
  le_buffer_free(&c->reused_url);
  le_buffer_free(&c->values);
  le_server_release(c->srv);
  free(c);
}

static void free_data(uv_handle_t *h) { free(h->data); }

/* Marks c closing: it stops counting against max_connections now, not when its handles
 * are freed. Nothing more is read from it or written to it, and its handles close in
 * this loop turn's close phase; counted until then, the ends read in one poll would
 * refuse with 503 the new connections accepted in the same poll (a client's 1,000
 * connections ending as the next client's arrive). A connection in its linger (its
 * closing answer written, what the client still sends read and dropped, at most 5 s)
 * still counts: its client may still be sending, and it holds a socket. */
static void begin_close(le_conn *c) {
  c->closing = 1;
  c->srv->nconns--;
  if (c->parked) { /* still in the list, freed after the verdict that skips it (the close phase comes later) */
    c->parked = 0;
    c->srv->nparked--;
  }
}

void le_conn_close(le_conn *c) {
  if (c->closing) return;
  begin_close(c);
  uv_close((uv_handle_t *)&c->timer, free_conn);
  uv_close((uv_handle_t *)&c->tcp, free_conn);
}

static void timer_cb(uv_timer_t *t);

/* Starts the connection's timer to fire ms from now (its deadline's time). */
static void start_timer(le_conn *c, uint64_t ms) {
  /* A connection whose deadline cannot be armed is not served without one. */
  if (le_uv_check(uv_timer_start(&c->timer, timer_cb, ms, 0), "a connection's deadline") < 0) le_conn_close(c);
  else c->timer_due = c->deadline;
}

/* Sets the connection's deadline, seconds from now. A deadline later than the running
 * timer's leaves the timer as it is: it fires first and waits the rest (timer_cb). A
 * kept-alive request moves it twice (its body's deadline, then the idle one after the
 * answer), and a restart each time (the timer heap's removal and insertion) cost ~0.6 k
 * instructions an invocation at the local target's front door. */
static void start_deadline(le_conn *c, double seconds) {
  if (c->closing) return;
  if (seconds > 86400.0 * 365) seconds = 86400.0 * 365;
  uint64_t ms = (uint64_t)(seconds * 1000.0);
  c->deadline = uv_now(le_loop()) + ms;
  if (uv_is_active((uv_handle_t *)&c->timer) && c->timer_due <= c->deadline) return;
  start_timer(c, ms);
}

void le_conn_disarm(le_conn *c) { c->deadline = 0; }

/* Arms the deadline of a request being read (seconds from now); a server without a timeout has none. */
void le_conn_arm(le_conn *c, double seconds) {
  if (c->srv->timeout > 0) start_deadline(c, seconds);
}

/* Arms a closing connection's deadline: LINGER_SECONDS (the server's timeout when shorter) and extra seconds. */
void le_conn_arm_closing(le_conn *c, double extra) {
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

void le_conn_start_reading(le_conn *c) {
  if (c->reading || c->closing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_read, read_cb) == 0) c->reading = 1;
}

void le_conn_stop_reading(le_conn *c) {
  if (!c->reading) return;
  le_uv_check(uv_read_stop((uv_stream_t *)&c->tcp), "a connection");
  c->reading = 0;
}

typedef struct write_req {
  uv_write_t req;
  char *data;
  le_conn *c;
  size_t len; /* what c->queued counts of it */
  int close_after;
} write_req;

static void shutdown_cb(uv_shutdown_t *req, int status) {
  le_conn *c = req->data;
  if (status < 0 && !c->closing) le_conn_close(c);
}

/* A closing connection (want_close: its answer was queued, or its deadline passed) ends
 * once the answer is written: at once when the client has closed its side or nothing more
 * is to be read (drain 0); otherwise it shuts down its own side (the client reads the
 * answer, then the end) and reads and drops what the client still sends until the client
 * closes, the drain is spent or the deadline passes. Closed with unread bytes, the socket
 * would reset, and the client could lose the answer. */
void le_conn_maybe_close(le_conn *c) {
  if (!c->want_close || c->writing > 0 || c->closing) return;
  if (c->peer_eof || c->drain == 0) {
    le_conn_close(c);
    return;
  }
  if (c->shut_down) return;
  c->shut_down = 1;
  if (!c->refused) le_conn_arm_closing(c, 0); /* a refusal's deadline runs from the refusal */
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) /* the client is gone */
    le_conn_close(c);
  else
    le_conn_start_reading(c);
}

static void write_cb(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  le_conn *c = w->c;
  free(w->data);
  c->writing--;
  c->queued -= w->len;
  if (status >= 0 && c->held_id) le_stream_drained(c); /* a streamed answer's runtime may read on */
  if (status < 0) le_conn_close(c);
  else if (w->close_after) {
    c->want_close = 1;
    le_conn_maybe_close(c);
  }
  free(w);
}

/* One answer buffer kept for the next answer: one the socket took whole (nearly every
 * keep-alive answer) gives its buffer back, and the next is built in it. Without it, each
 * answer (three an invocation at the local target) cost a malloc and a free of ~1 KB, the
 * malloc of 1 KB or more making glibc consolidate its fast bins when any were in use. */
#define SPARE_ANSWER_MAX (16 * 1024)
static le_buffer spare_answer;

le_buffer le_conn_answer_buffer(void) {
  le_buffer b = spare_answer;
  spare_answer = (le_buffer){0};
  return b;
}

static void give_back(le_buffer *out) {
  if (!spare_answer.data && out->cap <= SPARE_ANSWER_MAX) {
    spare_answer = *out;
    spare_answer.len = 0;
    *out = (le_buffer){0};
  } else {
    le_buffer_free(out);
  }
}

/* Sends out (taken over) on c's socket; closes the connection afterwards when asked.
 * A keep-alive answer is first written at once (uv_try_write): it nearly always fits
 * the socket's buffer, and then needs no write request, no callback on the next turn,
 * and no epoll_ctl (libuv re-arms a stream's watcher after each queued write it
 * completes: one system call per response). What did not fit is queued, in order.
 * A closing answer always goes through the queue, so it closes where it always did. */
int le_conn_send(le_conn *c, le_buffer *out, int close_after) {
  size_t done = 0;
  if (!close_after && c->writing == 0) {
    uv_buf_t all = uv_buf_init((char *)out->data, (unsigned)out->len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &all, 1);
    if (n < 0 && n != UV_EAGAIN) { /* the client is gone */
      le_buffer_free(out);
      le_conn_close(c);
      return -1;
    }
    if (n > 0) done = (size_t)n;
    if (done == out->len) {
      give_back(out);
      return 0;
    }
  }
  write_req *w = calloc(1, sizeof *w);
  if (!w) {
    le_buffer_free(out);
    le_conn_close(c);
    return -1;
  }
  w->data = (char *)out->data;
  w->c = c;
  w->len = out->len - done;
  w->close_after = close_after;
  uv_buf_t buf = uv_buf_init(w->data + done, (unsigned)(out->len - done));
  *out = (le_buffer){0};
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) != 0) {
    free(w->data);
    free(w);
    le_conn_close(c);
    return -1;
  }
  c->writing++;
  c->queued += w->len;
  return 0;
}

void le_conn_answered(le_conn *c) {
  c->busy = 0;
  if (!c->keep_alive) return;
  le_conn_arm(c, c->srv->timeout); /* the next request's headers, or idle */
  le_conn_start_reading(c);
  if (c->pending.len > 0 && !c->dispatching) { /* requests that arrived meanwhile (le_request_feed's loop when answered in dispatch) */
    le_buffer rest = c->pending;
    c->pending = (le_buffer){0};
    le_request_feed(c, (const char *)rest.data, rest.len);
    le_buffer_free(&rest);
  }
}

/* Whether the client has sent bytes that no read has taken yet. libuv runs expired timers
 * before the poll that would read them: on a loaded machine a request can arrive in time
 * and still find its connection's idle deadline run first, and closing then (with the
 * request unread: a reset) loses it; a client reusing keep-alive connections meets it on
 * each one it tries. Only a peek: the read that follows in this turn's poll takes them. */
static int has_unread_bytes(le_conn *c) {
  uv_os_fd_t fd;
  char byte;
  return uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void timer_cb(uv_timer_t *t) {
  le_conn *c = t->data;
  if (c->closing) return;
  uint64_t now = uv_now(le_loop());
  if (c->deadline > now) { /* moved later while the timer ran */
    start_timer(c, c->deadline - now);
    return;
  }
  if (c->refused || c->answered_closing) { /* closing, and the client neither read to the end nor closed */
    /* An answer still unwritten is one the client does not read: waiting for it to be
     * written would let a client that keeps the connection open and never reads hold
     * its place against max_connections for as long as it likes. */
    if (c->writing > 0) {
      le_conn_close(c);
      return;
    }
    c->drain = 0;
    c->want_close = 1;
    le_conn_stop_reading(c);
    le_conn_maybe_close(c);
    return;
  }
  if (c->busy) return;
  if (c->in_message || c->pending.len > 0)
    le_refuse(c, 408, "RequestTimeoutException", "the request did not arrive in time");
  else if (c->reading && has_unread_bytes(c))
    le_conn_arm(c, c->srv->timeout); /* a request came in time: its headers get the usual deadline */
  else
    le_conn_close(c); /* an idle keep-alive connection */
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  le_conn *c = s->data;
  if (nread < 0) {
    release_read(buf);
    if (nread == UV_EOF && (c->refused || c->answered_closing)) { /* closes once the answer is written */
      c->peer_eof = 1;
      le_conn_stop_reading(c);
      le_conn_maybe_close(c);
    } else {
      le_conn_close(c);
    }
    return;
  }
  if (nread == 0) { /* nothing read (EAGAIN) */
    release_read(buf);
    return;
  }
  if (c->refused || c->answered_closing) {
    /* Refused, or answered and closing: what comes now is dropped (not a request to
     * parse), read rather than left unread (le_conn_maybe_close). */
    uint64_t n = (uint64_t)nread < c->drain ? (uint64_t)nread : c->drain;
    c->drain -= n;
    release_read(buf);
    if (c->drain == 0) {
      le_conn_stop_reading(c);
      le_conn_maybe_close(c);
    }
    return;
  }
  if (c->busy) {
    if (le_buffer_append(&c->pending, buf->base, (size_t)nread)) le_conn_close(c);
    else if (c->pending.len > MAX_PENDING) le_conn_stop_reading(c); /* resumed when the answer is out */
  } else {
    le_request_feed(c, buf->base, (size_t)nread);
  }
  release_read(buf);
}

static int failing_accepts; /* le_conn_fail_accepts */

void le_conn_fail_accepts(int n) { failing_accepts = n; }

void le_conn_accept(uv_stream_t *s, int status) {
  le_server *srv = s->data;
  if (status < 0) return;
  le_conn *c = NULL;
  if (failing_accepts > 0) failing_accepts--;
  else c = calloc(1, sizeof *c);
  int rc = c ? uv_timer_init(le_loop(), &c->timer) : UV_ENOMEM;
  if (rc != 0) {
    free(c);
  } else if ((rc = uv_tcp_init(le_loop(), &c->tcp)) != 0) {
    c->timer.data = c;
    uv_close((uv_handle_t *)&c->timer, free_data);
  }
  if (le_uv_check(rc, "accepting a connection") < 0) {
    le_admit_unserved(srv);
    return;
  }
  c->open_handles = 2;
  c->tcp.data = c->timer.data = c;
  c->srv = srv;
  srv->refs++;
  srv->nconns++;
  c->id = next_id++;
  c->req_ref = c->reuse_ref = LUA_NOREF;
  c->body_limit = srv->max_body;
  c->content_length = LE_NO_LENGTH;
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
    le_conn_close(c);
    return;
  }
  le_admit(c);
}

void le_conn_close_all(le_server *srv) {
  for (le_conn *c = conns; c; c = c->next)
    if (c->srv == srv) le_conn_close(c);
}

void le_conn_unref_all(le_server *srv) {
  for (le_conn *c = conns; c; c = c->next)
    if (c->srv == srv) {
      uv_unref((uv_handle_t *)&c->tcp);
      uv_unref((uv_handle_t *)&c->timer);
    }
  uv_unref((uv_handle_t *)&srv->verdict);
}

void le_conn_reset(le_conn *c) {
  if (c->closing) return;
  begin_close(c);
  uv_close((uv_handle_t *)&c->timer, free_conn);
  if (uv_tcp_close_reset(&c->tcp, free_conn) != 0) uv_close((uv_handle_t *)&c->tcp, free_conn);
}
