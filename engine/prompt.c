#include "prompt.h"

#include <errno.h>
#include <string.h>

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

int le_open_prompt(lua_State *L) {
  static const luaL_Reg fns[] = {{"secret", l_secret}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
