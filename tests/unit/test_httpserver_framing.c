/* How the server reads a request's bytes (httpserver_head.c, httpserver_request.c:
 * picohttpparser), with the loop turned by hand between a raw client's sends: requests sent
 * a byte at a time (a head, a body of announced length, a chunked body with an extension and
 * a trailer, each in as many reads as bytes) and the same requests pipelined in one send are
 * answered alike, in order; heads whose framing contradicts itself (Content-Length twice or
 * beside chunked, a Transfer-Encoding not ending in chunked, a folded line, a method
 * http-parser did not know) are refused 400 and never dispatched; a head that passes 64 KiB
 * only across many reads is refused 431; HTTP/1.0 closes after its answer unless it asks for
 * keep-alive. A connection's reused request table (reuse_requests) holds exactly the
 * current request's headers: the same names again with this request's values (some alike
 * the last one's, a name given twice), other names without the last one's, more names
 * than the server keeps as strings each read.
 * Nothing here asserts a duration: the loop is turned until the answer comes
 * (30 s at most, a hang detector). */
#include "loop_harness.h"
#include "client_socket.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

/* The server answers each request with its method, target and body; dispatched counts them. */
static int serve(lua_State *L) {
  harness_run_after(L, HARNESS_HTTP_LUA,
                    "dispatched = 0\n"
                    "server = listen(function(req, id)\n"
                    "  dispatched = dispatched + 1\n"
                    "  httpserver.respond(id, 200, {}, req.method .. ' ' .. req.target .. ' ' .. (req.body or ''))\n"
                    "end, { timeout = 300 })\n" /* (beyond read_until's 30 s: an idle close is never taken for an answer's) */
                    "return server:port()\n",
                    1);
  int port = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return port;
}

static lua_Integer dispatched(lua_State *L) {
  harness_run(L, "return tostring(dispatched)", 1);
  lua_Integer n = atol(harness_string(L, -1));
  lua_pop(L, 1);
  return n;
}

/* Closes the server, then its connections' handles (a reused request table's reference is
 * given back to the Lua state as they are freed: before it closes), then the state. */
static void stop(lua_State *L) {
  harness_run(L, "server:close() server = nil", 0);
  for (int i = 0; i < 4; i++) uv_run(le_loop(), UV_RUN_NOWAIT);
  harness_close(L);
}

/* Stops, after checking that the server dispatched no request at all. */
static void stop_none_dispatched(lua_State *L) {
  assert_int_equal(dispatched(L), 0);
  stop(L);
}

static int client(int port) {
  int fd = connect_to(port, 0);
  assert_true(fd >= 0);
  return fd;
}

/* Sends text, in pieces of `piece` bytes, the loop turned after each (so that the server
 * reads each piece on its own). */
static void send_in_pieces(int fd, const char *text, size_t piece) {
  size_t n = strlen(text);
  for (size_t at = 0; at < n; at += piece) {
    size_t k = n - at < piece ? n - at : piece;
    assert_int_equal(send(fd, text + at, k, MSG_NOSIGNAL), (ssize_t)k);
    uv_run(le_loop(), UV_RUN_NOWAIT);
  }
}

/* Reads what the server sends into buf until it contains want (or, want NULL, until the
 * server closes), the loop turned meanwhile; returns 1 when the server closed. */
static int read_until(int fd, char *buf, size_t size, const char *want) {
  size_t len = strlen(buf);
  for (int i = 0; i < 3000; i++) {
    if (want && strstr(buf, want)) return 0;
    uv_run(le_loop(), UV_RUN_NOWAIT);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10) != 1) continue;
    ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
    if (n <= 0) return 1;
    len += (size_t)n;
    buf[len] = '\0';
  }
  return 0;
}

#define THREE_REQUESTS                                                                     \
  "POST /a?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"                      \
  "PUT /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"                        \
  "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"                                      \
  "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"

/* The three answers, in order, in buf. */
static void three_answers_in_order(const char *buf) {
  const char *a = strstr(buf, "\r\n\r\nPOST /a?q=1 hello");
  const char *b = a ? strstr(a, "\r\n\r\nPUT /b abcde") : NULL;
  const char *c = b ? strstr(b, "\r\n\r\nGET /c ") : NULL;
  if (!c) fail_msg("answers: %s", buf);
}

static void requests_in_pieces_or_pipelined_are_read_alike(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int port = serve(L);
  static char buf[8192];
  for (size_t piece = 1; piece <= sizeof THREE_REQUESTS; piece = piece == 1 ? sizeof THREE_REQUESTS : piece + 1) {
    int fd = client(port);
    buf[0] = '\0';
    send_in_pieces(fd, THREE_REQUESTS, piece);
    read_until(fd, buf, sizeof buf, "GET /c ");
    three_answers_in_order(buf);
    close(fd);
  }
  assert_int_equal(dispatched(L), 6);
  stop(L);
}

static void a_head_whose_framing_contradicts_itself_is_refused(void **state) {
  (void)state;
  static const char *bad[] = {
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "GET /x HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n",
      "FETCH /x HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
  };
  lua_State *L = harness_open();
  int port = serve(L);
  static char buf[4096];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int fd = client(port);
    buf[0] = '\0';
    send_in_pieces(fd, bad[i], 4096);
    assert_int_equal(read_until(fd, buf, sizeof buf, NULL), 1); /* answered, then closed */
    if (strncmp(buf, "HTTP/1.1 400 ", 13) != 0) fail_msg("%s: %s", bad[i], buf);
    close(fd);
  }
  stop_none_dispatched(L);
}

static void a_head_past_its_limit_in_many_reads_is_refused_431(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int fd = client(serve(L));
  size_t n = 70 * 1024;
  char *head = malloc(n + 64);
  assert_non_null(head);
  int k = snprintf(head, 64, "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(head + k, 'v', n - (size_t)k);
  memcpy(head + n, "\r\n\r\n", 5);
  static char buf[4096];
  buf[0] = '\0';
  for (size_t at = 0; at < n + 4; at += 1000) { /* the server may refuse and close before the end */
    size_t piece = n + 4 - at < 1000 ? n + 4 - at : 1000;
    if (send(fd, head + at, piece, MSG_NOSIGNAL) < 0) break;
    uv_run(le_loop(), UV_RUN_NOWAIT);
  }
  free(head);
  read_until(fd, buf, sizeof buf, NULL);
  if (strncmp(buf, "HTTP/1.1 431 ", 13) != 0) fail_msg("answer: %.200s", buf);
  close(fd);
  stop_none_dispatched(L);
}

static void http_1_0_closes_unless_it_asks_for_keep_alive(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int port = serve(L);
  static char buf[4096];
  int fd = client(port);
  buf[0] = '\0';
  send_in_pieces(fd, "GET /old HTTP/1.0\r\n\r\n", 4096);
  assert_int_equal(read_until(fd, buf, sizeof buf, NULL), 1);
  assert_non_null(strstr(buf, "GET /old "));
  close(fd);
  fd = client(port);
  buf[0] = '\0';
  send_in_pieces(fd, "GET /one HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 4096);
  read_until(fd, buf, sizeof buf, "GET /one ");
  send_in_pieces(fd, "GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 4096);
  assert_int_equal(read_until(fd, buf, sizeof buf, "GET /two "), 0); /* answered on the same connection */
  close(fd);
  assert_int_equal(dispatched(L), 3);
  stop(L);
}

/* The reused table's headers, sorted ("name=value,..."), as each request's answer. */
static void a_reused_table_holds_exactly_the_current_headers(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run_after(L, HARNESS_HTTP_LUA,
                    "server = listen(function(req, id)\n"
                    "  local seen = {}\n"
                    "  for k, v in pairs(req.headers) do seen[#seen + 1] = k .. '=' .. v end\n"
                    "  table.sort(seen)\n"
                    "  httpserver.respond(id, 200, {}, '<' .. table.concat(seen, ',') .. '>')\n"
                    "end, { reuse_requests = true, timeout = 300 })\n"
                    "return server:port()\n",
                    1);
  int fd = client((int)lua_tointeger(L, -1));
  lua_pop(L, 1);
  static char many[4096], want[4096], buf[16384];
  size_t m = 0, w = 0;
  for (int i = 1; i <= 30; i++) m += (size_t)snprintf(many + m, sizeof many - m, "X-N%02d: v%d\r\n", i, i);
  for (int i = 1; i <= 30; i++) w += (size_t)snprintf(want + w, sizeof want - w, "%sx-n%02d=v%d", i > 1 ? "," : "<", i, i);
  snprintf(want + w, sizeof want - w, ">");
  struct { const char *head, *answer; } steps[] = {
      {"GET /1 HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\n\r\n", "<x-a=1,x-b=2>"},
      {"GET /2 HTTP/1.1\r\nX-A: 3\r\nX-B: 4\r\n\r\n", "<x-a=3,x-b=4>"}, /* the same names */
      {"GET /2b HTTP/1.1\r\nX-A: 3\r\nX-B: 9\r\n\r\n", "<x-a=3,x-b=9>"}, /* one value the same */
      {"GET /d HTTP/1.1\r\nX-D: 1\r\nX-D: 2\r\n\r\n", "<x-d=2>"},     /* a name twice: the last counts */
      {"GET /d2 HTTP/1.1\r\nX-D: 5\r\nX-D: 2\r\n\r\n", "<x-d=2>"},    /* (its last value alike) */
      {"GET /3 HTTP/1.1\r\nX-C: 5\r\n\r\n", "<x-c=5>"},
      {NULL, want}, /* 30 names: more than the server keeps */
      {"GET /5 HTTP/1.1\r\nX-N01: z\r\n\r\n", "<x-n01=z>"},
  };
  char head[4200];
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    if (!steps[i].head) snprintf(head, sizeof head, "GET /4 HTTP/1.1\r\n%s\r\n", many);
    send_in_pieces(fd, steps[i].head ? steps[i].head : head, sizeof head);
    buf[0] = '\0';
    read_until(fd, buf, sizeof buf, "\r\n\r\n<");
    read_until(fd, buf, sizeof buf, ">");
    const char *body = strstr(buf, "\r\n\r\n<");
    if (!body || strcmp(body + 4, steps[i].answer) != 0) fail_msg("request %zu: %s", i + 1, buf);
  }
  close(fd);
  stop(L);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(requests_in_pieces_or_pipelined_are_read_alike),
      cmocka_unit_test(a_head_whose_framing_contradicts_itself_is_refused),
      cmocka_unit_test(a_head_past_its_limit_in_many_reads_is_refused_431),
      cmocka_unit_test(http_1_0_closes_unless_it_asks_for_keep_alive),
      cmocka_unit_test(a_reused_table_holds_exactly_the_current_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
