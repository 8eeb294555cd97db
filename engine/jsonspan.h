/* jsonspan.h — where a member's value, or an array's items, lie in JSON text the decoder
 * (cjson) has already taken, so that a value can be sent on as the bytes the user wrote
 * for it instead of being decoded and encoded again (`api Invoke`'s Payload: integers
 * beyond 2^53, 1e400, key order and spaces kept).
 *
 * lambdaeng.native.json.member_span(text, name[, from]) -> start, end | nil
 *   The first and last byte (1-based, inclusive) of the value of the member name of the
 *   object that begins at byte from (default 1; space before it skipped). The last such
 *   member when the name repeats, as the decoder keeps the last; a name written with
 *   escapes is read as its decoded bytes. nil: the value at from is not an object, or it
 *   has no member name.
 * lambdaeng.native.json.item_starts(text) -> starts | nil
 *   starts[i]: the first byte (1-based) of the i-th item of the array text is (space
 *   around it allowed); nil: text is not an array.
 *
 * Both read the text's structure only (strings, brackets, commas): they take what the
 * decoder took, whatever it took it as (its non-standard numbers included), and are not
 * a check; on text the decoder declined their answer means nothing. Nesting is counted,
 * not recursed into, so there is no depth limit.
 *
 * For C: le_json_skip_value(p, end) -> the byte after the value at p (no space before it),
 * read the same way, or NULL when the text ends first. */
#ifndef LAMBDAENG_JSONSPAN_H
#define LAMBDAENG_JSONSPAN_H

struct lua_State;

const unsigned char *le_json_skip_value(const unsigned char *p, const unsigned char *end);

int le_json_member_span(struct lua_State *L);
int le_json_item_starts(struct lua_State *L);

#endif
