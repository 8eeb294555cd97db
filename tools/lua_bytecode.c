/* Build-time tool: compiles the Lua half of lambdaeng (every *.lua file under the
 * directories given) to Lua bytecode in place, so a command loads its modules
 * without parsing them (a plan of 10 resources spent over half its instructions
 * in the parser). Debug information is kept: errors and tracebacks still name
 * file:line, and the chunk names are the paths the files are loaded from. Linked
 * with the vendored Lua lambdaeng links (third_party/lua), so the bytecode is the
 * format it reads (a mismatch would be refused by Lua's loader, not misread).
 *   lua_bytecode DIR...   -> exit 0, or 1 with the first error on stderr */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_chunk(lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  return fwrite(p, 1, n, (FILE *)ud) == n ? 0 : 1;
}

/* Compiles path over itself: into path.tmp, then renamed. */
static int compile(const char *path) {
  lua_State *L = luaL_newstate();
  if (!L) return fprintf(stderr, "lua_bytecode: out of memory\n"), 1;
  int failed = 1;
  char tmp[4096];
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    fprintf(stderr, "lua_bytecode: %s\n", lua_tostring(L, -1));
  } else if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    fprintf(stderr, "lua_bytecode: path too long: %s\n", path);
  } else {
    FILE *out = fopen(tmp, "wb");
    if (!out) {
      perror(tmp);
    } else {
      int bad = lua_dump(L, write_chunk, out, 0);
      if (fclose(out) != 0) bad = 1;
      if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "lua_bytecode: cannot write %s\n", tmp);
        remove(tmp);
      } else {
        failed = 0;
      }
    }
  }
  lua_close(L);
  return failed;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  size_t n = strlen(path);
  if (type != FTW_F || n < 4 || strcmp(path + n - 4, ".lua") != 0) return 0;
  return compile(path);
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: lua_bytecode DIR...\n"), 2;
  for (int i = 1; i < argc; i++) {
    if (nftw(argv[i], visit, 16, FTW_PHYS) != 0) return 1;
  }
  return 0;
}
