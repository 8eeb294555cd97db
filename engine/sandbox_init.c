#include "sandbox_init.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "lambdaeng runtime init: %s: %s\n", what, strerror(errno));
  return 127;
}

/* Sends fd over the unix socket channel as SCM_RIGHTS, with one byte of data. */
static int send_fd(int channel, int fd) {
  char byte = 'L';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(channel, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : -1;
}

/* Closes every descriptor above stderr: the runtime starts with 0-2 and nothing of
 * whoever started it (lambdaeng's connections, the caller's files), whatever leaked. */
static int close_all_above_stderr(void) {
  if (close_range(3, ~0u, 0) == 0) return 0;
  DIR *d = opendir("/proc/self/fd"); /* a kernel without close_range (before 5.9) */
  if (!d) return -1;
  int own = dirfd(d), fds[256], n = 0, more = 1;
  while (more) { /* collected first: closing while reading the directory would skip entries */
    struct dirent *de;
    n = 0;
    more = 0;
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
      int fd = atoi(de->d_name);
      if (fd <= 2 || fd == own) continue;
      if (n == (int)(sizeof fds / sizeof fds[0])) {
        more = 1;
        break;
      }
      fds[n++] = fd;
    }
    for (int i = 0; i < n; i++) close(fds[i]);
  }
  closedir(d);
  return 0;
}

int le_sandbox_init_main(int argc, char **argv) {
  /* argv: lambdaeng __runtime-init PORT FD -- COMMAND ARGS... */
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: lambdaeng __runtime-init PORT FD -- COMMAND [ARGS...]\n");
    return 127;
  }
  char *end;
  long port = strtol(argv[2], &end, 10);
  long channel = strtol(argv[3], &end, 10);
  if (port < 0 || port > 65535 || channel < 0) {
    fprintf(stderr, "lambdaeng runtime init: bad PORT or FD\n");
    return 127;
  }
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("socket");
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("bind 127.0.0.1");
  if (listen(s, 64) != 0) return fail("listen");
  socklen_t len = sizeof addr;
  if (getsockname(s, (struct sockaddr *)&addr, &len) != 0) return fail("getsockname");
  char api[64];
  snprintf(api, sizeof api, "127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
  if (setenv("AWS_LAMBDA_RUNTIME_API", api, 1) != 0) return fail("setenv");
  if (send_fd((int)channel, s) != 0) return fail("handing the Runtime API socket over");
  close((int)channel);
  close(s);
  if (close_all_above_stderr() != 0) return fail("closing inherited descriptors");
  execvp(argv[5], argv + 5);
  fprintf(stderr, "lambdaeng runtime init: cannot run %s: %s\n", argv[5], strerror(errno));
  return 127;
}
