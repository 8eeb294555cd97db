/* statesave_bg.h — a state's save in the background (state:save_in_background).
 *
 * le_state_save_in_background(L, st), from the Lua method once state.c has seen that
 *   there is something to write and a task L to wait in: the document is made now (the
 *   serial goes up), and the guard, the check for another process's write and the
 *   write (fsyncs included) happen on a libuv worker; L yields and is resumed with true,
 *   or nil, message, code, once the file is on disk (another writer's file found: the
 *   write is undone and an ordinary le_state_save merges). Returns what the Lua method
 *   returns: lua_yield's, or nil, message, code when the write cannot start.
 * le_state_wait_for_background_write(st): if a write of st is on a worker, waits until
 *   it is done with the file and detaches it (le_state_free: the file is whole on disk
 *   before a lock is released or the process exits).
 *
 * The rest is what state.c gives this file: the document to write and its undoing
 * (le_state_prepare_write, le_state_unprepare), its taking once written
 * (le_state_written), the file's identity as last read or written, and the one save in
 * flight (le_state_writing: NULL when none). */
#ifndef LAMBDAENG_STATESAVE_BG_H
#define LAMBDAENG_STATESAVE_BG_H

#include <stddef.h>
#include <sys/types.h>

#include "state.h"

typedef struct le_bg_save le_bg_save;

int le_state_save_in_background(struct lua_State *L, le_state *st);
void le_state_wait_for_background_write(le_state *st);

/* The document to write next, with its final newline: the serial goes up by one and
 * what was put since the last write counts as on its way. NULL with err set when it
 * cannot be made. */
char *le_state_prepare_write(le_state *st, json_int_t *old_serial, size_t *len_out, le_error *err);
/* After a failed write: frees text, puts the serial back and counts the state as changed. */
void le_state_unprepare(le_state *st, json_int_t old_serial, char *text);
/* After a successful write of text (from le_state_prepare_write, taken) as the file open on fd. */
void le_state_written(le_state *st, char *text, size_t len, int fd);
void le_state_file_identity(const le_state *st, dev_t *dev, ino_t *ino);
le_bg_save *le_state_writing(const le_state *st);
void le_state_set_writing(le_state *st, le_bg_save *b);

#endif
