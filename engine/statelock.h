/* statelock.h — the lock of a state file, which one run at a time holds.
 *
 * le_lock_acquire creates the lock file exclusively (under the .guard flock of
 * statedisk.h) and records a random lock id and the holder's pid, host, time and
 * operation; a held lock fails (code EBUSY) naming its holder and id, and a lock whose
 * process is gone is reported as stale with the way out (--force-unlock). Release
 * deletes only the lock with its own id.
 *
 * Lua (lambdaeng.native.state, le_open_state): le_statelock_l_lock is state.lock(path,
 * operation) -> lock | nil, message, code; le_statelock_l_force_unlock is
 * state.force_unlock(path[, id]) -> true | nil, message, code; le_statelock_register
 * makes the lock's metatable (lock:release(), lock:id(), released when collected). */
#ifndef LAMBDAENG_STATELOCK_H
#define LAMBDAENG_STATELOCK_H

#include "error.h"

struct lua_State;
typedef struct le_lock le_lock;

int le_lock_acquire(const char *lock_path, const char *operation, le_lock **out, le_error *err);
/* The random id written into the lock file by le_lock_acquire. */
const char *le_lock_id(const le_lock *lock);
/* Deletes the lock file only if it is still this lock (same id), and frees lock
 * either way; LE_FAIL (err says who holds it now) when it was taken over. */
int le_lock_release(le_lock *lock, le_error *err);
/* Removes the lock file: with id, only if the lock has that id; without, only if
 * its holder is on this host and no longer runs. */
int le_lock_force_unlock(const char *lock_path, const char *id, le_error *err);

int le_statelock_l_lock(struct lua_State *L);
int le_statelock_l_force_unlock(struct lua_State *L);
void le_statelock_register(struct lua_State *L);

#endif
