/* state.h — the stored state of a stack, and its lock.
 *
 * A state file is JSON: {"version", "serial", "lineage", "lambdaeng_version",
 * "resources": {address: {"kind", "args", "attrs", ...}}, "outputs": {name:
 * {"value" | "value_digest", "sensitive"}}}. le_state_open reads it and
 * validates the whole document (a missing file is an empty state with a new
 * lineage; a file that does not parse, a serial out of range or a malformed
 * entry is an error naming the file and the entry, and is never overwritten).
 * le_state_save writes it atomically: a temporary file in the same directory,
 * fsync, rename over the old file, fsync of the directory; mode 0600; the
 * serial goes up by one on every write that changes the content. A crash at
 * any moment leaves either the previous or the new state, whole.
 *
 * le_lock_acquire creates the lock file exclusively and records the holder's
 * pid, host, time and operation; a held lock fails naming its holder, and a
 * lock whose process is gone is reported as stale with the way out
 * (--force-unlock). */
#ifndef LAMBDAENG_STATE_H
#define LAMBDAENG_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct lua_State;
typedef struct le_state le_state;
typedef struct le_lock le_lock;

#define LE_STATE_FORMAT_VERSION 1
/* A serial read from a file must be below this (it goes up by one per write). */
#define LE_STATE_SERIAL_MAX ((json_int_t)INT64_MAX)

int le_state_open(const char *path, le_state **out, le_error *err);
void le_state_free(le_state *st);
int le_state_save(le_state *st, le_error *err);

const char *le_state_path(const le_state *st);
const char *le_state_lineage(const le_state *st);
json_int_t le_state_serial(const le_state *st);
/* Borrowed: the "resources" and "outputs" objects, which the caller may edit. */
json_t *le_state_resources(le_state *st);
json_t *le_state_outputs(le_state *st);

/* Creates the directories of path (like mkdir -p of its dirname), mode 0700. */
int le_mkdir_parents(const char *path, le_error *err);

int le_lock_acquire(const char *lock_path, const char *operation, le_lock **out, le_error *err);
void le_lock_release(le_lock *lock);
int le_lock_force_unlock(const char *lock_path, le_error *err);

int le_open_state(struct lua_State *L);

#endif
