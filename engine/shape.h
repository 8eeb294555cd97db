/* shape.h — the check of a decoded API response against its shape, in C for speed.
 *
 * lambdaeng.native.shape.check(spec, value, null) -> true | false
 *   The walk aws/shape.lua's Lua check does (kept there as the reference and for the
 *   error message; lua.shape compares the two on generated responses): spec is one of
 *   shape.lua's tables ({ kind = "string" | "integer" | "boolean" | "number" |
 *   "array" (item) | "map" (value) | "object" (fields, required) }). An optional
 *   object field whose value is `null` is removed, as the Lua check does. false: the
 *   value does not fit (then the Lua check walks it again to name where and why;
 *   what C removed were optional nulls only, which the Lua check would have removed
 *   without a complaint, so its first problem is the same; the value is dropped) --
 *   true or false as the Lua check decides, though the walk goes over the value's
 *   members rather than the shape's fields, and may stop at another problem first. */
#ifndef LAMBDAENG_SHAPE_H
#define LAMBDAENG_SHAPE_H

struct lua_State;

int le_open_shape(struct lua_State *L);

#endif
