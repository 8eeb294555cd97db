/* archive.h — deterministic zip packages.
 *
 * le_archive_zip packs a file or a directory tree into a zip archive in memory:
 * regular files only, entries sorted bytewise by their '/'-separated relative
 * path, every timestamp 1980-01-01 00:00, permissions normalised to 0644 or
 * 0755 (any execute bit), raw deflate at a fixed level. The same tree always
 * gives the same bytes, so a hash of the archive changes only with content.
 */
#ifndef LAMBDAENG_ARCHIVE_H
#define LAMBDAENG_ARCHIVE_H

#include <stddef.h>

#include "buffer.h"
#include "error.h"

struct lua_State;

int le_archive_zip(const char *path, le_buffer *out, size_t *entry_count, le_error *err);

/* Unpacks the zip at zip_path into dir (created if missing), with libzip: entries
 * whose names would land outside dir (absolute, "..") are refused, execute bits are
 * kept. Links are kept whatever they point to (absolute or relative: as on Lambda,
 * they resolve where the package runs, inside the sandbox), but nothing is ever
 * created or written through one: an entry below a link, or a file entry replacing
 * one, is refused. Blocking; used once per package. */
int le_archive_extract(const char *zip_path, const char *dir, size_t *entry_count, le_error *err);

/* The same, refusing a package that inflates to more than max_bytes in all: from the
 * sizes its entries declare before anything is written, and while inflating (an entry
 * that lies is stopped as soon as the total passes max_bytes). Files are created
 * 0600 (0700 with an execute bit), directories 0700. */
int le_archive_extract_bounded(const char *zip_path, const char *dir, size_t max_bytes, size_t *entry_count,
                               le_error *err);

int le_open_archive(struct lua_State *L);

#endif
