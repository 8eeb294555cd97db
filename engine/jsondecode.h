/* jsondecode.h — an API response's JSON decoded and checked against its shape in one pass,
 * and, with the same reader, `api`'s batch items (user input) decoded.
 *
 * lambdaeng.native.json.decode_response(text, null, array_mt[, spec]) -> true, value | false
 *   The value aws/lambda_call.lua's reference path gives (cjson's decode of the text with
 *   its empty arrays marked, the restore walk, aws/shape.lua's check against spec, then
 *   the nulls dropped): integral numbers as integers, exact within 64 bits (an integral
 *   number past 64 bits declines: the reference path reads it as a double, and a shape's
 *   integer refuses it by name), an empty array as a new
 *   table with array_mt, a member whose value is null left out (a null array item is
 *   `null`), and, with a spec (one of shape.lua's tables), every value the spec
 *   describes of its kind and every required field present.
 *   false: the text is not plain JSON this decoder takes (invalid JSON, but also
 *   anything unusual that cjson may read its own way: a number outside JSON's grammar,
 *   \u0000 or a surrogate escape, a control byte in a string, nesting deeper than 100,
 *   a non-JSON space), or it does not fit the spec, or fits it only the way the Lua
 *   check allows loosely (an empty object where an array is expected, an empty array
 *   where an object is): the caller then takes the reference path, which decides and
 *   names the problem. So true is given only with the reference's own value
 *   (lua.json_generated compares the two on generated texts). A spec table is read into C the first
 *   time it is given (engine/jsonspec.h): a change made to it later is not seen.
 *
 * lambdaeng.native.json.decode_items(text, null, array_mt, from, to[, raw_name]) -> items | false
 *   The values written one after another, separated by commas, in bytes from..to (1-based,
 *   inclusive) of text (a run of a JSON array's items: `api`'s batch, engine/jsonitems.h),
 *   decoded as json.decode_keeping_arrays decodes them (stdlib/lambdaeng/json.lua): null is
 *   null (kept, not dropped), an empty array a table with array_mt, an integer within 64
 *   bits exact, a real as cjson reads it (integral and below 2^53: an integer). raw_name:
 *   a member of that name in an item that is an object, whose value is not a string, is
 *   given as its text as written (`api Invoke`'s Payload: sent as the user wrote it).
 *   false: anything decode_response declines, and an integer outside 64 bits (the caller
 *   then decodes the span itself). */
#ifndef LAMBDAENG_JSONDECODE_H
#define LAMBDAENG_JSONDECODE_H

struct lua_State;

/* Pushes decode_response (a closure over the shapes it has compiled, engine/jsonspec.h). */
int le_json_push_decode_response(struct lua_State *L);
int le_json_decode_items(struct lua_State *L);

#endif
