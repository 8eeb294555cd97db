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
#include "statelock.h"
#include "statesave_bg.h"

#ifndef LAMBDAENG_VERSION
#define LAMBDAENG_VERSION "0.0.0"
#endif

struct le_state {
  char *path;
  json_t *root;
  char *last_written; /* the document as last read or written, serialised (what this process changed is
                       * root minus this; kept as text: cheaper than a copy, parsed only to merge) */
  int dirty;          /* something may differ from last_written (a put of an equal value does not count) */
  char *loaded_text;  /* the file as opened, until last_written is first needed (a plan never saves, */
  size_t loaded_len;  /* so it never pays for serialising the whole document again), and while file needs it */
  le_statefile *file; /* the entries of the opened file kept as its text (statefile.h): in resources, an
                       * integer N is its entry N, parsed when something needs it as jansson values */
  json_t *entry_texts; /* address -> the text of its entry in the document ("    \"addr\": {...}"),
                        * made once per put: a save copies the rest (engine/state.c document_text) */
  dev_t file_dev;    /* the file as last read or written (every write is a new inode), */
  ino_t file_ino;    /* so a write by another process is seen; 0: there was no file */
  int file_fd;       /* held open on that file: while it lives, its inode number cannot be
                      * given to another writer's file (ext4 reuses a freed one at once) */
  le_bg_save *writing;     /* the background save on a worker thread, if any: no other save until it is
                            * done, and the state is not freed before its file is on disk */
  unsigned addresses_version; /* changed whenever an address may have come or gone (put of a new one,
                               * remove, merge): state:addresses() keeps its list until then */
};

static const size_t DUMP_FLAGS = JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17);

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
static json_t *resources_of(const le_state *st) { return json_object_get(st->root, "resources"); }

/* The entry at addr as jansson values, parsed from the file's text if it was kept there;
 * NULL: no such entry, or out of memory. */
static json_t *entry_of(le_state *st, const char *addr) {
  json_t *resources = resources_of(st), *v = json_object_get(resources, addr);
  if (!st->file || !json_is_integer(v)) return v;
  json_t *entry = le_statefile_entry(st->file, (size_t)json_integer_value(v));
  return entry && json_object_set_new(resources, addr, entry) == 0 ? entry : NULL;
}

/* Every entry as jansson values (for what walks them all); LE_FAIL when out of memory. */
static int keep_none(le_state *st) {
  if (!st->file) return LE_OK;
  const char *addr;
  json_t *v;
  json_object_foreach(resources_of(st), addr, v) {
    if (json_is_integer(v) && !entry_of(st, addr)) return LE_FAIL;
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
  return keep_none(st) == LE_OK ? resources_of(st) : NULL;
}
json_t *le_state_outputs(le_state *st) {
  st->dirty = 1;
  return json_object_get(st->root, "outputs");
}
static json_t *outputs_of(const le_state *st) { return json_object_get(st->root, "outputs"); }

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

/* The text of one resource entry as it stands in the document: its key and its value
 * at the depth of the "resources" object (jansson's dump, each line indented by 4 more). */
static json_t *entry_text(const char *addr, json_t *entry) {
  json_t *key = json_string(addr);
  char *key_text = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
  char *value_text = json_dumps(entry, DUMP_FLAGS | JSON_ENCODE_ANY);
  json_decref(key);
  json_t *text = NULL;
  if (key_text && value_text) {
    size_t key_len = strlen(key_text), lines = 0, value_len = 0;
    for (const char *p = value_text; *p; p++, value_len++) lines += *p == '\n';
    size_t len = 4 + key_len + 2 + value_len + 4 * lines;
    char *out = malloc(len);
    if (out) {
      char *w = out;
      memcpy(w, "    ", 4);
      memcpy(w + 4, key_text, key_len);
      memcpy(w + 4 + key_len, ": ", 2);
      w += 6 + key_len;
      for (const char *p = value_text; *p; p++) {
        *w++ = *p;
        if (*p == '\n') {
          memcpy(w, "    ", 4);
          w += 4;
        }
      }
      text = json_stringn_nocheck(out, len);
      free(out);
    }
  }
  free(key_text);
  free(value_text);
  return text;
}

/* The text of the entry at addr in the document: kept from its put, or the file's own
 * when it was kept there as the dump gives it (statefile.h), or made now and kept. */
static int entry_piece(le_state *st, const char *addr, const char **text, size_t *len) {
  json_t *piece = json_object_get(st->entry_texts, addr), *v;
  if (!piece && st->file && json_is_integer(v = json_object_get(resources_of(st), addr)) &&
      le_statefile_text(st->file, (size_t)json_integer_value(v), text, len))
    return LE_OK;
  if (!piece) {
    json_t *entry = entry_of(st, addr);
    piece = entry ? entry_text(addr, entry) : NULL;
    if (!piece || json_object_set_new(st->entry_texts, addr, piece) != 0) return LE_FAIL;
  }
  *text = json_string_value(piece);
  *len = json_string_length(piece);
  return LE_OK;
}

static int compare_addresses(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The document as json_dumps(root, DUMP_FLAGS) gives it, byte for byte, but made from
 * each entry's text, kept from its put: a save of a large state costs a copy, not a
 * new serialisation of every entry (lua.state compares it with json_dumps). NULL when
 * out of memory. */
static char *document_text(le_state *st) {
  json_t *resources = resources_of(st);
  if (!json_is_object(resources)) return json_dumps(st->root, DUMP_FLAGS);
  if (!st->entry_texts && !(st->entry_texts = json_object())) return NULL;
  /* The rest of the document, with a marker where the resources go. */
  json_t *shell = json_copy(st->root);
  if (!shell || json_object_set_new(shell, "resources", json_string("\x01")) != 0) {
    json_decref(shell);
    return NULL;
  }
  char *rest = json_dumps(shell, DUMP_FLAGS);
  json_decref(shell);
  static const char marker[] = "\n  \"resources\": \"\\u0001\"";
  char *at = rest ? strstr(rest, marker) : NULL; /* a top-level key: nothing else is indented by 2 */
  if (!at) {
    free(rest);
    return json_dumps(st->root, DUMP_FLAGS);
  }
  size_t n = json_object_size(resources), i = 0;
  const char **addrs = malloc((n ? n : 1) * sizeof *addrs);
  const char *addr;
  json_t *entry;
  le_buffer b = {0};
  int ok = addrs != NULL;
  if (ok) {
    json_object_foreach(resources, addr, entry) addrs[i++] = addr;
    qsort(addrs, n, sizeof *addrs, compare_addresses);
  }
  size_t head = (size_t)(at - rest) + strlen("\n  \"resources\": ");
  const char *tail = at + strlen(marker);
  size_t total = head + strlen(tail) + 8;
  const char *piece;
  size_t piece_len;
  for (i = 0; ok && i < n; i++) { /* each entry's text, made where it is missing, and the length of all */
    ok = entry_piece(st, addrs[i], &piece, &piece_len) == LE_OK;
    total += ok ? piece_len + 4 : 0;
  }
  ok = ok && le_buffer_reserve(&b, total) == LE_OK && le_buffer_append(&b, rest, head) == LE_OK;
  if (ok && n == 0) ok = le_buffer_append(&b, "{}", 2) == LE_OK;
  else if (ok) ok = le_buffer_append(&b, "{\n", 2) == LE_OK;
  for (i = 0; ok && i < n; i++) {
    ok = entry_piece(st, addrs[i], &piece, &piece_len) == LE_OK && le_buffer_append(&b, piece, piece_len) == LE_OK &&
         le_buffer_append(&b, i + 1 < n ? ",\n" : "\n  }", i + 1 < n ? 2 : 4) == LE_OK;
  }
  ok = ok && le_buffer_append(&b, tail, strlen(tail) + 1) == LE_OK; /* with its NUL */
  free(addrs);
  free(rest);
  if (!ok) {
    le_buffer_free(&b);
    return NULL;
  }
  return (char *)b.data;
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
  char *text = document_text(st);
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
    char *current = document_text(st);
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

/* Lua binding: lambdaeng.native.state.open(path) -> state | nil, message, code;
 * state.lock(path, operation) -> lock | nil, message, code (EBUSY: held by another
 * run); state.force_unlock(path[, id]) -> true | nil, message, code. */

#define STATE_MT "lambdaeng.state"

/* The state object at 1, for one of its methods, which hold its metatable as their upvalue:
 * compared there without luaL_checkudata's registry lookup by name (a refresh calls
 * methods ~4 times an entry). A backend's object (state/local.lua, state/s3.lua: a table
 * whose field native is the state) stands for its state: it is replaced at 1 by it, so
 * the backends take these functions as their methods without a Lua wrapper between. */
static le_state *check_state(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushvalue(L, lua_upvalueindex(2)); /* "native" (lua_getfield made the key: ~90 more) */
    lua_rawget(L, 1);
    lua_replace(L, 1);
  }
  le_state **p = lua_touserdata(L, 1);
  int ok = p && lua_getmetatable(L, 1) && lua_rawequal(L, -1, lua_upvalueindex(1));
  if (!ok) luaL_typeerror(L, 1, STATE_MT);
  lua_pop(L, 1);
  if (!*p) luaL_error(L, "state already closed");
  return *p;
}

static int push_error(lua_State *L, const le_error *err) { return le_push_error(L, err); }

#define PREFETCH_MT "lambdaeng.state.prefetch"

/* state.prefetch(path) -> a handle (stateprefetch.h); nil when no thread could start. */
static int l_prefetch(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  le_state_prefetch **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  luaL_setmetatable(L, PREFETCH_MT);
  *p = le_state_prefetch_start(path);
  if (!*p) lua_pushnil(L);
  return 1;
}

static int l_prefetch_gc(lua_State *L) {
  le_state_prefetch **p = luaL_checkudata(L, 1, PREFETCH_MT);
  le_state_prefetch_free(*p);
  *p = NULL;
  return 0;
}

/* state.open(path[, prefetch]) -> state | nil, message, code */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  le_state_prefetch **prefetch = lua_isnoneornil(L, 2) ? NULL : luaL_checkudata(L, 2, PREFETCH_MT);
  le_state **p = lua_newuserdatauv(L, sizeof *p, 2); /* addresses() list and its version */
  *p = NULL;
  luaL_setmetatable(L, STATE_MT);
  le_error err;
  if (le_state_open_prefetched(path, prefetch ? *prefetch : NULL, p, &err) != LE_OK) return push_error(L, &err);
  return 1;
}

static int l_state_gc(lua_State *L) {
  le_state **p = luaL_checkudata(L, 1, STATE_MT);
  le_state_free(*p);
  *p = NULL;
  return 0;
}

static void push_sorted_keys(lua_State *L, json_t *obj) {
  size_t n = json_object_size(obj), i = 0;
  const char **keys = malloc((n ? n : 1) * sizeof *keys);
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) keys[i++] = key;
  for (size_t a = 1; a < n; a++) /* insertion sort: states are small and usually sorted */
    for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
      const char *t = keys[b];
      keys[b] = keys[b - 1];
      keys[b - 1] = t;
    }
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, keys[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(keys);
}

/* The list is kept with the state (user values 1 and 2) and given again, the same table,
 * until an address comes or goes: a plan asks ~5 times (0.5 M instructions each at
 * 1,000 entries). Callers read it and never change it. */
static int l_addresses(lua_State *L) {
  le_state *st = check_state(L);
  if (lua_getiuservalue(L, 1, 2) == LUA_TNUMBER && lua_tointeger(L, -1) == (lua_Integer)st->addresses_version &&
      lua_getiuservalue(L, 1, 1) == LUA_TTABLE)
    return 1;
  push_sorted_keys(L, resources_of(st));
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 1);
  lua_pushinteger(L, (lua_Integer)st->addresses_version);
  lua_setiuservalue(L, 1, 2);
  return 1;
}

/* state:get(addr[, field[, memo]]) -> the entry (a new table), or only its field, or nil.
 * The field form converts just that part: what reads one field of every entry
 * (each entry's target) need not convert whole entries. With memo (a table the caller
 * keeps between calls), a field that is a table and reads as one seen before is that
 * same table again, which the caller must not change: the thousand entries of a state
 * hold a few distinct targets. */
static int l_get(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  const char *field = lua_isnoneornil(L, 3) ? NULL : luaL_checkstring(L, 3);
  int memo = 0;
  if (field && !lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    memo = 4;
  }
  if (st->file && json_is_integer(entry)) { /* kept as text: made from it, as from its values */
    le_statefile_push(L, st->file, (size_t)json_integer_value(entry), field, memo);
    return 1;
  }
  if (field) entry = json_object_get(entry, field); /* NULL-safe */
  le_json_to_lua(L, entry);
  return 1;
}

/* state:get_without(addr, name...) -> the entry without its members named (at most 8), or
 * nil: a refresh makes the fields it reads back only when they differ (state:same). */
#define MAX_LEFT 8
static int l_get_without(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  const char *left[MAX_LEFT];
  size_t n_left = (size_t)lua_gettop(L) - 2;
  luaL_argcheck(L, n_left <= MAX_LEFT, 3 + MAX_LEFT, "at most 8 names");
  for (size_t k = 0; k < n_left; k++) left[k] = luaL_checkstring(L, 3 + (int)k);
  if (st->file && json_is_integer(entry)) {
    le_statefile_push_without(L, st->file, (size_t)json_integer_value(entry), left, n_left);
    return 1;
  }
  le_json_to_lua(L, entry);
  if (lua_istable(L, -1))
    for (size_t k = 0; k < n_left; k++) {
      lua_pushnil(L);
      lua_setfield(L, -2, left[k]);
    }
  return 1;
}

/* state:get_in(addr, field, key[, field2, key2 ...]) -> the entry's field[key] for each pair
 * (nil for what it has not). */
static int l_get_in(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  int pairs = (lua_gettop(L) - 1) / 2, kept = st->file && json_is_integer(entry);
  luaL_checkstack(L, pairs, "reading a state entry");
  for (int k = 0; k < pairs; k++) {
    const char *field = luaL_checkstring(L, 3 + 2 * k), *key = luaL_checkstring(L, 4 + 2 * k);
    if (kept) le_statefile_push_in(L, st->file, (size_t)json_integer_value(entry), field, key);
    else le_json_to_lua(L, json_object_get(json_object_get(entry, field), key)); /* NULL-safe */
  }
  return pairs;
}

/* state:same(addr, field, value[, field2, value2 ...]) -> true when each value is what
 * state:get(addr, field) would make, up to the identity of its tables (le_statefile_same),
 * read from the file's text without making it; false when one is not, or when that cannot
 * be told that way (an entry not kept as text, a string with an escape): the caller then
 * makes the fields and compares. */
static int l_same(lua_State *L) {
  le_state *st = check_state(L);
  json_t *entry = json_object_get(resources_of(st), luaL_checkstring(L, 2));
  int pairs = (lua_gettop(L) - 1) / 2, same = st->file && json_is_integer(entry);
  for (int k = 0; k < pairs && same; k++)
    same = le_statefile_same(L, st->file, (size_t)json_integer_value(entry), luaL_checkstring(L, 3 + 2 * k), 4 + 2 * k);
  lua_pushboolean(L, same);
  return 1;
}

static int l_put(lua_State *L) {
  le_state *st = check_state(L);
  const char *addr = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  le_error err;
  json_t *v = le_lua_to_json(L, 3, &err);
  if (!v) return luaL_error(L, "state of %s: %s", addr, err.message);
  json_t *old = entry_of(st, addr); /* (NULL when out of memory: counted as changed) */
  if (!json_object_get(resources_of(st), addr)) st->addresses_version++;
  if (!old || !json_equal(old, v)) {
    st->dirty = 1;
    if (st->entry_texts) json_object_del(st->entry_texts, addr);
  }
  json_object_set_new(resources_of(st), addr, v);
  return 0;
}

static int l_remove(lua_State *L) {
  le_state *st = check_state(L);
  const char *addr = luaL_checkstring(L, 2);
  int removed = json_object_del(resources_of(st), addr) == 0;
  if (removed) st->dirty = 1, st->addresses_version++;
  if (st->entry_texts) json_object_del(st->entry_texts, addr);
  lua_pushboolean(L, removed);
  return 1;
}

static int l_outputs(lua_State *L) {
  le_json_to_lua(L, outputs_of(check_state(L)));
  return 1;
}

static int l_set_outputs(lua_State *L) {
  le_state *st = check_state(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  le_error err;
  json_t *v = le_lua_to_json(L, 2, &err);
  if (!v) return luaL_error(L, "outputs: %s", err.message);
  if (!json_is_object(v)) {
    json_decref(v);
    v = json_object();
  }
  if (!json_equal(outputs_of(st), v)) st->dirty = 1;
  json_object_set_new(st->root, "outputs", v);
  return 0;
}

static int l_save(lua_State *L) {
  le_error err;
  if (le_state_save(check_state(L), &err) != LE_OK) return push_error(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/* state:save_in_background() -> true | nil, message, code: as save, from a task, which
 * waits while a worker thread writes (the loop goes on); with nothing to write, or no
 * task to wait in, it saves on the spot. Misuse: a second save while one is written. */
static int l_save_in_background(lua_State *L) {
  le_state *st = check_state(L);
  if (st->writing) return luaL_error(L, "state file %s: a save is already being written", st->path);
  if (!st->dirty || !le_task_can_wait(L)) return l_save(L); /* (a merge check at most: no write) */
  return le_state_save_in_background(L, st);
}

/* state:dirty() -> whether something was put, removed or set since the last write. */
static int l_dirty(lua_State *L) {
  lua_pushboolean(L, check_state(L)->dirty);
  return 1;
}

/* The document as save would write it now (serial as read), for a copy kept elsewhere. */
static int l_document(lua_State *L) {
  le_state *st = check_state(L);
  char *text = keep_none(st) == LE_OK ? json_dumps(st->root, DUMP_FLAGS) : NULL;
  if (!text) return luaL_error(L, "cannot serialise the state");
  lua_pushstring(L, text);
  lua_pushliteral(L, "\n");
  lua_concat(L, 2);
  free(text);
  return 1;
}

static int l_info(lua_State *L) {
  le_state *st = check_state(L);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, st->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, le_state_lineage(st));
  lua_setfield(L, -2, "lineage");
  lua_pushinteger(L, (lua_Integer)le_state_serial(st));
  lua_setfield(L, -2, "serial");
  return 1;
}

int le_open_state(lua_State *L) {
  static const luaL_Reg methods[] = {{"addresses", l_addresses}, {"get", l_get},
                                     {"get_without", l_get_without}, {"get_in", l_get_in},
                                     {"same", l_same},
                                     {"put", l_put},             {"remove", l_remove},
                                     {"outputs", l_outputs},     {"set_outputs", l_set_outputs},
                                     {"save", l_save},           {"info", l_info},
                                     {"document", l_document},   {"save_in_background", l_save_in_background},
                                     {"dirty", l_dirty},         {NULL, NULL}};
  if (luaL_newmetatable(L, STATE_MT)) {
    luaL_newlibtable(L, methods);
    lua_pushvalue(L, -2); /* each method's upvalues: the metatable and "native" (check_state) */
    lua_pushliteral(L, "native");
    luaL_setfuncs(L, methods, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, PREFETCH_MT)) {
    lua_pushcfunction(L, l_prefetch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  le_statelock_register(L);
  static const luaL_Reg fns[] = {{"open", l_open},
                                 {"prefetch", l_prefetch},
                                 {"lock", le_statelock_l_lock},
                                 {"force_unlock", le_statelock_l_force_unlock},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
