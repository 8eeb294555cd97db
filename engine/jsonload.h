/* jsonload.h — JSON text into jansson values in one pass over memory, for the state file.
 *
 * le_json_load_fast(text, len) returns exactly what
 * json_loadb(text, len, JSON_REJECT_DUPLICATES, ...) returns — the same values, the same
 * types (integer or real), the same key order — or NULL when it is not sure: on any text
 * that is not plain well-formed JSON as jansson reads it (a syntax error, a top level that
 * is not an object or an array, a \u0000, a lone surrogate, invalid UTF-8, a raw control
 * byte in a string, a duplicate key, an integer of more than 18 digits, a real out of
 * range, nesting deeper than LE_JSON_FAST_MAX_DEPTH, out of memory). The caller then calls
 * json_loadb itself, whose answer and error message are the reference: a fast parse never
 * changes what is accepted, what it reads as, or how a refusal reads (unit.jsonload checks
 * this against json_loadb on tricky and mutated texts). Why: jansson's lexer makes an
 * indirect call and a buffer append per character, ~150 instructions a byte of a state.
 * Its tokens are jsonlex.h's (a surrogate escape, even a pair, is left to jansson). */
#ifndef LAMBDAENG_JSONLOAD_H
#define LAMBDAENG_JSONLOAD_H

#include <jansson.h>
#include <stddef.h>

#define LE_JSON_FAST_MAX_DEPTH 512

json_t *le_json_load_fast(const char *text, size_t len);

/* One value of a text at *at (after its spaces), as le_json_load_fast reads it (any
 * type: the caller reads what is around it); *at moved past it. NULL, *at unchanged:
 * unsure, as above. */
json_t *le_json_load_value(const char **at, const char *end);

#endif
