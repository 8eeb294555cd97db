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
  {
    uint32_t cd_offset = (uint32_t)out->len;
    unsigned char end[22];
    put32(end, 0x06054b50);
    put16(end + 4, 0);
    put16(end + 6, 0);
    put16(end + 8, (unsigned)list.len);
    put16(end + 10, (unsigned)list.len);
    put32(end + 12, (uint32_t)central.len);
    put32(end + 16, cd_offset);
    put16(end + 20, 0);
    if (le_buffer_append(out, central.data, central.len) || le_buffer_append(out, end, sizeof end))
      goto oom;
  }
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

/* Whether a '/'-separated entry name stays inside the directory it unpacks into. */
static int name_is_contained(const char *name) {
  if (name[0] == '/' || name[0] == '\\' || name[0] == '\0') return 0;
  const char *p = name;
  while (*p) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
    if (!end) break;
    p = end + 1;
  }
  return 1;
}

/* Opens the directory that holds entry name inside the package (root), one component
 * at a time, creating what is missing (0700) and never through a link: a component
 * that is a link is refused (an absolute link resolves inside the sandbox, but here,
 * on the host, it would point anywhere). Returns the directory's descriptor and sets
 * *base to the entry's last component ("" for a directory entry), or -1 with err set.
 * name is a copy the walk cuts up. */
static int open_parent(int root, const char *zip_path, char *name, char **base, le_error *err) {
  int dir = fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (dir < 0) {
    le_error_errno(err, errno, "%s: cannot open the package directory", zip_path);
    return -1;
  }
  for (char *p = name;;) {
    char *slash = strchr(p, '/');
    if (!slash) {
      *base = p;
      return dir;
    }
    *slash = '\0';
    if (*p && strcmp(p, ".") != 0) {
      int made = mkdirat(dir, p, 0700) == 0 || errno == EEXIST;
      int next = made ? openat(dir, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
      if (next < 0) {
        int e = errno;
        struct stat st;
        if (fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
          le_error_code(err, "EPERM", "%s: entry \"%s/%s\" would be written through the link %s", zip_path, name,
                       slash + 1, name);
        else
          le_error_errno(err, e, "%s: cannot create directory %s", zip_path, name);
        close(dir);
        return -1;
      }
      close(dir);
      dir = next;
    }
    *slash = '/';
    p = slash + 1;
  }
}

/* Whether base in dir is a link (which a file entry must never replace nor write through). */
static int is_link(int dir, const char *base) {
  struct stat st;
  return fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Unpacks entry i (a link, whose content is its target) as base in dir. */
static int extract_link(zip_t *za, zip_uint64_t i, int dir, const char *base, const char *zip_path,
                        const char *name, le_error *err) {
  char target[PATH_MAX];
  zip_file_t *zf = zip_fopen_index(za, i, 0);
  if (!zf) return le_error_set(err, "%s: cannot read %s: %s", zip_path, name, zip_strerror(za));
  zip_int64_t got = zip_fread(zf, target, sizeof target);
  zip_fclose(zf);
  if (got <= 0 || got >= (zip_int64_t)sizeof target || memchr(target, '\0', (size_t)got))
    return le_error_code(err, "EINVAL", "%s: link %s has no valid target", zip_path, name);
  target[got] = '\0';
  if (!*base || strcmp(base, ".") == 0) return le_error_code(err, "EINVAL", "%s: link %s has no name", zip_path, name);
  /* it resolves inside the sandbox's own file system (as on Lambda: /opt is where layers
   * are); nothing here ever follows it */
  if (unlinkat(dir, base, 0) != 0 && errno != ENOENT)
    return le_error_errno(err, errno, "%s: cannot replace %s with a link", zip_path, name);
  if (symlinkat(target, dir, base) != 0) return le_error_errno(err, errno, "%s: cannot create link %s", zip_path, name);
  return LE_OK;
}

int le_archive_extract(const char *zip_path, const char *dir, size_t *entry_count, le_error *err) {
  return le_archive_extract_bounded(zip_path, dir, SIZE_MAX, entry_count, err);
}

int le_archive_extract_bounded(const char *zip_path, const char *dir, size_t max_bytes, size_t *entry_count,
                               le_error *err) {
  int zerr = 0;
  zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    le_error_code(err, "EINVAL", "cannot unzip %s: %s", zip_path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return LE_FAIL;
  }
  int rc = LE_OK;
  zip_int64_t n = zip_get_num_entries(za, 0);
  char path[PATH_MAX], buf[65536];
  size_t written = 0;
  int root = -1;
  /* what the entries declare first (refused before a byte is written), then what they really inflate to */
  zip_uint64_t declared = 0;
  int too_large = 0;
  for (zip_int64_t i = 0; i < n && !too_large; i++) {
    zip_stat_t st;
    if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) continue;
    if (st.size > (zip_uint64_t)max_bytes - declared) too_large = 1; /* declared <= max_bytes throughout */
    else declared += st.size;
  }
  if (too_large) {
    rc = le_error_code(err, "EFBIG", "Unzipped size must be smaller than %zu bytes", max_bytes + 1);
    goto done;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    rc = le_error_errno(err, errno, "cannot create %s", dir);
    goto done;
  }
  root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    rc = le_error_errno(err, errno, "cannot open %s", dir);
    goto done;
  }
  for (zip_int64_t i = 0; i < n && rc == LE_OK; i++) {
    const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
    if (!name || !name_is_contained(name)) {
      rc = le_error_code(err, "EPERM", "%s: entry \"%s\" would unpack outside the package directory", zip_path,
                        name ? name : "?");
      break;
    }
    if (snprintf(path, sizeof path, "%s", name) >= (int)sizeof path) {
      rc = le_error_set(err, "%s: entry name too long: %s", zip_path, name);
      break;
    }
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    zip_file_get_external_attributes(za, (zip_uint64_t)i, 0, &os, &attr);
    unsigned mode = os == ZIP_OPSYS_UNIX ? (attr >> 16) : 0;
    char *base;
    int parent = open_parent(root, zip_path, path, &base, err);
    if (parent < 0) {
      rc = LE_FAIL;
      break;
    }
    if (!*base) { /* a directory entry: the walk made it */
      close(parent);
      continue;
    }
    if ((mode & 0170000) == 0120000) {
      rc = extract_link(za, (zip_uint64_t)i, parent, base, zip_path, name, err);
      close(parent);
      continue;
    }
    if (is_link(parent, base)) {
      rc = le_error_code(err, "EPERM", "%s: entry \"%s\" would be written through the link %s", zip_path, name, name);
      close(parent);
      break;
    }
    unlinkat(parent, base, 0); /* an earlier entry of the same name */
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
    if (!zf) {
      rc = le_error_set(err, "%s: cannot read %s: %s", zip_path, name, zip_strerror(za));
      close(parent);
      break;
    }
    /* the owner's alone: the package may hold secrets; execute bits are kept */
    int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode & 0111) ? 0700 : 0600);
    close(parent);
    if (fd < 0) {
      rc = le_error_errno(err, errno, "cannot create %s/%s", dir, name);
      zip_fclose(zf);
      break;
    }
    zip_int64_t got;
    while ((got = zip_fread(zf, buf, sizeof buf)) > 0) {
      written += (size_t)got;
      if (written > max_bytes) { /* the entry lied about its size: a zip bomb */
        rc = le_error_code(err, "EFBIG", "Unzipped size must be smaller than %zu bytes", max_bytes + 1);
        break;
      }
      if (write(fd, buf, (size_t)got) != got) {
        rc = le_error_errno(err, errno, "cannot write %s/%s", dir, name);
        break;
      }
    }
    if (got < 0 && rc == LE_OK)
      rc = le_error_code(err, "EINVAL", "%s: %s is corrupt: %s", zip_path, name, zip_file_strerror(zf));
    close(fd);
    zip_fclose(zf);
  }
  if (entry_count) *entry_count = (size_t)n;
done:
  if (root >= 0) close(root);
  zip_discard(za);
  return rc;
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
