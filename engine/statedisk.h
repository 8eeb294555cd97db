/* statedisk.h — the crash-safe disk half of a state file: touches nothing but the file
 * system, so it runs on the loop thread or a libuv worker alike.
 *
 * le_mkdir_parents(path, err): creates the directories of path (mkdir -p of its dirname),
 *   mode 0700.
 * le_statedisk_write_all(fd, data, len): 0 once all of data is written (EINTR retried),
 *   -1 with errno set.
 * le_statedisk_guard_acquire(path, err): an flock on PATH.guard (created 0600, waited
 *   for), which serialises the writers of one file and which the kernel releases however
 *   its holder ends: the descriptor, or -1 with err set. le_statedisk_guard_release(fd)
 *   drops it (closing the descriptor; -1 is ignored).
 * le_statedisk_replace(path, text, len, &fd, err), under the guard: the previous file kept
 *   as PATH.backup (a hard link, none when there was no file), PATH.tmp.<pid> files of
 *   killed writers removed, text written to PATH.tmp.<pid>, fsync, rename over PATH,
 *   fsync of the directory, mode 0600: a crash at any moment leaves the previous file or
 *   the new one, whole. A PATH that is a symbolic link is written through: what it names
 *   is replaced (and backed up beside it), the link stays. On LE_OK, *fd is the new file opened read-only (-1 if that open
 *   failed); on LE_FAIL err names the file and the step. */
#ifndef LAMBDAENG_STATEDISK_H
#define LAMBDAENG_STATEDISK_H

#include <stddef.h>

#include "error.h"

int le_mkdir_parents(const char *path, le_error *err);
int le_statedisk_write_all(int fd, const char *data, size_t len);
int le_statedisk_guard_acquire(const char *path, le_error *err);
void le_statedisk_guard_release(int fd);
int le_statedisk_replace(const char *path, const char *text, size_t len, int *fd_out, le_error *err);

#endif
