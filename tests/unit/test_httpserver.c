/* The HTTP server (httpserver.c) driven by the engine's client on the same loop:
 * the check hook refusing a body by its Content-Length before reading it, a check
 * or dispatch that raises (reported through the loop, the client answered 500 or
 * left to its timeout), the header and connection limits, requests answered in
 * order on one connection. Every test ends with the loop closing with no handle
 * left: a closed server closes its connections. */
#include "loop_harness.h"

static const char *PRELUDE =
    "local loop = require 'lambdaeng.native.loop'\n"
    "local http = require 'lambdaeng.native.http'\n"
    "local httpserver = require 'lambdaeng.native.httpserver'\n"
    "local reported = {}\n"
    "loop.on_error(function(msg) reported[#reported + 1] = msg end)\n"
    "local function answer(req, id) httpserver.respond(id, 200, {}, req.method .. ' ' .. req.target) end\n";

static void run_scenario(lua_State *L, const char *scenario, int nresults) {
  size_t n = strlen(PRELUDE) + strlen(scenario) + 1;
  char *chunk = malloc(n);
  snprintf(chunk, n, "%s%s", PRELUDE, scenario);
  harness_run(L, chunk, nresults);
  free(chunk);
}

static void the_check_refuses_a_body_before_reading_it(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local dispatched = 0\n"
               "  local s = assert(httpserver.listen('127.0.0.1', 0, function(req, id)\n"
               "    dispatched = dispatched + 1\n"
               "    answer(req, id)\n"
               "  end, { check = function(req)\n"
               "    if req.path == '/refuse' then return 403, { ['X-Why'] = 'refused' }, 'no' end\n"
               "    if req.path == '/small' then return nil, 100 end\n"
               "  end }))\n"
               "  local url = 'http://127.0.0.1:' .. s:port()\n"
               "  local big = http.request { method = 'PUT', url = url .. '/small', body = string.rep('b', 5000),\n"
               "                             timeout = 10 }\n"
               "  local refused = http.request { url = url .. '/refuse', timeout = 10 }\n"
               "  local fine = http.request { method = 'PUT', url = url .. '/small', body = 'ok', timeout = 10 }\n"
               "  s:close()\n"
               "  return big.status, refused.status, refused.headers['x-why'], fine.body, dispatched\n"
               "end)\n",
               5);
  assert_int_equal(lua_tointeger(L, -5), 413);
  assert_int_equal(lua_tointeger(L, -4), 403);
  assert_string_equal(harness_string(L, -3), "refused");
  assert_string_equal(harness_string(L, -2), "PUT /small");
  assert_int_equal(lua_tointeger(L, -1), 1);
  harness_close(L);
}

static void raising_hooks_are_reported_from_the_loop(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local s = assert(httpserver.listen('127.0.0.1', 0, function(req, id)\n"
               "    error('dispatch raised')\n"
               "  end, { check = function(req)\n"
               "    if req.path == '/check' then error('check raised') end\n"
               "  end }))\n"
               "  local url = 'http://127.0.0.1:' .. s:port()\n"
               "  local a = http.request { url = url .. '/check', timeout = 10 }\n"
               "  local b, _, kind = http.request { url = url .. '/dispatch', timeout = 0.3 }\n"
               "  s:close()\n"
               "  loop.on_error(nil)\n"
               "  table.sort(reported)\n"
               "  return a.status, kind, #reported, reported[1], reported[2]\n"
               "end)\n",
               5);
  assert_int_equal(lua_tointeger(L, -5), 500);
  assert_string_equal(harness_string(L, -4), "timeout");
  assert_int_equal(lua_tointeger(L, -3), 2);
  assert_non_null(strstr(harness_string(L, -2), "local target: "));
  assert_non_null(strstr(harness_string(L, -2), "check raised"));
  assert_non_null(strstr(harness_string(L, -1), "dispatch raised"));
  harness_close(L);
}

static void header_and_connection_limits(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local held, paths = nil, {}\n"
               "  local s = assert(httpserver.listen('127.0.0.1', 0, function(req, id)\n"
               "    paths[#paths + 1] = req.path\n"
               "    if req.path == '/hold' then held = id else answer(req, id) end\n"
               "  end, { max_connections = 1 }))\n"
               "  local url = 'http://127.0.0.1:' .. s:port()\n"
               "  local many = {}\n"
               "  for i = 1, 129 do many[i] = { 'X-H' .. i, 'v' } end\n"
               "  local headers = http.request { url = url .. '/', headers = many, timeout = 10 }\n"
               "  local first\n"
               "  loop.spawn(function() first = http.request { url = url .. '/hold', timeout = 10 } end)\n"
               "  while not held do loop.sleep(0.01) end\n"
               "  -- beyond max_connections: 503 and closed (or, as the client may see it, reset)\n"
               "  local second, _, kind = http.request { url = url .. '/other', timeout = 10 }\n"
               "  httpserver.respond(held, 200, {}, 'released')\n"
               "  while not first do loop.sleep(0.01) end\n"
               "  s:close()\n"
               "  return headers.status, second and second.status or kind, first.body, table.concat(paths, ',')\n"
               "end)\n",
               4);
  assert_int_equal(lua_tointeger(L, -4), 431);
  const char *second = harness_string(L, -3);
  if (strcmp(second, "503") != 0 && strcmp(second, "reset") != 0) fail_msg("the second connection got %s", second);
  assert_string_equal(harness_string(L, -2), "released");
  assert_string_equal(harness_string(L, -1), "/hold"); /* neither refused request was dispatched */
  harness_close(L);
}

static void requests_on_one_connection_are_answered_in_order(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local s = assert(httpserver.listen('127.0.0.1', 0, function(req, id)\n"
               "    loop.spawn(function()\n"
               "      loop.sleep(req.path == '/slow' and 0.05 or 0)\n"
               "      answer(req, id)\n"
               "    end)\n"
               "  end))\n"
               "  local url = 'http://127.0.0.1:' .. s:port()\n"
               "  local bodies = {}\n"
               "  for _, p in ipairs { '/slow', '/fast', '/slow', '/fast' } do\n"
               "    bodies[#bodies + 1] = http.request { url = url .. p, timeout = 10 }.body\n"
               "  end\n"
               "  local ok, msg, code = httpserver.listen('127.0.0.1', s:port(), function() end)\n"
               "  s:close()\n"
               "  return table.concat(bodies, ','), tostring(ok) .. ' ' .. tostring(code)\n"
               "end)\n",
               2);
  assert_string_equal(harness_string(L, -2), "GET /slow,GET /fast,GET /slow,GET /fast");
  assert_string_equal(harness_string(L, -1), "nil EADDRINUSE");
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_check_refuses_a_body_before_reading_it),
      cmocka_unit_test(raising_hooks_are_reported_from_the_loop),
      cmocka_unit_test(header_and_connection_limits),
      cmocka_unit_test(requests_on_one_connection_are_answered_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
