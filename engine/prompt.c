#include "prompt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/readpassphrase.h>
#include <lauxlib.h>
#include <lua.h>

/* secret(text) -> line | nil, message */
static int l_secret(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  char line[1024];
  if (!readpassphrase(text, line, sizeof line, RPP_ECHO_OFF | RPP_REQUIRE_TTY)) {
    int e = errno;
    lua_pushnil(L);
    lua_pushstring(L, e == ENOTTY || e == ENXIO || e == ENOENT ? "there is no terminal to ask on" : strerror(e));
    return 2;
  }
  lua_pushstring(L, line);
  explicit_bzero(line, sizeof line);
  return 1;
}

static volatile sig_atomic_t line_interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  line_interrupted = 1;
}

/* Reads standard input up to a newline into b; 1: a line, 0: end of input, -1: interrupted. */
static int read_line(luaL_Buffer *b) {
  size_t got = 0;
  for (;;) {
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) {
      if (line_interrupted) return -1;
      continue;
    }
    if (n <= 0) return got > 0 ? 1 : 0; /* end of input (or an error: nothing more to read) */
    if (c == '\n') return 1;
    luaL_addchar(b, c);
    got++;
  }
}

/* line(text) -> line | nil (end of input) | false (Ctrl-C or SIGTERM) */
static int l_line(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  fputs(text, stdout);
  fflush(stdout);
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt; /* no SA_RESTART: the signal ends the read */
  sigemptyset(&sa.sa_mask);
  line_interrupted = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int rc = read_line(&b);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  luaL_pushresult(&b);
  if (rc <= 0) {
    lua_pop(L, 1);
    if (rc < 0) lua_pushboolean(L, 0);
    else lua_pushnil(L);
  }
  return 1;
}

int le_open_prompt(lua_State *L) {
  static const luaL_Reg fns[] = {{"secret", l_secret}, {"line", l_line}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
