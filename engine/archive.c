/* archive.c — deterministic zip packages (archive.h): a file or a tree walked, entries
 * sorted, each deflated raw with fixed headers (1980-01-01, 0644/0755), the central
 * directory and end record; and lambdaeng.native.archive (zip, extract, unzipped_size).
 * Unpacking: archive_extract.c. */
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <zip.h>
#include <zlib.h>

#include "buffer.h"

#define DOS_DATE_1980_01_01 0x0021
#define MAX_DEPTH 64

typedef struct entry {
  char *name;      /* path inside the archive */
  char *fs_path;   /* path on disk */
  int executable;
} entry;

typedef struct entry_list {
  entry *items;
  size_t len, cap;
} entry_list;

static void entries_free(entry_list *l) {
  for (size_t i = 0; i < l->len; i++) {
    free(l->items[i].name);
    free(l->items[i].fs_path);
  }
  free(l->items);
}

static int entries_push(entry_list *l, const char *name, const char *fs_path, int executable,
                        le_error *err) {
  entry *items = le_array_grow(l->items, &l->cap, l->len, sizeof *items, 32);
  if (!items) return le_error_set(err, "out of memory listing files");
  l->items = items;
  entry *e = &l->items[l->len];
  e->name = strdup(name);
  e->fs_path = strdup(fs_path);
  e->executable = executable;
  if (!e->name || !e->fs_path) {
    free(e->name);
    free(e->fs_path);
    return le_error_set(err, "out of memory listing files");
  }
  l->len++;
  return LE_OK;
}

static int walk(const char *dir, const char *prefix, int depth, entry_list *out, le_error *err) {
  if (depth > MAX_DEPTH) return le_error_set(err, "%s: directories nested too deeply (symlink loop?)", dir);
  DIR *d = opendir(dir);
  if (!d) return le_error_errno(err, errno, "cannot read directory %s", dir);
  int rc = LE_OK;
  struct dirent *de;
  while (rc == LE_OK && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    size_t fs_len = strlen(dir) + strlen(de->d_name) + 2;
    size_t name_len = strlen(prefix) + strlen(de->d_name) + 2;
    char *fs_path = malloc(fs_len), *name = malloc(name_len);
    if (!fs_path || !name) {
      free(fs_path);
      free(name);
      rc = le_error_set(err, "out of memory listing files");
      break;
    }
    snprintf(fs_path, fs_len, "%s/%s", dir, de->d_name);
    snprintf(name, name_len, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
    struct stat st;
    if (stat(fs_path, &st) != 0)
      rc = le_error_errno(err, errno, "cannot stat %s", fs_path);
    else if (S_ISDIR(st.st_mode))
      rc = walk(fs_path, name, depth + 1, out, err);
    else if (S_ISREG(st.st_mode))
      rc = entries_push(out, name, fs_path, (st.st_mode & 0111) != 0, err);
    free(fs_path);
    free(name);
  }
  closedir(d);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int read_file(const char *path, le_buffer *out, le_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return le_error_errno(err, errno, "cannot open %s", path);
  unsigned char buf[65536];
  size_t n;
  int rc = LE_OK;
  while (rc == LE_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
    if (le_buffer_append(out, buf, n) != LE_OK) rc = le_error_set(err, "out of memory reading %s", path);
  if (rc == LE_OK && ferror(f)) rc = le_error_set(err, "cannot read %s", path);
  fclose(f);
  return rc;
}

static int deflate_raw(const le_buffer *in, le_buffer *out, le_error *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return le_error_set(err, "zlib: deflateInit2 failed");
  uLong bound = deflateBound(&zs, (uLong)in->len);
  if (le_buffer_reserve(out, bound) != LE_OK) {
    deflateEnd(&zs);
    return le_error_set(err, "out of memory compressing");
  }
  zs.next_in = in->data;
  zs.avail_in = (uInt)in->len;
  zs.next_out = out->data + out->len;
  zs.avail_out = (uInt)bound;
  int zrc = deflate(&zs, Z_FINISH);
  out->len += zs.total_out;
  deflateEnd(&zs);
  if (zrc != Z_STREAM_END) return le_error_set(err, "zlib: deflate did not finish (%d)", zrc);
  return LE_OK;
}

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
  put16(p, v & 0xffff);
  put16(p + 2, v >> 16);
}

/* The central directory (central's bytes, count entries) and the end record after it,
 * appended to out: 0, or non-zero when memory runs out. */
static int put_central_and_end(le_buffer *out, const le_buffer *central, size_t count) {
  uint32_t cd_offset = (uint32_t)out->len;
  unsigned char end[22];
  put32(end, 0x06054b50);
  put16(end + 4, 0);
  put16(end + 6, 0);
  put16(end + 8, (unsigned)count);
  put16(end + 10, (unsigned)count);
  put32(end + 12, (uint32_t)central->len);
  put32(end + 16, cd_offset);
  put16(end + 20, 0);
  return le_buffer_append(out, central->data, central->len) || le_buffer_append(out, end, sizeof end);
}

int le_archive_zip(const char *path, le_buffer *out, size_t *entry_count, le_error *err) {
  entry_list list = {0};
  le_buffer central = {0}, content = {0}, packed = {0};
  int rc = LE_OK;
  struct stat st;
  if (stat(path, &st) != 0) return le_error_errno(err, errno, "cannot package %s", path);
  if (S_ISDIR(st.st_mode)) {
    rc = walk(path, "", 0, &list, err);
  } else if (S_ISREG(st.st_mode)) {
    const char *base = strrchr(path, '/');
    rc = entries_push(&list, base ? base + 1 : path, path, (st.st_mode & 0111) != 0, err);
  } else {
    rc = le_error_set(err, "cannot package %s: not a file or directory", path);
  }
  if (rc != LE_OK) goto fail;
  if (list.len > 0xffff) {
    rc = le_error_set(err, "cannot package %s: %zu files is more than a zip without zip64 holds", path, list.len);
    goto fail;
  }
  if (list.len > 1) qsort(list.items, list.len, sizeof *list.items, by_name);

  for (size_t i = 0; i < list.len; i++) {
    entry *e = &list.items[i];
    content.len = packed.len = 0;
    if ((rc = read_file(e->fs_path, &content, err)) != LE_OK) goto fail;
    if ((rc = deflate_raw(&content, &packed, err)) != LE_OK) goto fail;
    if (out->len > 0xffffffffu || content.len > 0xffffffffu) {
      rc = le_error_set(err, "cannot package %s: larger than 4 GiB", path);
      goto fail;
    }
    uint32_t crc = (uint32_t)crc32(0L, content.data, (uInt)content.len);
    size_t name_len = strlen(e->name);
    uint32_t offset = (uint32_t)out->len;

    unsigned char local[30];
    put32(local, 0x04034b50);
    put16(local + 4, 20);      /* version needed: deflate */
    put16(local + 6, 0x0800);  /* names are UTF-8 */
    put16(local + 8, 8);       /* deflate */
    put16(local + 10, 0);      /* time 00:00 */
    put16(local + 12, DOS_DATE_1980_01_01);
    put32(local + 14, crc);
    put32(local + 18, (uint32_t)packed.len);
    put32(local + 22, (uint32_t)content.len);
    put16(local + 26, (unsigned)name_len);
    put16(local + 28, 0);
    if (le_buffer_append(out, local, sizeof local) || le_buffer_append(out, e->name, name_len) ||
        le_buffer_append(out, packed.data, packed.len))
      goto oom;

    unsigned char cd[46];
    put32(cd, 0x02014b50);
    put16(cd + 4, (3u << 8) | 20); /* made by: Unix, zip 2.0 */
    memcpy(cd + 6, local + 4, 26); /* version needed .. name length, as in the local header */
    put16(cd + 32, 0);             /* comment length */
    put16(cd + 34, 0);             /* disk */
    put16(cd + 36, 0);             /* internal attributes */
    put32(cd + 38, (uint32_t)(0100000 | (e->executable ? 0755 : 0644)) << 16);
    put32(cd + 42, offset);
    if (le_buffer_append(&central, cd, sizeof cd) || le_buffer_append(&central, e->name, name_len))
      goto oom;
  }
  if (put_central_and_end(out, &central, list.len)) goto oom;
  if (entry_count) *entry_count = list.len;
  goto done;
oom:
  rc = le_error_set(err, "out of memory packaging %s", path);
fail:
done:
  entries_free(&list);
  le_buffer_free(&central);
  le_buffer_free(&content);
  le_buffer_free(&packed);
  return rc;
}

/* archive.zip(path) -> bytes, entry_count | nil, message, code. */
static int l_zip(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  le_buffer out = {0};
  size_t count = 0;
  le_error err;
  if (le_archive_zip(path, &out, &count, &err) != LE_OK) {
    le_buffer_free(&out);
    return le_push_error(L, &err);
  }
  lua_pushlstring(L, (const char *)out.data, out.len);
  lua_pushinteger(L, (lua_Integer)count);
  le_buffer_free(&out);
  return 2;
}

/* archive.extract(zip_path, dir[, max_bytes]) -> entry_count | nil, message, code (EFBIG:
 * the entries inflate past max_bytes; EPERM: an entry would land outside dir or be
 * written through a link;
 * EINVAL: not a zip, or a corrupt one). */
static int l_extract(lua_State *L) {
  const char *zip_path = luaL_checkstring(L, 1);
  const char *dir = luaL_checkstring(L, 2);
  lua_Integer max_bytes = luaL_optinteger(L, 3, 0);
  size_t count = 0;
  le_error err;
  if (le_archive_extract_bounded(zip_path, dir, max_bytes > 0 ? (size_t)max_bytes : SIZE_MAX, &count, &err) != LE_OK)
    return le_push_error(L, &err);
  lua_pushinteger(L, (lua_Integer)count);
  return 1;
}

/* archive.unzipped_size(zip_path) -> the bytes its entries declare in all | nil, message, code.
 * What Lambda counts against the 250 MB quota of a function and its layers (extraction
 * itself stays bounded, so an entry that lies about its size is still stopped). */
static int l_unzipped_size(lua_State *L) {
  const char *zip_path = luaL_checkstring(L, 1);
  int zerr = 0;
  zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    le_error err;
    le_error_code(&err, "EINVAL", "cannot unzip %s: %s", zip_path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return le_push_error(L, &err);
  }
  zip_uint64_t total = 0;
  zip_int64_t n = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < n; i++) {
    zip_stat_t st;
    if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) continue;
    total = st.size > UINT64_MAX - total ? UINT64_MAX : total + st.size;
  }
  zip_discard(za);
  lua_pushinteger(L, total > (zip_uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)total);
  return 1;
}

int le_open_archive(lua_State *L) {
  static const luaL_Reg fns[] = {{"zip", l_zip}, {"extract", l_extract}, {"unzipped_size", l_unzipped_size},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
