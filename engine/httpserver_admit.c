/* httpserver_admit.c — a new connection's admission (httpserver_admit.h): counted against
 * max_connections, it is admitted (its peer's uid found once, its reading and first
 * deadline started), or, beyond the limit, parked until the end of the poll that accepted
 * it and then admitted or refused 503 (the server's verdict, a check handle). One there is
 * no memory for is accepted into a spare handle and closed, so the listener goes on. */
#include "httpserver_admit.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "httpserver_conn.h"
#include "httpserver_refuse.h"
#include "loop.h"
#include "peeruid.h"
#include "proctree.h"

/* A connection that cannot be served (no memory for it) is accepted into the spare handle
 * and closed at once: left unaccepted, it would make libuv stop the listener until a
 * uv_accept that never comes. While the spare is closing (until the loop's next turn),
 * further such connections wait in their listeners (each stopped meanwhile, holding a
 * reference to its server), and are taken in turn as the spare comes back. */
static uv_tcp_t spare;
static int spare_busy;
static le_server *unserved_first, *unserved_last;

static void spare_closed(uv_handle_t *h) {
  (void)h;
  spare_busy = 0;
  while (!spare_busy && unserved_first) { /* until one takes the spare again */
    le_server *srv = unserved_first;
    unserved_first = srv->next_unserved;
    if (!unserved_first) unserved_last = NULL;
    srv->next_unserved = NULL;
    if (!srv->closed) le_conn_accept((uv_stream_t *)&srv->tcp, 0); /* a closed listener closed its connection */
    le_server_release(srv);
  }
}

void le_admit_unserved(le_server *srv) {
  if (spare_busy || uv_tcp_init(le_loop(), &spare) != 0) {
    if (srv->next_unserved || unserved_last == srv) return; /* waiting already */
    srv->refs++;
    if (unserved_last) unserved_last->next_unserved = srv;
    else unserved_first = srv;
    unserved_last = srv;
    return;
  }
  spare_busy = 1;
  le_uv_check(uv_accept((uv_stream_t *)&srv->tcp, (uv_stream_t *)&spare), "refusing a connection");
  uv_close((uv_handle_t *)&spare, spare_closed);
}

/* A connection counted against max_connections: its peer's uid found, its reading and its
 * first deadline started. */
static void admit(le_conn *c) {
  le_server *srv = c->srv;
  c->peer_uid = -1;
  c->peer_in_tree = 0;
  if (srv->peer_uid || srv->guard.uid >= 0 || srv->guard.pid > 0) { /* once per connection: its requests all come from the same socket */
    uv_os_fd_t fd;
    unsigned uid;
    unsigned long inode = 0;
    const struct sockaddr *local = srv->local_known ? (const struct sockaddr *)&srv->local : NULL;
    int rc = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? le_tcp_peer_at(fd, local, &uid, &inode) : -EBADF;
    if (rc == 0) c->peer_uid = uid;
    else c->peer_errno = -rc;
    /* bounded (proctree.h): the runtime's own descriptors first, a /proc walk at most */
    if (rc == 0 && srv->guard.pid > 0) c->peer_in_tree = le_proctree_holds((pid_t)srv->guard.pid, inode) == 1;
  }
  le_conn_start_reading(c);
  if (!c->reading) le_conn_close(c);
  else le_conn_arm(c, srv->timeout);
}

/* After the poll (a check handle: the same loop turn), the connections it accepted
 * beyond max_connections, in order: served while the others (those whose close began in
 * that poll no longer counted) leave room, else refused 503. */
static void give_verdict(uv_check_t *h) {
  le_server *srv = h->data;
  le_uv_check(uv_check_stop(h), "a server's verdict");
  le_conn *c = srv->parked_first;
  srv->parked_first = srv->parked_last = NULL;
  while (c) {
    le_conn *next = c->next_parked;
    c->next_parked = NULL;
    if (c->parked) {
      c->parked = 0;
      srv->nparked--;
      if (srv->nconns - srv->nparked > srv->max_connections)
        le_refuse(c, 503, "ServiceUnavailableException", "too many connections");
      else
        admit(c);
    }
    c = next;
  }
}

void le_server_note_address(le_server *srv) {
  int len = sizeof srv->local;
  srv->local_known = 0;
  if (uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&srv->local, &len) != 0) return;
  if (srv->local.ss_family == AF_INET)
    srv->local_known = ((struct sockaddr_in *)&srv->local)->sin_addr.s_addr != htonl(INADDR_ANY);
  else if (srv->local.ss_family == AF_INET6)
    srv->local_known = !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&srv->local)->sin6_addr);
}

static void verdict_closed(uv_handle_t *h) { le_server_release(h->data); }

void le_server_verdict_init(le_server *srv) {
  (void)uv_check_init(le_loop(), &srv->verdict); /* libuv 1.44 returns 0 always */
  srv->verdict.data = srv;
  srv->refs++;
}

void le_server_verdict_close(le_server *srv) {
  srv->parked_first = srv->parked_last = NULL; /* each closed with the server's connections */
  uv_close((uv_handle_t *)&srv->verdict, verdict_closed);
}

/* Parks c, accepted beyond max_connections, for the verdict after this poll. */
static void park(le_conn *c) {
  le_server *srv = c->srv;
  if (le_uv_check(uv_check_start(&srv->verdict, give_verdict), "a server's verdict") < 0) {
    le_refuse(c, 503, "ServiceUnavailableException", "too many connections");
    return;
  }
  c->parked = 1;
  srv->nparked++;
  if (srv->parked_last) srv->parked_last->next_parked = c;
  else srv->parked_first = c;
  srv->parked_last = c;
}

void le_admit(le_conn *c) {
  if (c->srv->nconns > c->srv->max_connections) park(c);
  else admit(c);
}
