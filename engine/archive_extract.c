/* archive_extract.c — a zip package unpacked with libzip (archive.h's le_archive_extract
 * and le_archive_extract_bounded): names that would land outside the directory refused,
 * each directory opened one component at a time and never through a link, links kept as
 * links, files created private (0600, 0700 with an execute bit), the total inflated size
 * bounded both as declared and as read. */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

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

/* Unpacks entry i (a file; mode its Unix mode, 0 when unknown) as base in parent (closed
 * here), its bytes counted into *written, which must not pass max_bytes. */
static int extract_file(zip_t *za, zip_uint64_t i, int parent, const char *base, unsigned mode,
                        const char *zip_path, const char *dir, const char *name, size_t *written,
                        size_t max_bytes, le_error *err) {
  int rc = LE_OK;
  if (is_link(parent, base)) {
    rc = le_error_code(err, "EPERM", "%s: entry \"%s\" would be written through the link %s", zip_path, name, name);
    close(parent);
    return rc;
  }
  unlinkat(parent, base, 0); /* an earlier entry of the same name */
  zip_file_t *zf = zip_fopen_index(za, i, 0);
  if (!zf) {
    rc = le_error_set(err, "%s: cannot read %s: %s", zip_path, name, zip_strerror(za));
    close(parent);
    return rc;
  }
  /* the owner's alone: the package may hold secrets; execute bits are kept */
  int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode & 0111) ? 0700 : 0600);
  close(parent);
  if (fd < 0) {
    rc = le_error_errno(err, errno, "cannot create %s/%s", dir, name);
    zip_fclose(zf);
    return rc;
  }
  char buf[65536];
  zip_int64_t got;
  while ((got = zip_fread(zf, buf, sizeof buf)) > 0) {
    *written += (size_t)got;
    if (*written > max_bytes) { /* the entry lied about its size: a zip bomb */
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
  return rc;
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
  char path[PATH_MAX];
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
    rc = extract_file(za, (zip_uint64_t)i, parent, base, mode, zip_path, dir, name, &written, max_bytes, err);
  }
  if (entry_count) *entry_count = (size_t)n;
done:
  if (root >= 0) close(root);
  zip_discard(za);
  return rc;
}
