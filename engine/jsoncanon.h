/* jsoncanon.h — an API response's JSON checked against its shape and written as
 * canonical JSON in one pass, without the Lua value in between (`lambdaeng api` prints
 * answers this way).
 *
 * lambdaeng.native.json.canonical_response(text[, spec]) -> text | false
 *   The text json.encode_plain gives of the value decode_response(text, null, array_mt,
 *   spec) gives (engine/jsondecode.h), byte for byte: object keys sorted by byte value,
 *   a name given twice keeping its last value, a member whose value is null left out (a
 *   null array item is null), integral numbers as integers (exact within 64 bits; one past
 *   64 bits declines), other numbers in
 *   the encoder's shortest form, strings escaped as the encoder escapes them, the spec's
 *   kinds and required fields checked as decode_response checks them.
 *   false: wherever decode_response declines (gives false), and where the encoder would
 *   raise (a string that is not valid UTF-8) or memory runs out: the caller then takes
 *   the decode path, which decides and names the problem. So a text is given only when
 *   it is the reference's own (lua.json_generated and lua.shape compare the two on generated texts).
 *   A spec table is read into C the first time it is given and kept as long as the table
 *   lives (shape.lua's are constants): a change made to it later is not seen. */
#ifndef LAMBDAENG_JSONCANON_H
#define LAMBDAENG_JSONCANON_H

struct lua_State;

/* Pushes canonical_response (a closure over the buffers it keeps from call to call). */
int le_json_push_canonical_response(struct lua_State *L);

#endif
