/* shape.h — the check of a decoded API response against its shape, in C for speed.
 *
 * lambdaeng.native.shape.check(spec, value, null) -> true | false
 *   The walk aws/shape.lua's Lua check does (kept there as the reference and for the
 *   error message; lua.shape compares the two on generated responses): spec is one of
 *   shape.lua's tables ({ kind = "string" | "integer" | "boolean" | "number" |
 *   "array" (item) | "map" (value) | "object" (fields, required) }). An optional
 *   object field whose value is `null` is removed, as the Lua check does, in the same
 *   order (the fields' pairs order), so a false leaves the value as the Lua check
 *   would have left it at the same problem. false: the value does not fit (then the
 *   Lua check names where and why). */
#ifndef LAMBDAENG_SHAPE_H
#define LAMBDAENG_SHAPE_H

struct lua_State;

int le_open_shape(struct lua_State *L);

#endif
