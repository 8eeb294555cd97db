/* statedoc.h — the state document's object (struct le_state), shared by the files that
 * make up state.h's state: state.c (open, entries, merge, save), statetext.c (the
 * document's text from its pieces) and statelua.c (the Lua object). Not for other files:
 * they go through state.h.
 *
 * resources_of / outputs_of: the document's "resources" and "outputs" objects (borrowed).
 * le_state_entry_parsed(st, addr): the entry at addr as jansson values, parsed from the file's text if
 *   it was kept there; NULL: no such entry, or out of memory.
 * le_state_parse_all(st): every entry as jansson values (for what walks them all); LE_FAIL when
 *   out of memory.
 * le_state_document_text(st): the document as json_dumps(root, DUMP_FLAGS) gives it, byte for
 *   byte, made from the entries' kept texts (statetext.c); NULL when out of memory. */
#ifndef LAMBDAENG_STATEDOC_H
#define LAMBDAENG_STATEDOC_H

#include <sys/types.h>

#include <jansson.h>

#include "state.h"
#include "statefile.h"
#include "statesave_bg.h"

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
                        * made once per put: a save copies the rest (statetext.c le_state_document_text) */
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

static inline json_t *resources_of(const le_state *st) { return json_object_get(st->root, "resources"); }
static inline json_t *outputs_of(const le_state *st) { return json_object_get(st->root, "outputs"); }

json_t *le_state_entry_parsed(le_state *st, const char *addr);
int le_state_parse_all(le_state *st);
char *le_state_document_text(le_state *st);

#endif
