/* Child processes on the loop (process.c): output read as it comes, the exit
 * status and signal, a kill reaching what the child started, a spawn that cannot
 * start answered as a value, a raising handler reported through the loop. Every
 * test ends with the loop closing with no handle left. */
#include <signal.h>
#include <unistd.h>
#include <sys/types.h>

#include "loop_harness.h"

static const char *PRELUDE =
    "local loop = require 'lambdaeng.native.loop'\n"
    "local process = require 'lambdaeng.native.process'\n"
    "-- runs a shell command to its end: stdout, stderr, status, signal\n"
    "local function sh(script, opts)\n"
    "  opts = opts or {}\n"
    "  local out, err, me = {}, {}, loop.current()\n"
    "  local p = assert(process.spawn { file = '/bin/sh', args = { '-c', script }, env = { 'PATH=/usr/bin:/bin' },\n"
    "    on_output = opts.on_output or function(chunk, stream)\n"
    "      local t = stream == 'stdout' and out or err\n"
    "      t[#t + 1] = chunk\n"
    "    end,\n"
    "    on_exit = function(status, signal) loop.wake(me, status, signal) end })\n"
    "  if opts.started then opts.started(p) end\n"
    "  local status, signal = loop.suspend()\n"
    "  return table.concat(out), table.concat(err), status, signal, p\n"
    "end\n";

static void run_scenario(lua_State *L, const char *scenario, int nresults) {
  size_t n = strlen(PRELUDE) + strlen(scenario) + 1;
  char *chunk = malloc(n);
  snprintf(chunk, n, "%s%s", PRELUDE, scenario);
  harness_run(L, chunk, nresults);
  free(chunk);
}

static void output_and_exit_status(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local out, err, status, signal, p = sh('printf \"%s\" \"$GREETING\"; printf oops >&2; exit 3')\n"
               "  local out2 = sh('echo $PATH')\n"
               "  return out, err, status, signal, p:running(), out2\n"
               "end)\n",
               6);
  assert_string_equal(harness_string(L, -6), ""); /* the child sees only the environment it is given */
  assert_string_equal(harness_string(L, -5), "oops");
  assert_int_equal(lua_tointeger(L, -4), 3);
  assert_int_equal(lua_tointeger(L, -3), 0);
  assert_false(lua_toboolean(L, -2));
  assert_string_equal(harness_string(L, -1), "/usr/bin:/bin\n");
  harness_close(L);
}

/* A kill ends the whole process group: what the child started ends too. */
static void a_kill_reaches_the_process_group(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  local grandchild\n"
               "  local out, _, status, signal = sh('sleep 30 & echo $!; wait', {\n"
               "    on_output = function(chunk) grandchild = grandchild or tonumber(chunk:match('%d+')) end,\n"
               "    started = function(p)\n"
               "      loop.spawn(function()\n"
               "        while not grandchild do loop.sleep(0.01) end\n"
               "        p:kill()\n"
               "      end)\n"
               "    end })\n"
               "  return signal, grandchild\n"
               "end)\n",
               2);
  assert_int_equal(lua_tointeger(L, -2), SIGKILL);
  pid_t grandchild = (pid_t)lua_tointeger(L, -1);
  assert_true(grandchild > 0);
  /* killed with its group (it may linger a moment as a zombie of init's) */
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)grandchild);
    FILE *f = fopen(path, "r");
    char st = 'Z';
    if (f) {
      if (fscanf(f, "%*d %*s %c", &st) != 1) st = 'Z';
      fclose(f);
    }
    gone = !f || st == 'Z';
    if (!gone) usleep(10000);
  }
  assert_true(gone);
  harness_close(L);
}

static void a_spawn_that_cannot_start_is_a_value(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "return loop.run(function()\n"
               "  return process.spawn { file = '/nonexistent/program', args = {} }\n"
               "end)\n",
               3);
  assert_true(lua_isnil(L, -3));
  assert_non_null(strstr(harness_string(L, -2), "cannot start /nonexistent/program"));
  assert_string_equal(harness_string(L, -1), "ENOENT");
  harness_close(L);
}

static void a_raising_handler_is_reported_from_the_loop(void **state) {
  (void)state;
  lua_State *L = harness_open();
  run_scenario(L,
               "local reported = {}\n"
               "loop.on_error(function(msg) reported[#reported + 1] = msg end)\n"
               "return loop.run(function()\n"
               "  local _, _, status = sh('echo hello', { on_output = function() error('handler raised') end })\n"
               "  loop.sleep(0)\n"
               "  loop.on_error(nil)\n"
               "  return status, #reported, reported[1]\n"
               "end)\n",
               3);
  assert_int_equal(lua_tointeger(L, -3), 0);
  assert_int_equal(lua_tointeger(L, -2), 1);
  assert_non_null(strstr(harness_string(L, -1), "process output handler: "));
  assert_non_null(strstr(harness_string(L, -1), "handler raised"));
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(output_and_exit_status),
      cmocka_unit_test(a_kill_reaches_the_process_group),
      cmocka_unit_test(a_spawn_that_cannot_start_is_a_value),
      cmocka_unit_test(a_raising_handler_is_reported_from_the_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
