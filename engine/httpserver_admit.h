/* httpserver_admit.h — a new connection's admission (httpserver_admit.c), after
 * le_conn_accept (httpserver_conn.h) made it.
 *
 * le_admit(c): within max_connections, c is served at once: its peer's uid found when the
 *   server asks (once: its requests all come from the same socket), its reading and first
 *   deadline started. Beyond, it waits for the end of the poll that accepted it (the ends
 *   of other connections read in the same poll count first), then is served, or refused 503.
 * le_admit_unserved(srv): a connection waiting at srv's listener that there is no memory
 *   for is accepted into a spare handle and closed at once (left unaccepted, libuv would
 *   stop the listener); while the spare is closing, srv waits its turn (a reference held).
 * le_server_note_address(srv): notes the listening socket's address: its connections' own
 *   when it is one address (their peer's uid is then found with one system call fewer).
 * le_server_verdict_init(srv) / le_server_verdict_close(srv): the server's verdict handle
 *   (a reference to srv), and its closing (with the listener's). */
#ifndef LAMBDAENG_HTTPSERVER_ADMIT_H
#define LAMBDAENG_HTTPSERVER_ADMIT_H

struct le_conn;
struct le_server;

void le_admit(struct le_conn *c);
void le_admit_unserved(struct le_server *srv);
void le_server_note_address(struct le_server *srv);
void le_server_verdict_init(struct le_server *srv);
void le_server_verdict_close(struct le_server *srv);

#endif
