/* httpalive.c — see httpalive.h. */
#include "httpalive.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int set(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

int le_http_alive(int fd) {
  int rc = set(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
#ifdef TCP_KEEPIDLE
  if (rc == 0) rc = set(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)LE_HTTP_ALIVE_IDLE);
  if (rc == 0) rc = set(fd, IPPROTO_TCP, TCP_KEEPINTVL, (int)LE_HTTP_ALIVE_INTERVAL);
  if (rc == 0) rc = set(fd, IPPROTO_TCP, TCP_KEEPCNT, LE_HTTP_ALIVE_PROBES);
#endif
#ifdef TCP_USER_TIMEOUT
  if (rc == 0) rc = set(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)LE_HTTP_ALIVE_MS);
#endif
  return rc;
}
