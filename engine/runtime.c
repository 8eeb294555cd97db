/* runtime.c — the Lua state (runtime.h): the vendored Lua's libraries, cjson and the
 * native modules (package.preload), package.path from the binary's share directory,
 * protected calls with tracebacks, and the state's close at exit. The sys module:
 * sys.c. */
#include "runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua.h>
#include <lualib.h>

/* The vendored Lua (third_party/lua), never the system's 5.4.4 headers. */
#if LUA_VERSION_RELEASE_NUM != 50408
#error "engine/runtime.c must be built against the vendored Lua 5.4.8 (third_party/lua)"
#endif

#include "archive.h"
#include "graph.h"
#include "hash.h"
#include "json.h"
#include "http.h"
#include "httpserver.h"
#include "process.h"
#include "prompt.h"
#include "lineedit.h"
#include "eventstream.h"
#include "localexec.h"
#include "luavm.h"
#include "loop.h"
#include "shape.h"
#include "sigv4.h"
#include "state.h"

#ifndef LAMBDAENG_LUA_LIBRARIES
#define LAMBDAENG_LUA_LIBRARIES "/usr/share/lua/5.4"
#endif

static int is_share_dir(const char *dir) {
  char probe[PATH_MAX + 32];
  struct stat st;
  if (snprintf(probe, sizeof probe, "%s/lua/lambdaeng/cli/init.lua", dir) >= (int)sizeof probe) return 0;
  return stat(probe, &st) == 0;
}

int le_find_share_dir(char *out, size_t cap, le_error *err) {
  const char *home = getenv("LAMBDAENG_HOME");
  if (home && *home) {
    if (!is_share_dir(home))
      return le_error_set(err, "LAMBDAENG_HOME=%s does not hold lambdaeng's lua/ directory", home);
    snprintf(out, cap, "%s", home);
    return LE_OK;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return le_error_errno(err, errno, "cannot find the lambdaeng binary (/proc/self/exe)");
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  /* <prefix>/bin/lambdaeng -> <prefix>/share/lambdaeng (installed and build trees alike) */
  snprintf(out, cap, "%s/../share/lambdaeng", exe);
  char resolved[PATH_MAX];
  if (realpath(out, resolved) && is_share_dir(resolved)) {
    snprintf(out, cap, "%s", resolved);
    return LE_OK;
  }
  return le_error_set(err, "cannot find lambdaeng's Lua files: looked in %s/../share/lambdaeng", exe);
}


static int le_pcall_traceback_handler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int le_pcall_traceback(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, le_pcall_traceback_handler);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return rc;
}

void le_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    if (gc) {
      lua_pushcfunction(L, gc);
      lua_setfield(L, -2, "__gc");
    }
  }
  lua_pop(L, 1);
}

/* The native modules, as runtime.h lists them: package.preload entries, so each is
 * opened when first required. */
static const luaL_Reg NATIVE_MODULES[] = {
    {"cjson", luaopen_cjson},
    {"lambdaeng.native.hash", le_open_hash},
    {"lambdaeng.native.archive", le_open_archive},
    {"lambdaeng.native.graph", le_open_graph},
    {"lambdaeng.native.state", le_open_state},
    {"lambdaeng.native.sys", le_open_sys},
    {"lambdaeng.native.sigv4", le_open_sigv4},
    {"lambdaeng.native.loop", le_open_loop},
    {"lambdaeng.native.http", le_open_http},
    {"lambdaeng.native.lineedit", le_open_lineedit},
    {"lambdaeng.native.httpserver", le_open_httpserver},
    {"lambdaeng.native.process", le_open_process},
    {"lambdaeng.native.prompt", le_open_prompt},
    {"lambdaeng.native.json", le_open_json},
    {"lambdaeng.native.shape", le_open_shape},
    {"lambdaeng.native.vm", le_open_vm},
    {"lambdaeng.native.localexec", le_open_localexec},
    {"lambdaeng.native.eventstream", le_open_eventstream},
    {NULL, NULL},
};

lua_State *le_runtime_open(const char *share_dir, le_error *err) {
  lua_State *L = luaL_newstate();
  if (!L) {
    le_error_set(err, "cannot create the Lua state (out of memory)");
    return NULL;
  }
  luaL_checkversion(L); /* the core linked is the one the headers describe */
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  luaL_setfuncs(L, NATIVE_MODULES, 0);
  lua_pop(L, 1);

  /* The engine's Lua half, then the Debian Lua libraries it uses (lua-argparse). */
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s/stdlib/?.lua;%s/stdlib/?/init.lua;%s/?.lua", share_dir,
                  share_dir, share_dir, share_dir, LAMBDAENG_LUA_LIBRARIES);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, "");
  lua_setfield(L, -2, "cpath");
  lua_pushstring(L, share_dir);
  lua_setfield(L, -2, "lambdaeng_share");
  lua_pop(L, 1);
  return L;
}

#if defined(__SANITIZE_ADDRESS__)
#define LE_FREE_AT_EXIT 1 /* LeakSanitizer checks that everything is owned: free it all */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LE_FREE_AT_EXIT 1
#endif
#endif

static int exiting;

int le_runtime_exiting(void) { return exiting; }

#ifndef LE_FREE_AT_EXIT
/* The allocator while the state closes at exit: what is freed stays with the process. */
static void *exit_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) return NULL;
  return realloc(ptr, nsize);
}
#endif

void le_runtime_close(lua_State *L) {
  if (!L) return;
#ifndef LE_FREE_AT_EXIT
  exiting = 1;
  lua_setallocf(L, exit_alloc, NULL);
#endif
  lua_close(L);
}

int le_runtime_main(lua_State *L, int argc, char **argv) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "lambdaeng.cli");
  if (le_pcall_traceback(L, 1, 1) != LUA_OK) {
    fprintf(stderr, "lambdaeng: internal error loading the command line: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc, 0);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  if (le_pcall_traceback(L, 1, 1) != LUA_OK) {
    fprintf(stderr, "lambdaeng: internal error: %s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
    return 1;
  }
  int status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 1;
  lua_pop(L, 2);
  return status;
}
