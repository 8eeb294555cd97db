/* loop.h — the event loop and the Lua tasks that run on it.
 *
 * One libuv loop per process owns all I/O. Lua code that waits runs as a task
 * (a coroutine anchored in the registry); a C function that must wait arms a
 * timer or a request and yields; the event's callback resumes the task through
 * le_task_resume, the one place tasks are resumed. A task that fails is reported
 * with its traceback and ends; it never takes the process down.
 *
 * Lua: lambdaeng.native.loop.run(fn, ...) runs fn as the main task and the loop
 * until nothing is left to do, returning fn's results (or raising its error);
 * spawn(fn, ...) starts another task on the next turn of the loop;
 * sleep(seconds) suspends the calling task; suspend() suspends it until another
 * task calls wake(task, ...), whose arguments suspend() returns; current(),
 * now() (monotonic seconds); timer(seconds, fn) runs fn as a task later and returns
 * a handle with cancel() and unref() (an unref'd timer does not keep the loop alive;
 * a timer whose handle is collected never fires, so keep it while it matters). */
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

/* Resumes task co with the nargs values on top of co's stack. */
void le_task_resume(struct lua_State *co, int nargs);

/* True when L is a task that may yield (called from C functions before yielding). */
int le_task_can_wait(struct lua_State *L);

int le_open_loop(struct lua_State *L);

#endif
