/* httpserver_table.h — what a connection's request is given to Lua as (httpserver_table.c).
 *
 * le_table_push_request(L, c): pushes the request table of c's current request (its head
 *   read, without its body: method, path, target, query, headers by lower-case name,
 *   content_length when announced, peer_uid or peer_uid_error when the server asks).
 *   With reuse_requests it is the connection's own table, refilled (c->reuse_ref).
 *   c's header names are lower-cased in place.
 * le_table_push_method(L, c) / le_table_push_path(L, srv, path, len): a bare server's
 *   method and path values (kept strings pushed from the registry when alike).
 * le_table_init_server(srv) / le_table_forget(srv): a server's kept strings (its methods,
 *   its header names, a bare one's last short path), none yet / released (at the
 *   server's close). */
#ifndef LAMBDAENG_HTTPSERVER_TABLE_H
#define LAMBDAENG_HTTPSERVER_TABLE_H

#include <stddef.h>

struct lua_State;
struct le_conn;
struct le_server;

void le_table_push_request(struct lua_State *L, struct le_conn *c);
void le_table_push_method(struct lua_State *L, struct le_conn *c);
void le_table_push_path(struct lua_State *L, struct le_server *srv, const char *path, size_t len);
void le_table_init_server(struct le_server *srv);
void le_table_forget(struct le_server *srv);

#endif
