/* statefilekept.h — how a read state file keeps its entries (statefile.h's le_statefile),
 * shared by the files that make up statefile.h: statefile.c (the check when the file is
 * read, which fills it), statefilelua.c (an entry's Lua values) and statefileshape.c (an
 * entry's stand-in for the entry check). Not for other files: they go through statefile.h.
 *
 * An entry is its span of the text, and its members (key and value offsets) a run of the
 * members table; text is the file's text, which the caller keeps alive (statefile.h). */
#ifndef LAMBDAENG_STATEFILEKEPT_H
#define LAMBDAENG_STATEFILEKEPT_H

#include <jansson.h>
#include <stddef.h>

#include "statefile.h"

typedef struct {
  size_t key, key_len, value; /* offsets in the text */
} member;

typedef struct {
  size_t start, end, first_member, members; /* its span of the text; its members in the table */
  size_t line;   /* where its line in the resources object begins (its key's indentation) */
  int canonical; /* from line to end, the text is the entry as jansson's indented dump gives it */
} kept_entry;

enum { STAND_IN_STRING, STAND_IN_OBJECT, STAND_IN_EMPTY_OBJECT, STAND_IN_ARRAY, STAND_IN_NUMBER, STAND_INS };

struct le_statefile {
  const unsigned char *text;
  json_t *stand_ins[STAND_INS]; /* for le_statefile_shape (made by le_statefile_read) */
  kept_entry *entries;
  size_t n_entries, entries_cap;
  member *members;
  size_t n_members, members_cap;
};

#endif
