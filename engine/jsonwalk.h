/* jsonwalk.h — walks over JSON text already checked to be valid JSON (statefile.c checks
 * a state's entries once when the file is read, then walks them when they are asked for):
 * nothing here checks the grammar again.
 *
 * le_jsonwalk_space(p, end): past JSON's spaces at p.
 * le_jsonwalk_string_end(p, end): the closing quote of the string whose bytes begin at p
 *   (after its opening quote), or NULL.
 * le_jsonwalk_skip(p, end): the byte after the value at p.
 * le_jsonwalk_first(p, end): the first member (its key) or item of the object or array at
 *   p, NULL when it is empty; le_jsonwalk_next(p, end): the one after the member or item at
 *   p, NULL after the last; le_jsonwalk_member_value(p, end): the value of the member at p.
 * le_jsonwalk_push(L, p, end): the value at p pushed as le_json_to_lua pushes jansson's
 *   value of it (integers as integers, reals as floats, null as a NULL light userdata,
 *   tables made at their size and filled in the text's order, an empty array marked as
 *   json.array marks one; an object's plain keys are taken from a cache of 256 Lua strings
 *   kept in the registry, not interned again); the byte after it. The text
 *   must be what jansson reads as that value: ASCII, no \u0000 or surrogate escape, no
 *   duplicate key, integers of up to 18 digits, reals in range.
 * le_jsonwalk_same(L, p, end, idx): whether the Lua value at idx is what le_jsonwalk_push
 *   makes of the value at p, up to the identity of tables: the same type, an integer for an
 *   integer and a float for a real, the same bytes, tables with exactly the same keys and no
 *   metatable (json.array's for []), compared raw. 0 also for a string or key with an escape
 *   (not compared: the caller makes the value and compares that). A refresh compares what it
 *   read back with what the state holds without making the state's tables.
 * LE_JSONWALK_IS_SPACE(c): one of JSON's four spaces; LE_JSONWALK_IS_PLAIN(c): a byte a
 *   string may hold as it is (not a quote, a backslash, a control byte or a non-ASCII one). */
#ifndef LAMBDAENG_JSONWALK_H
#define LAMBDAENG_JSONWALK_H

#include <stddef.h>

struct lua_State;

extern const unsigned char le_jsonwalk_class[256]; /* 1: a space; 2: plain in a string */
#define LE_JSONWALK_IS_SPACE(c) (le_jsonwalk_class[(unsigned char)(c)] & 1)
#define LE_JSONWALK_IS_PLAIN(c) (le_jsonwalk_class[(unsigned char)(c)] & 2)

const unsigned char *le_jsonwalk_spaces(const unsigned char *p, const unsigned char *end);

/* (no space at all is the usual case: that test inlined) */
static inline const unsigned char *le_jsonwalk_space(const unsigned char *p, const unsigned char *end) {
  return p < end && !LE_JSONWALK_IS_SPACE(*p) ? p : le_jsonwalk_spaces(p, end);
}

const unsigned char *le_jsonwalk_string_end(const unsigned char *p, const unsigned char *end);
const unsigned char *le_jsonwalk_skip(const unsigned char *p, const unsigned char *end);
const unsigned char *le_jsonwalk_first(const unsigned char *p, const unsigned char *end);
const unsigned char *le_jsonwalk_next(const unsigned char *p, const unsigned char *end);
const unsigned char *le_jsonwalk_member_value(const unsigned char *p, const unsigned char *end);
const unsigned char *le_jsonwalk_push(struct lua_State *L, const unsigned char *p, const unsigned char *end);
int le_jsonwalk_same(struct lua_State *L, const unsigned char *p, const unsigned char *end, int idx);

#endif
