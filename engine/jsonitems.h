/* jsonitems.h — where each item of a JSON array lies in its text, found without decoding
 * any of them, so that a long batch can be decoded (and acted on) one item at a time.
 *
 * lambdaeng.native.json.array_items(text) -> starts, ends, all_objects | false
 *   starts[i] and ends[i]: the first and last byte (1-based, inclusive) of the array's
 *   i-th item; all_objects: every item is an object. The whole text is checked as JSON
 *   first (one array of at least one item, nothing after it but space), so that
 *   json.decode of text:sub(starts[i], ends[i]) gives the array's i-th item as the
 *   whole text's decode does, and none of them fails.
 *   false: not an array of at least one item, or anything this scanner leaves to the
 *   decoder (invalid JSON, and what jsonlex.h declines: a control byte or \u0000 or a
 *   surrogate escape in a string, a number outside JSON's grammar, nesting deeper than
 *   100, a non-JSON space): the caller then decodes the text whole, which decides and
 *   names the problem. */
#ifndef LAMBDAENG_JSONITEMS_H
#define LAMBDAENG_JSONITEMS_H

struct lua_State;

int le_json_array_items(struct lua_State *L);

#endif
