/* state.c — the state document (state.h): opened (read whole, parsed and checked; entries
 * kept as their text until needed, statefile.c), its entries and outputs, a write prepared
 * (the serial up by one) and recorded, another writer's file merged, the save under the
 * .guard flock. Its object is statedoc.h's; its text from kept pieces statetext.c's; the
 * Lua object statelua.c's. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "converter.h"
#include "jsonload.h"
#include "loop.h"
#include "runtime.h"
#include "statecheck.h"
#include "statedisk.h"
#include "statefile.h"
#include "statedoc.h"
#include "statelock.h"
#include "statesave_bg.h"

#ifndef LAMBDAENG_VERSION
#define LAMBDAENG_VERSION "0.0.0"
#endif

/* From the kernel's generator (getrandom(2)): OpenSSL's RAND_bytes seeded its own generator
 * first, 3.4 M instructions of every command that takes the state's lock. */
void le_state_new_id(char out[37]) {
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)(rand() ^ (int)(time(NULL) >> i));
  }
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
           r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* Reads the file open on fd whole into text (from offset 0); 0, or -1 with errno set. */
int le_state_read_whole(int fd, le_buffer *text) {
  /* Read whole, then parsed from memory: json_loadf reads a character at a time. */
  ssize_t n = 0;
  off_t at = 0;
  for (;;) {
    if (le_buffer_reserve(text, 64 * 1024) != LE_OK) {
      errno = ENOMEM;
      return -1;
    }
    n = pread(fd, text->data + text->len, text->cap - text->len, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    text->len += (size_t)n;
    at += n;
  }
}

json_t *le_state_parse_text(const char *text, size_t len, json_error_t *jerr, le_statefile **file) {
  /* The entries kept as text, or the fast parse, or jansson's when the others are unsure
   * (it then says what is wrong). */
  json_t *root = NULL;
  if (file) le_statefile_read(text, len, &root, file);
  if (!root) root = le_json_load_fast(text, len);
  if (!root) root = json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
  return root;
}

/* jerr's line when the file could not be read at all (jerr's text then says why). */
#define NOT_READ (-1)

/* Parses the file open on fd, leaving fd open; with file, its entries kept as text where
 * statefile.c is sure of them (then text_out is needed while *file lives). With prefetch,
 * the prefetched document when the file's bytes are the ones it read and checked (*checked
 * is then set). NULL with jerr's line NOT_READ when fd could not be read (a directory). */
static json_t *load_fd(int fd, json_error_t *jerr, char **text_out, size_t *len_out, le_statefile **file,
                       le_state_prefetch *prefetch, int *checked) {
  le_buffer text = {0};
  if (le_state_read_whole(fd, &text) != 0) {
    json_error_t failed = {.line = NOT_READ, .column = 0};
    snprintf(failed.text, sizeof failed.text, "%s", strerror(errno));
    *jerr = failed;
    le_buffer_free(&text);
    return NULL;
  }
  json_t *root = NULL;
  char *taken = NULL;
  if (prefetch && file && text_out &&
      le_state_prefetch_take(prefetch, (const char *)text.data, text.len, &root, &taken, file)) {
    *checked = 1;
    *text_out = taken;
    *len_out = text.len;
    le_buffer_free(&text);
    return root;
  }
  root = le_state_parse_text((const char *)text.data, text.len, jerr, file);
  if (root && text_out) {
    *text_out = (char *)text.data;
    *len_out = text.len;
  } else {
    le_buffer_free(&text);
  }
  return root;
}

/* The document as last read or written, serialised (made from the opened file's text
 * the first time it is needed); NULL when out of memory. */
static const char *last_written(le_state *st) {
  if (!st->last_written && st->loaded_text) {
    json_t *doc = le_json_load_fast(st->loaded_text, st->loaded_len);
    if (!doc) doc = json_loadb(st->loaded_text, st->loaded_len, 0, NULL);
    if (doc) st->last_written = json_dumps(doc, DUMP_FLAGS);
    json_decref(doc);
    if (!st->file) {
      free(st->loaded_text);
      st->loaded_text = NULL;
    }
  }
  return st->last_written;
}

/* Remembers fd's file as the one last read or written (takes fd; -1 forgets). */
static void hold_file(le_state *st, int fd) {
  struct stat sb;
  if (st->file_fd >= 0) close(st->file_fd);
  st->file_fd = fd;
  if (fd >= 0 && fstat(fd, &sb) == 0) {
    st->file_dev = sb.st_dev;
    st->file_ino = sb.st_ino;
  } else {
    st->file_dev = 0;
    st->file_ino = 0;
  }
}

/* What fd is when it is neither a regular file nor a directory ("a FIFO"...), else NULL. */
static const char *special_file_kind(int fd) {
  struct stat sb;
  if (fstat(fd, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) return NULL;
  if (S_ISFIFO(sb.st_mode)) return "a FIFO";
  if (S_ISSOCK(sb.st_mode)) return "a socket";
  if (S_ISCHR(sb.st_mode)) return "a character device";
  if (S_ISBLK(sb.st_mode)) return "a block device";
  return "a special file";
}

int le_state_open(const char *path, le_state **out, le_error *err) {
  return le_state_open_prefetched(path, NULL, out, err);
}

int le_state_open_prefetched(const char *path, le_state_prefetch *prefetch, le_state **out, le_error *err) {
  *out = NULL;
  le_state *st = calloc(1, sizeof *st);
  if (!st || !(st->path = strdup(path))) {
    free(st);
    return le_error_set(err, "out of memory");
  }
  st->file_fd = -1;
  /* (O_NONBLOCK: a FIFO in the state's place is refused below, not waited on for a writer) */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  const char *kind = fd >= 0 ? special_file_kind(fd) : NULL;
  if (kind) {
    close(fd);
    le_state_free(st);
    return le_error_set(err, "state file %s is not a regular file (%s)", path, kind);
  }
  if (fd < 0) {
    struct stat sb;
    if (errno != ENOENT) {
      le_state_free(st);
      return le_error_errno(err, errno, "cannot read state file %s", path);
    }
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) { /* (a new state would replace the link) */
      le_state_free(st);
      return le_error_set(err, "state file %s is a symbolic link to a file that does not exist: create that "
                          "file's directory and an empty state there, or remove the link", path);
    }
    char lineage[37];
    le_state_new_id(lineage);
    st->root = json_pack("{s:i, s:i, s:s, s:s, s:{}, s:{}}", "version", LE_STATE_FORMAT_VERSION, "serial",
                         0, "lineage", lineage, "lambdaeng_version", LAMBDAENG_VERSION, "resources",
                         "outputs");
    st->last_written = json_dumps(st->root, DUMP_FLAGS);
    *out = st;
    return LE_OK;
  }
  json_error_t jerr;
  int checked = 0; /* (by the prefetch, on these very bytes) */
  st->root = load_fd(fd, &jerr, &st->loaded_text, &st->loaded_len, &st->file, prefetch,
                     &checked); /* the file whose inode is held */
  hold_file(st, fd);
  if (!st->root && jerr.line == NOT_READ) {
    le_error_set(err, "cannot read state file %s: %s", path, jerr.text);
    le_state_free(st);
    return LE_FAIL;
  }
  if (!st->root) {
    le_error_set(err,
                 "state file %s does not parse (line %d, column %d: %s); it was left untouched — "
                 "restore it from %s.backup or fix it by hand",
                 path, jerr.line, jerr.column, jerr.text, path);
    le_state_free(st);
    return LE_FAIL;
  }
  if (!checked && le_state_check_document(path, st->root, st->file, err) != LE_OK) {
    le_state_free(st);
    return LE_FAIL;
  }
  *out = st;
  return LE_OK;
}

void le_state_free(le_state *st) {
  if (!st) return;
  le_state_wait_for_background_write(st); /* its file on disk before the caller goes on (a lock's release, exit) */
  if (st->file_fd >= 0) close(st->file_fd);
  if (le_runtime_exiting()) return; /* the documents go with the process (runtime.h) */
  json_decref(st->root);
  free(st->last_written);
  le_statefile_free(st->file);
  free(st->loaded_text);
  json_decref(st->entry_texts);
  free(st->path);
  free(st);
}

const char *le_state_path(const le_state *st) { return st->path; }
const char *le_state_lineage(const le_state *st) {
  return json_string_value(json_object_get(st->root, "lineage"));
}
json_int_t le_state_serial(const le_state *st) {
  return json_integer_value(json_object_get(st->root, "serial"));
}

/* The entry at addr as jansson values, parsed from the file's text if it was kept there;
 * NULL: no such entry, or out of memory. */
json_t *le_state_entry_parsed(le_state *st, const char *addr) {
  json_t *resources = resources_of(st), *v = json_object_get(resources, addr);
  if (!st->file || !json_is_integer(v)) return v;
  json_t *entry = le_statefile_entry(st->file, (size_t)json_integer_value(v));
  return entry && json_object_set_new(resources, addr, entry) == 0 ? entry : NULL;
}

/* Every entry as jansson values (for what walks them all); LE_FAIL when out of memory. */
int le_state_parse_all(le_state *st) {
  if (!st->file) return LE_OK;
  const char *addr;
  json_t *v;
  json_object_foreach(resources_of(st), addr, v) {
    if (json_is_integer(v) && !le_state_entry_parsed(st, addr)) return LE_FAIL;
  }
  le_statefile_free(st->file);
  st->file = NULL;
  return LE_OK;
}

/* For callers that may change what they get: the document counts as changed, and
 * no entry's text can be trusted any more. NULL when out of memory. */
json_t *le_state_resources(le_state *st) {
  st->dirty = 1;
  json_object_clear(st->entry_texts);
  return le_state_parse_all(st) == LE_OK ? resources_of(st) : NULL;
}
json_t *le_state_outputs(le_state *st) {
  st->dirty = 1;
  return json_object_get(st->root, "outputs");
}

/* Another process wrote the file since this one last read or wrote it: fold its
 * document into root, keeping every entry this process changed (added, updated or
 * removed since it last read or wrote the file) and taking the other writer's
 * version of everything else. Afterwards last_written is the other writer's document. */
static int merge_from_disk(le_state *st, le_error *err) {
  json_error_t jerr;
  int fd = open(st->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return le_error_errno(err, errno, "cannot read state file %s", st->path);
  json_t *disk = load_fd(fd, &jerr, NULL, NULL, NULL, NULL, NULL);
  if (disk) hold_file(st, fd); /* what is merged is what the next save compares with */
  else close(fd);
  if (!disk && jerr.line == NOT_READ) return le_error_set(err, "cannot read state file %s: %s", st->path, jerr.text);
  if (!disk)
    return le_error_set(err,
                        "state file %s was changed by another run and no longer parses (line %d: %s); "
                        "not overwriting it",
                        st->path, jerr.line, jerr.text);
  if (le_state_check_document(st->path, disk, NULL, err) != LE_OK) {
    json_decref(disk);
    return LE_FAIL;
  }
  const char *theirs = json_string_value(json_object_get(disk, "lineage"));
  if (strcmp(theirs, le_state_lineage(st)) != 0) {
    le_error_set(err,
                 "state file %s was replaced by another state (lineage %s, this run read %s) while this run "
                 "held it; not overwriting it",
                 st->path, theirs, le_state_lineage(st));
    json_decref(disk);
    return LE_FAIL;
  }
  const char *base_text = last_written(st);
  json_t *base_doc = base_text ? json_loads(base_text, 0, NULL) : NULL;
  if (!base_doc) {
    json_decref(disk);
    return le_error_set(err, "state file %s: cannot merge with another run's write (out of memory)", st->path);
  }
  json_t *cur = le_state_resources(st), *base = json_object_get(base_doc, "resources");
  json_t *other = json_object_get(disk, "resources");
  if (!cur) {
    json_decref(base_doc);
    json_decref(disk);
    return le_error_set(err, "state file %s: cannot merge with another run's write (out of memory)", st->path);
  }
  const char *addr;
  json_t *v;
  void *tmp;
  /* Entries this process did not touch take the other writer's version, or go
   * when the other writer removed them. */
  st->addresses_version++;
  json_object_foreach_safe(cur, tmp, addr, v) {
    if (!json_equal(v, json_object_get(base, addr))) continue; /* ours */
    json_t *o = json_object_get(other, addr);
    if (o) json_object_set(cur, addr, o);
    else json_object_del(cur, addr);
  }
  json_object_foreach(other, addr, v) {
    if (json_object_get(cur, addr)) continue;
    if (json_object_get(base, addr)) continue; /* this process removed it */
    json_object_set(cur, addr, v);
  }
  if (json_equal(le_state_outputs(st), json_object_get(base_doc, "outputs")))
    json_object_set(st->root, "outputs", json_object_get(disk, "outputs"));
  json_object_set(st->root, "serial", json_object_get(disk, "serial"));
  json_decref(base_doc);
  char *text = json_dumps(disk, DUMP_FLAGS);
  json_decref(disk);
  if (!text) return le_error_set(err, "cannot serialise the state");
  free(st->last_written);
  st->last_written = text;
  return LE_OK;
}

/* The document to write next, with its final newline: the serial goes up by one and
 * what was put since the last write counts as on its way (a failed write puts both
 * back: unprepare). NULL with err set when it cannot be made. */
char *le_state_prepare_write(le_state *st, json_int_t *old_serial, size_t *len_out, le_error *err) {
  json_int_t old = json_integer_value(json_object_get(st->root, "serial"));
  if (old < 0 || old >= LE_STATE_SERIAL_MAX) { /* checked on read; never overflow */
    le_error_set(err, "state file %s: serial %lld cannot go up; nothing was written", st->path, (long long)old);
    return NULL;
  }
  json_object_set_new(st->root, "serial", json_integer(old + 1));
  json_object_set_new(st->root, "lambdaeng_version", json_string(LAMBDAENG_VERSION));
  char *text = le_state_document_text(st);
  size_t len = text ? strlen(text) : 0;
  char *lined = text ? realloc(text, len + 2) : NULL;
  if (!lined) {
    free(text);
    json_object_set_new(st->root, "serial", json_integer(old));
    le_error_set(err, text ? "out of memory" : "cannot serialise the state");
    return NULL;
  }
  lined[len++] = '\n';
  lined[len] = '\0';
  *old_serial = old;
  *len_out = len;
  st->dirty = 0; /* a put from here on is for the next write */
  return lined;
}

void le_state_unprepare(le_state *st, json_int_t old_serial, char *text) {
  free(text);
  json_object_set_new(st->root, "serial", json_integer(old_serial));
  st->dirty = 1;
}

/* After a successful write of text (from prepare_write, taken) as the file open on fd. */
void le_state_written(le_state *st, char *text, size_t len, int fd) {
  hold_file(st, fd);
  text[len - 1] = '\0'; /* as json_dumps gives it, for the comparison in save_guarded */
  free(st->last_written);
  st->last_written = text;
  if (!st->file) {
    free(st->loaded_text);
    st->loaded_text = NULL;
  }
}

void le_state_file_identity(const le_state *st, dev_t *dev, ino_t *ino) {
  *dev = st->file_dev;
  *ino = st->file_ino;
}
le_bg_save *le_state_writing(const le_state *st) { return st->writing; }
void le_state_set_writing(le_state *st, le_bg_save *b) { st->writing = b; }

static int save_guarded(le_state *st, le_error *err) {
  struct stat sb;
  int exists = stat(st->path, &sb) == 0;
  if (!exists && errno != ENOENT) return le_error_errno(err, errno, "cannot read state file %s", st->path);
  int merged = exists && (sb.st_ino != st->file_ino || sb.st_dev != st->file_dev);
  if (merged && merge_from_disk(st, err) != LE_OK) return LE_FAIL;
  if (!merged && !st->dirty) return LE_OK; /* nothing put, removed or set since the last write */
  if (merged) {
    /* After a merge, whether anything of ours is left to write is a comparison of texts. */
    char *current = le_state_document_text(st);
    if (!current) return le_error_set(err, "cannot serialise the state");
    const char *before = last_written(st);
    int unchanged = before && strcmp(current, before) == 0;
    free(current);
    if (unchanged) return LE_OK; /* nothing changed: no new serial */
  }
  json_int_t old_serial;
  size_t len;
  char *text = le_state_prepare_write(st, &old_serial, &len, err);
  if (!text) return LE_FAIL;
  int fd = -1;
  if (le_statedisk_replace(st->path, text, len, &fd, err) != LE_OK) {
    le_state_unprepare(st, old_serial, text);
    return LE_FAIL;
  }
  le_state_written(st, text, len, fd);
  return LE_OK;
}

int le_state_save(le_state *st, le_error *err) {
  if (st->writing) return le_error_set(err, "state file %s: a save is already being written", st->path);
  int guard = le_statedisk_guard_acquire(st->path, err);
  if (guard < 0) return LE_FAIL;
  int rc = save_guarded(st, err);
  le_statedisk_guard_release(guard);
  return rc;
}
