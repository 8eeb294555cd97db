/* httplines.h — the header lines of a request made from Lua (http.request's spec): its
 * `headers` ({ {name, value}, ... }), then with `sign` the ones SigV4 (sigv4.c) adds,
 * signing them with Host first as aws/client.lua did in Lua, then User-Agent:
 * `user_agent`. signed_lines(spec) gives the same lines to Lua, for the equivalence
 * test with sigv4.sign. A spec the lines cannot be made of raises (misuse); a header
 * no request can carry (a name that is not a token; a value, Host, session token or
 * User-Agent holding a CR, LF, NUL or other control byte but tab) is refused with an
 * error naming the header, never showing its value: the second guard behind
 * aws/failures.lua's check, for every caller. */
#ifndef LAMBDAENG_HTTPLINES_H
#define LAMBDAENG_HTTPLINES_H

#include <stddef.h>

#include "error.h"

struct lua_State;

/* Pushes one userdata holding the "Name: value" lines of the spec table at index spec
 * and the pointers to them (*lines_out, valid while the userdata is); returns the count,
 * or -1 with err set when a header cannot be sent. */
long le_http_push_lines(struct lua_State *L, int spec, const char ***lines_out, le_error *err);
/* signed_lines(spec) -> { "Name: value", ... } of lambdaeng.native.http. */
int le_http_lua_signed_lines(struct lua_State *L);

#endif
