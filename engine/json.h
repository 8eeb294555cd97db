/* json.h — the canonical JSON encoder and the empty-array marker, in C for speed.
 *
 * lambdaeng.native.json (used by stdlib/lambdaeng/json.lua, which keeps the contract):
 *   encode(value, array_mt, null) -> text | nil, message | false
 *     Canonical text as json.lua's Lua encoder gives it, byte for byte: object keys
 *     sorted by byte value, integers and integral floats below 2^53 without a
 *     fraction, other floats in the shortest of %.15g/%.16g/%.17g that reads back
 *     exactly, strings checked as UTF-8 (as utf8.len) with " \ and control bytes
 *     escaped, a table is an array when its keys are exactly 1..#t and it has one
 *     or its metatable is array_mt. `null` (cjson.null) encodes as null. A value that
 *     has no JSON form gives nil and the message json.lua raises ("value.a[2]: a
 *     function cannot be encoded as JSON"). false: the value holds a table with
 *     another metatable (its __index / __pairs decide what it holds), which the Lua
 *     encoder handles.
 *   mark_empty_arrays(text, marker) -> text
 *     text with each empty array outside a string ("[]", "[ ]") replaced by marker
 *     (a JSON string), so that a decoder that cannot tell [] from {} keeps it.
 *   restore(value, drop_nulls, null[, marker, array_mt]) -> value
 *     cjson's output made lambdaeng's, in place (aws/lambda_call.lua keeps the Lua
 *     reference): with a marker, integral floats below 2^53 become integers and the
 *     marker string a new empty table with array_mt (marker true: the floats alone,
 *     as json.decode's integers walk); with drop_nulls, members that are null under a
 *     key that is not a number are removed.
 *   decode_response(text, null, array_mt[, spec]) -> true, value | false
 *     mark_empty_arrays, cjson, restore, the shape check and the nulls' removal in one
 *     pass, or false to leave them to those steps (engine/jsondecode.h). */
#ifndef LAMBDAENG_JSON_H
#define LAMBDAENG_JSON_H

struct lua_State;

int le_open_json(struct lua_State *L);

#endif
