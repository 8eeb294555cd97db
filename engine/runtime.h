/* runtime.h — the embedded Lua state and how the engine enters it.
 *
 * le_runtime_open creates a Lua 5.4 state with the standard libraries, cjson,
 * and the engine's native modules preloaded (lambdaeng.native.hash, .archive,
 * .graph, .state, .sys), and package.path pointing at the engine's lua/ and
 * stdlib/ directories under share_dir (found from the binary's own location,
 * never the current directory). le_runtime_main runs the Lua half's command
 * line (lambdaeng.cli) under lua_pcall with a traceback handler and returns
 * its exit status. */
#ifndef LAMBDAENG_RUNTIME_H
#define LAMBDAENG_RUNTIME_H

#include "error.h"

struct lua_State;

/* Finds <prefix>/share/lambdaeng for the running binary, or $LAMBDAENG_HOME. */
int le_find_share_dir(char *out, size_t cap, le_error *err);

struct lua_State *le_runtime_open(const char *share_dir, le_error *err);
void le_runtime_close(struct lua_State *L);

/* Calls require("lambdaeng.cli").main(args); returns the exit status (1 on a Lua error). */
int le_runtime_main(struct lua_State *L, int argc, char **argv);

/* lua_pcall with a traceback message handler; on failure the message is on the stack. */
int le_pcall_traceback(struct lua_State *L, int nargs, int nresults);

int le_open_sys(struct lua_State *L);

#endif
