/* sys.c — lambdaeng.native.sys (runtime.h's le_open_sys): the few OS facts the Lua half
 * needs (paths, kinds, the terminal, the clock, random bytes, private files, a flock,
 * directory listings and removal, the process's ids, the version). Every function returns
 * its value or nil, message, code (error.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "error.h"
#include "runtime.h"
#include "statedisk.h"

#ifndef LAMBDAENG_VERSION
#define LAMBDAENG_VERSION "0.0.0"
#endif

static int push_errno(lua_State *L, int e, const char *what, const char *path) {
  le_error err;
  le_error_errno(&err, e, "%s %s", what, path);
  return le_push_error(L, &err);
}

static int l_realpath(lua_State *L) {
  char out[PATH_MAX];
  const char *path = luaL_checkstring(L, 1);
  if (!realpath(path, out)) return push_errno(L, errno, "cannot resolve", path);
  lua_pushstring(L, out);
  return 1;
}

/* sys.kind(path[, "nofollow"]) -> "directory" | "file" | "other" | nil (missing); with
 * "nofollow" a link is "link", never followed (a package's link names a place inside
 * the sandbox, not on the host). */
static int l_kind(lua_State *L) {
  struct stat st;
  const char *path = luaL_checkstring(L, 1);
  int nofollow = lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "nofollow") == 0;
  if ((nofollow ? lstat(path, &st) : stat(path, &st)) != 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, S_ISLNK(st.st_mode)   ? "link"
                    : S_ISDIR(st.st_mode) ? "directory"
                    : S_ISREG(st.st_mode) ? "file"
                                          : "other");
  return 1;
}

static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int l_cwd(lua_State *L) {
  char out[PATH_MAX];
  if (!getcwd(out, sizeof out)) return push_errno(L, errno, "cannot find", "the current directory");
  lua_pushstring(L, out);
  return 1;
}

static int l_mkdirs(lua_State *L) {
  le_error err;
  /* le_mkdir_parents creates the parents of a file path; give it a path inside the dir. */
  lua_pushfstring(L, "%s/.", luaL_checkstring(L, 1));
  if (le_mkdir_parents(lua_tostring(L, -1), &err) != LE_OK) return le_push_error(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* random_bytes(n) -> n bytes from the kernel's generator (getrandom(2), no file to open). */
static int l_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n > 0 && n <= 4096, 1, "between 1 and 4096");
  char buf[4096];
  size_t got = 0;
  while (got < (size_t)n) {
    ssize_t r = getrandom(buf + got, (size_t)n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return push_errno(L, errno, "cannot read", "random bytes (getrandom)");
    got += (size_t)r;
  }
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* write_private(path, data) -> true | nil, message, code: creates path exclusively, mode
 * 0600, synced. */
static int l_write_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return push_errno(L, errno, "cannot create", path);
  ssize_t n = write(fd, data, len);
  int ok = n == (ssize_t)len && fsync(fd) == 0;
  int e = ok ? 0 : (n >= 0 && n != (ssize_t)len ? EIO : errno);
  close(fd);
  if (!ok) {
    unlink(path);
    return push_errno(L, e, "cannot write", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* A file only this user can have written: owned by the effective user, no write bit for
 * group or others, a regular file (the descriptor is checked, not the name). */
static int owner_only(int fd, const char *path, le_error *err) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    le_error_errno(err, errno, "cannot stat %s", path);
    return 0;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    le_error_code(err, "EPERM", "%s is not a regular file that only you can write (owner uid %ld, mode %03o)",
                  path, (long)st.st_uid, (unsigned)(st.st_mode & 0777));
    return 0;
  }
  return 1;
}

/* append_private(path, data) -> true | nil, message, code: appends to path, creating it
 * with mode 0600; refuses a link, or a file another user could have written. */
static int l_append_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return push_errno(L, errno, "cannot open", path);
  le_error err;
  if (!owner_only(fd, path, &err)) {
    close(fd);
    return le_push_error(L, &err);
  }
  ssize_t n = write(fd, data, len);
  int e = n == (ssize_t)len ? 0 : (n >= 0 ? EIO : errno);
  close(fd);
  if (e) return push_errno(L, e, "cannot write", path);
  lua_pushboolean(L, 1);
  return 1;
}

/* read_private(path) -> its bytes | nil, message, code: as read_file, for a file that
 * only this user can have written (not a link; owned by the user; no group/other write);
 * ENOENT when it does not exist. */
static int l_read_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return push_errno(L, errno, "cannot open", path);
  le_error err;
  if (!owner_only(fd, path, &err)) {
    close(fd);
    return le_push_error(L, &err);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(fd, p, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return push_errno(L, e, "cannot read", path);
    }
    if (n == 0) break;
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

/* sys.try_lock(path) -> lock | nil, message, code (EBUSY: another process holds it): an
 * exclusive flock(2) on path (created if missing), held until lock:release() or the
 * process ends, however it ends, so a killed holder never leaves a stale lock behind. */
#define FLOCK_MT "lambdaeng.flock"

static int l_try_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return push_errno(L, errno, "cannot open", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) {
      le_error err;
      le_error_code(&err, "EBUSY", "%s is locked by another process", path);
      return le_push_error(L, &err);
    }
    return push_errno(L, e, "cannot lock", path);
  }
  int *ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = fd;
  luaL_setmetatable(L, FLOCK_MT);
  return 1;
}

/* sys.list(dir) -> { names... } (without . and ..), or nil, message, code. */
static int l_list(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) return push_errno(L, errno, "cannot list", path);
  lua_newtable(L);
  lua_Integer n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    lua_pushstring(L, de->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  return 1;
}

/* read_file(path) -> its bytes | nil, message, code (ENOENT when it does not exist). */
static int l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (!f) return push_errno(L, errno, "cannot open", path);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t n;
  do {
    char *p = luaL_prepbuffer(&b);
    n = fread(p, 1, LUAL_BUFFERSIZE, f);
    luaL_addsize(&b, n);
  } while (n == LUAL_BUFFERSIZE);
  int failed = ferror(f);
  int e = errno;
  fclose(f);
  if (failed) return push_errno(L, e, "cannot read", path);
  luaL_pushresult(&b);
  return 1;
}

/* remove_tree(path) -> true | nil, message, code: removes a file, or a directory and
 * everything below it (links are removed, never followed). A path that does not
 * exist is already removed. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
  return rc != 0 && errno != ENOENT ? -1 : 0;
}

static int l_remove_tree(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
    return push_errno(L, errno, "cannot remove", path);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static int l_uid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)geteuid());
  return 1;
}

static int l_lock_release(lua_State *L) {
  int *ud = luaL_checkudata(L, 1, FLOCK_MT);
  if (*ud >= 0) {
    close(*ud); /* closing the descriptor drops the lock */
    *ud = -1;
  }
  return 0;
}

int le_open_sys(lua_State *L) {
  if (luaL_newmetatable(L, FLOCK_MT)) {
    static const luaL_Reg methods[] = {{"release", l_lock_release}, {NULL, NULL}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_lock_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_lock_release); /* local lock <close> = sys.try_lock(path) */
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"realpath", l_realpath}, {"kind", l_kind},     {"isatty", l_isatty},
                                 {"cwd", l_cwd},           {"mkdirs", l_mkdirs}, {"now", l_now},
                                 {"random_bytes", l_random_bytes}, {"write_private", l_write_private},
                                 {"try_lock", l_try_lock}, {"pid", l_pid}, {"uid", l_uid}, {"list", l_list},
                                 {"remove_tree", l_remove_tree}, {"read_file", l_read_file},
                                 {"append_private", l_append_private}, {"read_private", l_read_private},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushstring(L, LAMBDAENG_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
