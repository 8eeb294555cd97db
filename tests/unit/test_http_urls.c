/* The HTTP client's URLs and response headers: a response's lazy headers read through one
 * index (httpheaders.c), a URL parsed once and sent as its text would be, with its parsed
 * handle kept for the next requests to it (httpurl.c), and which URLs name their host by
 * address. Each with both transports where both read them. Every test ends with the loop
 * closing with no handle left. */
#include "loop_harness.h"
#include "http_transport.h"

#include "httpheaders.h"
#include "httpurl.h"

/* A response's lazy headers (httpheaders.c): the first read indexes every line once, every
 * read after looks the name up in that index. Names in any case in the block, read by their
 * lower-case name only; a name given twice keeps its last value; absent names, prefixes and
 * non-string keys are nil; the last line at the block's very end (no newline after it: the
 * block is copied from a buffer of exactly its size, so ASan sees a read past it). */
static void lazy_headers_are_read_through_one_index(void **state) {
  (void)state;
  lua_State *L = harness_open();
  static const char block[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "X-Amz-Function-Error: Unhandled\r\n"
                              "X-Amzn-RequestId: 1b2c\n"
                              "x-amz-FUNCTION-error:\tHandled \r\n"
                              "Empty:\r\n"
                              ": no name\r\n"
                              "no colon here\r\n"
                              "X-Amz-Executed-Version:  $LATEST  \r\n"
                              "X-Last:  at the end ";
  size_t len = sizeof block - 1;
  char *raw = malloc(len); /* no terminating NUL after the last line */
  assert_non_null(raw);
  memcpy(raw, block, len);
  harness_run(L, "require 'lambdaeng.native.http'", 0); /* registers the headers' metatable */
  le_http_push_headers(L, raw, len, 1);
  free(raw);
  lua_setglobal(L, "H");
  harness_run(L,
              "local seen = {}\n"
              "local function read(name) seen[#seen + 1] = tostring(H[name]) end\n"
              "for _, name in ipairs { 'x-last', 'content-type', 'x-amz-function-error', 'x-amzn-requestid',\n"
              "    'x-amz-executed-version', 'empty', '', 'Content-Type', 'X-LAST', 'missing', 'x-amz',\n"
              "    'x-amz-function-errors', 'no colon here', 'http/1.1 200 ok', 'x-last' } do read(name) end\n"
              "read(1); read(true)\n"
              "local n = 0\n"
              "for k, v in pairs(H) do n = n + 1 end\n"
              "seen[#seen + 1] = tostring(n)\n"
              "local lines = {}\n"
              "for i = 1, 40 do lines[i] = 'Name-' .. i .. ': v' .. i end\n"
              "local many = require('lambdaeng.native.http').headers(table.concat(lines, '\\r\\n'), true)\n"
              "for i = 40, 1, -1 do assert(many['name-' .. i] == 'v' .. i, 'name-' .. i) end\n"
              "local empty = require('lambdaeng.native.http').headers('', true)\n"
              "seen[#seen + 1] = tostring(empty['x-last'])\n"
              "return table.concat(seen, '|')\n",
              1);
  assert_string_equal(harness_string(L, -1), "at the end|application/json|Handled|1b2c|$LATEST||no name|nil|nil|nil|nil|"
                                             "nil|nil|nil|at the end|nil|nil|7|nil");
  harness_close(L);
}

/* A URL is parsed once (httpurl.c) and its parsed handle given to libcurl with the text:
 * what is sent is what libcurl sent from the text alone (dot segments resolved, the
 * fragment dropped, escapes kept, a URL it refuses refused), each distinct text is
 * parsed once while kept, a new one takes the place of the one least recently used that
 * no transfer holds, and past 32 held by transfers in flight each further transfer
 * parses its own, then lets it go. */
static void a_url_is_parsed_once_and_sent_as_its_text_would_be(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run_after(L, HARNESS_HTTP_LUA,
                    "return loop.run(function()\n"
                    "  local s, url = listen(function(req, id)\n"
                    "    loop.spawn(function()\n"
                    "      if req.path:find('^/held/') then loop.sleep(0.2) end\n"
                    "      httpserver.respond(id, 200, {}, req.method .. ' ' .. req.target)\n"
                    "    end)\n"
                    "  end)\n"
                    "  local parsed = http.stats().urls_parsed\n"
                    "  local seen = {}\n"
                    "  for pass = 1, 2 do\n"
                    "    for _, u in ipairs { '/a/../b?x=1&y=%2F', '/c/./d/', '/e%20f/g?', '/h#frag', '/i?q=a b',\n"
                    "                         '/j/%7Euser', '//k', '/l/..', '' } do\n"
                    "      local r, m, k = http.request { url = url .. u, timeout = 10 }\n"
                    "      seen[#seen + 1] = r and r.body or ('nil ' .. k .. ' ' .. m)\n"
                    "    end\n"
                    "    seen[#seen + 1] = 'parsed ' .. http.stats().urls_parsed - parsed\n"
                    "  end\n"
                    "  local done, main, bodies = 0, loop.current(), {}\n"
                    "  for i = 1, 40 do\n"
                    "    loop.spawn(function()\n"
                    "      local r = assert(http.request { url = url .. '/held/' .. i, timeout = 30 })\n"
                    "      bodies[i] = r.body == 'GET /held/' .. i\n"
                    "      done = done + 1\n"
                    "      if done == 40 then loop.wake(main) end\n"
                    "    end)\n"
                    "  end\n"
                    "  loop.suspend()\n"
                    "  for i = 1, 40 do assert(bodies[i], i) end\n"
                    "  seen[#seen + 1] = 'held ' .. http.stats().urls_parsed - parsed\n"
                    "  for _, u in ipairs { '/held/1', '/held/40', '/held/40', '/held/1' } do\n"
                    "    assert(http.request { url = url .. u, timeout = 30 })\n"
                    "  end\n"
                    "  seen[#seen + 1] = 'again ' .. http.stats().urls_parsed - parsed\n"
                    "  s:close()\n"
                    "  return table.concat(seen, '|')\n"
                    "end)\n",
                    1);
  const char *pass = "GET /b?x=1&y=%2F|GET /c/d/|GET /e%20f/g?|GET /h|"
                     "nil unsupported URL using bad/illegal format or missing URL|GET /j/%7Euser|GET //k|GET /|GET /|";
  char want[1024];
  snprintf(want, sizeof want, "%sparsed 8|%sparsed 8|held 48|again 49", pass, pass);
  assert_string_equal(harness_string(L, -1), want);
  harness_close(L);
}

/* Which parsed URLs name their host by address (their DNS entry then kept for good). */
static void a_url_knows_whether_its_host_is_an_address(void **state) {
  (void)state;
  static const struct {
    const char *url;
    int address;
  } cases[] = {
      {"http://127.0.0.1:9001/2015-03-31/functions/f", 1}, {"http://[::1]:9001/", 1},
      {"https://[2001:db8::7]/x?y=1", 1},                   {"http://10.1.2/", 1}, /* libcurl reads it as 10.1.0.2 */
      {"http://localhost:9001/", 0},                        {"https://lambda.us-east-1.amazonaws.com/", 0},
      {"http://127.0.0.1.nip.io/", 0},                      {"http://[::1]x/", -1}, /* not a URL: no handle */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    le_http_url *u = le_http_url_take(cases[i].url);
    if (cases[i].address < 0) {
      assert_null(u);
      continue;
    }
    assert_non_null(u);
    if (le_http_url_host_is_address(u) != cases[i].address) fail_msg("%s: %d", cases[i].url, !cases[i].address);
    le_http_url_release(u);
  }
  le_http_url_close();
}

#define BOTH(test) cmocka_unit_test(test), cmocka_unit_test_setup_teardown(test, force_curl, transport_default)

int main(void) {
  const struct CMUnitTest tests[] = {
      BOTH(lazy_headers_are_read_through_one_index),
      BOTH(a_url_is_parsed_once_and_sent_as_its_text_would_be),
      cmocka_unit_test(a_url_knows_whether_its_host_is_an_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
