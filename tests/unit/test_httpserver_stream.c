/* A streamed answer's backpressure (httpserver_stream.h): a runtime's 16 MiB chunked
 * body, passed by its sink chunk by chunk to a client that does not read (a 4 KiB
 * window), is not queued whole for that client: once more than LE_STREAM_MAX_QUEUED
 * bytes wait, the runtime's connection is held (read no more), and the queue stays
 * within that bound and one read. Then the client reads: the runtime's connection reads
 * on, and the client gets the whole body, in order (each 4-byte word its own index),
 * and the runtime its 202. Nothing here asserts a duration: the server's own counters
 * (httpserver.stream_stats) are polled until the hold is seen or the runtime's body was
 * read whole (the unbounded queue), 30 s at most as a hang detector. */
#include "loop_harness.h"
#include "client_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "httpserver_stream.h"

#define BODY_BYTES (16u * 1024 * 1024)
#define PIECE_BYTES (64u * 1024)

/* /url starts a streamed answer; a streamed /runtime body goes to it by its sink, and,
 * complete, is answered 202 and ends /url's answer. */
static const char *PRELUDE =
    HARNESS_HTTP_LUA
    "local url_id, runtime_done = nil, false\n"
    "local function sink(piece) httpserver.respond_chunk(url_id, piece) end\n"
    "local function serve(req, id)\n"
    "  if req.path == '/url' then\n"
    "    url_id = id\n"
    "    httpserver.respond_start(id, 200, { ['Content-Type'] = 'application/octet-stream' })\n"
    "  elseif req.streamed then\n"
    "    httpserver.respond(id, 202, {}, '')\n"
    "    httpserver.respond_end(url_id)\n"
    "    runtime_done = true\n"
    "  else httpserver.respond(id, 404, {}, '') end\n"
    "end\n"
    "local function stream(req) if req.path == '/runtime' then return sink end end\n";

typedef struct peer {
  uv_thread_t thread;
  int port, phase, release; /* reader's phase: 1 asked, 2 done; runtime's: 1 done */
  char result[160];
} peer;
static peer reader, runtime;

static int send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Word k (big-endian) at byte 4k of the body. */
static void fill_piece(unsigned char *p, size_t offset) {
  for (size_t i = 0; i < PIECE_BYTES; i += 4) {
    uint32_t k = (uint32_t)((offset + i) / 4);
    p[i] = (unsigned char)(k >> 24), p[i + 1] = (unsigned char)(k >> 16);
    p[i + 2] = (unsigned char)(k >> 8), p[i + 3] = (unsigned char)k;
  }
}

/* The runtime: a chunked POST of BODY_BYTES in 64 KiB chunks, then its answer's status line. */
static void runtime_thread(void *arg) {
  peer *p = arg;
  static unsigned char piece[PIECE_BYTES];
  int fd = connect_to(p->port, 0);
  const char *head = "POST /runtime HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  int bad = fd < 0 || send_all(fd, head, strlen(head));
  for (size_t off = 0; !bad && off < BODY_BYTES; off += PIECE_BYTES) {
    char size[16];
    int n = snprintf(size, sizeof size, "%x\r\n", PIECE_BYTES);
    fill_piece(piece, off);
    bad = send_all(fd, size, (size_t)n) || send_all(fd, (char *)piece, PIECE_BYTES) || send_all(fd, "\r\n", 2);
  }
  char answer[64] = "";
  if (!bad && send_all(fd, "0\r\n\r\n", 5) == 0) (void)!recv(fd, answer, sizeof answer - 1, 0);
  snprintf(p->result, sizeof p->result, "%.12s", bad ? "send failed" : answer);
  if (fd >= 0) close(fd);
  __atomic_store_n(&p->phase, 1, __ATOMIC_SEQ_CST);
}

/* What is wrong with a chunked answer's body (NULL: BODY_BYTES of words in order). */
static const char *check_body(const char *raw, size_t len) {
  const char *at = strstr(raw, "\r\n\r\n");
  if (strncmp(raw, "HTTP/1.1 200", 12) != 0 || !at) return "not a 200 with a head";
  const char *end = raw + len;
  size_t got = 0;
  for (at += 4; at < end;) {
    char *after;
    unsigned long size = strtoul(at, &after, 16);
    if (after + 2 > end || after[0] != '\r') return "a chunk's size line is broken";
    if (size == 0) return got == BODY_BYTES ? NULL : "the body is short";
    const unsigned char *d = (const unsigned char *)after + 2;
    if ((const char *)d + size + 2 > end) return "the body is cut short";
    for (size_t i = 0; i < size; i++, got++)
      if (d[i] != (unsigned char)((uint32_t)(got / 4) >> (8 * (3 - got % 4)))) return "a byte is out of order";
    at = (const char *)d + size + 2;
  }
  return "no last chunk";
}

/* The client: asks for /url, reads nothing until released, then everything to the end. */
static void reader_thread(void *arg) {
  peer *p = arg;
  int fd = connect_to(p->port, 1);
  const char *ask = "GET /url HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  int bad = fd < 0 || send_all(fd, ask, strlen(ask));
  __atomic_store_n(&p->phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&p->release, __ATOMIC_SEQ_CST) < 1) {
    struct timespec ms = {.tv_nsec = 1000000};
    nanosleep(&ms, NULL);
  }
  size_t cap = BODY_BYTES + BODY_BYTES / 8, len = 0;
  char *raw = bad ? NULL : malloc(cap + 1);
  ssize_t n = 0;
  while (raw && len < cap && (n = recv(fd, raw + len, cap - len, 0)) > 0) len += (size_t)n;
  if (raw) raw[len] = '\0';
  const char *wrong = !raw ? "no connection" : check_body(raw, len);
  snprintf(p->result, sizeof p->result, "%s", wrong ? wrong : "whole, in order");
  free(raw);
  if (fd >= 0) close(fd);
  __atomic_store_n(&p->phase, 2, __ATOMIC_SEQ_CST);
}

static int start(lua_State *L, peer *p, void (*fn)(void *)) {
  *p = (peer){.port = (int)luaL_checkinteger(L, 1)};
  if (uv_thread_create(&p->thread, fn, p) != 0) return luaL_error(L, "no thread");
  return 0;
}
static int l_start_reader(lua_State *L) { return start(L, &reader, reader_thread); }
static int l_start_runtime(lua_State *L) { return start(L, &runtime, runtime_thread); }
static int l_release_reader(lua_State *L) {
  (void)L;
  __atomic_store_n(&reader.release, 1, __ATOMIC_SEQ_CST);
  return 0;
}
static int l_phases(lua_State *L) {
  lua_pushinteger(L, __atomic_load_n(&reader.phase, __ATOMIC_SEQ_CST));
  lua_pushinteger(L, __atomic_load_n(&runtime.phase, __ATOMIC_SEQ_CST));
  return 2;
}

static void a_client_that_does_not_read_holds_the_runtime_and_then_gets_the_whole_body(void **state) {
  (void)state;
  lua_State *L = harness_open();
  static const luaL_Reg peers[] = {{"start_reader", l_start_reader}, {"start_runtime", l_start_runtime},
                                   {"release_reader", l_release_reader}, {"phases", l_phases}, {NULL, NULL}};
  lua_pushglobaltable(L);
  luaL_setfuncs(L, peers, 0);
  lua_pop(L, 1);
  harness_run_after(L, PRELUDE,
                    "return loop.run(function()\n"
                    "  local s = listen(serve, { stream = stream })\n"
                    "  local give_up = loop.now() + 30\n"
                    "  start_reader(s:port())\n"
                    "  while not url_id and loop.now() < give_up do loop.sleep(0.01) end\n"
                    "  start_runtime(s:port())\n"
                    "  while httpserver.stream_stats().held == 0 and not runtime_done and loop.now() < give_up do\n"
                    "    loop.sleep(0.01)\n"
                    "  end\n"
                    "  local unread = httpserver.stream_stats()\n"
                    "  release_reader()\n"
                    "  while select(1, phases()) < 2 or select(2, phases()) < 1 do loop.sleep(0.01) end\n"
                    "  s:close()\n"
                    "  local after = httpserver.stream_stats()\n"
                    "  return unread.held, unread.holds, unread.queued_peak, after.held, after.holds, after.queued_peak\n"
                    "end)\n",
                    6);
  uv_thread_join(&reader.thread);
  uv_thread_join(&runtime.thread);
  if (!lua_isinteger(L, -6)) fail_msg("the scenario returned %s", harness_string(L, -6));
  long long held = lua_tointeger(L, -6), holds = lua_tointeger(L, -5), peak = lua_tointeger(L, -4);
  long long held_after = lua_tointeger(L, -3), holds_after = lua_tointeger(L, -2), peak_after = lua_tointeger(L, -1);
  print_message("unread: held %lld, %lld bytes queued at most; read: %lld holds in all, %lld bytes queued at most\n", held,
                peak, holds_after, peak_after);
  if (held != 1 || holds < 1)
    fail_msg("the client did not read and the runtime's connection was not held (held %lld, holds %lld, %lld bytes queued)",
             held, holds, peak);
  if (peak_after > LE_STREAM_MAX_QUEUED + 64 * 1024 + 4096)
    fail_msg("%lld bytes were queued for the client, more than %d and a read", peak_after, LE_STREAM_MAX_QUEUED);
  assert_int_equal(held_after, 0);
  assert_string_equal(reader.result, "whole, in order");
  assert_string_equal(runtime.result, "HTTP/1.1 202");
  harness_close(L);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_client_that_does_not_read_holds_the_runtime_and_then_gets_the_whole_body),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
