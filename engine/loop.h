/* loop.h — the event loop and the Lua tasks that run on it.
 *
 * One libuv loop per process owns all I/O. Lua code that waits runs as a task
 * (a coroutine anchored in the registry); a C function that must wait arms a
 * timer or a request and yields; the event's callback resumes the task through
 * le_task_resume, the one place tasks are resumed. A callback that calls a Lua
 * function (a process's output, a server's request) does so through
 * le_callback_call, the one place functions are called from the loop. Both run
 * on the main thread, protected, with a traceback; an error in either (a task
 * that fails, a callback that raises) never takes the process down and is never
 * printed in the middle of the callback: it is queued and reported from the loop
 * on its next turn, through the handler set with on_error (the command line's,
 * which keeps its live progress line whole) or, without one, on stderr.
 *
 * Lua: lambdaeng.native.loop.run(fn, ...) runs fn as the main task and the loop
 * until nothing is left to do, returning fn's results (or raising its error);
 * spawn(fn, ...) starts another task on the next turn of the loop;
 * sleep(seconds) suspends the calling task for at least seconds by the monotonic
 * clock from the call (however late in the loop's turn it comes); yield() suspends it until the
 * loop has polled once without blocking (what is ready then is handled first: a long
 * computation gives way to I/O between its steps); suspend() suspends it until another
 * task calls wake(task, ...), whose arguments suspend() returns; current(),
 * now() (monotonic seconds); idle_time() (seconds the loop's poll has waited since the
 * first call, which starts counting); timer(seconds, fn) runs fn as a task no earlier than
 * seconds from the call (by the same clock as sleep) and returns
 * a handle with cancel() and unref() (an unref'd timer does not keep the loop alive;
 * a timer whose handle is collected never fires, so keep it while it matters);
 * on_error(fn) sets the reporter of queued errors (fn(message); nil: stderr);
 * report_errors() reports what is queued now (outside the loop: the REPL). sleep and
 * timer live in looptimer.c. */
#ifndef LAMBDAENG_LOOP_H
#define LAMBDAENG_LOOP_H

#include <uv.h>

struct lua_State;

uv_loop_t *le_loop(void);

/* The state's main thread: C callbacks from the loop call into Lua there, never on
 * the task that created the handle (it may be suspended, or gone). */
struct lua_State *le_main_thread(struct lua_State *L);

/* The allocation callback every uv_read_start here uses (the read callback frees it). */
void le_alloc_read_buffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* The state the loop runs (loop.run's, else the last one opened): what callbacks that
 * have no state at hand start tasks on. */
struct lua_State *le_loop_state(void);

/* on: anchors co, which must be the thread on top of L (just created), as a live task;
 * off: lets it go. */
void le_task_anchor(struct lua_State *L, struct lua_State *co, int on);

/* Resumes task co with the nargs values on top of co's stack. */
void le_task_resume(struct lua_State *co, int nargs);

/* Calls the function below the nargs arguments on top of L's stack (L: the main
 * thread) protected, with a traceback. Returns LUA_OK with nresults values on the
 * stack; on failure the error, prefixed with "what: ", is queued for reporting
 * (le_report_error), nothing is left on the stack, and the lua_pcall status is
 * returned. */
int le_callback_call(struct lua_State *L, int nargs, int nresults, const char *what);

/* The same call for a caller that hands a failure on itself (a body's sink: its
 * error goes to the task that waits for the request): no traceback, nothing queued;
 * on failure the error value is left on top of L's stack. Returns the lua_pcall status. */
int le_callback_catch(struct lua_State *L, int nargs, int nresults);

/* Queues "what: message" to be reported from the loop on its next turn. */
void le_report_error(struct lua_State *L, const char *what, const char *message);

/* The same where no Lua state is at hand (a libcurl or libuv callback); before the
 * loop module is opened the message goes to stderr. */
void le_report_failure(const char *what, const char *message);

/* Checks a libuv return code where no caller can be answered (a callback, a stop or
 * a close path): a failure (rc < 0) is reported as "what: uv_strerror(rc)". Returns
 * rc, so the call site can still react: if (le_uv_check(uv_x(...), "what") < 0) ... */
int le_uv_check(int rc, const char *what);

/* Closes the loop's own handles (the interrupt watchers, the error reporter) and
 * every handle of http.c, runs the loop until their close callbacks are done and
 * closes it. Returns 0, or UV_EBUSY when a handle is still open (a leak); for
 * tests, which assert that a loop ends with nothing left. */
int le_loop_close(void);

/* True when L is a task that may yield (called from C functions before yielding). */
int le_task_can_wait(struct lua_State *L);

int le_open_loop(struct lua_State *L);

#endif
