/* The HTTP client (http.c) with hundreds of transfers at once to one host, against the
 * engine's own server holding every answer until the whole batch is waiting (so the
 * batch is in flight at once, whatever the machine's speed): libcurl's transfers spread
 * over several multi handles, up to 64 sharing one; the own transport's second batch
 * reusing the first one's connections. Every test ends with the loop closing with no
 * handle left. */
#include "loop_harness.h"
#include "http_transport.h"

/* A server that answers no request until n are waiting, then all of them (each with
 * its path): the n requests of a batch are then all in flight at once, whatever the
 * machine's speed. batch(url, n) sends n at once and says 'ok' or the first wrong answer. */
static const char *GATHERING =
    HARNESS_HTTP_LUA
    "local function gathering(n)\n"
    "  local waiting = {}\n"
    "  return listen(function(req, id)\n"
    "    waiting[#waiting + 1] = { id, req.path }\n"
    "    if #waiting == n then\n"
    "      for _, w in ipairs(waiting) do httpserver.respond(w[1], 200, {}, 'GET ' .. w[2] .. ' ') end\n"
    "      waiting = {}\n"
    "    end\n"
    "  end)\n"
    "end\n"
    "local function batch(url, n)\n"
    "  local bodies, done, main = {}, 0, loop.current()\n"
    "  for i = 1, n do\n"
    "    loop.spawn(function()\n"
    "      local r, m = http.request { url = url .. '/' .. i, timeout = 60 }\n"
    "      bodies[i] = r and r.body or m\n"
    "      done = done + 1\n"
    "      if done == n then loop.wake(main) end\n"
    "    end)\n"
    "  end\n"
    "  loop.suspend()\n"
    "  for i = 1, n do\n"
    "    if bodies[i] ~= 'GET /' .. i .. ' ' then return 'request ' .. i .. ': ' .. tostring(bodies[i]) end\n"
    "  end\n"
    "  return 'ok'\n"
    "end\n";

/* Two batches of 200 transfers at once to one host; returns "ok ok", the multi handles after
 * the first, the connections each opened, and the sockets open at the end. */
static void two_batches_of_200(lua_State *L) {
  harness_run_after(L, GATHERING,
                    "return loop.run(function()\n"
                    "  assert(http.configure { max_host_connections = 200 })\n"
                    "  local s, url = gathering(200)\n"
                    "  local opened = http.stats().sockets_opened\n"
                    "  local first = batch(url, 200)\n"
                    "  local handles, opened_first = http.stats().multi_handles, http.stats().sockets_opened - opened\n"
                    "  local second = batch(url, 200)\n"
                    "  local opened_second = http.stats().sockets_opened - opened - opened_first\n"
                    "  s:close()\n"
                    "  assert(http.configure { max_host_connections = 64 })\n"
                    "  return first .. ' ' .. second, handles, opened_first, opened_second, http.stats().sockets_open\n"
                    "end)\n",
                    5);
  assert_string_equal(harness_string(L, -5), "ok ok");
  assert_int_equal(lua_tointeger(L, -3), 200);
  assert_int_equal(lua_tointeger(L, -2), 0);
  assert_int_equal(lua_tointeger(L, -1), 200);
}

/* Many transfers to one host are spread over several multi handles, LE_HTTP_SHARD_TRANSFERS
 * (64) to each at most (libcurl 7.88 looks through all of a cache's connections to a host
 * for each transfer): 200 at once take four. Each answer is its request's, and a second
 * batch of 200 reuses the 200 connections the first opened (a transfer goes where an idle
 * connection is), none opened again. */
static void transfers_to_one_host_are_spread_over_multi_handles(void **state) {
  (void)state;
  lua_State *L = harness_open();
  two_batches_of_200(L);
  assert_int_equal(lua_tointeger(L, -4), 4);
  harness_close(L);
}

/* The own transport: 200 transfers at once to one host open 200 connections, and a
 * second batch of 200 takes them all again from the idle list, none opened. */
static void a_second_batch_reuses_the_first_ones_connections(void **state) {
  (void)state;
  lua_State *L = harness_open();
  two_batches_of_200(L);
  harness_close(L);
}

/* Up to 64 transfers at once stay on one multi handle: another costs libcurl's two wakeup
 * sockets, and `api Invoke` with its default 64 connections keeps its sockets to 66. */
static void sixty_four_transfers_share_one_multi_handle(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run_after(L, GATHERING,
                    "return loop.run(function()\n"
                    "  local s, url = gathering(64)\n"
                    "  local opened = http.stats().sockets_opened\n"
                    "  local result = batch(url, 64)\n"
                    "  s:close()\n"
                    "  return result, http.stats().multi_handles, http.stats().sockets_opened - opened\n"
                    "end)\n",
                    3);
  assert_string_equal(harness_string(L, -3), "ok");
  assert_int_equal(lua_tointeger(L, -2), 1);
  assert_int_equal(lua_tointeger(L, -1), 64);
  harness_close(L);
}

#define CURL_ONLY(test) cmocka_unit_test_setup_teardown(test, force_curl, transport_default)

int main(void) {
  const struct CMUnitTest tests[] = {
      CURL_ONLY(transfers_to_one_host_are_spread_over_multi_handles),
      cmocka_unit_test(a_second_batch_reuses_the_first_ones_connections),
      CURL_ONLY(sixty_four_transfers_share_one_multi_handle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
