/* The HTTP client (http.c: libcurl multi on the loop) against the engine's own
 * server on the same loop: responses, kept-alive connections, the failure kinds
 * (connect, timeout, too_large, cancelled), the bound on connections per host.
 * Every test ends with the loop closing with no handle left (kept-alive
 * connections included: le_loop_close closes them). */
#include "loop_harness.h"

/* A server on 127.0.0.1 answering every request after `delay` seconds (never when
 * delay < 0) with 200, the path and the body echoed; `port`, `close()`. */
static const char *SERVER =
    "local loop = require 'lambdaeng.native.loop'\n"
    "local http = require 'lambdaeng.native.http'\n"
    "local httpserver = require 'lambdaeng.native.httpserver'\n"
    "local function serve(delay, body_size)\n"
    "  local s = assert(httpserver.listen('127.0.0.1', 0, function(req, id)\n"
    "    if delay < 0 then return end\n"
    "    loop.spawn(function()\n"
    "      if delay > 0 then loop.sleep(delay) end\n"
    "      local body = body_size and string.rep('x', body_size) or (req.method .. ' ' .. req.path .. ' ' .. req.body)\n"
    "      httpserver.respond(id, 200, { ['X-Echo'] = req.headers['x-test'] or '' }, body)\n"
    "    end)\n"
    "  end))\n"
    "  return s, 'http://127.0.0.1:' .. s:port()\n"
    "end\n";

static void run_with_server(lua_State *L, const char *scenario, int nresults) {
  size_t n = strlen(SERVER) + strlen(scenario) + 1;
  char *chunk = malloc(n);
  snprintf(chunk, n, "%s%s", SERVER, scenario);
  harness_run(L, chunk, nresults);
  free(chunk);
}

static void requests_reuse_a_kept_alive_connection(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local s, url = serve(0)\n"
                  "  local opened = http.stats().sockets_opened\n"
                  "  local a = assert(http.request { method = 'POST', url = url .. '/one', body = 'hi',\n"
                  "                                  headers = { { 'X-Test', 'yes' } }, timeout = 10 })\n"
                  "  local b = assert(http.request { url = url .. '/two', timeout = 10 })\n"
                  "  s:close()\n"
                  "  return a.status, a.body, a.headers['x-echo'], b.body, http.stats().sockets_opened - opened\n"
                  "end)\n",
                  5);
  assert_int_equal(lua_tointeger(L, -5), 200);
  assert_string_equal(harness_string(L, -4), "POST /one hi");
  assert_string_equal(harness_string(L, -3), "yes");
  assert_string_equal(harness_string(L, -2), "GET /two ");
  assert_int_equal(lua_tointeger(L, -1), 1);
  harness_close(L);
}

static void failures_come_back_as_values_with_their_kind(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local closed, closed_url = serve(0)\n"
                  "  closed:close()\n"
                  "  local r1, m1, k1 = http.request { url = closed_url .. '/', timeout = 10 }\n"
                  "  local silent, silent_url = serve(-1)\n"
                  "  local r2, m2, k2 = http.request { url = silent_url .. '/', timeout = 0.2 }\n"
                  "  local big, big_url = serve(0, 5000)\n"
                  "  local r3, m3, k3 = http.request { url = big_url .. '/', timeout = 10, max_body = 100 }\n"
                  "  silent:close(); big:close()\n"
                  "  return tostring(r1) .. ' ' .. k1, tostring(r2) .. ' ' .. k2, tostring(r3) .. ' ' .. k3, m3\n"
                  "end)\n",
                  4);
  assert_string_equal(harness_string(L, -4), "nil connect");
  assert_string_equal(harness_string(L, -3), "nil timeout");
  assert_string_equal(harness_string(L, -2), "nil too_large");
  assert_non_null(strstr(harness_string(L, -1), "exceeds 100 bytes"));
  harness_close(L);
}

static void cancel_all_ends_what_is_in_flight_and_queued(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  assert(http.configure { max_host_connections = 1 })\n"
                  "  local s, url = serve(-1)\n"
                  "  local kinds, main = {}, loop.current()\n"
                  "  for i = 1, 3 do\n"
                  "    loop.spawn(function()\n"
                  "      local r, m, k = http.request { url = url .. '/' .. i, timeout = 30 }\n"
                  "      kinds[#kinds + 1] = k\n"
                  "      if #kinds == 3 then loop.wake(main) end\n"
                  "    end)\n"
                  "  end\n"
                  "  loop.sleep(0.05)\n"
                  "  local queued = http.stats().queued_peak\n"
                  "  local before = http.cancellations()\n"
                  "  http.cancel_all()\n"
                  "  loop.suspend()\n"
                  "  s:close()\n"
                  "  assert(http.configure { max_host_connections = 64 })\n"
                  "  return table.concat(kinds, ','), queued, http.cancellations() - before\n"
                  "end)\n",
                  3);
  assert_string_equal(harness_string(L, -3), "cancelled,cancelled,cancelled");
  assert_int_equal(lua_tointeger(L, -2), 2); /* one in libcurl, two waiting for the host */
  assert_int_equal(lua_tointeger(L, -1), 1);
  harness_close(L);
}

static void connections_per_host_are_bounded(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local ok, msg, code = http.configure { max_host_connections = 0 }\n"
                  "  assert(http.configure { max_host_connections = 2 })\n"
                  "  local s, url = serve(0.05)\n"
                  "  local opened, done, main = http.stats().sockets_opened, 0, loop.current()\n"
                  "  for i = 1, 6 do\n"
                  "    loop.spawn(function()\n"
                  "      assert(http.request { url = url .. '/' .. i, timeout = 30 })\n"
                  "      done = done + 1\n"
                  "      if done == 6 then loop.wake(main) end\n"
                  "    end)\n"
                  "  end\n"
                  "  loop.suspend()\n"
                  "  s:close()\n"
                  "  assert(http.configure { max_host_connections = 64 })\n"
                  "  return tostring(ok) .. ' ' .. code, http.stats().sockets_opened - opened, msg\n"
                  "end)\n",
                  3);
  assert_string_equal(harness_string(L, -3), "nil EINVAL");
  assert_in_range(lua_tointeger(L, -2), 1, 2);
  assert_non_null(strstr(harness_string(L, -1), "must be 1 to 100000"));
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(requests_reuse_a_kept_alive_connection),
      cmocka_unit_test(failures_come_back_as_values_with_their_kind),
      cmocka_unit_test(cancel_all_ends_what_is_in_flight_and_queued),
      cmocka_unit_test(connections_per_host_are_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
