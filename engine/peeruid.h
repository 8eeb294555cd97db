/* peeruid.h — which local user is at the other end of a TCP connection.
 *
 * SO_PEERCRED answers only for unix sockets; for TCP over loopback the kernel lists both
 * ends of a connection in /proc/net/tcp (and tcp6) with the uid that owns each socket,
 * and the peer's end is the line whose local address is our peer's and whose remote
 * address is ours, as identd finds it. A socket with inode 0 there belongs to no process
 * any more (closed and orphaned, or in TIME_WAIT, shown as uid 0): it never counts.
 *
 * le_tcp_peer_uid(fd, &uid) -> 0, or a negative errno: -ENOENT when no live socket of
 * this machine is the peer (a remote client, or one that already closed), -ENOTCONN or
 * -EAFNOSUPPORT for a descriptor that is not a connected TCP/IP socket, or the error of
 * reading /proc. It asks the kernel first (sock_diag netlink: one lookup of that exact
 * socket, whatever the number of connections on the machine; the same uid and inode
 * rule; the netlink socket is kept open, one per thread, closed with its thread or after
 * a failed exchange) and reads the tables, once each, only where that gives no answer
 * (no tcp_diag, or no such socket). Blocking but short: call it once per connection.
 * le_tcp_peer_uid_diag asks the kernel only; le_tcp_peer_uid_in reads tables at other
 * paths only (for tests).
 * le_tcp_peer_uid_at(fd, local, &uid): the same answers for fd, a connected TCP socket
 * (not checked: a server's accepted connection), as the end at local of its connection
 * (its listener's address when that is one address; NULL: the socket's own, asked). Two
 * system calls fewer than le_tcp_peer_uid (the socket's type; its address when given).
 * le_tcp_peer_at(fd, local, &uid, &inode): le_tcp_peer_uid_at's answer and the inode of
 * the peer's socket (what /proc/<pid>/fd/<n> of its holder links to: "socket:[inode]"). */
#ifndef LAMBDAENG_PEERUID_H
#define LAMBDAENG_PEERUID_H

struct sockaddr;

int le_tcp_peer_uid(int fd, unsigned *uid);
int le_tcp_peer_uid_in(int fd, const char *tcp_table, const char *tcp6_table, unsigned *uid);
int le_tcp_peer_uid_diag(int fd, unsigned *uid);
int le_tcp_peer_uid_at(int fd, const struct sockaddr *local, unsigned *uid);
int le_tcp_peer_at(int fd, const struct sockaddr *local, unsigned *uid, unsigned long *inode);

#endif
