/* runtime.h — the embedded Lua state and how the engine enters it.
 *
 * le_runtime_open creates a Lua 5.4 state with the standard libraries and these
 * modules in package.preload (each opened when first required): cjson and the
 * engine's native modules lambdaeng.native.hash, .archive, .graph, .state, .sys,
 * .sigv4, .loop, .http, .lineedit, .httpserver, .process, .prompt, .json, .shape, .vm,
 * .localexec and .eventstream. Each native
 * module returns nil, message, code on a runtime failure and raises only on misuse
 * (a wrong argument type), as luv does. package.path points at the engine's lua/
 * and stdlib/ directories under share_dir (found from the binary's own location,
 * never the current directory) and then at the Debian Lua libraries it uses
 * (lua-argparse); package.cpath is empty. Stacks do not see this path: they run
 * in an environment of their own (lua/lambdaeng/stackenv.lua).
 *
 * le_runtime_main runs the Lua half's command line (lambdaeng.cli) under lua_pcall
 * with a traceback handler and returns its exit status. Callbacks from the loop
 * enter Lua through loop.h (le_task_resume, le_callback_call), never from here.
 *
 * le_open_sys (sys.c) is the lambdaeng.native.sys module: realpath, kind, isatty, cwd,
 * mkdirs, now, random_bytes, write_private, append_private, read_private, try_lock,
 * pid, uid, list, remove_tree, read_file, and the version string. */
#ifndef LAMBDAENG_RUNTIME_H
#define LAMBDAENG_RUNTIME_H

#include <lauxlib.h>

#include "error.h"

/* Finds <prefix>/share/lambdaeng for the running binary, or $LAMBDAENG_HOME. */
int le_find_share_dir(char *out, size_t cap, le_error *err);

struct lua_State *le_runtime_open(const char *share_dir, le_error *err);
/* Closes the state at the process's exit: every finalizer and to-be-closed variable runs
 * (files flushed, locks released, children ended), but in a build without the address
 * sanitizer the memory is left to the exit instead of being freed block by block (the
 * Lua allocator's frees become no-ops, and le_runtime_exiting() tells native finalizers
 * to skip freeing their own documents): that was 4 % of a no-op plan. With the sanitizer
 * everything is freed, so that LeakSanitizer sees every allocation owned. */
void le_runtime_close(struct lua_State *L);
/* Whether le_runtime_close is skipping frees (native finalizers then free only what the
 * exit does not reclaim). */
int le_runtime_exiting(void);

/* Calls require("lambdaeng.cli").main(args); returns the exit status (1 on a Lua error). */
int le_runtime_main(struct lua_State *L, int argc, char **argv);

/* lua_pcall with a traceback message handler; on failure the message is on the stack. */
int le_pcall_traceback(struct lua_State *L, int nargs, int nresults);

/* Registers the metatable `name` of a native module's userdata: methods as its
 * __index, gc (when not NULL) as its __gc. Leaves the stack as it was. */
void le_new_class(struct lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc);

int le_open_sys(struct lua_State *L);

#endif
