/* proctree.c — whether a socket is held by a process of one process tree (proctree.h):
 * the root's descriptors, then its descendants' found from /proc, within fixed bounds. */
#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pid_list {
  pid_t *pids;
  int n, cap;
} pid_list;

static int pid_add(pid_list *l, pid_t pid) {
  if (l->n == l->cap) {
    if (l->cap >= LE_PROCTREE_MAX_PROCS) return -E2BIG;
    int cap = l->cap ? l->cap * 4 : 16;
    if (cap > LE_PROCTREE_MAX_PROCS) cap = LE_PROCTREE_MAX_PROCS;
    pid_t *p = realloc(l->pids, (size_t)cap * sizeof *p);
    if (!p) return -ENOMEM;
    l->pids = p;
    l->cap = cap;
  }
  l->pids[l->n++] = pid;
  return 0;
}

static int pid_in(const pid_list *l, pid_t pid) {
  for (int i = 0; i < l->n; i++)
    if (l->pids[i] == pid) return 1;
  return 0;
}

/* 1 when one of pid's descriptors links to want (wantlen bytes), 0 when none does (or
 * pid is gone, or not ours to read), -E2BIG when *budget descriptors were read first. */
static int holds(pid_t pid, const char *want, size_t wantlen, int *budget) {
  char path[48];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (--*budget < 0) {
      rc = -E2BIG;
      break;
    }
    char link[64];
    ssize_t n = readlinkat(dfd, e->d_name, link, sizeof link);
    if (n == (ssize_t)wantlen && memcmp(link, want, wantlen) == 0) rc = 1;
  }
  closedir(d);
  return rc;
}

/* Whether this kernel lists a task's children (CONFIG_PROC_CHILDREN): asked once. */
static int has_children_files(void) {
  static int known = -1;
  if (known < 0) known = access("/proc/thread-self/children", R_OK) == 0;
  return known;
}

/* Appends to out the children of every thread of pid (from the children files). */
static int children_of(pid_t pid, pid_list *out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *tasks = opendir(path);
  if (!tasks) return 0; /* gone: no children */
  int rc = 0;
  struct dirent *t;
  while (rc == 0 && (t = readdir(tasks)) != NULL) {
    if (t->d_name[0] == '.') continue;
    char file[96];
    snprintf(file, sizeof file, "/proc/%d/task/%.20s/children", (int)pid, t->d_name);
    FILE *f = fopen(file, "re");
    if (!f) continue; /* the thread ended */
    int child;
    while (rc == 0 && fscanf(f, "%d", &child) == 1) rc = pid_add(out, child);
    fclose(f);
  }
  closedir(tasks);
  return rc;
}

/* pid's parent from /proc/<pid>/stat (after the command's closing parenthesis: the state,
 * then the parent), or 0 when it cannot be read. */
static pid_t parent_of(const char *pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%.20s/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = 0;
  const char *end = strrchr(text, ')');
  int parent = 0;
  if (!end || sscanf(end + 1, " %*c %d", &parent) != 1) return 0;
  return parent;
}

/* Every process's pid and parent, read from /proc (at most LE_PROCTREE_MAX_PROCS). */
static int scan_parents(pid_list *pids, pid_list *parents) {
  DIR *proc = opendir("/proc");
  if (!proc) return -errno;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(proc)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    pid_t parent = parent_of(e->d_name);
    if (parent <= 0) continue;
    rc = pid_add(pids, (pid_t)atoi(e->d_name));
    if (rc == 0) rc = pid_add(parents, parent);
  }
  closedir(proc);
  return rc;
}

/* root's descendants into tree (root first): from the children files, else from the
 * parents of every process (passes until no process joins; a tree is a few levels deep). */
static int descendants(pid_t root, pid_list *tree, int children_files) {
  int rc = pid_add(tree, root);
  if (rc != 0) return rc;
  if (children_files) {
    for (int i = 0; rc == 0 && i < tree->n; i++) rc = children_of(tree->pids[i], tree);
    return rc;
  }
  pid_list pids = {0}, parents = {0};
  rc = scan_parents(&pids, &parents);
  for (int joined = 1; rc == 0 && joined;) {
    joined = 0;
    for (int i = 0; rc == 0 && i < pids.n; i++) {
      if (pids.pids[i] == 0 || !pid_in(tree, parents.pids[i])) continue;
      rc = pid_add(tree, pids.pids[i]);
      pids.pids[i] = 0; /* counted once */
      joined = 1;
    }
  }
  free(pids.pids);
  free(parents.pids);
  return rc;
}

int le_proctree_holds_in(pid_t root, unsigned long inode, int children_files) {
  if (root <= 0) return 0;
  char want[40];
  int wantlen = snprintf(want, sizeof want, "socket:[%lu]", inode);
  int budget = LE_PROCTREE_MAX_FDS;
  int rc = holds(root, want, (size_t)wantlen, &budget); /* the runtime itself, most often */
  if (rc != 0) return rc;
  pid_list tree = {0};
  rc = descendants(root, &tree, children_files);
  for (int i = 1; rc == 0 && i < tree.n; i++) rc = holds(tree.pids[i], want, (size_t)wantlen, &budget);
  free(tree.pids);
  return rc;
}

int le_proctree_holds(pid_t root, unsigned long inode) { return le_proctree_holds_in(root, inode, has_children_files()); }
