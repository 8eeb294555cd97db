#include "peeruid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

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
static int find_in(const char *table, const char *local, const char *remote, unsigned *uid, unsigned long *ino) {
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
        if (ino) *ino = inode;
        rc = 0;
        break;
      }
    }
  }
  if (ferror(f) && rc != 0) rc = -EIO;
  fclose(f);
  return rc;
}

/* Both ends of fd, a connected TCP/IP socket: 0 or a negative errno. */
static int ends(int fd, struct sockaddr_storage *me, struct sockaddr_storage *peer) {
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) return -errno;
  if (type != SOCK_STREAM) return -EAFNOSUPPORT;
  socklen_t ml = sizeof *me, pl = sizeof *peer;
  if (getsockname(fd, (struct sockaddr *)me, &ml) != 0) return -errno;
  if (getpeername(fd, (struct sockaddr *)peer, &pl) != 0) return -errno;
  if (me->ss_family != peer->ss_family || (me->ss_family != AF_INET && me->ss_family != AF_INET6))
    return -EAFNOSUPPORT;
  return 0;
}

/* The answer to one sock_diag question in answer (len bytes): 0 with *uid, or a negative errno. */
static int diag_answer(const void *answer, int got, unsigned *uid, unsigned long *ino) {
  unsigned int len = got > 0 ? (unsigned int)got : 0; /* (unsigned: NLMSG_OK compares it with a __u32) */
  for (const struct nlmsghdr *h = answer; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
      int e = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
      return e < 0 ? e : -EIO;
    }
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      if (m->idiag_inode == 0) return -ENOENT; /* TIME_WAIT or orphaned: no process holds it */
      *uid = m->idiag_uid;
      if (ino) *ino = m->idiag_inode;
      return 0;
    }
  }
  return -EIO;
}

/* The sock_diag socket, one per thread and kept open: a socket() and a close() per
 * question were 2 of the 7 system calls a connection's lookup cost. Its descriptor + 1 is
 * the thread's value of diag_key (0: none open), closed when the thread ends; any failure
 * on it closes it, so that the next question starts on a new one with nothing queued. */
static pthread_key_t diag_key;
static pthread_once_t diag_once = PTHREAD_ONCE_INIT;
static int diag_key_ok;
static _Thread_local uint32_t diag_seq;

static void diag_close(void *value) {
  if (value) close((int)((intptr_t)value - 1));
}

static void diag_key_make(void) { diag_key_ok = pthread_key_create(&diag_key, diag_close) == 0; }

/* The thread's sock_diag socket, opened when it has none: a descriptor or a negative errno. */
static int diag_socket(void) {
  pthread_once(&diag_once, diag_key_make);
  void *kept = diag_key_ok ? pthread_getspecific(diag_key) : NULL;
  if (kept) return (int)((intptr_t)kept - 1);
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return -errno;
  if (diag_key_ok && pthread_setspecific(diag_key, (void *)((intptr_t)nl + 1)) == 0) return nl;
  return nl; /* not kept (no key): the caller closes it */
}

/* After a question on nl: kept when it went well and the thread keeps it, else closed. */
static void diag_done(int nl, int failed) {
  int kept = diag_key_ok && pthread_getspecific(diag_key) == (void *)((intptr_t)nl + 1);
  if (kept && !failed) return;
  if (kept) pthread_setspecific(diag_key, NULL);
  close(nl);
}

/* One sock_diag question: the TCP socket of family whose local end is src:sport and whose
 * remote end is dst:dport (addresses of 4 or 16 bytes, ports in network order). The
 * kernel answers a lookup within the sendto, with one message carrying its sequence
 * number: an answer with another number (none should be queued) is skipped. */
static int diag_ask(int family, const void *src, uint16_t sport, const void *dst, uint16_t dport, unsigned *uid,
                    unsigned long *ino) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } ask;
  memset(&ask, 0, sizeof ask);
  ask.nlh.nlmsg_len = sizeof ask;
  ask.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  ask.nlh.nlmsg_flags = NLM_F_REQUEST; /* one socket, looked up by its addresses: no dump */
  ask.nlh.nlmsg_seq = ++diag_seq;
  ask.req.sdiag_family = (uint8_t)family;
  ask.req.sdiag_protocol = IPPROTO_TCP;
  ask.req.idiag_states = ~0u;
  size_t alen = family == AF_INET ? 4 : 16;
  memcpy(ask.req.id.idiag_src, src, alen);
  memcpy(ask.req.id.idiag_dst, dst, alen);
  ask.req.id.idiag_sport = sport;
  ask.req.id.idiag_dport = dport;
  ask.req.id.idiag_cookie[0] = ask.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  int nl = diag_socket();
  if (nl < 0) return nl;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  union {
    struct nlmsghdr align;
    char bytes[8192];
  } answer;
  ssize_t n;
  do n = sendto(nl, &ask, sizeof ask, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  int rc = n < 0 ? -errno : -EIO, answered = 0;
  for (int tries = 0; n == (ssize_t)sizeof ask && tries < 4; tries++) {
    ssize_t got;
    do got = recv(nl, answer.bytes, sizeof answer.bytes, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
      rc = -errno;
      break;
    }
    if (got >= (ssize_t)sizeof(struct nlmsghdr) && answer.align.nlmsg_seq != ask.nlh.nlmsg_seq) continue; /* stale */
    rc = diag_answer(answer.bytes, (int)got, uid, ino);
    answered = 1;
    break;
  }
  diag_done(nl, !answered); /* an answer, even a refusal, leaves nothing queued */
  return rc;
}

/* The sock_diag question for the connection whose ends are me and peer (one family). */
static int diag_between(const struct sockaddr_storage *me, const struct sockaddr_storage *peer, unsigned *uid,
                        unsigned long *ino) {
  /* the peer's socket: its local end is our peer's address, its remote end ours */
  if (me->ss_family == AF_INET) {
    const struct sockaddr_in *m = (const struct sockaddr_in *)me, *p = (const struct sockaddr_in *)peer;
    return diag_ask(AF_INET, &p->sin_addr, p->sin_port, &m->sin_addr, m->sin_port, uid, ino);
  }
  const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)me, *p = (const struct sockaddr_in6 *)peer;
  if (IN6_IS_ADDR_V4MAPPED(&p->sin6_addr) && IN6_IS_ADDR_V4MAPPED(&m->sin6_addr)) /* an IPv4 client */
    return diag_ask(AF_INET, p->sin6_addr.s6_addr + 12, p->sin6_port, m->sin6_addr.s6_addr + 12, m->sin6_port, uid,
                    ino);
  return diag_ask(AF_INET6, &p->sin6_addr, p->sin6_port, &m->sin6_addr, m->sin6_port, uid, ino);
}

int le_tcp_peer_uid_diag(int fd, unsigned *uid) {
  struct sockaddr_storage me, peer;
  int rc = ends(fd, &me, &peer);
  if (rc != 0) return rc;
  return diag_between(&me, &peer, uid, NULL);
}

/* The tables' answer for the connection whose ends are me and peer (one family). */
static int tables_between(const struct sockaddr_storage *me, const struct sockaddr_storage *peer,
                          const char *tcp_table, const char *tcp6_table, unsigned *uid, unsigned long *ino) {
  /* the peer's socket: its local address is our peer's, its remote address ours */
  char local[64], remote[64];
  if (me->ss_family == AF_INET) {
    const struct sockaddr_in *m = (const struct sockaddr_in *)me, *p = (const struct sockaddr_in *)peer;
    v4_text(local, sizeof local, &p->sin_addr, p->sin_port);
    v4_text(remote, sizeof remote, &m->sin_addr, m->sin_port);
    return find_in(tcp_table, local, remote, uid, ino);
  }
  const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)me, *p = (const struct sockaddr_in6 *)peer;
  v6_text(local, sizeof local, &p->sin6_addr, p->sin6_port);
  v6_text(remote, sizeof remote, &m->sin6_addr, m->sin6_port);
  int rc = find_in(tcp6_table, local, remote, uid, ino);
  if (rc != 0 && IN6_IS_ADDR_V4MAPPED(&p->sin6_addr) && IN6_IS_ADDR_V4MAPPED(&m->sin6_addr)) {
    /* an IPv4 client of a server listening on both: its socket is in the IPv4 table */
    v4_text(local, sizeof local, p->sin6_addr.s6_addr + 12, p->sin6_port);
    v4_text(remote, sizeof remote, m->sin6_addr.s6_addr + 12, m->sin6_port);
    rc = find_in(tcp_table, local, remote, uid, ino);
  }
  return rc;
}

int le_tcp_peer_uid_in(int fd, const char *tcp_table, const char *tcp6_table, unsigned *uid) {
  struct sockaddr_storage me, peer;
  int erc = ends(fd, &me, &peer);
  if (erc != 0) return erc;
  return tables_between(&me, &peer, tcp_table, tcp6_table, uid, NULL);
}

/* The kernel's answer for the connection between me and peer, or where it gives none
 * (no tcp_diag, no such socket), the tables'. */
static int answer_between(const struct sockaddr_storage *me, const struct sockaddr_storage *peer, unsigned *uid,
                          unsigned long *ino) {
  int rc = diag_between(me, peer, uid, ino);
  if (rc == 0 || rc == -EAFNOSUPPORT || rc == -ENOTCONN || rc == -ENOTSOCK || rc == -EBADF) return rc;
  return tables_between(me, peer, "/proc/net/tcp", "/proc/net/tcp6", uid, ino);
}

int le_tcp_peer_at(int fd, const struct sockaddr *local, unsigned *uid, unsigned long *inode) {
  struct sockaddr_storage me, peer;
  socklen_t pl = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0) return -errno;
  if (local) {
    memset(&me, 0, sizeof me);
    memcpy(&me, local, local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  } else {
    socklen_t ml = sizeof me;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0) return -errno;
  }
  if (me.ss_family != peer.ss_family || (me.ss_family != AF_INET && me.ss_family != AF_INET6)) return -EAFNOSUPPORT;
  return answer_between(&me, &peer, uid, inode);
}

int le_tcp_peer_uid_at(int fd, const struct sockaddr *local, unsigned *uid) {
  return le_tcp_peer_at(fd, local, uid, NULL);
}

int le_tcp_peer_uid(int fd, unsigned *uid) {
  struct sockaddr_storage me, peer;
  int rc = ends(fd, &me, &peer);
  if (rc != 0) return rc;
  /* no answer from the kernel (no tcp_diag, a seccomp filter) or no such socket: the
   * tables, slower, decide */
  return answer_between(&me, &peer, uid, NULL);
}
