/* main.c — the lambdaeng binary: finds its Lua half, runs the command line, exits. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>

#include "runtime.h"
#include "sandbox_init.h"

#ifndef LAMBDAENG_VERSION
#define LAMBDAENG_VERSION "0.0.0"
#endif

int main(int argc, char **argv) {
  /* `version` needs no Lua state: it is what scripts call most, so it starts fastest. */
  if (argc == 2 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("lambdaeng %s (%s)\n", LAMBDAENG_VERSION, LUA_RELEASE);
    return 0;
  }
  /* An execution environment's first program (the local target starts it): no Lua either. */
  if (argc > 1 && strcmp(argv[1], "__runtime-init") == 0) return le_sandbox_init_main(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  char share[4096];
  le_error err;
  if (le_find_share_dir(share, sizeof share, &err) != LE_OK) {
    fprintf(stderr, "lambdaeng: %s\n", err.message);
    return 1;
  }
  lua_State *L = le_runtime_open(share, &err);
  if (!L) {
    fprintf(stderr, "lambdaeng: %s\n", err.message);
    return 1;
  }
  int status = le_runtime_main(L, argc, argv);
  le_runtime_close(L);
  return status;
}
