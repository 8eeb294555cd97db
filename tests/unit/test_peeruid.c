/* peeruid: which local user owns the client end of a TCP connection, over IPv4, IPv6
 * and IPv4 to a server listening on both; a client that has closed (its socket
 * orphaned, inode 0 in /proc/net/tcp) is unknown, never uid 0; a unix socket is refused;
 * another user's client is named (by the kernel's sock_diag answer and by the tables).
 * Tables copied from /proc/net/tcp with the client's line rewritten check the parsing.
 * The kernel is asked on one netlink socket per thread, kept open between questions and
 * closed with its thread (counted in /proc/self/fd). Given the local end (a server's
 * listener), the answer is for the connection at that end: another port has none. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "peeruid.h"

typedef struct connection {
  int listener, client, server; /* the server's end is what le_tcp_peer_uid is asked about */
} connection;

/* A connection over family's loopback (AF_INET6 with v4_client: an IPv4 client of a
 * server listening on every IPv6 and IPv4 address). */
static connection connect_loopback(int family, int v4_client) {
  connection c;
  c.listener = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(c.listener >= 0);
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_addr = v4_client ? in6addr_any : in6addr_loopback;
    int off = 0;
    assert_int_equal(setsockopt(c.listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off), 0);
    len = sizeof *a;
  }
  assert_int_equal(bind(c.listener, (struct sockaddr *)&addr, len), 0);
  assert_int_equal(listen(c.listener, 4), 0);
  assert_int_equal(getsockname(c.listener, (struct sockaddr *)&addr, &len), 0);
  if (v4_client) {
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = ((struct sockaddr_in6 *)&addr)->sin6_port};
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c.client, (struct sockaddr *)&v4, sizeof v4), 0);
  } else {
    c.client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c.client, (struct sockaddr *)&addr, len), 0);
  }
  c.server = accept(c.listener, NULL, NULL);
  assert_true(c.server >= 0);
  return c;
}

static void disconnect(connection *c) {
  if (c->client >= 0) close(c->client);
  close(c->server);
  close(c->listener);
}

static void same_user(int family, int v4_client) {
  connection c = connect_loopback(family, v4_client);
  unsigned uid = 99999;
  assert_int_equal(le_tcp_peer_uid(c.server, &uid), 0);
  assert_int_equal(uid, geteuid());
  uid = 99999; /* the kernel's answer alone (sock_diag), no table read */
  assert_int_equal(le_tcp_peer_uid_diag(c.server, &uid), 0);
  assert_int_equal(uid, geteuid());
  uid = 99999; /* the tables alone */
  assert_int_equal(le_tcp_peer_uid_in(c.server, "/proc/net/tcp", "/proc/net/tcp6", &uid), 0);
  assert_int_equal(uid, geteuid());
  disconnect(&c);
}

/* The peer's owner, not ours: a child process that became nobody connects (the tests run
 * as root, as CI does, to have another user). */
static void the_peer_of_another_user_is_named(void **state) {
  (void)state;
  if (geteuid() != 0) fail_msg("this test connects as another user (nobody): it needs root");
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(listener >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  assert_int_equal(bind(listener, (struct sockaddr *)&addr, len), 0);
  assert_int_equal(listen(listener, 4), 0);
  assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) { /* nobody connects, then waits for the parent to close the pipe */
    close(ready[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) _exit(2);
    char b = 'c';
    if (write(ready[1], &b, 1) != 1) _exit(3);
    close(ready[1]);
    char x;
    while (read(c, &x, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  char b;
  assert_int_equal(read(ready[0], &b, 1), 1);
  close(ready[0]);
  int server = accept(listener, NULL, NULL);
  assert_true(server >= 0);
  unsigned uid = 99999;
  assert_int_equal(le_tcp_peer_uid_diag(server, &uid), 0);
  assert_int_equal(uid, 65534);
  uid = 99999;
  assert_int_equal(le_tcp_peer_uid(server, &uid), 0);
  assert_int_equal(uid, 65534);
  close(server);
  close(listener);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void ipv4_peer_is_its_user(void **state) {
  (void)state;
  same_user(AF_INET, 0);
}

static void ipv6_peer_is_its_user(void **state) {
  (void)state;
  same_user(AF_INET6, 0);
}

static void ipv4_client_of_a_dual_stack_server(void **state) {
  (void)state;
  same_user(AF_INET6, 1);
}

static void a_client_that_closed_is_unknown(void **state) {
  (void)state;
  connection c = connect_loopback(AF_INET, 0);
  close(c.client); /* orphaned in FIN_WAIT: listed with inode 0, shown as uid 0 */
  c.client = -1;
  unsigned uid = 99999;
  assert_int_equal(le_tcp_peer_uid(c.server, &uid), -ENOENT);
  assert_int_equal(le_tcp_peer_uid_diag(c.server, &uid), -ENOENT);
  assert_int_equal(uid, 99999);
  disconnect(&c);
}

static void a_unix_socket_is_not_asked(void **state) {
  (void)state;
  int pair[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  unsigned uid;
  assert_int_equal(le_tcp_peer_uid(pair[0], &uid), -EAFNOSUPPORT);
  assert_int_equal(le_tcp_peer_uid_diag(pair[0], &uid), -EAFNOSUPPORT);
  close(pair[0]);
  close(pair[1]);
}

/* Writes /proc/net/tcp's header and the client's own line to path, with its uid and inode
 * columns replaced (columns are separated by blanks: 7 is the uid, 9 the inode). */
static void table_with_client_line(const char *path, int client, const char *uid, const char *inode) {
  struct stat st;
  assert_int_equal(fstat(client, &st), 0);
  FILE *in = fopen("/proc/net/tcp", "r"), *out = fopen(path, "w");
  assert_non_null(in);
  assert_non_null(out);
  char line[512], want[32];
  snprintf(want, sizeof want, "%lu", (unsigned long)st.st_ino);
  assert_non_null(fgets(line, sizeof line, in));
  fputs(line, out);
  int found = 0;
  while (fgets(line, sizeof line, in)) {
    char *cols[16];
    int n = 0;
    for (char *tok = strtok(line, " \n"); tok && n < 16; tok = strtok(NULL, " \n")) cols[n++] = tok;
    if (n < 10 || strcmp(cols[9], want) != 0) continue;
    cols[7] = (char *)uid;
    cols[9] = (char *)inode;
    for (int i = 0; i < n; i++) fprintf(out, "%s%s", i ? " " : "   ", cols[i]);
    fputc('\n', out);
    found = 1;
  }
  fclose(in);
  fclose(out);
  assert_true(found);
}

static void only_a_live_socket_counts(void **state) {
  (void)state;
  connection c = connect_loopback(AF_INET, 0);
  char path[64];
  snprintf(path, sizeof path, "%s/peeruid-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  unsigned uid = 99999;
  table_with_client_line(path, c.client, "4242", "123456");
  assert_int_equal(le_tcp_peer_uid_in(c.server, path, "/nonexistent", &uid), 0);
  assert_int_equal(uid, 4242);
  uid = 99999;
  table_with_client_line(path, c.client, "0", "0"); /* what TIME_WAIT and orphans look like */
  assert_int_equal(le_tcp_peer_uid_in(c.server, path, "/nonexistent", &uid), -ENOENT);
  assert_int_equal(uid, 99999);
  assert_int_equal(le_tcp_peer_uid_in(c.server, "/nonexistent", "/nonexistent", &uid), -ENOENT);
  unlink(path);
  disconnect(&c);
}

/* The descriptors this process has open. */
static int open_descriptors(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e = readdir(d); e; e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own */
}

typedef struct asking {
  int fd, answered, before, after; /* descriptors open before its first question, after its last */
} asking;

/* A new thread's questions: its socket opened by the first, kept for the others. */
static void *ask_in_a_thread(void *arg) {
  asking *a = arg;
  a->before = open_descriptors();
  a->answered = 0;
  for (int i = 0; i < 20; i++) {
    unsigned uid = 99999;
    a->answered += le_tcp_peer_uid_diag(a->fd, &uid) == 0 && uid == geteuid();
  }
  a->after = open_descriptors();
  return NULL;
}

static void the_kernel_is_asked_on_one_socket_per_thread(void **state) {
  (void)state;
  connection c = connect_loopback(AF_INET, 0);
  int base = open_descriptors();
  asking a = {.fd = c.server};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, ask_in_a_thread, &a), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(a.answered, 20);
  assert_int_equal(a.before, base);
  assert_int_equal(a.after, base + 1);         /* one socket for its 20 questions, still open */
  assert_int_equal(open_descriptors(), base); /* closed when the thread ended */
  unsigned uid = 99999;                       /* and this thread's own, whether it had one or not */
  assert_int_equal(le_tcp_peer_uid(c.server, &uid), 0);
  int kept = open_descriptors();
  for (int i = 0; i < 20; i++) assert_int_equal(le_tcp_peer_uid(c.server, &uid), 0);
  assert_int_equal(open_descriptors(), kept);
  disconnect(&c);
}

static void the_local_end_given_is_the_one_asked_about(void **state) {
  (void)state;
  int families[] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; i++) {
    connection c = connect_loopback(families[i], 0);
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    assert_int_equal(getsockname(c.listener, (struct sockaddr *)&local, &len), 0);
    unsigned uid = 99999;
    assert_int_equal(le_tcp_peer_uid_at(c.server, (struct sockaddr *)&local, &uid), 0);
    assert_int_equal(uid, geteuid());
    uid = 99999;
    assert_int_equal(le_tcp_peer_uid_at(c.server, NULL, &uid), 0);
    assert_int_equal(uid, geteuid());
    /* another port: no connection of this peer ends there (the kernel, then the tables) */
    in_port_t *port = families[i] == AF_INET ? &((struct sockaddr_in *)&local)->sin_port
                                             : &((struct sockaddr_in6 *)&local)->sin6_port;
    *port = htons((uint16_t)(ntohs(*port) + 1));
    uid = 99999;
    assert_int_equal(le_tcp_peer_uid_at(c.server, (struct sockaddr *)&local, &uid), -ENOENT);
    assert_int_equal(uid, 99999);
    disconnect(&c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ipv4_peer_is_its_user),
      cmocka_unit_test(ipv6_peer_is_its_user),
      cmocka_unit_test(ipv4_client_of_a_dual_stack_server),
      cmocka_unit_test(the_peer_of_another_user_is_named),
      cmocka_unit_test(a_client_that_closed_is_unknown),
      cmocka_unit_test(a_unix_socket_is_not_asked),
      cmocka_unit_test(only_a_live_socket_counts),
      cmocka_unit_test(the_kernel_is_asked_on_one_socket_per_thread),
      cmocka_unit_test(the_local_end_given_is_the_one_asked_about),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
