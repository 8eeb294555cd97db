/* statecheck.h — what a state document must be to be acted on.
 *
 * le_state_check_document(path, root, file, err): LE_OK when root is a state document
 *   this lambdaeng reads (a positive "version" not above LE_STATE_FORMAT_VERSION, a
 *   "serial" from 0 below LE_STATE_SERIAL_MAX, a non-empty "lineage", "resources" and
 *   "outputs" objects, added empty where missing, every entry and output well formed);
 *   else LE_FAIL with err naming the file, the entry or output, and what is wrong. An
 *   entry kept as text in file (statefile.h) is checked in its stand-in.
 * le_state_check_entry(path, addr, entry, err): the check of one resource entry. */
#ifndef LAMBDAENG_STATECHECK_H
#define LAMBDAENG_STATECHECK_H

#include <jansson.h>

#include "error.h"
#include "statefile.h"

int le_state_check_document(const char *path, json_t *root, const le_statefile *file, le_error *err);
/* The check every resource entry of a file passes when it is opened: LE_OK, or LE_FAIL
 * with err naming the file (path), the entry (addr) and what is wrong. */
int le_state_check_entry(const char *path, const char *addr, json_t *entry, le_error *err);
/* Of an entry's args, the only members that check reads (NULL-terminated). */
extern const char *const le_state_checked_args[];

#endif
