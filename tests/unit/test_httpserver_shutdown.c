/* The server when its Lua state closes before the loop has freed its connections (a
 * program ending with connections open): each connection's Lua references (its reused
 * request table, the request table kept while its body is read) are let go while the state
 * is still there, never afterwards into the freed state (the ASan build sees that), and
 * everything of the state's servers closes with it. Two servers, turned by hand: one with
 * reuse_requests holding an idle kept-alive connection (answered) and one in the middle
 * of its body; one with a check holding a connection in the middle of its body. The state
 * then closes (1) right after server:close(), before any turn of the loop frees the
 * connections, and (2) with both servers still open: either way the loop then closes
 * with no handle left. */
#include "loop_harness.h"
#include "client_socket.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* Two global servers: reused (reuse_requests) and checked (a check, a new table each
 * request); checks counts the heads both have read. */
static const char *SERVERS =
    HARNESS_HTTP_LUA
    "checks = 0\n"
    "local function check() checks = checks + 1 end\n"
    "local function answer(req, id) httpserver.respond(id, 200, {}, 'ok') end\n"
    "reused = listen(answer, { reuse_requests = true, check = check })\n"
    "checked = listen(answer, { check = check })\n"
    "return reused:port(), checked:port()\n";

static int client_of(int port) {
  int fd = connect_to(port, 0);
  assert_true(fd >= 0);
  return fd;
}

static void send_text(int fd, const char *text) {
  assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Turns the loop (one poll a turn, none waiting) until fd's answer has come (its first
 * line, which must be a 200); 30 s of turns at most (a hang detector). */
static void turn_until_answered(int fd) {
  char line[256] = "";
  for (int i = 0; i < 3000; i++) {
    uv_run(le_loop(), UV_RUN_NOWAIT);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10) != 1) continue;
    ssize_t n = recv(fd, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = '\0';
    break;
  }
  assert_memory_equal(line, "HTTP/1.1 200 OK\r\n", 17);
}

/* Turns the loop until the servers have read n heads (30 s at most). */
static void turn_until_checked(lua_State *L, lua_Integer n) {
  for (int i = 0; i < 3000 && harness_integer(L, "return checks") < n; i++) {
    uv_run(le_loop(), UV_RUN_NOWAIT);
    struct pollfd none = {.fd = -1};
    poll(&none, 1, 10);
  }
  assert_int_equal(harness_integer(L, "return checks"), n);
}

/* The three connections, each holding a reference into L; their descriptors in fds. */
static void connections_holding_references(lua_State *L, int fds[3]) {
  harness_run(L, SERVERS, 2);
  int reused = (int)lua_tointeger(L, -2), checked = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  const char *partial = "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
  fds[0] = client_of(reused); /* answered, kept alive: its reused table stays */
  send_text(fds[0], "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  turn_until_answered(fds[0]);
  fds[1] = client_of(reused); /* in the middle of its body */
  send_text(fds[1], partial);
  fds[2] = client_of(checked); /* in the middle of its body: its request table kept */
  send_text(fds[2], partial);
  turn_until_checked(L, 3);
  harness_run(L, "return reused:connections() .. ' ' .. checked:connections()", 1);
  assert_string_equal(harness_string(L, -1), "2 1");
  lua_pop(L, 1);
}

static void a_state_closed_before_its_closed_servers_connections_are_freed(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int fds[3];
  connections_holding_references(L, fds);
  harness_run(L, "reused:close() checked:close()", 0);
  harness_close(L); /* the connections' close callbacks run after the state has closed */
  for (int i = 0; i < 3; i++) close(fds[i]);
}

static void a_state_closed_with_its_servers_open_closes_them(void **state) {
  (void)state;
  lua_State *L = harness_open();
  int fds[3];
  connections_holding_references(L, fds);
  harness_close(L); /* nothing left open, nothing touched in the freed state */
  for (int i = 0; i < 3; i++) close(fds[i]);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as main.c */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_state_closed_before_its_closed_servers_connections_are_freed),
      cmocka_unit_test(a_state_closed_with_its_servers_open_closes_them),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
