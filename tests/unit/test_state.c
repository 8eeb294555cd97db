#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

static char dir[64];
static char path[128];
static char lock_path[128];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/lambdaeng-state-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(path, sizeof path, "%s/.lambdaeng/stack.state.json", dir);
  snprintf(lock_path, sizeof lock_path, "%s/.lambdaeng/stack.lock", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static char *slurp(const char *p) {
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static void missing_file_is_empty_state(void **state) {
  (void)state;
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(path, &st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 0);
  assert_int_equal(strlen(le_state_lineage(st)), 36);
  assert_int_equal(json_object_size(le_state_resources(st)), 0);
  le_state_free(st);
  assert_int_equal(access(path, F_OK), -1); /* opening writes nothing */
}

static void save_is_private_versioned_and_skips_no_ops(void **state) {
  (void)state;
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(path, &st, &err), LE_OK);
  char lineage[37];
  snprintf(lineage, sizeof lineage, "%s", le_state_lineage(st));
  json_object_set_new(le_state_resources(st), "func.hello", json_pack("{s:s, s:{s:s}}", "kind", "func", "args", "function_name", "hello"));
  assert_int_equal(le_state_save(st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 1);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(le_state_save(st, &err), LE_OK); /* nothing changed: no new serial */
  assert_int_equal(le_state_serial(st), 1);
  json_object_set_new(le_state_resources(st), "func.other",
                      json_pack("{s:s, s:{s:s}}", "kind", "func", "args", "function_name", "other"));
  assert_int_equal(le_state_save(st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 2);
  le_state_free(st);

  assert_int_equal(le_state_open(path, &st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 2);
  assert_string_equal(le_state_lineage(st), lineage);
  assert_int_equal(json_object_size(le_state_resources(st)), 2);
  le_state_free(st);
  /* the previous version is kept as the backup */
  char backup[160];
  snprintf(backup, sizeof backup, "%s.backup", path);
  char *b = slurp(backup);
  assert_non_null(b);
  assert_non_null(strstr(b, "\"serial\": 1"));
  free(b);
}

/* A state file cut short (it does not parse) at dir/name; its path in out. */
static void write_unparsable(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
  FILE *f = fopen(out, "w");
  fputs("{\"version\": 1, \"serial\": 3, \"lineage\": \"x\", \"resources\": {", f);
  fclose(f);
}

static void unparsable_state_is_reported_and_untouched(void **state) {
  (void)state;
  char bad[160];
  write_unparsable(bad, sizeof bad, "bad.state.json");
  char *before = slurp(bad);
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(bad, &st, &err), LE_FAIL);
  assert_null(st);
  assert_non_null(strstr(err.message, "does not parse"));
  assert_non_null(strstr(err.message, bad));
  char *after = slurp(bad);
  assert_string_equal(before, after);
  free(before);
  free(after);

  FILE *f = fopen(bad, "w");
  fputs("{\"version\": 99, \"serial\": 3, \"lineage\": \"x\"}", f);
  fclose(f);
  assert_int_equal(le_state_open(bad, &st, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "newer"));
}

static void write_file(const char *p, const char *text) {
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Hostile documents: each is an error naming the file and what is wrong. */
static void malformed_state_is_refused_naming_the_entry(void **state) {
  (void)state;
  static const struct {
    const char *resources;
    const char *serial;
    const char *expect;
  } cases[] = {
      {"{}", "9223372036854775807", "\"serial\" 9223372036854775807 is out of range"},
      {"{}", "-1", "\"serial\" -1 is out of range"},
      {"{\"func.a\": 5}", "1", "resource \"func.a\": the entry is a number"},
      {"{\"func.a\": {\"kind\": \"func\", \"args\": \"x\"}}", "1", "resource \"func.a\": \"args\" is a string"},
      {"{\"func.a\": {\"kind\": \"func\"}}", "1", "resource \"func.a\": \"args\" is missing"},
      {"{\"func.a\": {\"kind\": \"func\", \"args\": {\"function_name\": 5}}}", "1",
       "resource \"func.a\": args.function_name is a number"},
      {"{\"func.a\": {\"kind\": \"bucket\", \"args\": {\"function_name\": \"a\"}}}", "1",
       "resource \"func.a\": unknown kind \"bucket\""},
      {"{\"func.a\": {\"kind\": \"func\", \"args\": {\"function_name\": \"a\"}, \"attrs\": []}}", "1",
       "resource \"func.a\": \"attrs\" is an array"},
  };
  char bad[160];
  snprintf(bad, sizeof bad, "%s/hostile.state.json", dir);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[512];
    snprintf(text, sizeof text, "{\"version\": 1, \"serial\": %s, \"lineage\": \"x\", \"resources\": %s}",
             cases[i].serial, cases[i].resources);
    write_file(bad, text);
    le_state *st = NULL;
    le_error err;
    assert_int_equal(le_state_open(bad, &st, &err), LE_FAIL);
    assert_null(st);
    if (!strstr(err.message, cases[i].expect) || !strstr(err.message, bad)) fail_msg("case %zu: %s", i, err.message);
  }
  write_file(bad, "{\"version\": 1, \"serial\": 9223372036854775806, \"lineage\": \"x\"}");
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(bad, &st, &err), LE_OK);
  le_state_free(st);
}

static void lock_is_exclusive_and_names_holder(void **state) {
  (void)state;
  le_lock *a, *b;
  le_error err;
  assert_int_equal(le_lock_acquire(lock_path, "plan", &a, &err), LE_OK);
  assert_int_equal(le_lock_acquire(lock_path, "run", &b, &err), LE_FAIL);
  char pid[32];
  snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
  assert_non_null(strstr(err.message, pid));
  assert_non_null(strstr(err.message, "operation: plan"));
  assert_null(strstr(err.message, "stale"));
  assert_non_null(strstr(err.message, le_lock_id(a)));
  assert_int_equal(le_lock_release(a, &err), LE_OK);
  assert_int_equal(le_lock_acquire(lock_path, "run", &b, &err), LE_OK);
  assert_int_equal(le_lock_release(b, &err), LE_OK);
}

/* A forces B's lock away with B's id; B's release must not delete A's lock. */
static void release_deletes_only_its_own_lock(void **state) {
  (void)state;
  le_lock *a, *b;
  le_error err;
  assert_int_equal(le_lock_acquire(lock_path, "run", &a, &err), LE_OK);
  /* holder alive on this host: refused without the id, and with a wrong one */
  assert_int_equal(le_lock_force_unlock(lock_path, NULL, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "still running"));
  assert_non_null(strstr(err.message, le_lock_id(a)));
  assert_int_equal(le_lock_force_unlock(lock_path, "not-the-id", &err), LE_FAIL);
  assert_int_equal(access(lock_path, F_OK), 0);
  assert_int_equal(le_lock_force_unlock(lock_path, le_lock_id(a), &err), LE_OK);
  assert_int_equal(le_lock_acquire(lock_path, "run", &b, &err), LE_OK);
  char b_id[37];
  snprintf(b_id, sizeof b_id, "%s", le_lock_id(b));
  assert_int_equal(le_lock_release(a, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "taken over"));
  char *text = slurp(lock_path);
  assert_non_null(text);
  assert_non_null(strstr(text, b_id));
  free(text);
  assert_int_equal(le_lock_release(b, &err), LE_OK);
  assert_int_equal(access(lock_path, F_OK), -1);
}

static le_state *open_ok(void) {
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(path, &st, &err), LE_OK);
  return st;
}

static void put(le_state *st, const char *addr, const char *fn) {
  json_object_set_new(le_state_resources(st), addr, json_pack("{s:s, s:{s:s}}", "kind", "func", "args", "function_name", fn));
}

/* Two writers of one state file: neither drops what the other added or removed. */
static void save_merges_what_another_writer_wrote(void **state) {
  (void)state;
  le_error err;
  unlink(path);
  le_state *first = open_ok();
  put(first, "func.shared", "shared");
  put(first, "func.gone", "gone");
  assert_int_equal(le_state_save(first, &err), LE_OK);
  le_state *a = open_ok(), *b = open_ok();
  put(a, "func.a1", "a1");
  json_object_del(le_state_resources(a), "func.gone");
  assert_int_equal(le_state_save(a, &err), LE_OK);
  put(b, "func.b1", "b1");
  put(b, "func.shared", "shared-by-b");
  assert_int_equal(le_state_save(b, &err), LE_OK);
  put(a, "func.a2", "a2");
  assert_int_equal(le_state_save(a, &err), LE_OK);
  le_state *after = open_ok();
  json_t *r = le_state_resources(after);
  assert_non_null(json_object_get(r, "func.a1"));
  assert_non_null(json_object_get(r, "func.a2"));
  assert_non_null(json_object_get(r, "func.b1"));
  assert_null(json_object_get(r, "func.gone"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r, "func.shared"), "args"),
                                                        "function_name")),
                      "shared-by-b");
  assert_int_equal(le_state_serial(after), 4);
  le_state_free(after);
  le_state_free(first);
  le_state_free(a);
  le_state_free(b);
}

/* Another writer saving twice frees the inode this process last wrote (its backup
 * link goes too), and the file system may give that number to the new file: the
 * change must still be seen. Several rounds make a reuse all but certain. */
static void save_sees_another_writer_even_when_inode_numbers_are_reused(void **state) {
  (void)state;
  le_error err;
  for (int round = 0; round < 20; round++) {
    unlink(path);
    le_state *a = open_ok();
    put(a, "func.a", "a");
    assert_int_equal(le_state_save(a, &err), LE_OK);
    le_state *b = open_ok();
    char name[32];
    int saves = 1 + round % 4; /* the reuse lands on an even count of saves on ext4 */
    for (int i = 0; i < saves; i++) {
      snprintf(name, sizeof name, "func.b%d", i);
      put(b, name, name);
      assert_int_equal(le_state_save(b, &err), LE_OK);
    }
    put(a, "func.a2", "a2");
    assert_int_equal(le_state_save(a, &err), LE_OK);
    le_state *after = open_ok();
    for (int i = 0; i < saves; i++) {
      snprintf(name, sizeof name, "func.b%d", i);
      assert_non_null(json_object_get(le_state_resources(after), name));
    }
    assert_non_null(json_object_get(le_state_resources(after), "func.a2"));
    le_state_free(after);
    le_state_free(a);
    le_state_free(b);
  }
}

static void stale_lock_is_reported_with_way_out(void **state) {
  (void)state;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  FILE *f = fopen(lock_path, "w");
  /* pid 2^22+1 is above the kernel's pid_max default range: no such process */
  fprintf(f, "{\"host\": \"%s\", \"operation\": \"run\", \"pid\": 4194305, \"time\": \"2026-01-01T00:00:00Z\"}", host);
  fclose(f);
  le_lock *l;
  le_error err;
  assert_int_equal(le_lock_acquire(lock_path, "plan", &l, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "stale"));
  assert_non_null(strstr(err.message, "--force-unlock"));
  assert_int_equal(le_lock_force_unlock(lock_path, NULL, &err), LE_OK);
  assert_int_equal(le_lock_acquire(lock_path, "plan", &l, &err), LE_OK);
  assert_int_equal(le_lock_release(l, &err), LE_OK);
}

/* Lineages and lock ids: version 4 UUIDs in their text form, never the same twice. */
static void new_ids_are_random_uuids(void **state) {
  (void)state;
  enum { N = 2000 };
  static char ids[N][37];
  for (int i = 0; i < N; i++) {
    le_state_new_id(ids[i]);
    assert_int_equal(strlen(ids[i]), 36);
    for (int k = 0; k < 36; k++) {
      char c = ids[i][k];
      if (k == 8 || k == 13 || k == 18 || k == 23) assert_int_equal(c, '-');
      else assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    assert_int_equal(ids[i][14], '4');
    assert_non_null(strchr("89ab", ids[i][19]));
  }
  qsort(ids, N, sizeof ids[0], (int (*)(const void *, const void *))strcmp);
  for (int i = 1; i < N; i++) assert_string_not_equal(ids[i - 1], ids[i]);
}

/* Saves a state holding the functions named in names (a new file or the next serial). */
static void save_functions(const char *file_path, const char *const *names) {
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open(file_path, &st, &err), LE_OK);
  for (size_t i = 0; names[i]; i++) {
    char addr[64];
    snprintf(addr, sizeof addr, "func.%s", names[i]);
    json_object_set_new(le_state_resources(st), addr,
                        json_pack("{s:s, s:{s:s}}", "kind", "func", "args", "function_name", names[i]));
  }
  assert_int_equal(le_state_save(st, &err), LE_OK);
  le_state_free(st);
}

/* The prefetch (stateprefetch.h) read the file before another write: the open under the
 * lock must read the file as it is then, not the prefetched document; an unchanged file's
 * prefetched document is taken, once, and saves as an opened one does. */
static void prefetched_document_is_taken_only_for_the_same_bytes(void **state) {
  (void)state;
  char own_path[160]; /* (a file of its own: the group's stack.state.json has other tests' serials) */
  snprintf(own_path, sizeof own_path, "%s/prefetch.state.json", dir);
  static const char *const first[] = {"a", NULL}, *const second[] = {"b", NULL}, *const third[] = {"c", NULL};
  save_functions(own_path, first); /* serial 1 */
  le_state_prefetch *p = le_state_prefetch_start(own_path);
  assert_non_null(p);
  json_t *root = NULL;
  char *text = NULL;
  le_statefile *file = NULL;
  assert_int_equal(le_state_prefetch_take(p, "{}", 2, &root, &text, &file), 0); /* waits for it: read serial 1 */
  save_functions(own_path, second); /* serial 2, func.a and func.b */
  le_state *st;
  le_error err;
  assert_int_equal(le_state_open_prefetched(own_path, p, &st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 2);
  assert_int_equal(json_object_size(le_state_resources(st)), 2);
  le_state_free(st);
  le_state_prefetch_free(p);

  p = le_state_prefetch_start(own_path); /* the file unchanged: its document is the open's */
  assert_non_null(p);
  assert_int_equal(le_state_open_prefetched(own_path, p, &st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 2);
  char *now = slurp(own_path);
  assert_int_equal(le_state_prefetch_take(p, now, strlen(now), &root, &text, &file), 0); /* taken already */
  free(now);
  json_object_set_new(le_state_resources(st), "func.c",
                      json_pack("{s:s, s:{s:s}}", "kind", "func", "args", "function_name", third[0]));
  assert_int_equal(le_state_save(st, &err), LE_OK); /* the kept entries' text is the open's now */
  le_state_free(st);
  le_state_prefetch_free(p);
  assert_int_equal(le_state_open(own_path, &st, &err), LE_OK);
  assert_int_equal(le_state_serial(st), 3);
  assert_int_equal(json_object_size(le_state_resources(st)), 3);
  assert_non_null(json_object_get(le_state_resources(st), "func.a"));
  le_state_free(st);
}

/* A prefetch of a file that does not parse, or parses and is refused by the check, changes
 * nothing in what the open says: the open refuses it with the plain open's message (a
 * prefetched document that failed its check is never taken as checked). */
static void prefetched_bad_file_is_refused_as_before(void **state) {
  (void)state;
  char bad[160];
  write_unparsable(bad, sizeof bad, "prefetch-bad.state.json");
  static const char *const refused[] = {
      NULL, /* (the unparsable file written above) */
      "{\"version\": 1, \"serial\": 1, \"lineage\": \"x\", \"resources\": {\"func.a\": 5}}",
      "{\"version\": 99, \"serial\": 3, \"lineage\": \"x\"}",
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    if (refused[i]) write_file(bad, refused[i]);
    le_state *st;
    le_error plain, prefetched;
    assert_int_equal(le_state_open(bad, &st, &plain), LE_FAIL);
    le_state_prefetch *p = le_state_prefetch_start(bad);
    assert_non_null(p);
    int opened = le_state_open_prefetched(bad, p, &st, &prefetched);
    if (opened != LE_FAIL) fail_msg("case %zu: opened after a prefetch; the plain open said: %s", i, plain.message);
    assert_null(st);
    assert_string_equal(plain.message, prefetched.message);
    le_state_prefetch_free(p);
  }
}

/* A FIFO where the state file should be: the prefetch gives up at once (the open that counts
 * blocks on it as it always did, under the lock; the prefetch must not hold the exit's join). */
static void prefetch_of_a_fifo_never_waits_for_a_writer(void **state) {
  (void)state;
  char fifo[160];
  snprintf(fifo, sizeof fifo, "%s/fifo.state.json", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  le_state_prefetch *p = le_state_prefetch_start(fifo);
  assert_non_null(p);
  le_state_prefetch_free(p); /* joins: returns only because the thread did not block */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(missing_file_is_empty_state),
      cmocka_unit_test(new_ids_are_random_uuids),
      cmocka_unit_test(save_is_private_versioned_and_skips_no_ops),
      cmocka_unit_test(unparsable_state_is_reported_and_untouched),
      cmocka_unit_test(malformed_state_is_refused_naming_the_entry),
      cmocka_unit_test(lock_is_exclusive_and_names_holder),
      cmocka_unit_test(stale_lock_is_reported_with_way_out),
      cmocka_unit_test(release_deletes_only_its_own_lock),
      cmocka_unit_test(save_merges_what_another_writer_wrote),
      cmocka_unit_test(save_sees_another_writer_even_when_inode_numbers_are_reused),
      cmocka_unit_test(prefetched_document_is_taken_only_for_the_same_bytes),
      cmocka_unit_test(prefetched_bad_file_is_refused_as_before),
      cmocka_unit_test(prefetch_of_a_fifo_never_waits_for_a_writer),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
