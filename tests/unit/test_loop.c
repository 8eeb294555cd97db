/* The event loop and its tasks (loop.c): spawn, suspend/wake, sleep, timers, the
 * main task's outcome, and how errors from tasks and callbacks are reported: queued
 * and handed to the on_error handler on a later turn, never in the middle of the
 * callback. Every test ends with the loop closing with no handle left. */
#include "loop_harness.h"

static void tasks_spawn_wake_and_sleep(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "return loop.run(function(prefix)\n"
              "  local order, main = { prefix }, loop.current()\n"
              "  loop.spawn(function(x) order[#order + 1] = 'spawned ' .. x; loop.wake(main, 'woken') end, 'a')\n"
              "  order[#order + 1] = 'before'\n"
              "  local woken = loop.suspend()\n"
              "  order[#order + 1] = woken\n"
              "  local t0 = loop.now()\n"
              "  loop.sleep(0.02)\n"
              "  order[#order + 1] = loop.now() - t0 >= 0.015 and 'slept' or 'woke early'\n"
              "  return table.concat(order, ','), 42\n"
              "end, 'start')\n",
              2);
  assert_string_equal(harness_string(L, -2), "start,before,spawned a,woken,slept");
  assert_int_equal(lua_tointeger(L, -1), 42);
  harness_close(L);
}

/* A sleep lasts at least its seconds by the monotonic clock from the call, however late
 * in the loop's turn the call comes: a task that first spends 40 ms in its turn (spinning
 * on the clock, so the loop's cached time is 40 ms old) then sleeps (or sets a timer) must
 * not wake before its seconds have passed from its call, while a ticker keeps the loop turning (as a busy
 * server's I/O does; the timers armed from the turn's start woke them 40 ms early). A lower
 * bound only: it holds on any machine, however loaded. */
static void a_sleep_or_timer_set_late_in_a_turn_waits_its_seconds_from_the_call(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "return loop.run(function()\n"
              "  local slept, main, kept = {}, loop.current()\n"
              "  loop.spawn(function() while #slept < 3 do loop.sleep(0.001) end end)\n"
              "  local function note(t0, seconds)\n"
              "    slept[#slept + 1] = (loop.now() - t0) - seconds\n"
              "    if #slept == 3 then loop.wake(main) end\n"
              "  end\n"
              "  local function late(busy, seconds, timer)\n"
              "    local t = loop.now()\n"
              "    while loop.now() - t < busy do end\n"
              "    local t0 = loop.now()\n"
              "    if timer then kept = loop.timer(seconds, function() note(t0, seconds) end) return end\n"
              "    loop.sleep(seconds)\n"
              "    note(t0, seconds)\n"
              "  end\n"
              "  loop.spawn(late, 0.04, 0.05)\n"
              "  loop.spawn(late, 0.04, 0.0205)\n"
              "  loop.spawn(late, 0.04, 0.03, true)\n"
              "  loop.suspend()\n"
              "  return math.min(slept[1], slept[2], slept[3])\n"
              "end)\n",
              1);
  /* how much longer than asked the shortest one waited: never less than nothing (a microsecond for the float) */
  double over = lua_tonumber(L, -1);
  if (over < -1e-6) fail_msg("a sleep or timer ended %.3f ms before its seconds from the call", -over * 1000);
  harness_close(L);
}

/* Tasks queued for the next turn start in the order queued, however many wait at
 * once (the ready ring grows while it holds some, wrapped around its end), and tasks
 * queued by a starting task run in the same pass. */
static void many_ready_tasks_run_in_the_order_queued(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "return loop.run(function()\n"
              "  local order, main, want = {}, loop.current(), 0\n"
              "  local function note(i) order[#order + 1] = i end\n"
              "  for i = 1, 40 do loop.spawn(note, i) end\n"
              "  loop.sleep(0)\n" /* the ring's head is now past its start: the next batch wraps */
              "  for i = 41, 1000 do loop.spawn(note, i) end\n"
              "  loop.spawn(function() for i = 1001, 1100 do loop.spawn(note, i) end end)\n"
              "  loop.spawn(function() loop.wake(main, 'woken') end)\n"
              "  local woken = loop.suspend()\n"
              "  loop.sleep(0)\n"
              "  for i, v in ipairs(order) do if v ~= i then return 'out of order at ' .. i, woken end end\n"
              "  return #order, woken\n"
              "end)\n",
              2);
  assert_int_equal(lua_tointeger(L, -2), 1100);
  assert_string_equal(harness_string(L, -1), "woken");
  harness_close(L);
}

static void timers_fire_cancel_and_unref(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "return loop.run(function()\n"
              "  local fired = {}\n"
              "  local keep = loop.timer(0.01, function() fired[#fired + 1] = 'kept' end)\n"
              "  local cancelled = loop.timer(0.01, function() fired[#fired + 1] = 'cancelled' end)\n"
              "  cancelled:cancel()\n"
              "  loop.timer(0.01, function() fired[#fired + 1] = 'collected' end)\n"
              "  collectgarbage(); collectgarbage()\n"
              "  local idle = loop.timer(3600, function() fired[#fired + 1] = 'idle' end):unref()\n"
              "  loop.sleep(0.05)\n"
              "  return table.concat(fired, ','), keep ~= nil and idle ~= nil\n"
              "end)\n",
              2);
  assert_string_equal(harness_string(L, -2), "kept");
  assert_true(lua_toboolean(L, -1));
  harness_close(L); /* the unref'd timer did not hold the loop; its handle closes with the state */
}

/* A task that fails is reported on a later turn, through on_error, with its traceback;
 * the tasks that run in the same turn see nothing reported yet. */
static void a_failing_task_is_reported_from_the_loop(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "local reported = {}\n"
              "loop.on_error(function(msg) reported[#reported + 1] = msg end)\n"
              "return loop.run(function()\n"
              "  local during\n"
              "  loop.spawn(function() error('boom in a task') end)\n"
              "  loop.spawn(function() during = #reported end)\n"
              "  loop.sleep(0.01)\n"
              "  loop.on_error(nil)\n"
              "  return during, #reported, reported[1]\n"
              "end)\n",
              3);
  assert_int_equal(lua_tointeger(L, -3), 0);
  assert_int_equal(lua_tointeger(L, -2), 1);
  const char *msg = harness_string(L, -1);
  assert_non_null(strstr(msg, "internal error in a task: "));
  assert_non_null(strstr(msg, "boom in a task"));
  assert_non_null(strstr(msg, "stack traceback"));
  harness_close(L);
}

/* le_callback_call from C: the stack is left as it was, the error waits for the loop. */
static void a_raising_callback_leaves_the_stack_balanced(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "_G.reported = {}\n"
              "loop.on_error(function(msg) reported[#reported + 1] = msg end)\n",
              0);
  int top = lua_gettop(L);
  assert_int_equal(luaL_loadstring(L, "error('raised by a callback')"), LUA_OK);
  lua_pushinteger(L, 1);
  assert_int_not_equal(le_callback_call(L, 1, 2, "test callback"), LUA_OK);
  assert_int_equal(lua_gettop(L), top);
  assert_int_equal(luaL_loadstring(L, "return ... + 1"), LUA_OK);
  lua_pushinteger(L, 41);
  assert_int_equal(le_callback_call(L, 1, 1, "test callback"), LUA_OK);
  assert_int_equal(lua_tointeger(L, -1), 42);
  lua_pop(L, 1);
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "local before = #reported\n"
              "loop.run(function() loop.sleep(0) end)\n"
              "loop.on_error(nil)\n"
              "return before, #reported, reported[1]\n",
              3);
  assert_int_equal(lua_tointeger(L, -3), 0);
  assert_int_equal(lua_tointeger(L, -2), 1);
  assert_non_null(strstr(harness_string(L, -1), "test callback: "));
  assert_non_null(strstr(harness_string(L, -1), "raised by a callback"));
  harness_close(L);
}

/* The main task's error is run()'s error, with its traceback; the loop still closes. */
static void the_main_tasks_error_is_raised_by_run(void **state) {
  (void)state;
  lua_State *L = harness_open();
  harness_run(L,
              "local loop = require 'lambdaeng.native.loop'\n"
              "local ok, err = pcall(loop.run, function()\n"
              "  loop.timer(0.05, function() end) -- left to the next run\n"
              "  loop.sleep(0.001)\n"
              "  error('main failed')\n"
              "end)\n"
              "local ok2, err2 = pcall(loop.run, function() loop.suspend() end)\n"
              "return ok, err, ok2, err2\n",
              4);
  assert_false(lua_toboolean(L, -4));
  assert_non_null(strstr(harness_string(L, -3), "main failed"));
  assert_non_null(strstr(harness_string(L, -3), "stack traceback"));
  assert_false(lua_toboolean(L, -2));
  assert_non_null(strstr(harness_string(L, -1), "never finished"));
  harness_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tasks_spawn_wake_and_sleep),
      cmocka_unit_test(a_sleep_or_timer_set_late_in_a_turn_waits_its_seconds_from_the_call),
      cmocka_unit_test(many_ready_tasks_run_in_the_order_queued),
      cmocka_unit_test(timers_fire_cancel_and_unref),
      cmocka_unit_test(a_failing_task_is_reported_from_the_loop),
      cmocka_unit_test(a_raising_callback_leaves_the_stack_balanced),
      cmocka_unit_test(the_main_tasks_error_is_raised_by_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
