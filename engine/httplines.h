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

/* The fields of a spec table, in the order le_http_read_spec gives their stack indices. */
enum {
  LE_HTTP_SPEC_METHOD, LE_HTTP_SPEC_URL, LE_HTTP_SPEC_BODY, LE_HTTP_SPEC_TIMEOUT, LE_HTTP_SPEC_MAX_BODY,
  LE_HTTP_SPEC_LAZY_HEADERS, LE_HTTP_SPEC_HEADERS, LE_HTTP_SPEC_SIGN, LE_HTTP_SPEC_USER_AGENT, LE_HTTP_SPEC_ONCE,
  LE_HTTP_SPEC_FIELDS
};
/* The names of a spec's and its sign table's fields, pushed as LE_HTTP_FIELD_NAMES
 * strings (returned): the upvalues, first on, of every C function that calls
 * le_http_read_spec or le_http_header_lines (http.request, signed_lines). */
#define LE_HTTP_FIELD_NAMES 22
int le_http_push_field_names(struct lua_State *L);
/* Reads each field of the spec table at index spec once: pushes its fields' values and
 * sets at[field] to each one's stack index (a nil's when the field is missing). */
void le_http_read_spec(struct lua_State *L, int spec, int at[LE_HTTP_SPEC_FIELDS]);
/* The "Name: value" lines of the spec read into at (above) and the pointers to them
 * (*lines_out), in a buffer kept for the next call (valid until then: le_http_start copies
 * them); returns the count, or -1 with err set when a header cannot be sent. Pushes nothing. */
long le_http_header_lines(struct lua_State *L, const int at[LE_HTTP_SPEC_FIELDS], const char ***lines_out,
                        le_error *err);
/* signed_lines(spec) -> { "Name: value", ... } of lambdaeng.native.http. */
int le_http_lua_signed_lines(struct lua_State *L);

#endif
