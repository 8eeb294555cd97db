/* loop_harness.h — what the tests of the loop's modules (loop.c, http.c,
 * httpserver.c, process.c) share: a Lua state with the engine's native modules,
 * a scenario written in Lua and run to its end, and the check each test ends
 * with, as libuv's own tests do: the loop closes with no handle left. */
#ifndef LAMBDAENG_LOOP_HARNESS_H
#define LAMBDAENG_LOOP_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <uv.h>

#include "loop.h"
#include "runtime.h"

static lua_State *harness_open(void) {
  le_error err;
  lua_State *L = le_runtime_open(LAMBDAENG_TEST_SHARE, &err);
  if (!L) fail_msg("cannot open the Lua state: %s", err.message);
  return L;
}

/* Runs the Lua chunk (which runs the loop itself, through loop.run) and leaves its
 * nresults results on the stack; a raised error fails the test with its traceback. */
static void harness_run(lua_State *L, const char *chunk, int nresults) {
  if (luaL_loadstring(L, chunk) != LUA_OK) fail_msg("the scenario does not compile: %s", lua_tostring(L, -1));
  if (le_pcall_traceback(L, 0, nresults) != LUA_OK) fail_msg("the scenario failed: %s", lua_tostring(L, -1));
}

/* The Lua an HTTP test (http.c, httpserver.c) starts with: the loop, the client,
 * the server, and listen(dispatch, opts) -> server, its base URL (127.0.0.1 on an
 * ephemeral port; a listen that fails raises). */
#define HARNESS_HTTP_LUA                                                                \
  "local loop = require 'lambdaeng.native.loop'\n"                                      \
  "local http = require 'lambdaeng.native.http'\n"                                      \
  "local httpserver = require 'lambdaeng.native.httpserver'\n"                          \
  "local function listen(dispatch, opts)\n"                                             \
  "  local s = assert(httpserver.listen('127.0.0.1', 0, dispatch, opts))\n"             \
  "  return s, 'http://127.0.0.1:' .. s:port()\n"                                        \
  "end\n"

/* The Lua a server test (httpserver.c) starts with: HARNESS_HTTP_LUA, the errors the loop
 * reports kept in reported, and answer(req, id): 200 with "METHOD target" as its body. */
#define HARNESS_SERVER_LUA                                                              \
  HARNESS_HTTP_LUA                                                                      \
  "local reported = {}\n"                                                               \
  "loop.on_error(function(msg) reported[#reported + 1] = msg end)\n"                    \
  "local function answer(req, id) httpserver.respond(id, 200, {}, req.method .. ' ' .. req.target) end\n"

/* harness_run of the chunk prelude .. scenario (a test file's fixtures, then its case). */
static inline void harness_run_after(lua_State *L, const char *prelude, const char *scenario, int nresults) {
  size_t n = strlen(prelude) + strlen(scenario) + 1;
  char *chunk = malloc(n);
  if (!chunk) fail_msg("out of memory");
  snprintf(chunk, n, "%s%s", prelude, scenario);
  harness_run(L, chunk, nresults);
  free(chunk);
}

/* The integer the chunk returns (a chunk that raises fails the test). */
static inline lua_Integer harness_integer(lua_State *L, const char *chunk) {
  harness_run(L, chunk, 1);
  lua_Integer n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}

/* The string result at index idx (a failed scenario's description otherwise). */
static const char *harness_string(lua_State *L, int idx) {
  const char *s = lua_tostring(L, idx);
  return s ? s : "(not a string)";
}

static void print_open_handle(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    print_error("open handle: %s%s\n", uv_handle_type_name(uv_handle_get_type(h)), uv_has_ref(h) ? "" : " (unref'd)");
}

/* Closes the Lua state (its collected handles close) and then the loop, which must
 * close: nothing of the scenario may be left open. */
static void harness_close(lua_State *L) {
  lua_close(L);
  uv_run(le_loop(), UV_RUN_NOWAIT); /* close callbacks of what the collector closed */
  int rc = le_loop_close();
  if (rc != 0) uv_walk(le_loop(), print_open_handle, NULL);
  assert_int_equal(rc, 0);
}

#endif
