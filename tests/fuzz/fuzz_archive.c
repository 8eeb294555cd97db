/* fuzz_archive — the zip extractor (le_archive_extract, libzip) on arbitrary
 * files.
 *
 * Each input is written as a zip and unpacked into root/out, in a root that
 * holds nothing else. Checked besides the sanitizers: nothing is created in
 * root outside out; every link inside out is relative, has no ".." component
 * and, when it resolves, resolves inside out; no file is setuid, setgid or
 * writable by others. The tree is removed after each input. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"

static char root[PATH_MAX], out_dir[PATH_MAX], zip_path[PATH_MAX], real_out[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *tmp = getenv("TMPDIR");
  char base[PATH_MAX];
  snprintf(base, sizeof base, "%s/lambdaeng-fuzz-zip-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(base)) abort();
  snprintf(zip_path, sizeof zip_path, "%s/in.zip", base);
  snprintf(root, sizeof root, "%s/root", base);
  snprintf(out_dir, sizeof out_dir, "%s/root/out", base);
  if (mkdir(root, 0700) != 0) abort();
  return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  if (remove(p) != 0) chmod(p, 0700), remove(p);
  return 0;
}

static int has_dotdot(const char *target) {
  const char *p = target;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
    if (!slash) break;
    p = slash + 1;
  }
  return 0;
}

static int inside(const char *resolved) {
  size_t n = strlen(real_out);
  return strncmp(resolved, real_out, n) == 0 && (resolved[n] == '/' || resolved[n] == '\0');
}

static int check_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
  (void)ftw;
  if (strcmp(p, root) == 0) return 0;
  size_t n = strlen(out_dir);
  if (strncmp(p, out_dir, n) != 0 || (p[n] != '/' && p[n] != '\0')) {
    fprintf(stderr, "the extractor wrote outside its directory: %s\n", p);
    abort();
  }
  if (type == FTW_SL || type == FTW_SLN) {
    char target[PATH_MAX];
    ssize_t len = readlink(p, target, sizeof target - 1);
    if (len < 0) return 0;
    target[len] = '\0';
    if (target[0] == '/' || has_dotdot(target)) {
      fprintf(stderr, "a link points outside: %s -> %s\n", p, target);
      abort();
    }
    char resolved[PATH_MAX];
    if (realpath(p, resolved) && !inside(resolved)) {
      fprintf(stderr, "a link resolves outside: %s -> %s\n", p, resolved);
      abort();
    }
  } else if (sb->st_mode & (S_ISUID | S_ISGID | S_IWOTH)) {
    fprintf(stderr, "an unpacked file has mode %o: %s\n", (unsigned)sb->st_mode, p);
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(zip_path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  size_t count = 0;
  le_error err;
  (void)le_archive_extract(zip_path, out_dir, &count, &err);
  if (!realpath(out_dir, real_out)) real_out[0] = '\0';
  nftw(root, check_entry, 16, FTW_PHYS);
  nftw(out_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
