/* The server's count of open connections (server:connections(), what max_connections
 * counts) after clients that go away in every state a connection has: idle, in the middle
 * of a head or a body, while a request is dispatched (kept-alive or closing), with its
 * answer unread, after a refusal by the check or of a malformed request, pipelined,
 * beyond max_connections (refused 503), after the server's own deadlines (a head too
 * slow: 408; idle); each both closed (FIN) and reset (SO_LINGER 0). The count returns to
 * 0 and max_connections clients at once are then all served. And a client that keeps its
 * connection open without ever reading, a refusal queued behind an answer larger than the
 * sockets hold: the server ends it at the refusal's deadline, so it cannot hold its place
 * against max_connections for as long as it likes. Connections the server has no memory
 * for (le_conn_fail_accepts), several at once: each closed, the listener serving the next
 * one (and the loop closing with no handle left). Nothing here asserts a duration: the
 * count is polled until it is what it should be (30 s at most, a hang detector).
 * A connection stops counting once its close begins: a client that ended its connection
 * and a new client, both seen in one poll (the end first), at max_connections = 1: the
 * new one is served, not refused 503 (the loop turned by hand, one poll at a time).
 * A deadline moved later (the head's, then its body's, at 100 KB/s) holds: a body sent
 * after the head's deadline has passed, long before the body's, is read and answered. */
#include "loop_harness.h"
#include "client_socket.h"

#include "httpserver_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 8

/* /hold answers after 50 ms (from a task, as the local target's workers do); /big with
 * 16 MiB (more than the client's 4 KiB window and the server's 4 MiB send buffer at most
 * hold); the check refuses /refuse. settled(s, n): polls until s has n connections open
 * (true), or 30 s have passed (then the count). */
static const char *PRELUDE =
    HARNESS_HTTP_LUA
    "local bigs = 0\n"
    "local function serve(req, id)\n"
    "  if req.path == '/hold' then\n"
    "    loop.spawn(function() loop.sleep(0.05) httpserver.respond(id, 200, {}, 'held') end)\n"
    "  elseif req.path == '/big' then\n"
    "    bigs = bigs + 1\n"
    "    httpserver.respond(id, 200, {}, string.rep('b', 16 * 1024 * 1024))\n"
    "  else httpserver.respond(id, 200, {}, 'ok') end\n"
    "end\n"
    "local function refuse(req) if req.path == '/refuse' then return 403, {}, 'no' end end\n"
    "local function settled(s, n)\n"
    "  local give_up = loop.now() + 30\n"
    "  repeat\n"
    "    if s:connections() == n then return true end\n"
    "    loop.sleep(0.01)\n"
    "  until loop.now() > give_up\n"
    "  return s:connections()\n"
    "end\n";

typedef struct aborting {
  uv_thread_t thread;
  int port, phase, release; /* phase: 1 the aborts are done, 2 the unread one is open, 3 done;
                             * release: 1 the unread one may start, 2 it may end */
} aborting;
static aborting client;

static void pause_ms(long ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

/* Ends fd: closed (FIN), or reset (SO_LINGER 0: RST). */
static void end_connection(int fd, int reset) {
  if (fd < 0) return;
  if (reset) {
    struct linger now = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  }
  close(fd);
}

static void send_text(int fd, const char *text) {
  size_t n = strlen(text);
  if (fd >= 0) (void)send(fd, text, n, MSG_NOSIGNAL); /* the server may have ended it: that is one of the states */
}

/* Reads until the server ends the connection (its deadline). */
static void read_to_end(int fd) {
  char buf[4096];
  while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
  }
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: x\r\n" extra "\r\n"

/* One connection in each state, then ended (reset or not). */
static void abort_in_every_state(int port, int reset) {
  static const char *sent_then_ended[] = {
      "",                                                             /* idle */
      "GET /x HTTP/1.1\r\nHo",                                        /* half a head */
      "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n12345", /* half a body */
      GET("/hold", ""),                                               /* while dispatched */
      GET("/hold", "Connection: close\r\n"),                          /* while dispatched, closing */
      GET("/x", ""),                                                  /* its answer unread */
      GET("/big", "Connection: close\r\n"),                           /* a closing answer being written */
      "PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc", /* refused, its body draining */
      "NONSENSE\r\n\r\n",                                             /* malformed: 400 */
      GET("/hold", "") GET("/hold", "") GET("/hold", ""),             /* pipelined */
  };
  for (size_t i = 0; i < sizeof sent_then_ended / sizeof *sent_then_ended; i++) {
    int fd = connect_to(port, 1);
    send_text(fd, sent_then_ended[i]);
    pause_ms(10);
    end_connection(fd, reset);
  }
  /* beyond max_connections: the last two are refused (503) and ended in their linger */
  int many[MAX_CONNECTIONS + 2];
  for (int i = 0; i < MAX_CONNECTIONS + 2; i++) {
    many[i] = connect_to(port, 0);
    send_text(many[i], GET("/hold", ""));
  }
  pause_ms(10);
  for (int i = 0; i < MAX_CONNECTIONS + 2; i++) end_connection(many[i], reset);
  /* the server's deadlines: a head too slow (408), then an idle connection */
  int slow = connect_to(port, 0);
  send_text(slow, "GET /x HTTP/1.1\r\n");
  read_to_end(slow);
  end_connection(slow, reset);
  int idle = connect_to(port, 0);
  read_to_end(idle);
  end_connection(idle, reset);
}

static void aborting_client(void *arg) {
  aborting *p = arg;
  abort_in_every_state(p->port, 0);
  abort_in_every_state(p->port, 1);
  __atomic_store_n(&p->phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&p->release, __ATOMIC_SEQ_CST) < 1) pause_ms(1); /* the scenario always releases it */
  /* never read: the 16 MiB answer stays queued, and the refusal of what follows behind it */
  int fd = connect_to(p->port, 1);
  send_text(fd, GET("/big", "") "NONSENSE\r\n\r\n");
  __atomic_store_n(&p->phase, 2, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&p->release, __ATOMIC_SEQ_CST) < 2) pause_ms(1); /* not before the count is known */
  end_connection(fd, 0);
  __atomic_store_n(&p->phase, 3, __ATOMIC_SEQ_CST);
}

/* start_client(port); client_phase() -> phase; release_client(): the client's next step. */
static int l_start_client(lua_State *L) {
  client = (aborting){.port = (int)luaL_checkinteger(L, 1)};
  if (uv_thread_create(&client.thread, aborting_client, &client) != 0) return luaL_error(L, "no thread");
  return 0;
}

static int l_client_phase(lua_State *L) {
  int phase = __atomic_load_n(&client.phase, __ATOMIC_SEQ_CST);
  if (phase == 3) uv_thread_join(&client.thread);
  lua_pushinteger(L, phase);
  return 1;
}

static int l_release_client(lua_State *L) {
  (void)L;
  __atomic_add_fetch(&client.release, 1, __ATOMIC_SEQ_CST);
  return 0;
}

static void the_count_of_open_connections_returns_to_zero_after_every_abort(void **state) {
  (void)state;
  lua_State *L = harness_open();
  lua_register(L, "start_client", l_start_client);
  lua_register(L, "client_phase", l_client_phase);
  lua_register(L, "release_client", l_release_client);
  harness_run_after(L, PRELUDE,
                    "return loop.run(function()\n"
                    "  local s, url = listen(serve, { check = refuse, max_connections = 8, timeout = 0.2 })\n"
                    "  start_client(s:port())\n"
                    "  while client_phase() < 1 do loop.sleep(0.01) end\n"
                    "  local after_aborts = settled(s, 0)\n"
                    "  release_client()\n"
                    "  if after_aborts ~= true then release_client() s:close() return after_aborts, true, '' end\n"
                    "  while bigs < 3 do loop.sleep(0.01) end\n" /* the unread one's 16 MiB answer is queued */
                    "  local while_unread = settled(s, 0)\n" /* the client still holds it */
                    "  release_client()\n"
                    "  while client_phase() < 3 do loop.sleep(0.01) end\n"
                    "  local statuses, answered = {}, 0\n"
                    "  for i = 1, 8 do\n"
                    "    loop.spawn(function()\n"
                    "      local r, _, kind = http.request { url = url .. '/hold', timeout = 60 }\n"
                    "      statuses[i] = r and r.status or kind\n"
                    "      answered = answered + 1\n"
                    "    end)\n"
                    "  end\n"
                    "  while answered < 8 do loop.sleep(0.01) end\n"
                    "  s:close()\n"
                    "  return after_aborts, while_unread, table.concat(statuses, ',')\n"
                    "end)\n",
                    3);
  if (!lua_toboolean(L, -3) || lua_isinteger(L, -3))
    fail_msg("after the aborts, %s connections stayed open", harness_string(L, -3));
  if (!lua_toboolean(L, -2) || lua_isinteger(L, -2))
    fail_msg("a client that never reads kept %s connections open", harness_string(L, -2));
  assert_string_equal(harness_string(L, -1), "200,200,200,200,200,200,200,200");
  harness_close(L);
}

static int l_fail_accepts(lua_State *L) {
  le_conn_fail_accepts((int)luaL_checkinteger(L, 1));
  return 0;
}

/* Four connections at once find no memory (the spare handle takes one a turn, the others
 * wait in their listener): each is closed unanswered, none is left unaccepted, and the
 * listener serves the connections that follow (a listener left with an unaccepted one
 * stops: the requests after it would time out). */
static void a_connection_without_memory_is_closed_and_the_listener_goes_on(void **state) {
  (void)state;
  lua_State *L = harness_open();
  lua_register(L, "fail_accepts", l_fail_accepts);
  harness_run_after(L, PRELUDE,
                    "local reports = 0\n"
                    "loop.on_error(function() reports = reports + 1 end)\n"
                    "return loop.run(function()\n"
                    "  local s, url = listen(serve)\n"
                    "  fail_accepts(4)\n"
                    "  local out, done = {}, 0\n"
                    "  for i = 1, 6 do\n"
                    "    loop.spawn(function()\n"
                    "      local r, _, kind = http.request { url = url .. '/a' .. i, timeout = 20 }\n"
                    "      out[i] = r and tostring(r.status) or ('closed:' .. tostring(kind))\n"
                    "      done = done + 1\n"
                    "    end)\n"
                    "  end\n"
                    "  while done < 6 do loop.sleep(0.01) end\n"
                    "  local later = http.request { url = url .. '/later', timeout = 20 }\n"
                    "  s:close()\n"
                    "  local answered = 0\n" /* a client may try a closed one again */
                    "  for i = 1, 6 do if out[i] == '200' then answered = answered + 1 end end\n"
                    "  return answered, later and later.status, reports\n"
                    "end)\n",
                    3);
  assert_in_range(lua_tointeger(L, -3), 2, 6);
  assert_int_equal(lua_tointeger(L, -2), 200);
  assert_int_equal(lua_tointeger(L, -1), 4); /* each reported */
  harness_close(L);
}

/* The count of s (the scenario's global server) now. */
static lua_Integer server_connections(lua_State *L) { return harness_integer(L, "return server:connections()"); }

/* Starts the scenario's global server (the loop is then turned by hand), answering 200
 * with what answer(req) gives, with the options opts (Lua text); returns its port. */
static int serve_by_hand(lua_State *L, const char *answer, const char *opts) {
  char chunk[512];
  snprintf(chunk, sizeof chunk,
           "server = listen(function(req, id) httpserver.respond(id, 200, {}, %s) end, %s)\n"
           "return server:port()\n",
           answer, opts);
  harness_run_after(L, HARNESS_HTTP_LUA, chunk, 1);
  int port = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return port;
}

/* A client of port (a blocking socket), connected. */
static int client_of(int port) {
  int fd = connect_to(port, 0);
  assert_true(fd >= 0);
  return fd;
}

/* Turns the loop (one poll a turn, none waiting) until fd has bytes to read: its first
 * line, or "" when 30 s of turns found none (a hang detector). */
static void first_line_of_answer(int fd, char *line, size_t size) {
  line[0] = '\0';
  for (int i = 0; i < 3000; i++) {
    uv_run(le_loop(), UV_RUN_NOWAIT);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10) != 1) continue;
    ssize_t n = recv(fd, line, size - 1, 0);
    line[n > 0 ? n : 0] = '\0';
    char *eol = strstr(line, "\r\n");
    if (eol) *eol = '\0';
    return;
  }
}

/* fd's answer is a 200 (the loop turned until it comes); fd and the server are then
 * closed, and the loop with no handle left. */
static void answered_ok_then_stop(lua_State *L, int fd) {
  char line[256];
  first_line_of_answer(fd, line, sizeof line);
  assert_string_equal(line, "HTTP/1.1 200 OK");
  close(fd);
  harness_run(L, "server:close() server = nil", 0);
  harness_close(L);
}

static void a_connection_being_closed_does_not_count(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int port = serve_by_hand(L, "'ok'", "{ max_connections = 1 }");
  int first = client_of(port);
  for (int i = 0; i < 3000 && server_connections(L) < 1; i++) uv_run(le_loop(), UV_RUN_NOWAIT); /* accepted */
  assert_int_equal(server_connections(L), 1);
  close(first);                            /* its end, then a new client: both ready for one poll */
  int second = client_of(port);            /* (the kernel completes it before any accept) */
  uv_run(le_loop(), UV_RUN_NOWAIT);        /* the first's end read (its close begun), the second accepted */
  assert_int_equal(server_connections(L), 1); /* the second only */
  const char *ask = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(send(second, ask, strlen(ask), MSG_NOSIGNAL), (ssize_t)strlen(ask));
  answered_ok_then_stop(L, second);
}

/* Turns the loop for at least ms milliseconds (a lower bound: a loaded machine only
 * makes it longer). */
static void turn_for(long ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    uv_run(le_loop(), UV_RUN_NOWAIT);
    pause_ms(5);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static void a_deadline_moved_later_holds(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int fd = client_of(serve_by_hand(L, "tostring(#req.body)", "{ timeout = 0.2 }"));
  /* the head's deadline 0.2 s from the accept; its body's 0.2 s + 5 MB at 100 KB/s = 50 s */
  const char *head = "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n";
  assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
  turn_for(600); /* past the head's deadline */
  size_t n = 5000000;
  char *body = malloc(n);
  assert_non_null(body);
  memset(body, 'b', n);
  for (size_t sent = 0; sent < n;) { /* the server reads as the loop turns */
    ssize_t k = send(fd, body + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) sent += (size_t)k;
    else if (k < 0 && errno != EAGAIN) break; /* closed: the answer tells why */
    uv_run(le_loop(), UV_RUN_NOWAIT);
  }
  free(body);
  answered_ok_then_stop(L, fd);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as main.c: a write to a client that has gone is an error, not the end */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_count_of_open_connections_returns_to_zero_after_every_abort),
      cmocka_unit_test(a_connection_without_memory_is_closed_and_the_listener_goes_on),
      cmocka_unit_test(a_connection_being_closed_does_not_count),
      cmocka_unit_test(a_deadline_moved_later_holds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
