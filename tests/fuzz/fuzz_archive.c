/* fuzz_archive — the zip extractor (le_archive_extract, libzip) on arbitrary
 * files.
 *
 * Each input is written as a zip and unpacked into root/out, in a root that
 * holds nothing else but root/bait/file. Checked besides the sanitizers: nothing
 * is created in root outside out, and bait/file is untouched (links may point
 * anywhere, as on Lambda, where they resolve inside the sandbox, but unpacking
 * never creates or writes anything through one: seeds link to the bait); no
 * file is setuid, setgid or writable by others. The tree under out is removed
 * after each input. */
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

static char root[PATH_MAX], out_dir[PATH_MAX], zip_path[PATH_MAX], bait_dir[PATH_MAX], bait_file[PATH_MAX];
static const char BAIT[] = "bait";

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
  snprintf(bait_dir, sizeof bait_dir, "%s/root/bait", base);
  snprintf(bait_file, sizeof bait_file, "%s/root/bait/file", base);
  if (mkdir(root, 0700) != 0 || mkdir(bait_dir, 0700) != 0) abort();
  FILE *f = fopen(bait_file, "w");
  if (!f || fputs(BAIT, f) < 0 || fclose(f) != 0) abort();
  return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  if (remove(p) != 0) chmod(p, 0700), remove(p);
  return 0;
}

static int check_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
  (void)ftw;
  if (strcmp(p, root) == 0 || strcmp(p, bait_dir) == 0 || strcmp(p, bait_file) == 0) return 0;
  size_t n = strlen(out_dir);
  if (strncmp(p, out_dir, n) != 0 || (p[n] != '/' && p[n] != '\0')) {
    fprintf(stderr, "the extractor wrote outside its directory: %s\n", p);
    abort();
  }
  if (type != FTW_SL && type != FTW_SLN && (sb->st_mode & (S_ISUID | S_ISGID | S_IWOTH))) {
    fprintf(stderr, "an unpacked file has mode %o: %s\n", (unsigned)sb->st_mode, p);
    abort();
  }
  return 0;
}

/* The bait is as it was: a regular file (not replaced by a link) holding BAIT. */
static void check_bait(void) {
  struct stat st;
  char text[sizeof BAIT + 1] = {0};
  FILE *f = NULL;
  if (lstat(bait_file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)strlen(BAIT) ||
      !(f = fopen(bait_file, "r")) || fread(text, 1, sizeof text, f) != strlen(BAIT) || strcmp(text, BAIT) != 0) {
    fprintf(stderr, "the extractor wrote through a link to %s\n", bait_file);
    abort();
  }
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(zip_path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  size_t count = 0;
  le_error err;
  (void)le_archive_extract(zip_path, out_dir, &count, &err);
  nftw(root, check_entry, 16, FTW_PHYS);
  check_bait();
  nftw(out_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
