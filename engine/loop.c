/* loop.c — the event loop and the Lua tasks on it (loop.h): tasks anchored, resumed in
 * one place, started and woken through a ready ring served by one zero timer; errors
 * queued and reported on the loop's next turn; yield (the check phase), suspend and
 * wake; Ctrl-C and SIGTERM as a task; run and the loop's close. Sleeps and timers:
 * looptimer.c. */
#include "loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "http.h"
#include "looptimer.h"
#include "runtime.h"

/* Registry layout: TASKS maps each live task (its lua_State, a light userdata) to its
 * thread, anchoring it; ERRORS is the list of error messages waiting to be reported. */
static const char TASKS_KEY = 'T';
static const char ERRORS_KEY = 'E';
static lua_State *main_state; /* the state the loop belongs to */

uv_loop_t *le_loop(void) { return uv_default_loop(); }

lua_State *le_loop_state(void) { return main_state; }

/* on: anchors co, which must be the thread on top of L (just created); off: lets it
 * go. Keyed by address so that letting go never pushes onto co's stack: a task that
 * ended in an error has no free slot there (the API check of Lua's sanitized build). */
void le_task_anchor(lua_State *L, lua_State *co, int on) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &TASKS_KEY);
  if (on) lua_pushvalue(L, -2);
  else lua_pushnil(L);
  lua_rawsetp(L, -2, co);
  lua_pop(L, 1);
}

lua_State *le_main_thread(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *main = lua_tothread(L, -1);
  lua_pop(L, 1);
  return main;
}

void le_alloc_read_buffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

int le_task_can_wait(lua_State *L) { return lua_isyieldable(L); }

/* The main task's outcome, kept in the registry until run() returns. */
static lua_State *main_task;
static int main_done, main_failed;

void le_task_resume(lua_State *co, int nargs) {
  lua_State *L = main_state;
  int nres = 0;
  int status = lua_resume(co, L, nargs, &nres);
  if (status == LUA_YIELD) {
    lua_pop(co, nres);
    return;
  }
  if (status == LUA_OK) {
    if (co == main_task) {
      main_done = 1;
      /* keep the results on co's stack for run() to collect */
    } else {
      lua_pop(co, nres);
    }
  } else {
    const char *msg = lua_tostring(co, -1);
    luaL_traceback(L, co, msg ? msg : "(error object is not a string)", 0);
    if (co == main_task) {
      main_done = 1;
      main_failed = 1;
      /* The message with its traceback, for run(), in place of the bare one: an ended
       * task's stack has no slot to spare. */
      lua_pop(co, 1);
      lua_xmove(L, co, 1);
    } else {
      le_report_error(L, "internal error in a task", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    if (co == main_task) uv_stop(le_loop());
  }
  if (co != main_task) le_task_anchor(L, co, 0);
}

/* Errors from tasks and callbacks wait in ERRORS until the loop's next turn, when
 * report_cb hands each to the Lua handler set with on_error, or to stderr. */
static uv_timer_t report_timer;
static int report_ready, error_handler_ref = LUA_NOREF;

static void report_errors(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ERRORS_KEY);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  lua_newtable(L); /* the queue starts again empty: a handler may queue more */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ERRORS_KEY);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    const char *msg = lua_tostring(L, -1);
    if (error_handler_ref != LUA_NOREF) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, error_handler_ref);
      lua_pushvalue(L, -2);
      if (le_pcall_traceback(L, 1, 0) != LUA_OK) { /* the reporter itself failed: the last resort */
        fprintf(stderr, "lambdaeng: %s\nlambdaeng: reporting it failed: %s\n", msg, lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    } else {
      fprintf(stderr, "lambdaeng: %s\n", msg);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void report_cb(uv_timer_t *t) {
  (void)t;
  report_errors(main_state);
}

void le_report_error(lua_State *L, const char *what, const char *message) {
  L = main_state ? main_state : L;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ERRORS_KEY);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ERRORS_KEY);
  }
  lua_pushfstring(L, "%s: %s", what, message ? message : "(error object is not a string)");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
  int rc = report_ready ? 0 : uv_timer_init(le_loop(), &report_timer);
  if (rc == 0) {
    report_ready = 1;
    rc = uv_timer_start(&report_timer, report_cb, 0, 0);
  }
  /* Checked, and nothing else to do: without the timer (it cannot fail on Linux) the
   * errors wait for run(), which reports what is queued when the loop stops, or for
   * report_errors(); printing them here would be in the middle of a callback. */
  (void)rc;
}

void le_report_failure(const char *what, const char *message) {
  if (main_state) le_report_error(main_state, what, message);
  else fprintf(stderr, "lambdaeng: %s: %s\n", what, message);
}

int le_uv_check(int rc, const char *what) {
  if (rc < 0) le_report_failure(what, uv_strerror(rc));
  return rc;
}

int le_callback_call(lua_State *L, int nargs, int nresults, const char *what) {
  int rc = le_pcall_traceback(L, nargs, nresults);
  if (rc != LUA_OK) {
    le_report_error(L, what, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return rc;
}

int le_callback_catch(lua_State *L, int nargs, int nresults) {
  return lua_pcall(L, nargs, nresults, 0);
}

/* Tasks waiting for the next turn of the loop (started by spawn, woken by wake): a
 * first-in first-out ring served by one zero timer, not a timer each (a calloc, and a
 * uv handle initialised, started, closed and freed per task). The timer's callback
 * resumes them until the ring is empty, so a task queued meanwhile runs in the same
 * pass, as a zero timer started from a timer callback did (libuv 1.44 runs every
 * timer due in one pass). */
typedef struct ready {
  lua_State *co;
  int nargs;
} ready;

static ready *ready_ring;
static size_t ready_head, ready_len, ready_cap;
static uv_timer_t ready_timer;
static int ready_timer_ready, ready_draining;

static void ready_cb(uv_timer_t *t) {
  (void)t;
  ready_draining = 1; /* what is queued meanwhile runs in this loop, without the timer */
  while (ready_len > 0) {
    ready r = ready_ring[ready_head];
    ready_head = (ready_head + 1) % ready_cap;
    ready_len--;
    le_task_resume(r.co, r.nargs);
  }
  ready_draining = 0;
}

/* Room for one more in the ring: doubled, its entries moved to the front in order. */
static int ready_grow(void) {
  size_t cap = ready_cap ? ready_cap * 2 : 64;
  ready *ring = malloc(cap * sizeof *ring);
  if (!ring) return -1;
  for (size_t i = 0; i < ready_len; i++) ring[i] = ready_ring[(ready_head + i) % ready_cap];
  free(ready_ring);
  ready_ring = ring;
  ready_cap = cap;
  ready_head = 0;
  return 0;
}

static int schedule(lua_State *L, lua_State *co, int nargs) {
  if (!ready_timer_ready) {
    int rc = uv_timer_init(le_loop(), &ready_timer);
    if (rc != 0) return luaL_error(L, "cannot schedule a task: %s", uv_strerror(rc));
    ready_timer_ready = 1;
  }
  if (ready_len == ready_cap && ready_grow() != 0) return luaL_error(L, "out of memory");
  if (ready_len == 0 && !ready_draining) {
    int rc = uv_timer_start(&ready_timer, ready_cb, 0, 0);
    if (rc != 0) return luaL_error(L, "cannot schedule a task: %s", uv_strerror(rc));
  }
  ready_ring[(ready_head + ready_len) % ready_cap] = (ready){co, nargs};
  ready_len++;
  return 0;
}

static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int n = lua_gettop(L);
  lua_State *co = lua_newthread(L);
  le_task_anchor(L, co, 1);
  lua_insert(L, 1); /* keep the thread below the function and its arguments */
  lua_xmove(L, co, n);
  schedule(L, co, n - 1);
  return 1; /* the thread: the task's handle */
}

/* Tasks that gave way (loop.yield): resumed in the check phase, after the loop's poll,
 * which does not block while any waits (the idle handle is active), so whatever is ready
 * meanwhile (answers, connections, libcurl's timers) is handled between the steps of a
 * computation that fills a wait. In the order they yielded; one that yields again waits
 * for the next turn. */
static uv_idle_t yield_idle;
static uv_check_t yield_check;
static int yield_handles_ready;
static lua_State **yielded;
static size_t yielded_len, yielded_cap;

static void yield_idle_cb(uv_idle_t *h) { (void)h; }

static void yield_check_cb(uv_check_t *h) {
  (void)h;
  size_t n = yielded_len; /* those that yielded before this turn; later ones are appended after */
  for (size_t i = 0; i < n; i++) le_task_resume(yielded[i], 0);
  memmove(yielded, yielded + n, (yielded_len - n) * sizeof *yielded);
  yielded_len -= n;
  if (yielded_len == 0) {
    (void)uv_idle_stop(&yield_idle); /* (stopping a handle cannot fail) */
    (void)uv_check_stop(&yield_check);
  }
}

static int l_yield(lua_State *L) {
  if (!lua_isyieldable(L)) return luaL_error(L, "yield() can only be called from a task");
  if (!yield_handles_ready) {
    int rc = uv_idle_init(le_loop(), &yield_idle);
    if (rc == 0) rc = uv_check_init(le_loop(), &yield_check);
    if (rc != 0) return luaL_error(L, "yield(): %s", uv_strerror(rc));
    yield_handles_ready = 1;
  }
  if (yielded_len == yielded_cap) {
    size_t cap = yielded_cap ? yielded_cap * 2 : 16;
    lua_State **grown = realloc(yielded, cap * sizeof *grown);
    if (!grown) return luaL_error(L, "out of memory");
    yielded = grown;
    yielded_cap = cap;
  }
  if (yielded_len == 0) {
    int rc = uv_idle_start(&yield_idle, yield_idle_cb);
    if (rc == 0) rc = uv_check_start(&yield_check, yield_check_cb);
    if (rc != 0) return luaL_error(L, "yield(): %s", uv_strerror(rc));
  }
  yielded[yielded_len++] = L;
  return lua_yield(L, 0);
}

static int l_suspend(lua_State *L) {
  if (!lua_isyieldable(L)) return luaL_error(L, "suspend() can only be called from a task");
  return lua_yield(L, 0);
}

static int l_wake(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argcheck(L, co != NULL, 1, "a task");
  if (lua_status(co) != LUA_YIELD) return luaL_error(L, "wake(): that task is not suspended");
  int n = lua_gettop(L) - 1;
  luaL_checkstack(co, n, "wake");
  lua_xmove(L, co, n);
  return schedule(L, co, n);
}

static int l_current(lua_State *L) {
  lua_pushthread(L);
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e9);
  return 1;
}

/* idle_time() -> seconds the loop has waited in its poll for something to happen since the
 * first call (which starts counting: libuv's UV_METRICS_IDLE_TIME, off until asked for). */
static int l_idle_time(lua_State *L) {
  static int counting;
  if (!counting) {
    int rc = uv_loop_configure(le_loop(), UV_METRICS_IDLE_TIME);
    if (rc != 0) return luaL_error(L, "idle_time(): %s", uv_strerror(rc));
    counting = 1;
  }
  lua_pushnumber(L, (lua_Number)uv_metrics_idle_time(le_loop()) / 1e9);
  return 1;
}

/* Ctrl-C: the handler registered with on_interrupt runs as a new task. */
static uv_signal_t sigint_handle, sigterm_handle; /* SIGTERM asks what Ctrl-C asks */
static int sigint_ready, interrupt_ref = LUA_NOREF;

static void sigint_cb(uv_signal_t *h, int signum) {
  (void)h;
  (void)signum;
  lua_State *L = main_state;
  if (interrupt_ref == LUA_NOREF) return;
  lua_State *co = lua_newthread(L);
  le_task_anchor(L, co, 1);
  lua_pop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, interrupt_ref);
  lua_xmove(L, co, 1);
  le_task_resume(co, 0);
}

static int l_on_interrupt(lua_State *L) {
  if (lua_isnil(L, 1)) {
    luaL_unref(L, LUA_REGISTRYINDEX, interrupt_ref);
    interrupt_ref = LUA_NOREF;
    if (sigint_ready) {
      le_uv_check(uv_signal_stop(&sigint_handle), "on_interrupt(nil)");
      le_uv_check(uv_signal_stop(&sigterm_handle), "on_interrupt(nil)");
    }
    return 0;
  }
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, interrupt_ref);
  lua_pushvalue(L, 1);
  interrupt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (!sigint_ready) {
    int rc = uv_signal_init(le_loop(), &sigint_handle);
    if (rc == 0 && (rc = uv_signal_init(le_loop(), &sigterm_handle)) != 0)
      uv_close((uv_handle_t *)&sigint_handle, NULL);
    if (rc != 0) return luaL_error(L, "on_interrupt(): %s", uv_strerror(rc));
    sigint_ready = 1;
  }
  int rc = uv_signal_start(&sigint_handle, sigint_cb, SIGINT);
  if (rc == 0) rc = uv_signal_start(&sigterm_handle, sigint_cb, SIGTERM);
  if (rc != 0) return luaL_error(L, "on_interrupt(): %s", uv_strerror(rc));
  uv_unref((uv_handle_t *)&sigint_handle); /* waiting for Ctrl-C keeps no loop alive */
  uv_unref((uv_handle_t *)&sigterm_handle);
  return 0;
}

static int l_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (main_task) return luaL_error(L, "loop.run() is already running");
  main_state = L;
  int n = lua_gettop(L);
  lua_State *co = lua_newthread(L);
  le_task_anchor(L, co, 1);
  lua_insert(L, 1);
  lua_xmove(L, co, n);
  main_task = co;
  main_done = main_failed = 0;
  schedule(L, co, n - 1);
  /* Non-zero: handles still active after uv_stop (the main task ended first); they
   * stay with the loop, as said below. Not an error. */
  (void)uv_run(le_loop(), UV_RUN_DEFAULT);
  report_errors(L); /* what the last turn queued, before anything is printed after run() */
  if (!main_done) {
    main_task = NULL;
    le_task_anchor(L, co, 0);
    return luaL_error(L, "the main task never finished: it waits for something that will not happen");
  }
  main_task = NULL;
  le_task_anchor(L, co, 0);
  if (main_failed) {
    lua_xmove(co, L, 1);
    /* What the other tasks still wait for stays with the loop (its handles belong to
     * their owners): it goes on at the next run, or ends with the process. */
    return lua_error(L);
  }
  int nres = lua_gettop(co);
  lua_xmove(co, L, nres);
  return nres;
}

/* on_error(fn | nil): the reporter of queued errors. */
static int l_on_error(lua_State *L) {
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, error_handler_ref);
  error_handler_ref = LUA_NOREF;
  if (!lua_isnil(L, 1)) {
    lua_pushvalue(L, 1);
    error_handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

static int l_report_errors(lua_State *L) {
  report_errors(le_main_thread(L));
  return 0;
}

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void count_open(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) ++*(int *)arg;
}

int le_loop_close(void) {
  if (sigint_ready) {
    close_if_open((uv_handle_t *)&sigint_handle);
    close_if_open((uv_handle_t *)&sigterm_handle);
    sigint_ready = 0;
  }
  if (report_ready) {
    close_if_open((uv_handle_t *)&report_timer);
    report_ready = 0;
  }
  if (yield_handles_ready && yielded_len == 0) { /* tasks still yielded: left open, counted below */
    close_if_open((uv_handle_t *)&yield_idle);
    close_if_open((uv_handle_t *)&yield_check);
    yield_handles_ready = 0;
  }
  if (ready_timer_ready && ready_len == 0) { /* tasks still queued: left open, counted below */
    close_if_open((uv_handle_t *)&ready_timer);
    ready_timer_ready = 0;
  }
  if (le_http_close() > 0) return UV_EBUSY;
  (void)uv_run(le_loop(), UV_RUN_NOWAIT); /* close callbacks; what stays open is counted next */
  int open = 0;
  uv_walk(le_loop(), count_open, &open);
  if (open > 0) return UV_EBUSY;
  return uv_loop_close(le_loop());
}

int le_open_loop(lua_State *L) {
  main_state = L;
  /* References into an earlier state's registry mean nothing in this one. */
  error_handler_ref = interrupt_ref = LUA_NOREF;
  yielded_len = 0; /* (an earlier state's tasks) */
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &TASKS_KEY);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ERRORS_KEY);
  static const luaL_Reg fns[] = {{"run", l_run},         {"spawn", l_spawn},     {"suspend", l_suspend},
                                 {"wake", l_wake},       {"current", l_current}, {"now", l_now},
                                 {"on_interrupt", l_on_interrupt},               {"on_error", l_on_error},
                                 {"report_errors", l_report_errors},             {"yield", l_yield},
                                 {"idle_time", l_idle_time},                     {NULL, NULL}};
  luaL_newlib(L, fns);
  le_loop_open_timers(L); /* sleep, timer */
  return 1;
}
