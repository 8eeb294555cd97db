/* httpheaders.h — a response's raw header block as Lua reads it (http.request's
 * `headers`, http.headers(raw[, lazy])): lower-case name = value, the status lines
 * skipped, a value's surrounding spaces cut, a name given twice keeping its last
 * value. Either a table, or (lazy) a userdata over the raw block that looks a name up
 * only when it is read (the first read of a block indexes its lines, in one index per
 * thread kept for the block read last; the reads after it look the name up there) and
 * makes the table only for pairs(): most answers are read for their status and body
 * alone. A block over 4 GiB is always given as the table. */
#ifndef LAMBDAENG_HTTPHEADERS_H
#define LAMBDAENG_HTTPHEADERS_H

#include <stddef.h>

struct lua_State;

/* Pushes the headers of raw (len bytes): the table, or with lazy the userdata. */
void le_http_push_headers(struct lua_State *L, const char *raw, size_t len, int lazy);
/* headers(raw[, lazy]) of lambdaeng.native.http (lua.signing compares the two). */
int le_http_lua_headers(struct lua_State *L);
/* Registers the lazy userdata's metatable (once per Lua state, before any is pushed). */
void le_http_headers_metatable(struct lua_State *L);
/* Sets header_values(headers, name...) -> each name's value (one call for several names)
 * in the module table on top of the stack; after le_http_headers_metatable. */
void le_http_add_header_values(struct lua_State *L);

#endif
