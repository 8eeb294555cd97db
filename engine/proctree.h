/* proctree.h — whether a socket is held by a process of one process tree: a process and
 * its descendants (what an execution environment is when no sandbox encloses it).
 *
 * le_proctree_holds(root, inode) -> 1 when root or one of its descendants has a
 * descriptor on the socket of that inode (its /proc/<pid>/fd/<n> links to
 * "socket:[inode]"), 0 when none has (or the tree is gone), or a negative errno:
 * -E2BIG when the answer would take more than its bounds (below; then the caller refuses).
 * Descendants come from /proc/<pid>/task/<tid>/children where the kernel has them
 * (CONFIG_PROC_CHILDREN), else from every process's parent in /proc/<pid>/stat. A process
 * that left the tree (a daemon reparented to init) no longer belongs to it; one whose
 * descriptors we may not read (not dumpable, another user's) holds nothing.
 * Bounded: root's descriptors are read first (a runtime asks from its own socket), then at
 * most LE_PROCTREE_MAX_PROCS processes are read to find the descendants and at most
 * LE_PROCTREE_MAX_FDS descriptors in all: every read is of /proc, which never waits on a
 * device, so one call costs at most some thousands of short system calls (~10 for a
 * runtime that asks itself). Blocking but short: call it once per connection. */
#ifndef LAMBDAENG_PROCTREE_H
#define LAMBDAENG_PROCTREE_H

#include <sys/types.h>

#define LE_PROCTREE_MAX_PROCS 4096
#define LE_PROCTREE_MAX_FDS 4096

int le_proctree_holds(pid_t root, unsigned long inode);
/* The same, the descendants found one way (children_files: 1 the children files, which
 * must exist; 0 every process's parent): for tests. */
int le_proctree_holds_in(pid_t root, unsigned long inode, int children_files);

#endif
