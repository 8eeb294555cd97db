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
 *     pass, or false to leave them to those steps (engine/jsondecode.h).
 *   canonical_response(text[, spec]) -> text | false
 *     encode of decode_response's value, written straight from the text, or false to
 *     leave it to those two (engine/jsoncanon.h).
 *   array_mt: the metatable json.array marks an array with (engine/converter.h's
 *     LE_JSON_ARRAY_MT, the one state's empty arrays are read back with).
 *   array_items(text) -> starts, ends, all_objects | false
 *     where each item of a JSON array lies in text, the whole checked first, so that
 *     a batch is decoded one item at a time (engine/jsonitems.h).
 *   decode_exact(text) -> value | nil, message, kind, position
 *     jansson's reading of text, integers within 64 bits kept exact and [] kept an
 *     array, for the values a user gives (engine/jsonexact.h).
 *   invoke_printed(result) -> text | nil, message
 *     an Invoke result's JSON as encode writes it, a payload that is not UTF-8 as
 *     payload_base64 (engine/jsoninvoke.h).
 *
 * For C (engine/jsoncanon.c), the encoder's own writers, each 0 or -1 (out of memory;
 * for a string also: not valid UTF-8): a string quoted and escaped, an integer, a
 * finite number; the encoder's class of each byte (0 copied as it is, 1 escaped, 2 the
 * start of a character above ASCII, checked), and whether 8 bytes are all of class 0. */
#ifndef LAMBDAENG_JSON_H
#define LAMBDAENG_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lua_State;
struct le_buffer;

int le_open_json(struct lua_State *L);

int le_json_put_string(struct le_buffer *b, const char *s, size_t n);
int le_json_put_integer(struct le_buffer *b, long long v);
int le_json_put_number(struct le_buffer *b, double x);

extern const unsigned char le_json_byte_class[256];

/* Tested in one word: a byte below 0x20, or equal to '"', '\\' or DEL, sets its high bit
 * in the sum; the high bit is then any byte's own (above ASCII). */
static inline int le_json_plain8(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t x, q, b, d;
  memcpy(&x, p, 8);
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  d = x ^ (ones * 0x7f);
  return ((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d)) & highs) == 0;
}

#endif
