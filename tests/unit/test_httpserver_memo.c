/* httpserver's check_memo: the check's kept answer given to a request alike and only to
 * one; clients taking turns each find theirs (LE_MEMO_SLOTS); for an any_path method the
 * path does not count, its query does. Each test ends with the loop closing with no handle
 * left. */
#include "loop_harness.h"

#include <time.h>

static const char *PRELUDE = HARNESS_SERVER_LUA;

static void run_scenario(lua_State *L, const char *scenario, int nresults) {
  harness_run_after(L, PRELUDE, scenario, nresults);
}

/* check_memo: a passing answer kept (with its from, until) is given again, without the
 * check, to a request alike in method, target and the named headers (the signature's last
 * 64 characters aside, when hex digits), words of its 413 included; any difference, an
 * answer without from and until, or one outside its window calls the check again. */
static void the_check_s_kept_answer_is_given_to_a_request_alike(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local calls = {}\n"
               "  local s, url = listen(answer, { check_memo = { names = { 'x-a', 'authorization' },\n"
               "                                                 signature = 'authorization' },\n"
               "    check = function(req)\n"
               "      calls[#calls + 1] = req.method .. ' ' .. req.path\n"
               "      local now = os.time()\n"
               "      if req.path == '/nomemo' then return nil, 10, 'TooBig', 'too big' end\n"
               "      if req.path == '/expired' then return nil, 10, 'TooBig', 'too big', now - 100, now - 50 end\n"
               "      return nil, 10, 'TooBig', 'too big', now - 100, now + 100\n"
               "    end })\n"
               "  local out = {}\n"
               "  local function try(method, path, a, sig, body)\n"
               "    local headers = { { 'Authorization', 'AWS4 k Signature=' .. sig } }\n"
               "    if a then headers[2] = { 'X-A', a } end\n"
               "    local r = http.request { method = method, url = url .. path, headers = headers, body = body,\n"
               "                             timeout = 10 }\n"
               "    out[#out + 1] = r.status .. ' ' .. tostring(r.headers['x-amzn-errortype']) .. ' ' .. #calls\n"
               "  end\n"
               "  local h1, h2, bad = string.rep('a', 64), string.rep('0123456789ABCDEF', 4), string.rep('g', 64)\n"
               "  try('GET', '/a', '1', h1)\n"        /* called: 1 */
               "  try('GET', '/a', '1', h2)\n"        /* the same but for its hex digits: kept, 1 */
               "  try('GET', '/a', '1', bad)\n"       /* not hex: 2 */
               "  try('GET', '/a', '2', h1)\n"        /* X-A differs: 3 */
               "  try('GET', '/a', nil, h1)\n"        /* X-A absent: 4 */
               "  try('GET', '/b', nil, h1)\n"        /* the target differs: 5 */
               "  try('PUT', '/b', nil, h1, string.rep('x', 11))\n" /* the method: 6, refused by its limit */
               "  try('PUT', '/b', nil, h2, string.rep('x', 11))\n" /* kept: 6, refused in the kept words */
               "  try('PUT', '/b', nil, h1, string.rep('x', 10))\n" /* kept: 6 */
               "  try('GET', '/nomemo', nil, h1)\n"   /* 7 */
               "  try('GET', '/nomemo', nil, h1)\n"   /* no window: 8 */
               "  try('GET', '/expired', nil, h1)\n"  /* 9 */
               "  try('GET', '/expired', nil, h1)\n"  /* out of its window: 10 */
               "  s:close()\n"
               "  return table.concat(out, '|')\n"
               "end)\n",
               1);
  assert_string_equal(harness_string(L, -1),
                      "200 nil 1|200 nil 1|200 nil 2|200 nil 3|200 nil 4|200 nil 5|413 TooBig 6|413 TooBig 6|"
                      "200 nil 6|200 nil 7|200 nil 8|200 nil 9|200 nil 10");
  harness_close(L);
}

/* check_memo with clients taking turns (each its own key, so its own Authorization): each
 * finds its own kept answer, up to LE_MEMO_SLOTS of them; one more pushes out the least
 * recently used (with one slot, every request of clients in turn had the check called). */
static void clients_in_turn_each_find_their_kept_answer(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local calls = 0\n"
               "  local s, url = listen(answer, { check_memo = { names = { 'authorization' }, signature = 'authorization' },\n"
               "    check = function(req)\n"
               "      calls = calls + 1\n"
               "      local now = os.time()\n"
               "      return nil, 10, 'TooBig', 'too big', now - 100, now + 100\n"
               "    end })\n"
               "  local function try(key)\n"
               "    local auth = 'AWS4 Credential=' .. key .. '/x Signature=' .. string.rep('a', 64)\n"
               "    local r = http.request { method = 'POST', url = url .. '/f/invocations', body = '{}',\n"
               "                             headers = { { 'Authorization', auth } }, timeout = 10 }\n"
               "    assert(r.status == 200, r.status)\n"
               "  end\n"
               "  local out = {}\n"
               "  for round = 1, 3 do for k = 1, 8 do try('K' .. k) end end\n" /* 8 clients in turn: 8 calls */
               "  out[#out + 1] = calls\n"
               "  try('K9')\n"                                        /* a ninth: 9, K1 pushed out */
               "  for k = 2, 9 do try('K' .. k) end\n"                /* the 8 kept: 9 */
               "  out[#out + 1] = calls\n"
               "  try('K1')\n"                                        /* K1 again: 10 */
               "  out[#out + 1] = calls\n"
               "  s:close()\n"
               "  return table.concat(out, '|')\n"
               "end)\n",
               1);
  assert_string_equal(harness_string(L, -1), "8|9|10");
  harness_close(L);
}

/* check_memo.any_path: for its methods the kept answer is given whatever the target's path,
 * its query (or none) the kept one's; other methods still need the same target; a name that
 * is no method's is refused when the server starts. */
static void the_kept_answer_of_an_any_path_method_ignores_the_path(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local calls = 0\n"
               "  local bad = select(2, pcall(listen, answer, { check_memo = { names = { 'x-a' }, any_path = { 'FETCH' } },\n"
               "    check = function() end }))\n"
               "  local s, url = listen(answer, { check_memo = { names = { 'x-a' }, any_path = { 'GET', 'DELETE' } },\n"
               "    check = function(req)\n"
               "      calls = calls + 1\n"
               "      local now = os.time()\n"
               "      return nil, 100, 'TooBig', 'too big', now - 100, now + 100\n"
               "    end })\n"
               "  local out = {}\n"
               "  local function try(method, target)\n"
               "    local r = http.request { method = method, url = url .. target, headers = { { 'X-A', '1' } }, timeout = 10 }\n"
               "    out[#out + 1] = r.status .. ' ' .. calls\n"
               "  end\n"
               "  try('GET', '/a?x=1')\n"    /* called: 1 */
               "  try('GET', '/b?x=1')\n"    /* another path, the query kept: 1 */
               "  try('GET', '/b?x=2')\n"    /* the query differs: 2 */
               "  try('GET', '/c')\n"        /* none where one was kept: 3 */
               "  try('GET', '/d/e')\n"      /* none, none kept: 3 */
               "  try('DELETE', '/f')\n"     /* the method differs: 4 */
               "  try('DELETE', '/g')\n"     /* an any_path method too: 4 */
               "  try('PUT', '/g')\n"        /* 5 */
               "  try('PUT', '/h')\n"        /* not any_path: the target counts, 6 */
               "  try('PUT', '/h')\n"        /* 6 */
               "  s:close()\n"
               "  return table.concat(out, '|'), tostring(bad)\n"
               "end)\n",
               2);
  assert_string_equal(harness_string(L, -2), "200 1|200 1|200 2|200 3|200 3|200 4|200 4|200 5|200 6|200 6");
  assert_non_null(strstr(harness_string(L, -1), "check_memo.any_path"));
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_check_s_kept_answer_is_given_to_a_request_alike),
      cmocka_unit_test(clients_in_turn_each_find_their_kept_answer),
      cmocka_unit_test(the_kept_answer_of_an_any_path_method_ignores_the_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
