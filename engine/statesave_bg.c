/* statesave_bg.c — state:save_in_background (statesave_bg.h): the document made on the
 * loop thread (state.c), the guard, the check for another writer's file and the write on
 * a libuv worker (statedisk.c), and the task resumed on the loop once the file is on disk. */
#include "statesave_bg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <uv.h>

#include "loop.h"
#include "statedisk.h"

/* A save in the background: the document is made on the loop thread; the guard, the
 * check for another writer's file and the write (fsyncs included) happen on a libuv
 * worker, and the task that asked resumes once the file is on disk. */
struct le_bg_save {
  uv_work_t work;
  le_state *st; /* NULL once the state was freed with the write in flight (its task is gone) */
  lua_State *co;
  char *path, *text;
  size_t len;
  json_int_t old_serial;
  dev_t dev;
  ino_t ino;
  int fd, rc, other_writer;
  int finished; /* the worker is done with the file (under bg_mutex) */
  le_error err;
};

/* A state freed while its write is on a worker (the command ends: its main task failed
 * and the Lua state closes) waits for the worker here rather than returning at once:
 * the file is whole on disk before the lock that guards it is released and before the
 * process exits. The loop does not run again, so the done callback frees only. */
static uv_once_t bg_once = UV_ONCE_INIT;
static uv_mutex_t bg_mutex;
static uv_cond_t bg_cond;

static void bg_init(void) {
  if (uv_mutex_init(&bg_mutex) != 0 || uv_cond_init(&bg_cond) != 0) abort(); /* (cannot fail on Linux) */
}

void le_state_wait_for_background_write(le_state *st) {
  le_bg_save *b = le_state_writing(st);
  if (!b) return;
  uv_mutex_lock(&bg_mutex);
  while (!b->finished) uv_cond_wait(&bg_cond, &bg_mutex);
  uv_mutex_unlock(&bg_mutex);
  b->st = NULL;
  le_state_set_writing(st, NULL);
}

static void bg_save_write(le_bg_save *b) {
  int guard = le_statedisk_guard_acquire(b->path, &b->err);
  if (guard < 0) {
    b->rc = LE_FAIL;
    return;
  }
  struct stat sb;
  int exists = stat(b->path, &sb) == 0;
  if (!exists && errno != ENOENT)
    b->rc = le_error_errno(&b->err, errno, "cannot read state file %s", b->path);
  else if (exists && (sb.st_ino != b->ino || sb.st_dev != b->dev))
    b->other_writer = 1; /* merged on the loop thread (save_guarded), where the document lives */
  else
    b->rc = le_statedisk_replace(b->path, b->text, b->len, &b->fd, &b->err);
  le_statedisk_guard_release(guard);
}

static void bg_save_work(uv_work_t *w) {
  le_bg_save *b = w->data;
  bg_save_write(b);
  uv_mutex_lock(&bg_mutex);
  b->finished = 1;
  uv_cond_broadcast(&bg_cond);
  uv_mutex_unlock(&bg_mutex);
}

static void bg_save_free(le_bg_save *b) {
  free(b->path);
  free(b);
}

static void bg_save_done(uv_work_t *w, int status) {
  le_bg_save *b = w->data;
  le_state *st = b->st;
  lua_State *co = b->co;
  if (!st) { /* freed meanwhile (wait_for_background_write): nobody to tell */
    if (b->fd >= 0) close(b->fd);
    free(b->text);
    bg_save_free(b);
    return;
  }
  le_state_set_writing(st, NULL);
  int rc = b->rc;
  le_error err = b->err;
  if (status != 0) rc = le_error_set(&err, "state file %s: the write was cancelled", le_state_path(st));
  if (rc == LE_OK && !b->other_writer) {
    le_state_written(st, b->text, b->len, b->fd);
  } else {
    if (b->fd >= 0) close(b->fd);
    le_state_unprepare(st, b->old_serial, b->text);
    if (rc == LE_OK) rc = le_state_save(st, &err); /* another process wrote it: merge, as a save does */
  }
  bg_save_free(b);
  if (rc == LE_OK) {
    lua_pushboolean(co, 1);
    le_task_resume(co, 1);
  } else {
    le_push_error(co, &err);
    le_task_resume(co, 3);
  }
}

/* state:save_in_background()'s write, once state.c has seen that there is something to
 * write and a task to wait in: yields that task, or returns nil, message, code. */
int le_state_save_in_background(lua_State *L, le_state *st) {
  le_bg_save *b = calloc(1, sizeof *b);
  if (!b || !(b->path = strdup(le_state_path(st)))) {
    free(b);
    return luaL_error(L, "out of memory");
  }
  uv_once(&bg_once, bg_init);
  b->st = st;
  b->co = L;
  b->fd = -1;
  le_state_file_identity(st, &b->dev, &b->ino);
  b->work.data = b;
  le_error err;
  if (!(b->text = le_state_prepare_write(st, &b->old_serial, &b->len, &err))) {
    free(b->path);
    free(b);
    return le_push_error(L, &err);
  }
  int rc = uv_queue_work(le_loop(), &b->work, bg_save_work, bg_save_done);
  if (rc != 0) {
    le_state_unprepare(st, b->old_serial, b->text);
    free(b->path);
    free(b);
    le_error_set(&err, "state file %s: cannot start the write: %s", le_state_path(st), uv_strerror(rc));
    return le_push_error(L, &err);
  }
  le_state_set_writing(st, b);
  return lua_yield(L, 0);
}
