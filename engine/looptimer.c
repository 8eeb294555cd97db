/* looptimer.c — loop.sleep and loop.timer (looptimer.h), by the monotonic clock: each
 * ends no earlier than its deadline (uv_hrtime from the call), re-armed for the rest when
 * libuv's loop time, cached at the turn's start, fires it early. A timer runs its
 * function as a new task; cancelled, or its handle collected, it never fires. */
#include "looptimer.h"

#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

#include "loop.h"
#include "runtime.h"

/* A sleep (and a loop.timer) ends no earlier than its deadline by the monotonic clock
 * (uv_hrtime), however late in a long turn it began: a timer's due time counts from the
 * loop's cached time (the turn's start), so a sleep of N ms armed from it after hundreds of
 * events ended early (the local target's injected latency was shorter than asked under
 * load, and a function's timeout would have fired early). */
typedef struct sleep_timer {
  uv_timer_t timer;
  uint64_t deadline; /* uv_hrtime() nanoseconds */
} sleep_timer;

/* Milliseconds from the loop's time to the millisecond at or after deadline (libuv's loop
 * time is that same clock in whole milliseconds, truncated: due then, the deadline has
 * passed); at least min_ms. */
static uint64_t ms_until(uint64_t deadline, uint64_t min_ms) {
  uint64_t due = deadline / 1000000 + (deadline % 1000000 != 0), now = uv_now(le_loop());
  return due > now + min_ms ? due - now : min_ms;
}

/* Seconds as nanoseconds: NaN and negatives are 0, and anything beyond a century is a
 * century (a double that does not fit uint64_t is undefined behaviour). */
static uint64_t seconds_to_ns(lua_Number seconds) {
  if (!(seconds > 0)) return 0;
  if (seconds > 3.2e9) return (uint64_t)3.2e18;
  return (uint64_t)(seconds * 1e9 + 0.5);
}

/* The deadline seconds from now (0 for none: the next turn). */
static uint64_t deadline_after(lua_Number seconds) {
  uint64_t ns = seconds_to_ns(seconds);
  return ns ? uv_hrtime() + ns : 0;
}

/* Starts t to fire at deadline. */
static int start_until(uv_timer_t *t, uv_timer_cb cb, uint64_t deadline) {
  return uv_timer_start(t, cb, ms_until(deadline, 0), 0);
}

/* Whether t fired before deadline, and was re-armed for the rest (a millisecond at least):
 * early by another clock's reckoning, never with libuv's own. */
static int rearmed_early(uv_timer_t *t, uv_timer_cb cb, uint64_t deadline) {
  return deadline && uv_hrtime() < deadline && uv_timer_start(t, cb, ms_until(deadline, 1), 0) == 0;
}

static void sleep_cb(uv_timer_t *t) {
  sleep_timer *s = (sleep_timer *)t;
  if (rearmed_early(t, sleep_cb, s->deadline)) return;
  lua_State *co = t->data;
  uv_close((uv_handle_t *)t, (uv_close_cb)free);
  le_task_resume(co, 0);
}

static int l_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  if (!lua_isyieldable(L)) return luaL_error(L, "sleep() can only be called from a task (loop.run/spawn)");
  sleep_timer *s = malloc(sizeof *s);
  if (!s) return luaL_error(L, "out of memory");
  uv_timer_t *t = &s->timer;
  int rc = uv_timer_init(le_loop(), t);
  if (rc != 0) {
    free(s);
    return luaL_error(L, "sleep(): %s", uv_strerror(rc));
  }
  t->data = L;
  s->deadline = deadline_after(seconds); /* sleep(0): the next turn, as ever */
  rc = start_until(t, sleep_cb, s->deadline);
  if (rc != 0) {
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    return luaL_error(L, "sleep(): %s", uv_strerror(rc));
  }
  return lua_yield(L, 0);
}

/* loop.timer(seconds, fn): runs fn as a new task after seconds unless cancelled.
 * A timer that has not fired keeps the loop alive unless unref'd: the local target's
 * timeouts must not hold a finished run open. */
#define TIMER_MT "lambdaeng.timer"
typedef struct timer_box {
  uv_timer_t timer;
  int fn_ref;
  int active;
  uint64_t deadline; /* uv_hrtime() nanoseconds (0: the next turn) */
} timer_box;

static void timer_fire(uv_timer_t *t) {
  timer_box *b = t->data;
  if (rearmed_early(t, timer_fire, b->deadline)) return;
  lua_State *L = le_loop_state();
  b->active = 0;
  lua_State *co = lua_newthread(L);
  le_task_anchor(L, co, 1);
  lua_pop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->fn_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, b->fn_ref);
  b->fn_ref = LUA_NOREF;
  lua_xmove(L, co, 1);
  le_task_resume(co, 0);
}

static int l_timer(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  timer_box **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = NULL;
  luaL_setmetatable(L, TIMER_MT);
  timer_box *b = calloc(1, sizeof *b);
  if (!b) return luaL_error(L, "out of memory");
  int rc = uv_timer_init(le_loop(), &b->timer);
  if (rc != 0) {
    free(b);
    return luaL_error(L, "timer(): %s", uv_strerror(rc));
  }
  lua_pushvalue(L, 2);
  b->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  b->timer.data = b;
  b->active = 1;
  *ud = b; /* from here on the handle's __gc closes it */
  b->deadline = deadline_after(seconds);
  rc = start_until(&b->timer, timer_fire, b->deadline);
  if (rc != 0) return luaL_error(L, "timer(): %s", uv_strerror(rc));
  return 1;
}

static int l_timer_cancel(lua_State *L) {
  timer_box **ud = luaL_checkudata(L, 1, TIMER_MT);
  timer_box *b = *ud;
  if (b && b->active) {
    le_uv_check(uv_timer_stop(&b->timer), "cancelling a timer");
    b->active = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, b->fn_ref);
    b->fn_ref = LUA_NOREF;
  }
  return 0;
}

static int l_timer_unref(lua_State *L) {
  timer_box **ud = luaL_checkudata(L, 1, TIMER_MT);
  if (*ud) uv_unref((uv_handle_t *)&(*ud)->timer);
  lua_settop(L, 1);
  return 1;
}

static int l_timer_gc(lua_State *L) {
  timer_box **ud = luaL_checkudata(L, 1, TIMER_MT);
  timer_box *b = *ud;
  if (!b) return 0;
  *ud = NULL;
  if (b->fn_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, b->fn_ref);
  /* The function is gone with the handle: a collected timer never fires. */
  le_uv_check(uv_timer_stop(&b->timer), "stopping a collected timer");
  uv_close((uv_handle_t *)&b->timer, (uv_close_cb)free);
  return 0;
}

void le_loop_open_timers(lua_State *L) {
  static const luaL_Reg methods[] = {{"cancel", l_timer_cancel}, {"unref", l_timer_unref}, {NULL, NULL}};
  le_new_class(L, TIMER_MT, methods, l_timer_gc);
  lua_pushcfunction(L, l_sleep);
  lua_setfield(L, -2, "sleep");
  lua_pushcfunction(L, l_timer);
  lua_setfield(L, -2, "timer");
}
