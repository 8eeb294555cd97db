/* process.h — child processes on the event loop (libuv), for the local target.
 *
 * Lua: lambdaeng.native.process.spawn{ file, args, env, cwd, on_output, on_exit,
 * unref } starts file in its own process group with stdin closed and stdout and
 * stderr read on the loop: on_output(chunk, "stdout"|"stderr") for each chunk,
 * then on_exit(status, signal) once, after the process ended and its pipes
 * drained (or 100 ms later, if something it started holds them). Both are called
 * through le_callback_call. spawn returns nil, message, code when the process
 * cannot start. process:kill([signal]) signals the whole group (SIGKILL by default);
 * process:pid(), process:running(). Every child still running when lambdaeng
 * exits is killed, so no runtime process outlives the target that started it. */
#ifndef LAMBDAENG_PROCESS_H
#define LAMBDAENG_PROCESS_H

struct lua_State;

int le_open_process(struct lua_State *L);

#endif
