/* statelock.c — a state's lock file (statelock.h): created exclusively under the
 * .guard flock with a random id and its holder's pid, host, time and operation;
 * released or forced away only as its contract says; and its Lua binding. */
#include "statelock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "state.h"
#include "statedisk.h"

struct le_lock {
  char *path;
  char id[37];
};

static int read_small_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  int e = errno;
  close(fd);
  if (n < 0) {
    errno = e;
    return -1;
  }
  buf[n] = '\0';
  return 0;
}

/* What a lock file says about its holder. */
typedef struct {
  json_t *doc;
  const char *id, *host, *since, *operation;
  long pid;
  int on_this_host, alive; /* alive: on this host and the process exists (or may) */
} lock_holder;

/* Reads the lock at lock_path: 1 when it exists (holder filled), 0 when there is
 * none, -1 with err set when it cannot be read. */
static int read_holder(const char *lock_path, lock_holder *h, le_error *err) {
  memset(h, 0, sizeof *h);
  char text[4096];
  if (read_small_file(lock_path, text, sizeof text) != 0) {
    if (errno == ENOENT) return 0;
    le_error_errno(err, errno, "state is locked (%s) and the lock cannot be read", lock_path);
    return -1;
  }
  h->doc = json_loads(text, 0, NULL);
  h->id = json_string_value(json_object_get(h->doc, "id"));
  h->host = json_string_value(json_object_get(h->doc, "host"));
  h->since = json_string_value(json_object_get(h->doc, "time"));
  h->operation = json_string_value(json_object_get(h->doc, "operation"));
  json_t *pid = json_object_get(h->doc, "pid");
  h->pid = json_is_integer(pid) && json_integer_value(pid) > 0 && json_integer_value(pid) <= INT_MAX
               ? (long)json_integer_value(pid)
               : 0;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  h->on_this_host = h->host && strcmp(h->host, host) == 0;
  h->alive = h->on_this_host && h->pid > 0 && (kill((pid_t)h->pid, 0) == 0 || errno != ESRCH);
  return 1;
}

static void holder_free(lock_holder *h) { json_decref(h->doc); }

/* "pid N on HOST since T (operation: OP, lock id ID)" */
static void describe_holder(const lock_holder *h, char *out, size_t cap) {
  snprintf(out, cap, "pid %ld on %s since %s (operation: %s, lock id %s)", h->pid, h->host ? h->host : "?",
           h->since ? h->since : "?", h->operation ? h->operation : "?", h->id ? h->id : "none");
}

int le_lock_acquire(const char *lock_path, const char *operation, le_lock **out, le_error *err) {
  *out = NULL;
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  int guard = le_statedisk_guard_acquire(lock_path, err);
  if (guard < 0) return LE_FAIL;
  int fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e != EEXIST) {
      le_statedisk_guard_release(guard);
      return le_error_errno(err, e, "cannot create lock %s", lock_path);
    }
    lock_holder h;
    int found = read_holder(lock_path, &h, err);
    le_statedisk_guard_release(guard);
    if (found < 0) return LE_FAIL;
    char who[1024];
    describe_holder(&h, who, sizeof who);
    const char *way_out;
    if (h.alive) way_out = "; it is still running: wait for it to finish, or stop it";
    else if (h.on_this_host) way_out = ", and that process no longer runs: the lock is stale; run again with --force-unlock";
    else way_out = "; if no lambdaeng runs there any more, run again with --force-unlock=LOCK_ID";
    le_error_code(err, "EBUSY", "state is locked by %s%s (lock file %s)", who, way_out, lock_path);
    holder_free(&h);
    return LE_FAIL;
  }
  le_lock *lock = calloc(1, sizeof *lock);
  if (!lock || !(lock->path = strdup(lock_path))) {
    free(lock);
    close(fd);
    unlink(lock_path);
    le_statedisk_guard_release(guard);
    return le_error_set(err, "out of memory");
  }
  le_state_new_id(lock->id); /* a random id: release deletes the lock only while it still holds it */
  char when[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *holder = json_pack("{s:s, s:I, s:s, s:s, s:s}", "id", lock->id, "pid", (json_int_t)getpid(), "host",
                             host, "time", when, "operation", operation ? operation : "?");
  char *text = json_dumps(holder, JSON_SORT_KEYS);
  json_decref(holder);
  int failed = !text || le_statedisk_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0;
  int e = errno;
  free(text);
  close(fd);
  if (failed) {
    unlink(lock_path);
    le_statedisk_guard_release(guard);
    free(lock->path);
    free(lock);
    return le_error_errno(err, e, "cannot write lock %s", lock_path);
  }
  le_statedisk_guard_release(guard);
  *out = lock;
  return LE_OK;
}

const char *le_lock_id(const le_lock *lock) { return lock->id; }

int le_lock_release(le_lock *lock, le_error *err) {
  if (!lock) return LE_OK;
  int rc = LE_OK;
  int guard = le_statedisk_guard_acquire(lock->path, err);
  if (guard < 0) {
    rc = LE_FAIL;
  } else {
    lock_holder h;
    int found = read_holder(lock->path, &h, err);
    if (found < 0) rc = LE_FAIL;
    else if (found == 1 && h.id && strcmp(h.id, lock->id) == 0) unlink(lock->path);
    else {
      /* Someone removed this lock (--force-unlock) and maybe took their own: leave it. */
      char who[1024] = "nobody";
      if (found == 1) describe_holder(&h, who, sizeof who);
      rc = le_error_set(err, "the state lock %s (lock id %s) was taken over while this run held it; it is now "
                        "held by %s, and was left in place",
                        lock->path, lock->id, who);
    }
    if (found == 1) holder_free(&h);
    le_statedisk_guard_release(guard);
  }
  free(lock->path);
  free(lock);
  return rc;
}

int le_lock_force_unlock(const char *lock_path, const char *id, le_error *err) {
  int guard = le_statedisk_guard_acquire(lock_path, err);
  if (guard < 0) return LE_FAIL;
  lock_holder h;
  int found = read_holder(lock_path, &h, err);
  int rc = LE_OK;
  char who[1024];
  if (found == 1) describe_holder(&h, who, sizeof who);
  if (found < 0) rc = LE_FAIL;
  else if (found == 0) rc = LE_OK; /* nothing to remove */
  else if (id && *id) {
    if (!h.id || strcmp(h.id, id) != 0)
      rc = le_error_set(err, "--force-unlock=%s: the state lock %s has lock id %s, not %s; it was left in place",
                        id, lock_path, h.id ? h.id : "none", id);
  } else if (h.alive) {
    rc = le_error_set(err, "--force-unlock: the state is locked by %s, which is still running on this host; "
                      "to take the lock from it anyway, give its id: --force-unlock=%s",
                      who, h.id ? h.id : "LOCK_ID");
  } else if (!h.on_this_host) {
    rc = le_error_set(err, "--force-unlock: the state is locked by %s, on another host, where lambdaeng cannot "
                      "tell whether it still runs; if it does not, give the lock id: --force-unlock=%s",
                      who, h.id ? h.id : "LOCK_ID");
  }
  if (rc == LE_OK && found == 1 && unlink(lock_path) != 0 && errno != ENOENT)
    rc = le_error_errno(err, errno, "cannot remove lock %s", lock_path);
  if (found == 1) holder_free(&h);
  le_statedisk_guard_release(guard);
  return rc;
}

/* Lua binding: state.lock(path, operation) -> lock | nil, message, code (EBUSY: held by
 * another run); state.force_unlock(path[, id]) -> true | nil, message, code. */

#define LOCK_MT "lambdaeng.lock"

int le_statelock_l_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *op = luaL_optstring(L, 2, "?");
  le_lock **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  luaL_setmetatable(L, LOCK_MT);
  le_error err;
  if (le_lock_acquire(path, op, p, &err) != LE_OK) return le_push_error(L, &err);
  return 1;
}

/* lock:release() -> true | nil, message (the lock was no longer this run's: left in place) */
static int l_unlock(lua_State *L) {
  le_lock **p = luaL_checkudata(L, 1, LOCK_MT);
  le_error err;
  int rc = le_lock_release(*p, &err);
  *p = NULL;
  if (rc != LE_OK) return le_push_error(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_lock_gc(lua_State *L) {
  le_lock **p = luaL_checkudata(L, 1, LOCK_MT);
  le_error err;
  le_lock_release(*p, &err);
  *p = NULL;
  return 0;
}

static int l_lock_id(lua_State *L) {
  le_lock **p = luaL_checkudata(L, 1, LOCK_MT);
  if (!*p) return luaL_error(L, "lock already released");
  lua_pushstring(L, le_lock_id(*p));
  return 1;
}

/* force_unlock(path [, id]) -> true | nil, message */
int le_statelock_l_force_unlock(lua_State *L) {
  le_error err;
  if (le_lock_force_unlock(luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL), &err) != LE_OK)
    return le_push_error(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

void le_statelock_register(lua_State *L) {
  if (luaL_newmetatable(L, LOCK_MT)) {
    lua_newtable(L);
    lua_pushcfunction(L, l_unlock);
    lua_setfield(L, -2, "release");
    lua_pushcfunction(L, l_lock_id);
    lua_setfield(L, -2, "id");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_lock_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}
