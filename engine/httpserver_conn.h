/* httpserver_conn.h — a connection of httpserver.h's server, as the server's files share it.
 * httpserver_conn.c owns it: accepts it (le_conn_accept, the listener's callback), finds
 * it by request id, arms its deadline, reads it (handing what it reads to
 * le_request_feed, or keeping it in pending while a request is answered), writes its
 * answers in order and closes it; a closing answer's connection shuts down its side and
 * reads and drops what the client still sends (up to drain bytes, within the closing
 * deadline) before it closes, so that the client reads the answer rather than a reset.
 * httpserver_request.c parses into it; httpserver_refuse.c refuses on it; httpserver.c
 * (the Lua binding) makes the server, answers through le_conn_send and closes both. */
#ifndef LAMBDAENG_HTTPSERVER_CONN_H
#define LAMBDAENG_HTTPSERVER_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <picohttpparser.h>
#include <uv.h>

#include "buffer.h"
#include "httpserver_memo.h"

struct lua_State;

#define LE_MIN_BODY_RATE 100000.0  /* bytes per second a body must arrive at, at least */
#define LE_LINGER_BYTES (1024 * 1024) /* what a closing connection reads and drops, at most (beyond a refused body) */

#define LE_KEPT_METHODS 8 /* http-parser's first eight methods: DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE */
enum { LE_METHOD_OPTIONS = 6 };
#define LE_KEPT_NAMES 24     /* header names a reuse_requests server keeps as Lua strings */
#define LE_KEPT_NAME_MAX 32  /* (each shorter than this) */      /* (in that numbering: httpserver_head.c) */
#define LE_NO_LENGTH UINT64_MAX      /* no Content-Length announced */

/* What a connection's next bytes are (httpserver_request.c). */
enum { LE_READ_HEAD, LE_READ_BODY, LE_READ_CHUNKS, LE_READ_TRAILERS };

/* The options of the server's own checks (httpserver_guard.h). */
typedef struct le_server_guard {
  int on;                 /* any of the others */
  long long uid;          /* -1: any */
  long long pid;          /* > 0: only the sockets of that process and its descendants (proctree.h) */
  char own_host[64];      /* "": any Host */
  char expected_host[80]; /* own_host ":" port, made at the first check ("" until then) */
  int no_browsers;
} le_server_guard;

typedef struct le_server {
  uv_tcp_t tcp;
  struct lua_State *L;
  int dispatch_ref, check_ref;
  int closed;
  int unrefd; /* neither the server nor its connections keep the loop alive */
  int refs;   /* the listening handle and each connection: freed at zero */
  int nconns, max_connections;
  size_t max_body;
  double timeout; /* seconds; 0: none */
  int peer_uid;   /* each request says which uid owns the client's socket (found also for guard.uid) */
  int reuse_requests; /* one request table per connection, emptied and refilled for each request */
  int stream_ref;     /* opts.stream: which chunked request bodies are streamed (httpserver_stream.h) */
  int bare;           /* dispatch(method, path, body, id): no request table */
  le_server_guard guard; /* the server's own checks (httpserver_guard.h) */
  le_check_memo memo;    /* the check's kept answer (httpserver_memo.h) */
  struct le_server *next_unserved; /* waiting for the spare handle (httpserver_conn.c) */
  struct le_server *next_server, *prev_server; /* every server not yet freed (le_servers) */
  struct sockaddr_storage local;   /* its connections' local address, when local_known */
  int local_known;                 /* it listens on one address (not a wildcard) */
  uv_check_t verdict;              /* after a poll: the verdict on the connections it parked */
  struct le_conn *parked_first, *parked_last; /* accepted beyond max_connections, awaiting it */
  int nparked;
  int method_refs[LE_KEPT_METHODS]; /* bare: the method strings pushed (registry references; LUA_NOREF: none yet) */
  int path_ref;                     /* bare: the last short path pushed, its bytes in path_bytes */
  size_t path_len;
  char path_bytes[40];
  /* reuse_requests: header names pushed as Lua strings, kept (the first LE_KEPT_NAMES
   * short ones met; registry references) */
  int name_refs[LE_KEPT_NAMES];
  unsigned char name_lens[LE_KEPT_NAMES];
  char name_bytes[LE_KEPT_NAMES][LE_KEPT_NAME_MAX];
  int nnames;
} le_server;

typedef struct le_conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the deadline of the request being read, or of an idle connection */
  int open_handles;
  int method;               /* the request's (httpserver_head.h) */
  int http_minor;           /* HTTP/1.x */
  uint64_t content_length;  /* announced (LE_NO_LENGTH: none) */
  int chunked, head_keep_alive; /* its body is chunked; it keeps the connection open */
  int framing;              /* what the next bytes are: LE_READ_* */
  uint64_t body_left;       /* LE_READ_BODY: the body's bytes still to come */
  struct phr_chunked_decoder chunks; /* LE_READ_CHUNKS: where the chunked body is */
  le_buffer partial;        /* a head or trailer section not arrived whole yet */
  le_server *srv;
  long id;
  le_buffer url, body, pending;
  le_buffer names, values; /* NUL-separated header names and values */
  size_t nheaders, head_bytes, body_limit;
  char too_large_type[64], too_large_message[192]; /* the check's refusal of a body over body_limit */
  int req_ref; /* the request table built when its headers were complete */
  int reuse_ref; /* with reuse_requests: the connection's request table (LUA_NOREF until its first) */
  le_buffer reused_names; /* with reuse_requests: its last request's header names (NUL-separated, lower case) */
  le_buffer reused_values; /* and their values (NUL-separated) */
  int reused_distinct;    /* those names are all different (a value alike then need not be set again) */
  int reuse_unknown;      /* those names could not be kept: the next request gets a new table */
  le_buffer reused_url;   /* and its request target (valid when reused_url_set), */
  int reused_url_set, reused_method; /* and its method: alike, they are in the table already */
  int busy, keep_alive, closing, refused, reading, in_message;
  int dispatching;          /* inside dispatch: a response given there does not feed (le_request_feed's loop does) */
  int writing, want_close; /* writes in flight; close once they are done (and the drain) */
  int answered_closing;     /* its last answer said Connection: close: what it sends now is dropped */
  uint64_t drain;           /* bytes a closing connection may still read and drop (0: close once written) */
  int shut_down, peer_eof;  /* our side shut down after the closing answer; the client closed its side */
  uv_shutdown_t shutdown_req;
  long long peer_uid;       /* the uid owning the client's socket (-1: unknown, peer_errno says why) */
  int peer_in_tree;         /* with guard.pid: the client's socket is held in that process tree */
  int peer_errno;
  int has_sink, sink_ref;   /* the request's body goes to a sink as it is read (httpserver_stream.h) */
  size_t head_fields, head_names, head_values; /* where the head's fields end in names and values (then trailers) */
  int streaming;            /* a response is being streamed (respond_start ... respond_end): 1 chunked, 2 raw (HTTP/1.0) */
  size_t queued;            /* bytes of its answers waiting in write requests (not yet taken by the socket) */
  long held_id;             /* the connection whose reading its queue holds (httpserver_stream.h; 0: none) */
  int held;                 /* its reading is held by a streamed answer's queue (httpserver_stream.h) */
  uint64_t deadline, timer_due; /* its deadline (loop milliseconds; 0: none) and when its timer fires */
  int parked;               /* accepted beyond max_connections: served or refused after the poll */
  struct le_conn *next_parked;
  struct le_conn *next, *prev; /* every live connection, for closing a server's */
  struct le_conn *hnext;       /* the chain of its bucket in the id table */
} le_conn;

/* The listener's callback (uv_listen's, the server in its data): a new connection, then
 * admitted (httpserver_admit.h): served, or beyond max_connections served or refused 503
 * after the poll; one there is no memory for is closed at once, and the listener goes on. */
void le_conn_accept(uv_stream_t *listener, int status);
/* For tests: the next n connections find no memory for themselves. */
void le_conn_fail_accepts(int n);
/* The connection serving request id, or NULL. */
le_conn *le_conn_find(long id);
/* Drops one reference to srv (the listening handle's or a connection's): freed at zero. */
void le_server_release(le_server *srv);
/* Every server made and not yet freed, from le_servers() along next_server (a new
 * server is added by le_server_track): its Lua state's close reaches them. */
void le_server_track(le_server *srv);
le_server *le_servers(void);
/* The Lua state L closes: every connection of its servers lets go of its references into
 * L now (closing ones too: their handles may be freed after L is gone), and is closed. */
void le_conn_let_go_of_state(struct lua_State *L);
/* Closes c (its handles; freed once both are closed); le_conn_reset with a TCP reset. */
void le_conn_close(le_conn *c);
void le_conn_reset(le_conn *c);
/* Closes, or unrefs, every connection of srv. */
void le_conn_close_all(le_server *srv);
void le_conn_unref_all(le_server *srv);
/* Arms the deadline of a request being read, seconds from now (none without a server
 * timeout); le_conn_arm_closing a closing one's: the linger (5 s, the server's timeout
 * when shorter) and extra seconds. */
void le_conn_arm(le_conn *c, double seconds);
/* Drops c's deadline while its request is answered (its timer, should it fire, does nothing). */
void le_conn_disarm(le_conn *c);
void le_conn_arm_closing(le_conn *c, double extra);
void le_conn_start_reading(le_conn *c);
void le_conn_stop_reading(le_conn *c);
/* Sends out (taken over), in order after what is queued; closes the connection
 * afterwards when asked. -1 when the connection closed instead. An answer written at
 * once leaves its buffer for the next: le_conn_answer_buffer() gives it (empty, or
 * {0}), to build an answer in. */
le_buffer le_conn_answer_buffer(void);
int le_conn_send(le_conn *c, le_buffer *out, int close_after);
/* After c's answer was queued: the next request's deadline and parse (keep-alive). */
void le_conn_answered(le_conn *c);
/* Closes c when it wants to and its writes are done (or starts its linger). */
void le_conn_maybe_close(le_conn *c);

#endif
