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
 * any moment leaves either the previous or the new state, whole. From Lua,
 * state:save_in_background() does the same from a task with the disk work (the
 * guard, the write, the fsyncs) on a libuv worker thread: the task resumes once
 * the file is on disk, and the loop goes on meanwhile; one such save at a time.
 *
 * Two processes that write one state file (a run whose lock was forced away, and
 * the run that forced it) never drop each other's entries: le_state_save holds an
 * flock on PATH.guard, re-reads the file when another process wrote it since, and
 * merges: what this process added, changed or removed wins, everything else is
 * the other writer's. A file replaced by another lineage is refused.
 *
 * An opened file's entries are kept as its text until something needs them as values
 * (engine/statefile.h): state:get builds its Lua table straight from that text.
 *
 * The parts of this in files of their own: the document's checks (statecheck.h), the
 * crash-safe disk half and the .guard flock (statedisk.h), the lock (statelock.h). */
#ifndef LAMBDAENG_STATE_H
#define LAMBDAENG_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "statecheck.h" /* le_state_check_entry, le_state_checked_args */
#include "statedisk.h"  /* le_mkdir_parents */
#include "statelock.h"  /* le_lock_* */
#include "buffer.h"
#include "stateprefetch.h"

struct lua_State;
typedef struct le_state le_state;

#define LE_STATE_FORMAT_VERSION 1
/* A serial read from a file must be below this (it goes up by one per write). */
#define LE_STATE_SERIAL_MAX ((json_int_t)INT64_MAX)

int le_state_open(const char *path, le_state **out, le_error *err);
/* The same, taking prefetch's document when the file is still what it read (stateprefetch.h;
 * prefetch may be NULL). */
int le_state_open_prefetched(const char *path, le_state_prefetch *prefetch, le_state **out, le_error *err);
/* The read and parse of an opened file, which the prefetch shares: the file open on fd read
 * whole into text (0, or -1 with errno set); its text parsed as le_state_open does (entries
 * kept as text in *file when file is given; NULL with jerr set when it does not parse). */
int le_state_read_whole(int fd, le_buffer *text);
json_t *le_state_parse_text(const char *text, size_t len, json_error_t *jerr, le_statefile **file);
void le_state_free(le_state *st);
int le_state_save(le_state *st, le_error *err);

const char *le_state_path(const le_state *st);
const char *le_state_lineage(const le_state *st);
json_int_t le_state_serial(const le_state *st);
/* Borrowed: the "resources" and "outputs" objects, which the caller may edit (the
 * document then counts as changed at the next save). */
json_t *le_state_resources(le_state *st);
json_t *le_state_outputs(le_state *st);

/* A random id (a version 4 UUID, 36 characters and the NUL): a new lineage, a lock's id. */
void le_state_new_id(char out[37]);

int le_open_state(struct lua_State *L);

#endif
