/* jsonexact.h — JSON text into a Lua value with nothing lost that Lua can hold, for values a
 * user gives (a --var of type json, a .json var file) that go on to state, plans and the wire.
 *
 * lambdaeng.native.json.decode_exact(text) -> value | nil, message, kind, position
 *   jansson reads the text (any JSON value at the top; \u0000 in strings allowed), and the
 *   value is made as state's reader makes it (engine/converter.h): an integer that fits 64
 *   bits is a Lua integer, exactly (cjson reads every number as a double, so 2^53 + 1 came
 *   back as 2^53); [] is json.array {}; null is json.null. A real is a float, one that is
 *   integral and below 2^53 an integer (2.0 as 2), as json.decode gives them.
 *   A refusal: kind "syntax" (message "invalid JSON: ... (line L, column C)"), "number"
 *   (an integer outside the 64-bit range or a real outside a double's: message naming the
 *   number and where) or "depth" (arrays and objects nested deeper than
 *   LE_JSON_EXACT_MAX_DEPTH), and position, the byte (1-based) where the reader stopped, the
 *   last of the number for "number" (1 for "depth"). Terraform keeps such an integer exact (its numbers are
 *   arbitrary precision), but state is stored by jansson, whose integers are 64-bit: a
 *   number that cannot be kept is refused rather than rounded.
 *
 * lambdaeng.native.json.has_long_digits(text) -> bool
 *   whether text holds a run of 16 or more ASCII digits (anywhere, strings too): only then can
 *   it hold an integer a double rounds (2^53 has 16 digits), so only then does a stack's
 *   json.decode read it with decode_exact (every 16th byte looked at; a Lua pattern's scan
 *   cost 2.5 times the decode). */
#ifndef LAMBDAENG_JSONEXACT_H
#define LAMBDAENG_JSONEXACT_H

/* As deep as json.encode and the reference walk go (a value nested deeper is refused there). */
#define LE_JSON_EXACT_MAX_DEPTH 100

struct lua_State;

int le_json_decode_exact(struct lua_State *L);
int le_json_has_long_digits(struct lua_State *L);

#endif
