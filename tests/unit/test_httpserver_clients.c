/* The HTTP server (httpserver.c) against clients on their own thread (blocking sockets,
 * outside the loop, which the scenario polls): thousands of pipelined requests answered
 * inside dispatch (no recursion per request), bytes that arrive after a closing answer
 * while it is still being written (dropped, never dispatched), a refusal or closing
 * answer read whole by a client still sending far more (no reset), a request read only
 * after its kept-alive connection's idle deadline expired (answered, no reset). Every
 * test ends with the loop closing with no handle left. */
#include "loop_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *PRELUDE = HARNESS_SERVER_LUA;

static void run_scenario(lua_State *L, const char *scenario, int nresults) {
  harness_run_after(L, PRELUDE, scenario, nresults);
}

/* Clients on their own thread (blocking sockets, outside the loop), which the loop's
 * scenario polls until they are done. */
typedef struct client_thread {
  uv_thread_t thread;
  int done;
} client_thread;

/* A connection to 127.0.0.1:port (-1: none); a server that stops answering fails the
 * test, not hangs it. */
static int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval patience = {.tv_sec = 60};
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static void client_finished(client_thread *t, int fd) {
  if (fd >= 0) close(fd);
  __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
}

static int client_start(lua_State *L, client_thread *t, void (*run)(void *), void *arg) {
  if (uv_thread_create(&t->thread, run, arg) != 0) return luaL_error(L, "no thread");
  return 0;
}

/* Whether the client is done (then joined). */
static int client_joined(client_thread *t) {
  if (!__atomic_load_n(&t->done, __ATOMIC_SEQ_CST)) return 0;
  uv_thread_join(&t->thread);
  return 1;
}

/* A Lua state whose scenario starts a client with start_client(port, ...) and polls
 * client_result() (nothing while the client runs). */
static lua_State *open_with_client(lua_CFunction start, lua_CFunction result) {
  lua_State *L = harness_open();
  lua_register(L, "start_client", start);
  lua_register(L, "client_result", result);
  return L;
}

/* A client on its own thread (blocking sockets, outside the loop): sends n requests
 * GET /1 .. GET /n in one write (pipelined) and reads until n answers came or the
 * connection ended; the loop's scenario polls client_result() for the bodies. */
typedef struct pipelined {
  client_thread t;
  int port, n, answers;
  char order_ok;
} pipelined;
static pipelined pipe_client;

static void pipelined_client(void *arg) {
  pipelined *p = arg;
  p->order_ok = 1;
  int fd = connect_loopback(p->port);
  if (fd >= 0) {
    size_t cap = (size_t)p->n * 64, len = 0;
    char *out = malloc(cap);
    for (int i = 1; i <= p->n; i++) len += (size_t)snprintf(out + len, cap - len, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    for (size_t sent = 0; sent < len;) {
      ssize_t w = write(fd, out + sent, len - sent);
      if (w <= 0) break;
      sent += (size_t)w;
    }
    free(out);
    /* every answer's body is "GET /i": count them and check they come in order */
    char buf[65536], want[32];
    size_t have = 0;
    while (p->answers < p->n) {
      ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
      if (r <= 0) break;
      have += (size_t)r;
      buf[have] = '\0';
      for (;;) {
        snprintf(want, sizeof want, "GET /%d", p->answers + 1);
        char *body = strstr(buf, "\r\n\r\nGET /");
        if (!body) break;
        char *end = body + 4 + strcspn(body + 4, "H"); /* up to the next answer's status line */
        if (!*end && (size_t)(end - (body + 4)) < strlen(want)) break; /* its body may still be arriving */
        if (strncmp(body + 4, want, strlen(want)) != 0 || (end - (body + 4)) != (long)strlen(want)) p->order_ok = 0;
        p->answers++;
        have -= (size_t)(end - buf);
        memmove(buf, end, have + 1);
      }
    }
  }
  client_finished(&p->t, fd);
}

static int l_start_pipelined(lua_State *L) {
  pipe_client = (pipelined){.port = (int)luaL_checkinteger(L, 1), .n = (int)luaL_checkinteger(L, 2)};
  return client_start(L, &pipe_client.t, pipelined_client, &pipe_client);
}

/* nil while the client runs; then its answers and whether they came in order. */
static int l_pipelined_result(lua_State *L) {
  if (!client_joined(&pipe_client.t)) return 0;
  lua_pushinteger(L, pipe_client.answers);
  lua_pushboolean(L, pipe_client.order_ok);
  return 2;
}

static void pipelined_requests_answered_in_dispatch_do_not_recurse(void **state) {
  (void)state;
  lua_State *L = open_with_client(l_start_pipelined, l_pipelined_result);
  /* 3,000 requests in one write: answered inside dispatch, each would have fed the
   * next from respond, one C and Lua frame deeper (Lua's C stack ends near 200) */
  run_scenario(L,
               "return loop.run(function()\n"
               "  local dispatched = 0\n"
               "  local s = listen(function(req, id)\n"
               "    dispatched = dispatched + 1\n"
               "    answer(req, id)\n"
               "  end)\n"
               "  start_client(s:port(), 3000)\n"
               "  local answers, in_order\n"
               "  repeat loop.sleep(0.01) answers, in_order = client_result() until answers\n"
               "  s:close()\n"
               "  return answers, in_order, dispatched, #reported\n"
               "end)\n",
               4);
  assert_int_equal(lua_tointeger(L, -4), 3000);
  assert_true(lua_toboolean(L, -3));
  assert_int_equal(lua_tointeger(L, -2), 3000);
  assert_int_equal(lua_tointeger(L, -1), 0);
  harness_close(L);
}

/* A client on its own thread: one request with Connection: close; once the first bytes
 * of the answer are in, it writes more (while the server is still writing an answer
 * larger than the socket's buffer, so before its write callback closes), then reads
 * to the end. Records the body length the answer announced and the bytes it got. */
typedef struct closing {
  client_thread t;
  int port;
  long announced, body_bytes;
} closing;
static closing close_client;

static void closing_client(void *arg) {
  closing *p = arg;
  p->announced = p->body_bytes = -1;
  int fd = connect_loopback(p->port);
  static const char first[] = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static const char more[] = "GET /more HTTP/1.1\r\nHost: x\r\n\r\n";
  if (fd >= 0 && write(fd, first, sizeof first - 1) == (ssize_t)(sizeof first - 1)) {
    static char buf[65536];
    long total = 0, head = -1;
    int wrote_more = 0;
    for (;;) {
      ssize_t r = read(fd, buf, head < 0 ? sizeof buf - 1 : sizeof buf);
      if (r <= 0) break;
      if (head < 0) { /* the first read holds the head: the answer is short of 64 KB's head */
        buf[r] = '\0';
        char *cl = strstr(buf, "Content-Length: "), *end = strstr(buf, "\r\n\r\n");
        if (cl && end) {
          p->announced = strtol(cl + 16, NULL, 10);
          head = (long)(end + 4 - buf);
        }
      }
      total += r;
      if (!wrote_more) {
        wrote_more = 1;
        if (write(fd, more, sizeof more - 1) != (ssize_t)(sizeof more - 1)) break;
      }
    }
    if (head >= 0) p->body_bytes = total - head;
  }
  client_finished(&p->t, fd);
}

static int l_start_closing(lua_State *L) {
  close_client = (closing){.port = (int)luaL_checkinteger(L, 1)};
  return client_start(L, &close_client.t, closing_client, &close_client);
}

static int l_closing_result(lua_State *L) {
  if (!client_joined(&close_client.t)) return 0;
  lua_pushinteger(L, close_client.announced);
  lua_pushinteger(L, close_client.body_bytes);
  return 2;
}

static void bytes_after_a_closing_answer_are_dropped_not_dispatched(void **state) {
  (void)state;
  lua_State *L = open_with_client(l_start_closing, l_closing_result);
  /* 16 MB: more than a loopback socket takes at once, so the answer is still being
   * written (its write callback, which closes, not yet run) when the client's next
   * bytes are read; the paused parser dispatched the old request again, as nil */
  run_scenario(L,
               "return loop.run(function()\n"
               "  local big = string.rep('z', 16 * 1024 * 1024)\n"
               "  local dispatched = 0\n"
               "  local s = listen(function(req, id)\n"
               "    dispatched = dispatched + 1\n"
               "    httpserver.respond(id, 200, {}, big)\n"
               "  end)\n"
               "  start_client(s:port())\n"
               "  local announced, got\n"
               "  repeat loop.sleep(0.01) announced, got = client_result() until announced\n"
               "  s:close()\n"
               "  return announced, got, dispatched, #reported\n"
               "end)\n",
               4);
  assert_int_equal(lua_tointeger(L, -4), 16 * 1024 * 1024);
  assert_int_equal(lua_tointeger(L, -3), 16 * 1024 * 1024);
  assert_int_equal(lua_tointeger(L, -2), 1);
  assert_int_equal(lua_tointeger(L, -1), 0);
  harness_close(L);
}

/* A client on its own thread whose request is answered and closed while it is still
 * sending: one write of its first request (the scenario's) and, after it, a pipelined
 * request with a 512 KB body, through a small send buffer (so the bytes wait on the client until the server
 * reads them), then it reads to the end. Records whether every byte went, the answer's
 * status and body, and how the connection ended: "eof", or the error (a server that closes
 * with the rest unread resets it, and the client loses the answer or its sending fails). */
typedef struct refused {
  client_thread t;
  int port, sent_all, status;
  char first[128], body[128], ended[64];
} refused;
static refused refused_client;

static void refused_sender(void *arg) {
  refused *p = arg;
  snprintf(p->ended, sizeof p->ended, "no connection");
  int fd = connect_loopback(p->port);
  if (fd >= 0) {
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    enum { EXTRA = 512 * 1024 };
    static char out[EXTRA + 256];
    int n = snprintf(out, sizeof out, "%sPUT /next HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", p->first, EXTRA);
    memset(out + n, 'x', EXTRA);
    size_t len = (size_t)n + EXTRA, sent = 0;
    while (sent < len) {
      ssize_t w = send(fd, out + sent, len - sent, MSG_NOSIGNAL);
      if (w <= 0) break;
      sent += (size_t)w;
    }
    p->sent_all = sent == len;
    static char in[4096];
    size_t have = 0;
    ssize_t r = 1;
    while (have < sizeof in - 1 && (r = read(fd, in + have, sizeof in - 1 - have)) > 0) have += (size_t)r;
    in[have] = '\0';
    snprintf(p->ended, sizeof p->ended, "%s", r == 0 ? "eof" : r > 0 ? "an answer too long" : strerror(errno));
    sscanf(in, "HTTP/1.1 %d", &p->status);
    const char *body = strstr(in, "\r\n\r\n");
    snprintf(p->body, sizeof p->body, "%s", body ? body + 4 : "");
  }
  client_finished(&p->t, fd);
}

static int l_start_refused(lua_State *L) {
  refused_client = (refused){.port = (int)luaL_checkinteger(L, 1)};
  snprintf(refused_client.first, sizeof refused_client.first, "%s", luaL_checkstring(L, 2));
  return client_start(L, &refused_client.t, refused_sender, &refused_client);
}

static int l_refused_result(lua_State *L) {
  if (!client_joined(&refused_client.t)) return 0;
  lua_pushboolean(L, refused_client.sent_all);
  lua_pushinteger(L, refused_client.status);
  lua_pushstring(L, refused_client.body);
  lua_pushstring(L, refused_client.ended);
  return 4;
}

/* The client sends the first request and far more after it; the scenario's server refuses
 * /refuse in its check and answers the rest. Every byte must go, the answer arrive whole
 * (status, body), the connection end cleanly, and so many requests be dispatched. */
static void check_sender(const char *first, int status, const char *body, int dispatched) {
  lua_State *L = open_with_client(l_start_refused, l_refused_result);
  lua_pushstring(L, first);
  lua_setglobal(L, "FIRST");
  run_scenario(L,
               "return loop.run(function()\n"
               "  local dispatched = 0\n"
               "  local s = listen(function(req, id) dispatched = dispatched + 1 answer(req, id) end,\n"
               "    { timeout = 30, check = function(req)\n"
               "      if req.path == '/refuse' then return 403, {}, 'refused whole' end\n"
               "    end })\n"
               "  start_client(s:port(), FIRST)\n"
               "  local sent_all, status, body, ended\n"
               "  repeat loop.sleep(0.01) sent_all, status, body, ended = client_result() until ended\n"
               "  s:close()\n"
               "  return sent_all, status, body, ended, dispatched\n"
               "end)\n",
               5);
  assert_true(lua_toboolean(L, -5));
  assert_int_equal(lua_tointeger(L, -4), status);
  assert_string_equal(harness_string(L, -3), body);
  assert_string_equal(harness_string(L, -2), "eof");
  assert_int_equal(lua_tointeger(L, -1), dispatched);
  harness_close(L);
}

/* A refusal is read whole even when the client sends far more than the refused body (the
 * server closed after the body: the rest unread, the close reset the connection). */
static void a_refusal_reaches_a_client_that_sends_more_than_its_body(void **state) {
  (void)state;
  check_sender("PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", 403, "refused whole", 0);
}

/* Likewise a Connection: close answer: the server closed once it was written, with the
 * pipelined request behind it unread. */
static void a_closing_answer_reaches_a_client_still_sending(void **state) {
  (void)state;
  check_sender("GET /closing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "GET /closing", 1);
}

/* A keep-alive client on its own thread: GET /first, its answer read whole, then GET
 * /second (Connection: close) on the same connection, read to the end. sent counts the
 * requests written, for block_until_sent. Records both statuses and how it ended. */
typedef struct reused {
  client_thread t;
  int port, sent, first_status, second_status;
  char ended[64];
} reused;
static reused reused_client;

/* Reads one answer (its head and Content-Length body, or up to the end); -> its status. */
static int read_answer(int fd, char *in, size_t cap, ssize_t *last) {
  size_t have = 0;
  int status = 0;
  *last = 1;
  while (have < cap - 1 && (*last = read(fd, in + have, cap - 1 - have)) > 0) {
    have += (size_t)*last;
    in[have] = '\0';
    const char *end = strstr(in, "\r\n\r\n"), *cl = strstr(in, "Content-Length: ");
    if (end && cl && have >= (size_t)(end + 4 - in) + strtoul(cl + 16, NULL, 10)) break;
  }
  in[have] = '\0';
  sscanf(in, "HTTP/1.1 %d", &status);
  return status;
}

static void reused_sender(void *arg) {
  reused *p = arg;
  snprintf(p->ended, sizeof p->ended, "no connection");
  int fd = connect_loopback(p->port);
  static const char first[] = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
  static const char second[] = "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (fd >= 0) {
    char in[4096];
    ssize_t last;
    int wrote = write(fd, first, sizeof first - 1) == (ssize_t)(sizeof first - 1);
    __atomic_store_n(&p->sent, 1, __ATOMIC_SEQ_CST);
    if (wrote) p->first_status = read_answer(fd, in, sizeof in, &last);
    wrote = wrote && write(fd, second, sizeof second - 1) == (ssize_t)(sizeof second - 1);
    __atomic_store_n(&p->sent, 2, __ATOMIC_SEQ_CST);
    if (wrote) {
      p->second_status = read_answer(fd, in, sizeof in, &last);
      while (last > 0) last = read(fd, in, sizeof in); /* to the end */
      snprintf(p->ended, sizeof p->ended, "%s", last == 0 ? "eof" : strerror(errno));
    } else {
      snprintf(p->ended, sizeof p->ended, "write: %s", strerror(errno));
    }
  }
  client_finished(&p->t, fd);
}

/* reused_client(port) starts the client; reused_client() then gives nothing while it
 * runs, then both statuses and how the connection ended. */
static int l_reused_client(lua_State *L) {
  reused *p = &reused_client;
  if (!lua_isnoneornil(L, 1)) {
    *p = (reused){.port = (int)luaL_checkinteger(L, 1)};
    return client_start(L, &p->t, reused_sender, p);
  }
  if (!client_joined(&p->t)) return 0;
  lua_pushinteger(L, p->first_status);
  lua_pushinteger(L, p->second_status);
  lua_pushstring(L, p->ended);
  return 3;
}

/* block_until_sent(n, seconds): blocks the loop until the client has written n requests
 * (at most a minute), then for seconds more. */
static int l_block_until_sent(lua_State *L) {
  int n = (int)luaL_checkinteger(L, 1);
  struct timespec nap = {.tv_nsec = 1000000};
  for (int i = 0; i < 60000 && __atomic_load_n(&reused_client.sent, __ATOMIC_SEQ_CST) < n; i++) nanosleep(&nap, NULL);
  double seconds = luaL_checknumber(L, 2);
  struct timespec more = {.tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&more, NULL);
  return 0;
}

/* A request that arrives on a kept-alive connection in time, but is read only after its
 * idle deadline has expired (the loop was busy: libuv runs expired timers before the poll
 * that would read it), is answered, not reset. The loop is blocked while the client sends:
 * first (request 1, before the accept), then in /first's dispatch, from its answer (which
 * arms the 0.05 s idle deadline) until 0.2 s after request 2 was written. */
static void a_request_read_after_its_idle_deadline_is_answered(void **state) {
  (void)state;
  lua_State *L = harness_open();
  lua_register(L, "reused_client", l_reused_client);
  lua_register(L, "block_until_sent", l_block_until_sent);
  run_scenario(L,
               "return loop.run(function()\n"
               "  local dispatched = 0\n"
               "  local s = listen(function(req, id)\n"
               "    dispatched = dispatched + 1\n"
               "    answer(req, id)\n"
               "    if req.target == '/first' then block_until_sent(2, 0.2) end\n"
               "  end, { timeout = 0.05 })\n"
               "  reused_client(s:port())\n"
               "  block_until_sent(1, 0)\n"
               "  local first, second, ended\n"
               "  repeat loop.sleep(0.01) first, second, ended = reused_client() until ended\n"
               "  s:close()\n"
               "  return first, second, ended, dispatched, #reported\n"
               "end)\n",
               5);
  assert_int_equal(lua_tointeger(L, -5), 200);
  assert_string_equal(harness_string(L, -3), "eof");
  assert_int_equal(lua_tointeger(L, -4), 200);
  assert_int_equal(lua_tointeger(L, -2), 2);
  assert_int_equal(lua_tointeger(L, -1), 0);
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipelined_requests_answered_in_dispatch_do_not_recurse),
      cmocka_unit_test(bytes_after_a_closing_answer_are_dropped_not_dispatched),
      cmocka_unit_test(a_refusal_reaches_a_client_that_sends_more_than_its_body),
      cmocka_unit_test(a_closing_answer_reaches_a_client_still_sending),
      cmocka_unit_test(a_request_read_after_its_idle_deadline_is_answered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
