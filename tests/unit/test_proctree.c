/* proctree: a socket held by a process's grandchild is in its tree (found from the
 * children files and from every process's parent alike); one held by a process outside
 * it (a sibling of the root) is not, nor one no process holds any more; the inode that
 * le_tcp_peer_at names for a server's accepted connection is the client socket's. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "peeruid.h"
#include "proctree.h"

/* A TCP socket connected to listener's port (bound on 127.0.0.1). */
static int connect_to(int listener) {
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  assert_int_equal(connect(s, (struct sockaddr *)&addr, sizeof addr), 0);
  return s;
}

static int listen_loopback(void) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(l >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(l, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(listen(l, 8), 0);
  return l;
}

/* A process that, at depth 0, connects to listener, writes its socket's inode to report
 * and waits to be killed; at depth > 0 it starts one at depth - 1 and waits. Its pid; the
 * first one leads a process group of its own, which its descendants share (end kills it). */
static pid_t holder(int listener, int depth, int report, int leads) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid > 0) {
    if (leads) setpgid(pid, pid);
    return pid;
  }
  if (leads) setpgid(0, 0);
  if (depth > 0) {
    holder(listener, depth - 1, report, 0);
  } else {
    int s = connect_to(listener);
    struct stat st;
    unsigned long ino = fstat(s, &st) == 0 ? (unsigned long)st.st_ino : 0;
    if (write(report, &ino, sizeof ino) != (ssize_t)sizeof ino) _exit(1);
  }
  for (;;) pause();
}

static unsigned long read_inode(int report) {
  unsigned long ino = 0;
  assert_int_equal(read(report, &ino, sizeof ino), (ssize_t)sizeof ino);
  assert_true(ino != 0);
  return ino;
}

/* The process groups a test started, killed by its teardown whatever failed. */
static pid_t groups[2];

static int kill_groups(void **state) {
  (void)state;
  for (int i = 0; i < 2; i++)
    if (groups[i] > 0) {
      kill(-groups[i], SIGKILL);
      waitpid(groups[i], NULL, WNOHANG);
      groups[i] = 0;
    }
  return 0;
}

/* Kills pid alone (its descendants, orphaned, live on), or its whole group. */
static void end(pid_t pid, int group) {
  kill(group ? -pid : pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static void a_descendants_socket_is_in_the_tree_and_a_siblings_is_not(void **state) {
  (void)state;
  int listener = listen_loopback(), report[2];
  assert_int_equal(pipe(report), 0);
  pid_t root = holder(listener, 2, report[1], 1); /* root -> child -> grandchild, which holds it */
  groups[0] = root;
  unsigned long inside = read_inode(report[0]);
  pid_t sibling = holder(listener, 0, report[1], 1);
  groups[1] = sibling;
  unsigned long outside = read_inode(report[0]);
  int children_files = access("/proc/thread-self/children", R_OK) == 0;
  assert_int_equal(le_proctree_holds_in(root, inside, 0), 1);
  assert_int_equal(le_proctree_holds_in(root, outside, 0), 0);
  if (children_files) {
    assert_int_equal(le_proctree_holds_in(root, inside, 1), 1);
    assert_int_equal(le_proctree_holds_in(root, outside, 1), 0);
  }
  assert_int_equal(le_proctree_holds(root, inside), 1);
  assert_int_equal(le_proctree_holds(root, outside), 0);
  assert_int_equal(le_proctree_holds(sibling, outside), 1); /* the sibling's own */
  end(sibling, 1);
  assert_int_equal(le_proctree_holds(sibling, outside), 0); /* gone: held by nobody */
  end(root, 0); /* its child and grandchild, orphaned, leave its tree */
  assert_int_equal(le_proctree_holds_in(root, inside, 0), 0);
  end(root, 1);
  close(report[0]);
  close(report[1]);
  close(listener);
}

static void the_peers_inode_is_its_socket(void **state) {
  (void)state;
  int listener = listen_loopback(), client = connect_to(listener);
  int server = accept(listener, NULL, NULL);
  assert_true(server >= 0);
  struct stat st;
  assert_int_equal(fstat(client, &st), 0);
  unsigned uid = 99999;
  unsigned long ino = 0;
  assert_int_equal(le_tcp_peer_at(server, NULL, &uid, &ino), 0);
  assert_int_equal(uid, getuid());
  assert_int_equal(ino, (unsigned long)st.st_ino);
  assert_int_equal(le_proctree_holds(getpid(), ino), 1);
  close(server);
  close(client);
  close(listener);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(a_descendants_socket_is_in_the_tree_and_a_siblings_is_not, kill_groups),
      cmocka_unit_test(the_peers_inode_is_its_socket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
