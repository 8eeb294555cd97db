/* The HTTP client (http.c: libcurl multi on the loop) against the engine's own
 * server on the same loop: responses, kept-alive connections, the failure kinds
 * (connect, timeout, too_large, cancelled), the bound on connections per host, a body's sink.
 * Every test ends with the loop closing with no handle left (kept-alive
 * connections included: le_loop_close closes them). */
#include "loop_harness.h"
#include "http_transport.h"

/* A server on 127.0.0.1 answering every request after `delay` seconds (never when
 * delay < 0) with 200, the path and the body echoed; `port`, `close()`. */
static const char *SERVER =
    HARNESS_HTTP_LUA
    "local function serve(delay, body_size)\n"
    "  return listen(function(req, id)\n"
    "    if delay < 0 then return end\n"
    "    loop.spawn(function()\n"
    "      if delay > 0 then loop.sleep(delay) end\n"
    "      local body = body_size and string.rep('x', body_size) or (req.method .. ' ' .. req.path .. ' ' .. req.body)\n"
    "      httpserver.respond(id, 200, { ['X-Echo'] = req.headers['x-test'] or '' }, body)\n"
    "    end)\n"
    "  end)\n"
    "end\n";

static void run_with_server(lua_State *L, const char *scenario, int nresults) {
  harness_run_after(L, SERVER, scenario, nresults);
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

/* Between its requests a kept-alive connection stays polled; its peer closing it then is
 * one event that stops the poll (not one per loop turn), and the next request connects again. */
static void an_idle_connection_closed_by_its_peer_is_let_go(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local s, url = serve(0)\n"
                  "  local before, opened = http.stats().idle_socket_events, http.stats().sockets_opened\n"
                  "  assert(http.request { url = url .. '/one', timeout = 10 })\n"
                  "  assert(http.request { url = url .. '/two', timeout = 10 })\n"
                  "  local quiet = http.stats().idle_socket_events - before\n"
                  "  s:close()\n"
                  "  for _ = 1, 200 do\n"
                  "    if http.stats().idle_socket_events > before then break end\n"
                  "    loop.sleep(0.05)\n"
                  "  end\n"
                  "  for _ = 1, 5 do loop.sleep(0.01) end -- more loop turns: a poll left on would count again\n"
                  "  local events = http.stats().idle_socket_events - before\n"
                  "  local s2, url2 = serve(0)\n"
                  "  local r = assert(http.request { url = url2 .. '/three', timeout = 10 })\n"
                  "  s2:close()\n"
                  "  return quiet, events, r.body, http.stats().sockets_opened - opened\n"
                  "end)\n",
                  4);
  assert_int_equal(lua_tointeger(L, -4), 0);
  assert_int_equal(lua_tointeger(L, -3), 1);
  assert_string_equal(harness_string(L, -2), "GET /three ");
  assert_int_equal(lua_tointeger(L, -1), 2);
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

/* Sequential requests take a handle an earlier one gave back (reset): nothing of that
 * request may stay on it — method, body, headers, timeout. The handle is given back
 * before the task that asked resumes, so one task's requests all take the same handle
 * (each request is still made twice, in case a change lets two handles alternate). */
static void a_reused_handle_keeps_nothing_of_the_previous_request(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local s, url = serve(0)\n"
                  "  local slow, slow_url = serve(0.5)\n"
                  "  local silent, silent_url = serve(-1)\n"
                  "  local created = http.stats().easy_created\n"
                  "  local seen = {}\n"
                  "  local function twice(spec)\n"
                  "    for _ = 1, 2 do\n"
                  "      local r, m, k = http.request(spec)\n"
                  "      seen[#seen + 1] = r and (r.status .. ' [' .. r.body .. '] [' .. r.headers['x-echo'] .. ']')\n"
                  "                          or ('nil ' .. tostring(k))\n"
                  "    end\n"
                  "  end\n"
                  "  twice { method = 'POST', url = url .. '/1', body = 'hi', headers = { { 'X-Test', 'yes' } } }\n"
                  "  twice { method = 'DELETE', url = url .. '/2' }\n"
                  "  twice { method = 'PUT', url = url .. '/3', body = 'zz', headers = { { 'X-Test', 'put' } } }\n"
                  "  twice { url = url .. '/4' }\n"
                  "  twice { method = 'HEAD', url = url .. '/5' }\n"
                  "  twice { url = url .. '/6' }\n"
                  "  twice { url = silent_url .. '/7', timeout = 0.2 }\n"
                  "  twice { url = slow_url .. '/8' }\n"
                  "  s:close(); slow:close(); silent:close()\n"
                  "  return table.concat(seen, '\\n'), http.stats().easy_created - created\n"
                  "end)\n",
                  2);
  assert_string_equal(harness_string(L, -2),
                      "200 [POST /1 hi] [yes]\n200 [POST /1 hi] [yes]\n"
                      "200 [DELETE /2 ] []\n200 [DELETE /2 ] []\n"
                      "200 [PUT /3 zz] [put]\n200 [PUT /3 zz] [put]\n"
                      "200 [GET /4 ] []\n200 [GET /4 ] []\n"
                      "200 [] []\n200 [] []\n"
                      "200 [GET /6 ] []\n200 [GET /6 ] []\n"
                      "nil timeout\nnil timeout\n"             /* the 0.2 s timeout ... */
                      "200 [GET /8 ] []\n200 [GET /8 ] []"); /* ... is not the next requests' (none): 0.5 s */
  /* sixteen requests on one handle; none through the own transport */
  assert_int_equal(lua_tointeger(L, -1), curl_forced() ? 1 : 0);
  harness_close(L);
}

/* Each URL's host is its own, whatever the previous request's was: with one connection
 * per host and host H's only one held (its server never answers), requests to A and B
 * (other ports, another name of the address) are answered while H's is still held —
 * none waited in H's queue (it would have, until H's request ended, if its host were
 * taken for H's). */
static void each_url_is_counted_against_its_own_host(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "local held_kind\n"
                  "local function named(name)\n"
                  "  local s = listen(function(req, id)\n"
                  "    httpserver.respond(id, 200, {}, name .. ' ' .. req.path .. (held_kind and ' late' or ''))\n"
                  "  end)\n"
                  "  return s, s:port()\n"
                  "end\n"
                  "return loop.run(function()\n"
                  "  assert(http.configure { max_host_connections = 1 })\n"
                  "  local held, held_url = serve(-1)\n"
                  "  local a, pa = named('A')\n"
                  "  local b, pb = named('B')\n"
                  "  local main = loop.current()\n"
                  "  loop.spawn(function()\n"
                  "    local r, m, k = http.request { url = held_url .. '/held', timeout = 60 }\n"
                  "    held_kind = k\n"
                  "    loop.wake(main)\n"
                  "  end)\n"
                  "  local seen = {}\n"
                  "  for i, u in ipairs { 'http://127.0.0.1:' .. pa .. '/1', 'http://127.0.0.1:' .. pb .. '/2',\n"
                  "                       'http://127.0.0.1:' .. pa .. '/3', 'http://localhost:' .. pb .. '/4',\n"
                  "                       'http://127.0.0.1:' .. pb .. '/5?x=1', held_url:gsub('%d+$', pa) .. '/6' } do\n"
                  "    local r = assert(http.request { url = u, timeout = 120 })\n"
                  "    seen[i] = r.body\n"
                  "  end\n"
                  "  http.cancel_all()\n"
                  "  loop.suspend()\n"
                  "  held:close(); a:close(); b:close()\n"
                  "  assert(http.configure { max_host_connections = 64 })\n"
                  "  return table.concat(seen, ','), held_kind\n"
                  "end)\n",
                  2);
  assert_string_equal(harness_string(L, -2), "A /1,B /2,A /3,B /4,B /5,A /6");
  assert_string_equal(harness_string(L, -1), "cancelled");
  harness_close(L);
}

/* Without a proxy variable in the environment each request says "no proxy" itself (libcurl
 * then does not read the variables for every transfer); with one set, libcurl still finds
 * and uses it: a request for a name that does not resolve goes to the proxy, as an
 * absolute URL. */
static void a_proxy_set_in_the_environment_is_used(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "PROXY = listen(function(req, id) httpserver.respond(id, 200, {}, 'proxied ' .. req.path) end)\n"
                  "return PROXY:port()\n",
                  1);
  char proxy[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", (int)lua_tointeger(L, -1));
  lua_pop(L, 1);
  assert_int_equal(setenv("http_proxy", proxy, 1), 0); /* read when the client starts: at its first request */
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local r, m = http.request { url = 'http://proxied.invalid/x', timeout = 10 }\n"
                  "  PROXY:close()\n"
                  "  return r and r.body or m\n"
                  "end)\n",
                  1);
  unsetenv("http_proxy");
  assert_string_equal(harness_string(L, -1), "proxied http://proxied.invalid/x");
  harness_close(L);
}

/* A kept-alive connection its peer resets as the next request arrives (the request read,
 * nothing answered): libcurl sends that request again on a new connection, as under its
 * own poll(), and the caller sees only the answer; a GET and a POST with its body. */
static void a_request_on_a_connection_reset_under_it_is_sent_again(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local seen = 0\n"
                  "  local s, url = listen(function(req, id)\n"
                  "    seen = seen + 1\n"
                  "    if seen == 2 or seen == 4 then httpserver.abort(id) return end\n"
                  "    httpserver.respond(id, 200, {}, req.method .. ' ' .. req.target .. ' ' .. req.body .. seen)\n"
                  "  end)\n"
                  "  local opened = http.stats().sockets_opened\n"
                  "  local bodies = {}\n"
                  "  for _, spec in ipairs { { url = url .. '/same?q=1' }, { url = url .. '/same?q=1' },\n"
                  "                          { method = 'POST', url = url .. '/p', body = 'x' } } do\n"
                  "    spec.timeout = 10\n"
                  "    local r, m, k = http.request(spec)\n"
                  "    bodies[#bodies + 1] = r and r.body or ('nil ' .. k .. ' ' .. m)\n"
                  "  end\n"
                  "  s:close()\n"
                  "  bodies[#bodies + 1] = 'connections ' .. http.stats().sockets_opened - opened\n"
                  "  return table.concat(bodies, '|')\n"
                  "end)\n",
                  1);
  assert_string_equal(harness_string(L, -1), "GET /same?q=1 1|GET /same?q=1 3|POST /p x5|connections 3");
  harness_close(L);
}

/* A sink (httpsink.c) gets a 2xx body's pieces as they arrive: the server sends its second
 * piece only once the sink has the first (were the bytes given at the end only, the request
 * would wait for it until its timeout). An error's body is not given: it comes back whole.
 * A sink that raises ends its request at once ("stopped", its message), though the server
 * never ends the answer. */
static void a_sink_gets_a_2xx_body_as_it_arrives(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local got = {}\n"
                  "  local s, url = listen(function(req, id)\n"
                  "    if req.path == '/missing' then return httpserver.respond(id, 404, {}, 'no such thing') end\n"
                  "    httpserver.respond_start(id, 200, {})\n"
                  "    httpserver.respond_chunk(id, 'one;')\n"
                  "    if req.path == '/raise' then return end -- never ended\n"
                  "    loop.spawn(function()\n"
                  "      while table.concat(got) ~= 'one;' do loop.sleep(0.005) end\n"
                  "      httpserver.respond_chunk(id, 'two')\n"
                  "      httpserver.respond_end(id)\n"
                  "    end)\n"
                  "  end)\n"
                  "  local function sink(piece) got[#got + 1] = piece end\n"
                  "  local r = assert(http.request({ url = url .. '/stream', timeout = 10 }, sink))\n"
                  "  local m = assert(http.request({ url = url .. '/missing', timeout = 10 }, sink))\n"
                  "  local x, msg, kind = http.request({ url = url .. '/raise', timeout = 10 },\n"
                  "                                    function() error('no more', 0) end)\n"
                  "  s:close()\n"
                  "  return table.concat(got), r.status .. ' [' .. r.body .. ']', m.status .. ' ' .. m.body,\n"
                  "    tostring(x) .. ' ' .. kind .. ' ' .. msg\n"
                  "end)\n",
                  4);
  assert_string_equal(harness_string(L, -4), "one;two");
  assert_string_equal(harness_string(L, -3), "200 []");
  assert_string_equal(harness_string(L, -2), "404 no such thing");
  assert_string_equal(harness_string(L, -1), "nil stopped no more");
  harness_close(L);
}

/* A body-less POST or PUT is sent as the AWS SDKs send it (botocore 1.43: Content-Length: 0,
 * no Content-Type), not with libcurl's form type, which the local target refuses; a body
 * keeps the caller's type, or libcurl's when the caller gives none. */
static void a_body_less_post_has_no_form_content_type(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_with_server(L,
                  "return loop.run(function()\n"
                  "  local s, url = listen(function(req, id)\n"
                  "    httpserver.respond(id, 200, {}, req.method .. ' [' .. tostring(req.headers['content-type'])\n"
                  "      .. '] ' .. tostring(req.headers['content-length']))\n"
                  "  end)\n"
                  "  local seen = {}\n"
                  "  for _, spec in ipairs {\n"
                  "    { method = 'POST' }, { method = 'PUT' }, { method = 'POST', body = '' },\n"
                  "    { method = 'POST', headers = { { 'Content-Type', 'application/json' } } },\n"
                  "    { method = 'POST', body = 'a=1' } } do\n"
                  "    spec.url = url .. '/x'\n"
                  "    local r, m = http.request(spec)\n"
                  "    seen[#seen + 1] = r and r.body or m\n"
                  "  end\n"
                  "  s:close()\n"
                  "  return table.concat(seen, '\\n')\n"
                  "end)\n",
                  1);
  assert_string_equal(harness_string(L, -1), "POST [nil] 0\nPUT [nil] 0\nPOST [nil] 0\n"
                                             "POST [application/json] 0\n"
                                             "POST [application/x-www-form-urlencoded] 3");
  harness_close(L);
}

#define BOTH(test) cmocka_unit_test(test), cmocka_unit_test_setup_teardown(test, force_curl, transport_default)
#define CURL_ONLY(test) cmocka_unit_test_setup_teardown(test, force_curl, transport_default)

int main(void) {
  const struct CMUnitTest tests[] = {
      BOTH(requests_reuse_a_kept_alive_connection),
      BOTH(failures_come_back_as_values_with_their_kind),
      BOTH(cancel_all_ends_what_is_in_flight_and_queued),
      BOTH(connections_per_host_are_bounded),
      BOTH(a_reused_handle_keeps_nothing_of_the_previous_request),
      BOTH(an_idle_connection_closed_by_its_peer_is_let_go),
      BOTH(each_url_is_counted_against_its_own_host),
      cmocka_unit_test(a_proxy_set_in_the_environment_is_used),
      BOTH(a_request_on_a_connection_reset_under_it_is_sent_again),
      BOTH(a_sink_gets_a_2xx_body_as_it_arrives),
      BOTH(a_body_less_post_has_no_form_content_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
