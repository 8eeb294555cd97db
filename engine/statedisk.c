/* statedisk.c — the crash-safe disk half of a state file (statedisk.h): the directories,
 * the atomic replace (temp file, fsync, rename, fsync of the directory), the .backup hard
 * link, the temps left by killed writers, and the .guard flock. Nothing here reads or
 * knows the document; all of it may run on a worker thread. */
#include "statedisk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int le_mkdir_parents(const char *path, le_error *err) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return le_error_set(err, "path too long: %s", path);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return LE_OK;
  *slash = '\0';
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return le_error_errno(err, errno, "cannot create %s", buf);
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST) return le_error_errno(err, errno, "cannot create %s", buf);
  return LE_OK;
}

int le_statedisk_write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int fsync_dir_of(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Removes PATH.tmp.<pid> files left by writers that were killed mid-write. */
static void remove_orphaned_temps(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : path;
  if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  size_t base_len = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, base, base_len) != 0) continue;
    const char *rest = de->d_name + base_len;
    if (strncmp(rest, ".tmp.", 5) == 0) rest += 5;
    else if (strncmp(rest, ".backup.tmp.", 12) == 0) rest += 12;
    else continue;
    char *end;
    long pid = strtol(rest, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char victim[PATH_MAX + 256];
    snprintf(victim, sizeof victim, "%s/%s", dir, de->d_name);
    unlink(victim);
  }
  closedir(d);
}

/* Writes data to path atomically (temp, fsync, rename, fsync dir), mode 0600. */
static int write_atomically(const char *path, const char *data, size_t len, le_error *err) {
  if (le_mkdir_parents(path, err) != LE_OK) return LE_FAIL;
  remove_orphaned_temps(path);
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return le_error_set(err, "path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return le_error_errno(err, errno, "cannot write %s", tmp);
  if (le_statedisk_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return le_error_errno(err, e, "cannot write %s", tmp);
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    return le_error_errno(err, e, "cannot write %s", tmp);
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return le_error_errno(err, e, "cannot replace %s", path);
  }
  if (fsync_dir_of(path) != 0) return le_error_errno(err, errno, "cannot sync the directory of %s", path);
  return LE_OK;
}

/* The previous state stays readable as PATH.backup (a hard link, so it costs no copy). */
static int keep_backup(const char *path, le_error *err) {
  char backup[PATH_MAX], tmp[PATH_MAX];
  if (snprintf(backup, sizeof backup, "%s.backup", path) >= (int)sizeof backup ||
      snprintf(tmp, sizeof tmp, "%s.backup.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return le_error_set(err, "path too long: %s", path);
  if (link(path, tmp) != 0) {
    if (errno == ENOENT) return LE_OK;
    return le_error_errno(err, errno, "cannot keep a backup of %s", path);
  }
  if (rename(tmp, backup) != 0) {
    int e = errno;
    unlink(tmp);
    return le_error_errno(err, e, "cannot keep a backup of %s", path);
  }
  /* rename() of two links to one file succeeds and does nothing: drop the link then. */
  unlink(tmp);
  return LE_OK;
}

/* Serialises writers of one state file: an flock on PATH.guard, which the kernel
 * releases however its holder ends. Returns the descriptor, or -1 with err set. */
int le_statedisk_guard_acquire(const char *path, le_error *err) {
  char guard[PATH_MAX];
  if (snprintf(guard, sizeof guard, "%s.guard", path) >= (int)sizeof guard) {
    le_error_set(err, "path too long: %s", path);
    return -1;
  }
  if (le_mkdir_parents(guard, err) != LE_OK) return -1;
  int fd = open(guard, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    le_error_errno(err, errno, "cannot open %s", guard);
    return -1;
  }
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    le_error_errno(err, errno, "cannot lock %s", guard);
    close(fd);
    return -1;
  }
  return fd;
}

void le_statedisk_guard_release(int fd) {
  if (fd >= 0) close(fd); /* closing drops the flock */
}

/* The disk half of a save (the caller holds the guard): the backup link, the atomic
 * write and the new file held open (*fd_out). Touches nothing but the file system,
 * so it runs on a worker thread as well (state:save_in_background). */
int le_statedisk_replace(const char *path, const char *text, size_t len, int *fd_out, le_error *err) {
  /* A state file that is a symbolic link is written through it: the rename replaces the
   * file it names (its backup beside that file), the link stays. */
  char real[PATH_MAX];
  struct stat sb;
  if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
    if (!realpath(path, real)) return le_error_errno(err, errno, "state file %s is a symbolic link that cannot be followed", path);
    path = real;
  }
  if (keep_backup(path, err) != LE_OK || write_atomically(path, text, len, err) != LE_OK) return LE_FAIL;
  *fd_out = open(path, O_RDONLY | O_CLOEXEC); /* ours: nobody writes while the guard is held */
  return LE_OK;
}
