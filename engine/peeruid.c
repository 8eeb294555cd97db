#include "peeruid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* An address as /proc/net/tcp and tcp6 print it: each 32-bit word of the address in
 * the machine's byte order as %08X, a ':', and the port (host order) as %04X. */
static void v4_text(char *out, size_t n, const void *addr, uint16_t port_net) {
  uint32_t w;
  memcpy(&w, addr, 4);
  snprintf(out, n, "%08X:%04X", (unsigned)w, (unsigned)ntohs(port_net));
}

static void v6_text(char *out, size_t n, const void *addr, uint16_t port_net) {
  uint32_t w[4];
  memcpy(w, addr, 16);
  snprintf(out, n, "%08X%08X%08X%08X:%04X", (unsigned)w[0], (unsigned)w[1], (unsigned)w[2], (unsigned)w[3],
           (unsigned)ntohs(port_net));
}

/* The uid of the live socket of table whose local address is local and whose remote
 * address is remote: 0, -ENOENT, or the error opening the table. */
static int find_in(const char *table, const char *local, const char *remote, unsigned *uid) {
  FILE *f = fopen(table, "re");
  if (!f) return -errno;
  char line[512];
  int rc = -ENOENT;
  if (fgets(line, sizeof line, f)) { /* the first line names the columns */
    while (fgets(line, sizeof line, f)) {
      /* sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ... */
      char l[64], r[64];
      unsigned u;
      unsigned long inode;
      if (sscanf(line, " %*[^:]: %63s %63s %*s %*s %*s %*s %u %*s %lu", l, r, &u, &inode) != 4) continue;
      if (inode != 0 && strcasecmp(l, local) == 0 && strcasecmp(r, remote) == 0) {
        *uid = u;
        rc = 0;
        break;
      }
    }
  }
  if (ferror(f) && rc != 0) rc = -EIO;
  fclose(f);
  return rc;
}

int le_tcp_peer_uid_in(int fd, const char *tcp_table, const char *tcp6_table, unsigned *uid) {
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) return -errno;
  if (type != SOCK_STREAM) return -EAFNOSUPPORT;
  struct sockaddr_storage me, peer;
  socklen_t ml = sizeof me, pl = sizeof peer;
  if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0) return -errno;
  if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0) return -errno;
  if (me.ss_family != peer.ss_family) return -EAFNOSUPPORT;
  /* the peer's socket: its local address is our peer's, its remote address ours */
  char local[64], remote[64];
  if (me.ss_family == AF_INET) {
    const struct sockaddr_in *m = (const struct sockaddr_in *)&me, *p = (const struct sockaddr_in *)&peer;
    v4_text(local, sizeof local, &p->sin_addr, p->sin_port);
    v4_text(remote, sizeof remote, &m->sin_addr, m->sin_port);
    return find_in(tcp_table, local, remote, uid);
  }
  if (me.ss_family != AF_INET6) return -EAFNOSUPPORT;
  const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)&me, *p = (const struct sockaddr_in6 *)&peer;
  v6_text(local, sizeof local, &p->sin6_addr, p->sin6_port);
  v6_text(remote, sizeof remote, &m->sin6_addr, m->sin6_port);
  int rc = find_in(tcp6_table, local, remote, uid);
  if (rc != 0 && IN6_IS_ADDR_V4MAPPED(&p->sin6_addr) && IN6_IS_ADDR_V4MAPPED(&m->sin6_addr)) {
    /* an IPv4 client of a server listening on both: its socket is in the IPv4 table */
    v4_text(local, sizeof local, p->sin6_addr.s6_addr + 12, p->sin6_port);
    v4_text(remote, sizeof remote, m->sin6_addr.s6_addr + 12, m->sin6_port);
    rc = find_in(tcp_table, local, remote, uid);
  }
  return rc;
}

int le_tcp_peer_uid(int fd, unsigned *uid) {
  return le_tcp_peer_uid_in(fd, "/proc/net/tcp", "/proc/net/tcp6", uid);
}
