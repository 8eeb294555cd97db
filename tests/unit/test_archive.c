#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>
#include <zip.h>
#include <zlib.h>

#include "archive.h"

static char root[64];

static void write_file(const char *rel, const char *content, mode_t mode) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
  chmod(path, mode);
}

static int setup(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/lambdaeng-zip-XXXXXX");
  if (!mkdtemp(root)) return -1;
  char sub[128];
  snprintf(sub, sizeof sub, "%s/lib", root);
  mkdir(sub, 0755);
  snprintf(sub, sizeof sub, "%s/lib/deep", root);
  mkdir(sub, 0755);
  write_file("index.py", "def handler(e, c):\n    return e\n", 0644);
  write_file("bootstrap", "#!/bin/sh\necho hi\n", 0755);
  write_file("lib/util.py", "X = 1\n", 0600);
  write_file("lib/deep/data.txt", "0123456789012345678901234567890123456789\n", 0644);
  write_file("Zeta.txt", "", 0644);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  return system(cmd);
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static unsigned rd16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static void same_tree_same_bytes(void **state) {
  (void)state;
  le_buffer a = {0}, b = {0};
  le_error err;
  size_t count = 0;
  assert_int_equal(le_archive_zip(root, &a, &count, &err), LE_OK);
  assert_int_equal(count, 5);
  /* new timestamps and a different permission on a non-executable file change nothing */
  char path[256];
  snprintf(path, sizeof path, "%s/index.py", root);
  struct utimbuf t = {.actime = 1700000000, .modtime = 1700000000};
  utime(path, &t);
  chmod(path, 0664);
  assert_int_equal(le_archive_zip(root, &b, &count, &err), LE_OK);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  le_buffer_free(&a);
  le_buffer_free(&b);
}

static void content_change_changes_bytes(void **state) {
  (void)state;
  le_buffer a = {0}, b = {0};
  le_error err;
  assert_int_equal(le_archive_zip(root, &a, NULL, &err), LE_OK);
  write_file("lib/util.py", "X = 2\n", 0600);
  assert_int_equal(le_archive_zip(root, &b, NULL, &err), LE_OK);
  assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  write_file("lib/util.py", "X = 1\n", 0600);
  le_buffer_free(&a);
  le_buffer_free(&b);
}

static void entries_sorted_fixed_time_and_inflatable(void **state) {
  (void)state;
  le_buffer z = {0};
  le_error err;
  assert_int_equal(le_archive_zip(root, &z, NULL, &err), LE_OK);
  const unsigned char *end = z.data + z.len - 22;
  assert_int_equal(rd32(end), 0x06054b50);
  unsigned entries = rd16(end + 10);
  assert_int_equal(entries, 5);
  const unsigned char *cd = z.data + rd32(end + 16);
  const char *expected[] = {"Zeta.txt", "bootstrap", "index.py", "lib/deep/data.txt", "lib/util.py"};
  const unsigned expected_mode[] = {0644, 0755, 0644, 0644, 0644};
  for (unsigned i = 0; i < entries; i++) {
    assert_int_equal(rd32(cd), 0x02014b50);
    unsigned name_len = rd16(cd + 28);
    assert_int_equal(name_len, strlen(expected[i]));
    assert_memory_equal(cd + 46, expected[i], name_len);
    assert_int_equal(rd16(cd + 12), 0);      /* time */
    assert_int_equal(rd16(cd + 14), 0x0021); /* 1980-01-01 */
    assert_int_equal((rd32(cd + 38) >> 16) & 0777, expected_mode[i]);
    /* inflate the entry and check its CRC */
    const unsigned char *local = z.data + rd32(cd + 42);
    assert_int_equal(rd32(local), 0x04034b50);
    uint32_t csize = rd32(local + 18), usize = rd32(local + 22);
    const unsigned char *payload = local + 30 + rd16(local + 26) + rd16(local + 28);
    unsigned char *plain = malloc(usize + 1);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, -15), Z_OK);
    zs.next_in = (unsigned char *)payload;
    zs.avail_in = csize;
    zs.next_out = plain;
    zs.avail_out = usize + 1;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, usize);
    inflateEnd(&zs);
    assert_int_equal((uint32_t)crc32(0, plain, usize), rd32(local + 14));
    free(plain);
    cd += 46 + name_len;
  }
  le_buffer_free(&z);
}

static void single_file_and_missing_path(void **state) {
  (void)state;
  le_buffer z = {0};
  le_error err;
  size_t count;
  char path[256];
  snprintf(path, sizeof path, "%s/index.py", root);
  assert_int_equal(le_archive_zip(path, &z, &count, &err), LE_OK);
  assert_int_equal(count, 1);
  le_buffer_free(&z);
  snprintf(path, sizeof path, "%s/nope", root);
  assert_int_equal(le_archive_zip(path, &z, &count, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "nope"));
  le_buffer_free(&z);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* What le_archive_zip packs, le_archive_extract unpacks: same bytes, same execute bits. */
static void extract_round_trip(void **state) {
  (void)state;
  le_buffer z = {0};
  le_error err;
  size_t count, out_count;
  assert_int_equal(le_archive_zip(root, &z, &count, &err), LE_OK);
  char zip_path[256], dir[256], path[320];
  snprintf(zip_path, sizeof zip_path, "%s.zip", root);
  FILE *f = fopen(zip_path, "wb");
  fwrite(z.data, 1, z.len, f);
  fclose(f);
  le_buffer_free(&z);
  snprintf(dir, sizeof dir, "%s.out", root);
  assert_int_equal(le_archive_extract(zip_path, dir, &out_count, &err), LE_OK);
  assert_int_equal(out_count, count);
  snprintf(path, sizeof path, "%s/lib/util.py", dir);
  assert_string_equal(slurp(path), "X = 1\n");
  struct stat st;
  snprintf(path, sizeof path, "%s/bootstrap", dir);
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_mode & S_IXUSR);
  snprintf(path, sizeof path, "%s/index.py", dir);
  assert_int_equal(stat(path, &st), 0);
  assert_false(st.st_mode & S_IXUSR);
  unlink(zip_path);
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  assert_int_equal(system(path), 0);
}

/* A package whose entry would land outside its directory is refused, with its name. */
static void extract_refuses_escapes(void **state) {
  (void)state;
  static const struct { const char *name, *content; int link; } cases[] = {
      {"../escaped.txt", "x", 0}, {"/abs.txt", "x", 0}, {"ok/../../up.txt", "x", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char zip_path[256], dir[256];
    snprintf(zip_path, sizeof zip_path, "%s-bad%zu.zip", root, i);
    snprintf(dir, sizeof dir, "%s-bad%zu", root, i);
    int zerr;
    zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(za);
    zip_source_t *src = zip_source_buffer(za, cases[i].content, strlen(cases[i].content), 0);
    zip_int64_t idx = zip_file_add(za, cases[i].name, src, ZIP_FL_ENC_UTF_8);
    assert_true(idx >= 0);
    if (cases[i].link)
      zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, (zip_uint32_t)0120777 << 16);
    assert_int_equal(zip_close(za), 0);
    le_error err;
    assert_int_equal(le_archive_extract(zip_path, dir, NULL, &err), LE_FAIL);
    assert_non_null(strstr(err.message, "outside"));
    assert_non_null(strstr(err.message, cases[i].name));
    unlink(zip_path);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
  }
  le_error err;
  assert_int_equal(le_archive_extract("/nonexistent/p.zip", "/tmp/x", NULL, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "/nonexistent/p.zip"));
}

/* A zip of entries (name, content, is_link) at zip_path. */
typedef struct zip_entry {
  const char *name, *content;
  int link;
} zip_entry;

static void write_zip(const char *zip_path, const zip_entry *entries, size_t n) {
  int zerr;
  zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
  assert_non_null(za);
  for (size_t i = 0; i < n; i++) {
    int is_dir = entries[i].name[strlen(entries[i].name) - 1] == '/';
    zip_int64_t idx;
    if (is_dir) {
      idx = zip_dir_add(za, entries[i].name, ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t *src = zip_source_buffer(za, entries[i].content, strlen(entries[i].content), 0);
      idx = zip_file_add(za, entries[i].name, src, ZIP_FL_ENC_UTF_8);
    }
    assert_true(idx >= 0);
    zip_uint32_t mode = entries[i].link ? 0120777 : is_dir ? 040755 : 0100644;
    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, mode << 16);
  }
  assert_int_equal(zip_close(za), 0);
}

/* Renames every entry called from to the same-length to, in the zip's bytes (libzip
 * refuses to write two entries of one name; a hostile zip has them). */
static void rename_entries(const char *zip_path, const char *from, const char *to) {
  FILE *f = fopen(zip_path, "r+b");
  assert_non_null(f);
  static char bytes[65536];
  size_t n = fread(bytes, 1, sizeof bytes, f), len = strlen(from);
  assert_int_equal(strlen(to), len);
  for (size_t i = 0; i + len <= n; i++)
    if (memcmp(bytes + i, from, len) == 0) memcpy(bytes + i, to, len);
  rewind(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  fclose(f);
}

static void remove_tree(const char *path) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  assert_int_equal(system(cmd), 0);
}

/* Links are kept as they are, absolute or relative, pointing anywhere (as on Lambda: they
 * resolve inside the sandbox, where /opt holds layers); unpacking never follows them. */
static void extract_keeps_links_whatever_they_point_to(void **state) {
  (void)state;
  static const zip_entry entries[] = {{"index.py", "x = 1\n", 0},     {"l", "/opt/python/lib", 1},
                                      {"tmp", "/tmp", 1},              {"up", "../../etc", 1},
                                      {"lib/deep/rel", "../../index.py", 1}, {"lib/deep/data", "d", 0}};
  char zip_path[256], dir[256], path[320], target[256];
  snprintf(zip_path, sizeof zip_path, "%s-links.zip", root);
  snprintf(dir, sizeof dir, "%s-links", root);
  write_zip(zip_path, entries, sizeof entries / sizeof entries[0]);
  le_error err;
  size_t count = 0;
  assert_int_equal(le_archive_extract(zip_path, dir, &count, &err), LE_OK);
  assert_int_equal(count, 6);
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
    if (!entries[i].link) continue;
    snprintf(path, sizeof path, "%s/%s", dir, entries[i].name);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    ssize_t n = readlink(path, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, entries[i].content);
  }
  snprintf(path, sizeof path, "%s/lib/deep/data", dir);
  assert_string_equal(slurp(path), "d");
  unlink(zip_path);
  remove_tree(dir);
}

/* Nothing is created or written through a link: not a file, a directory or a link below
 * one, not a file that replaces one. The refusal names the entry and the link, and the
 * place the link points to (here a directory and a file of the host) is left as it was. */
static void extract_never_writes_through_a_link(void **state) {
  (void)state;
  char outside[256], victim[300];
  snprintf(outside, sizeof outside, "%s-outside", root);
  assert_int_equal(mkdir(outside, 0700), 0);
  snprintf(victim, sizeof victim, "%s/victim.txt", outside);
  FILE *f = fopen(victim, "w");
  fputs("untouched", f);
  fclose(f);
  const struct {
    zip_entry entries[2];
    const char *link, *entry;
  } cases[] = {
      {{{"l", outside, 1}, {"l/pwned.txt", "x", 0}}, "l", "l/pwned.txt"},
      {{{"l", outside, 1}, {"l/sub/", "", 0}}, "l", "l/sub/"},
      {{{"l", outside, 1}, {"l/link", "/etc/passwd", 1}}, "l", "l/link"},
      {{{"rel", "../..", 1}, {"rel/up.txt", "x", 0}}, "rel", "rel/up.txt"},
      {{{"replaced_1", victim, 1}, {"replaced_2", "overwritten", 0}}, "replaced_1", "replaced_1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char zip_path[256], dir[256];
    snprintf(zip_path, sizeof zip_path, "%s-through%zu.zip", root, i);
    snprintf(dir, sizeof dir, "%s-through%zu/pkg", root, i);
    char parent[256];
    snprintf(parent, sizeof parent, "%s-through%zu", root, i);
    assert_int_equal(mkdir(parent, 0700), 0);
    write_zip(zip_path, cases[i].entries, 2);
    rename_entries(zip_path, "replaced_2", "replaced_1");
    le_error err;
    assert_int_equal(le_archive_extract(zip_path, dir, NULL, &err), LE_FAIL);
    assert_non_null(strstr(err.message, "through the link"));
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].entry);
    assert_non_null(strstr(err.message, quoted));
    char named[64];
    snprintf(named, sizeof named, "the link %s", cases[i].link);
    assert_non_null(strstr(err.message, named));
    unlink(zip_path);
    remove_tree(parent);
  }
  assert_string_equal(slurp(victim), "untouched");
  DIR *d = opendir(outside);
  assert_non_null(d);
  int others = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "victim.txt")) others++;
  closedir(d);
  assert_int_equal(others, 0);
  remove_tree(outside);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_tree_same_bytes),
      cmocka_unit_test(content_change_changes_bytes),
      cmocka_unit_test(entries_sorted_fixed_time_and_inflatable),
      cmocka_unit_test(single_file_and_missing_path),
      cmocka_unit_test(extract_round_trip),
      cmocka_unit_test(extract_refuses_escapes),
      cmocka_unit_test(extract_keeps_links_whatever_they_point_to),
      cmocka_unit_test(extract_never_writes_through_a_link),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
