/* The HTTP server (httpserver.c) driven by the engine's client on the same loop:
 * the check hook refusing a body by its Content-Length before reading it, a check
 * or dispatch that raises (reported through the loop, the client answered 500 or
 * left to its timeout), the header and connection limits, requests answered in
 * order on one connection, an answer larger than the socket's buffer (written at
 * once in part, the rest queued), header lines given as one string (written as they
 * are; a malformed block raises), a connection's one request table (reuse_requests)
 * holding only its current request, a bare dispatch given the method, path and body as
 * values (its check, if any, still a table), an answer given from C (localexec's
 * respond_next: the Runtime API's /next lines built into it), the server's own checks
 * (uid, own_host, no_browsers, the size) refusing in their words before the Lua check
 * (the check's kept answer: test_httpserver_memo.c). The
 * server against clients on their own thread: test_httpserver_clients.c. Every test ends
 * with the loop closing with no handle left: a closed server closes its connections. */
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

static void the_check_refuses_a_body_before_reading_it(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local dispatched = 0\n"
               "  local s, url = listen(function(req, id)\n"
               "    dispatched = dispatched + 1\n"
               "    answer(req, id)\n"
               "  end, { check = function(req)\n"
               "    if req.path == '/refuse' then return 403, { ['X-Why'] = 'refused' }, 'no' end\n"
               "    if req.path == '/small' then return nil, 100 end\n"
               "  end })\n"
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
               "  local s, url = listen(function(req, id)\n"
               "    error('dispatch raised')\n"
               "  end, { check = function(req)\n"
               "    if req.path == '/check' then error('check raised') end\n"
               "  end })\n"
               "  local a = http.request { url = url .. '/check', timeout = 10 }\n"
               "  local b, _, kind = http.request { url = url .. '/dispatch', timeout = 0.3 }\n"
               "  s:close()\n"
               "  loop.on_error(nil)\n"
               "  local checked, dispatched\n" /* (by what they say: their line numbers order them otherwise) */
               "  for _, m in ipairs(reported) do\n"
               "    if m:find('check raised', 1, true) then checked = m else dispatched = m end\n"
               "  end\n"
               "  return a.status, kind, #reported, checked, dispatched\n"
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
               "  local s, url = listen(function(req, id)\n"
               "    paths[#paths + 1] = req.path\n"
               "    if req.path == '/hold' then held = id else answer(req, id) end\n"
               "  end, { max_connections = 1 })\n"
               "  local many = {}\n"
               "  for i = 1, 129 do many[i] = { 'X-H' .. i, 'v' } end\n"
               "  local headers = http.request { url = url .. '/', headers = many, timeout = 10 }\n"
               "  -- the 431's connection closed (the client may connect again before the server saw it)\n"
               "  while s:connections() > 0 do loop.sleep(0.01) end\n"
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
               "  local s, url = listen(function(req, id)\n"
               "    loop.spawn(function()\n"
               "      loop.sleep(req.path == '/slow' and 0.05 or 0)\n"
               "      answer(req, id)\n"
               "    end)\n"
               "  end)\n"
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

static void an_answer_larger_than_the_socket_buffer_arrives_whole_and_in_order(void **state) {
  (void)state;
  lua_State *L = harness_open();
  /* written at once as far as the socket takes it, the rest queued: 8 MB is more than
   * a loopback socket's buffer, so both halves are exercised */
  run_scenario(L,
               "return loop.run(function()\n"
               "  local big = {}\n"
               "  for i = 1, 8 * 1024 * 1024 / 16 do big[i] = string.format('%015d\\n', i) end\n"
               "  big = table.concat(big)\n"
               "  local s, url = listen(function(req, id)\n"
               "    if req.path == '/big' then httpserver.respond(id, 200, {}, big) else answer(req, id) end\n"
               "  end)\n"
               "  local a = http.request { url = url .. '/big', timeout = 60 }\n"
               "  local b = http.request { url = url .. '/small', timeout = 60 }\n"
               "  local c = http.request { url = url .. '/big', timeout = 60 }\n"
               "  s:close()\n"
               "  return a.body == big, #a.body, b.body, c.body == big\n"
               "end)\n",
               4);
  assert_true(lua_toboolean(L, -4));
  assert_int_equal(lua_tointeger(L, -3), 8 * 1024 * 1024);
  assert_string_equal(harness_string(L, -2), "GET /small");
  assert_true(lua_toboolean(L, -1));
  harness_close(L);
}

static void header_lines_given_as_a_string_are_written_as_they_are(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local refusals = {}\n"
               "  local s, url = listen(function(req, id)\n"
               "    for _, bad in ipairs { 'X-A: 1', 'X-A: 1\\r\\n\\r\\n', 'X-A: 1\\nX-B: 2\\r\\n', ': 1\\r\\n',\n"
               "                           'X A: 1\\r\\n', 'no colon\\r\\n', 'X-A: 1\\rX-B: 2\\r\\n' } do\n"
               "      local ok = pcall(httpserver.respond, id, 200, bad, 'bad')\n"
               "      refusals[#refusals + 1] = not ok\n"
               "    end\n"
               "    httpserver.respond(id, 201, 'X-One: 1\\r\\nX-Two: a: b\\r\\n', 'lines')\n"
               "  end)\n"
               "  local r = http.request { url = url .. '/x', timeout = 10 }\n"
               "  local empty = 0\n"
               "  s:close()\n"
               "  for _, refused in ipairs(refusals) do if refused then empty = empty + 1 end end\n"
               "  return r.status, r.headers['x-one'], r.headers['x-two'], r.body, empty\n"
               "end)\n",
               5);
  assert_int_equal(lua_tointeger(L, -5), 201);
  assert_string_equal(harness_string(L, -4), "1");
  assert_string_equal(harness_string(L, -3), "a: b");
  assert_string_equal(harness_string(L, -2), "lines");
  assert_int_equal(lua_tointeger(L, -1), 7); /* every malformed block raised, nothing was sent for it */
  harness_close(L);
}


/* respond_next (lambdaeng.native.localexec): the /next answer's header lines written from C
 * into the answer, as respond(id, 200, next_headers(...), payload) writes them: the request
 * id, the ARN, the client context when there is one, the deadline's digits, the trace id. */
static void an_answer_from_c_carries_the_next_lines_and_the_payload(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "local nlocal = require 'lambdaeng.native.localexec'\n"
               "return loop.run(function()\n"
               "  local s, url = listen(function(method, path, body, id)\n"
               "    nlocal.respond_next(id, 'a-b', 3, 'arn:x', path == '/ctx' and 'ctx' or nil, 'payload ' .. path)\n"
               "  end, { bare = true })\n"
               "  local out = {}\n"
               "  for _, path in ipairs { '/ctx', '/none' } do\n"
               "    local r = http.request { url = url .. path, timeout = 10 }\n"
               "    local h = r.headers\n"
               "    out[#out + 1] = table.concat({ r.status, r.body, h['lambda-runtime-aws-request-id'],\n"
               "      h['lambda-runtime-invoked-function-arn'], tostring(h['lambda-runtime-client-context']),\n"
               "      h['content-type'], tostring(h['lambda-runtime-deadline-ms']:match('^%d+$') ~= nil),\n"
               "      tostring(h['lambda-runtime-trace-id']:match('^Root=1%-%x+%-ab$') ~= nil) }, ' ')\n"
               "  end\n"
               "  s:close()\n"
               "  return table.concat(out, '|')\n"
               "end)\n",
               1);
  assert_string_equal(harness_string(L, -1), "200 payload /ctx a-b arn:x ctx application/json true true|"
                                             "200 payload /none a-b arn:x nil application/json true true");
  harness_close(L);
}

static void a_connection_s_reused_request_table_holds_only_the_current_request(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local seen, tables = {}, {}\n"
               "  local function note(where, req)\n"
               "    seen[#seen + 1] = string.format('%s %s %s x=%s cl=%s body=%s', where, req.method, req.path,\n"
               "      tostring(req.headers['x-first']), tostring(req.content_length), tostring(req.body))\n"
               "    tables[req] = true\n"
               "  end\n"
               "  local lines = {}\n"
               "  local s, url = listen(function(req, id)\n"
               "    note('dispatch', req)\n"
               "    lines[#lines + 1] = req.method .. ' ' .. req.target .. ' ' .. req.path .. ' ' .. req.query .. ' ' ..\n"
               "      tostring(req.content_length) .. ' ' .. tostring(req.headers['x-first'])\n"
               "    answer(req, id)\n"
               "  end, { reuse_requests = true, check = function(req) note('check', req) end })\n"
               "  local a = http.request { method = 'PUT', url = url .. '/one', body = 'abc', timeout = 10,\n"
               "                           headers = { { 'X-First', '1' } } }\n"
               "  local b = http.request { url = url .. '/two', timeout = 10 }\n"
               "  -- the same request line again (kept in the table), then its target, method, length alike\n"
               "  for _, r in ipairs { { 'GET', '/two' }, { 'GET', '/two?q=1' }, { 'POST', '/two?q=1' },\n"
               "                       { 'POST', '/twx?q=1' }, { 'POST', '/twx?q=1' }, { 'GET', '/' } } do\n"
               "    http.request { method = r[1], url = url .. r[2], body = r[1] == 'POST' and r[2] or nil, timeout = 10,\n"
               "                   headers = r[1] == 'POST' and { { 'X-First', r[2] } } or nil }\n"
               "  end\n"
               "  s:close()\n"
               "  local n = 0\n"
               "  for _ in pairs(tables) do n = n + 1 end\n"
               "  return a.body .. ',' .. b.body, table.concat(seen, '|', 1, 4), n, table.concat(lines, '|')\n"
               "end)\n",
               4);
  assert_string_equal(harness_string(L, -4), "PUT /one,GET /two");
  assert_string_equal(harness_string(L, -3),
                      "check PUT /one x=1 cl=3 body=nil|dispatch PUT /one x=1 cl=3 body=abc|"
                      "check GET /two x=nil cl=nil body=nil|dispatch GET /two x=nil cl=nil body=");
  assert_int_equal(lua_tointeger(L, -2), 1); /* one table for the connection's requests */
  /* each request's own length and headers: none after a request with them, a new one after another */
  assert_string_equal(harness_string(L, -1), "PUT /one /one  3 1|GET /two /two  nil nil|GET /two /two  nil nil|"
                                             "GET /two?q=1 /two q=1 nil nil|POST /two?q=1 /two q=1 8 /two?q=1|"
                                             "POST /twx?q=1 /twx q=1 8 /twx?q=1|POST /twx?q=1 /twx q=1 8 /twx?q=1|"
                                             "GET / /  nil nil");
  harness_close(L);
}

/* bare: dispatch(method, path, body, id), the path without its query, no table; a check
 * still gets its request table. A path again, or another of the same length, and a
 * request without a body after one with: each its own (the server keeps its last short
 * path's string and a small body buffer between requests). */
static void a_bare_dispatch_gets_method_path_and_body_as_values(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local seen = {}\n"
               "  local function bare(method, path, body, id, extra)\n"
               "    seen[#seen + 1] = string.format('%s %s %s %s %s', method, path, body, math.type(id), tostring(extra))\n"
               "    httpserver.respond(id, 200, {}, method .. ' ' .. path)\n"
               "  end\n"
               "  local s, url = listen(bare, { bare = true })\n"
               "  local a = http.request { method = 'PUT', url = url .. '/one?x=1', body = 'abc', timeout = 10,\n"
               "                           headers = { { 'X-First', '1' } } }\n"
               "  local b = http.request { url = url .. '/two', timeout = 10 }\n"
               "  local b2 = http.request { url = url .. '/two', timeout = 10 }\n"
               "  local a2 = http.request { method = 'POST', url = url .. '/one', body = '', timeout = 10 }\n"
               "  s:close()\n"
               "  local checked = {}\n"
               "  local t, turl = listen(bare, { bare = true, check = function(req)\n"
               "    checked[#checked + 1] = req.method .. ' ' .. req.target .. ' ' .. tostring(req.headers['x-first'])\n"
               "  end })\n"
               "  local c = http.request { method = 'POST', url = turl .. '/three?y', body = 'z', timeout = 10,\n"
               "                           headers = { { 'X-First', '2' } } }\n"
               "  t:close()\n"
               "  local answers = table.concat({ a.body, b.body, b2.body, a2.body, c.body }, ',')\n"
               "  return table.concat({ answers, table.concat(seen, '|'), table.concat(checked, '|') }, ' / ')\n"
               "end)\n",
               1);
  /* the answers; what the bare dispatch got; what the check got */
  assert_string_equal(harness_string(L, -1), "PUT /one,GET /two,GET /two,POST /one,POST /three / "
                                             "PUT /one abc integer nil|GET /two  integer nil|GET /two  integer nil|"
                                             "POST /one  integer nil|POST /three z integer nil / "
                                             "POST /three?y 2");
  harness_close(L);
}

/* The server's own checks (uid, own_host, no_browsers): each refusal in its words, before
 * the Lua check and the dispatch are called; a request that passes reaches both. */
static void the_server_s_own_checks_refuse_before_the_lua_check(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local uid = require('lambdaeng.native.sys').uid()\n"
               "  local checked, dispatched = 0, 0\n"
               "  local function guarded(opts)\n"
               "    opts.max_body, opts.own_host, opts.no_browsers = 100, '127.0.0.1', true\n"
               "    opts.check = function() checked = checked + 1 end\n"
               "    return listen(function(req, id) dispatched = dispatched + 1; answer(req, id) end, opts)\n"
               "  end\n"
               "  local s, url = guarded { uid = uid }\n"
               "  local other, other_url = guarded { uid = uid + 1 }\n"
               "  local port = s:port()\n"
               "  local out = {}\n"
               "  local function try(u, t)\n"
               "    t.url, t.timeout = u .. (t.url or '/'), 10\n"
               "    local r = http.request(t)\n"
               "    out[#out + 1] = r.status .. ' ' .. tostring(r.headers['x-amzn-errortype']) .. ' ' .. r.body\n"
               "  end\n"
               "  try(url, { url = '/fine' })\n"
               "  try(other_url, {})\n"
               "  try(url, { headers = { { 'Host', 'evil.example:' .. port } } })\n"
               "  try(url, { headers = { { 'Origin', 'http://evil.example' } } })\n"
               "  try(url, { headers = { { 'Sec-Fetch-Site', 'none' } } })\n"
               "  try(url, { method = 'OPTIONS' })\n"
               "  try(url, { method = 'PUT', body = string.rep('b', 101) })\n"
               "  try(url, { method = 'PUT', url = '/last', body = string.rep('b', 100) })\n"
               "  s:close()\n"
               "  other:close()\n"
               "  local function refused(status, kind, message)\n"
               "    return status .. ' ' .. kind .. ' {\"Type\":\"User\",\"message\":\"' .. message .. '\"}'\n"
               "  end\n"
               "  local browser = refused(403, 'AccessDeniedException', 'browser requests are refused')\n"
               "  local expected = table.concat({ '200 nil GET /fine',\n"
               "    refused(403, 'AccessDeniedException', 'this Runtime API serves the processes of uid ' .. (uid + 1) .. ' only'),\n"
               "    refused(403, 'AccessDeniedException', 'this Runtime API serves 127.0.0.1:' .. port),\n"
               "    browser, browser, browser,\n"
               "    refused(413, 'RequestEntityTooLargeException', 'the body exceeds 100 bytes'),\n"
               "    '200 nil PUT /last' }, '|')\n"
               "  return table.concat(out, '|'), expected, checked, dispatched\n"
               "end)\n",
               4);
  assert_string_equal(harness_string(L, -4), harness_string(L, -3));
  assert_int_equal(lua_tointeger(L, -2), 2); /* the Lua check: only the two that passed */
  assert_int_equal(lua_tointeger(L, -1), 2);
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_check_refuses_a_body_before_reading_it),
      cmocka_unit_test(header_lines_given_as_a_string_are_written_as_they_are),
      cmocka_unit_test(a_connection_s_reused_request_table_holds_only_the_current_request),
      cmocka_unit_test(a_bare_dispatch_gets_method_path_and_body_as_values),
      cmocka_unit_test(an_answer_from_c_carries_the_next_lines_and_the_payload),
      cmocka_unit_test(the_server_s_own_checks_refuse_before_the_lua_check),
      cmocka_unit_test(raising_hooks_are_reported_from_the_loop),
      cmocka_unit_test(header_and_connection_limits),
      cmocka_unit_test(requests_on_one_connection_are_answered_in_order),
      cmocka_unit_test(an_answer_larger_than_the_socket_buffer_arrives_whole_and_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
