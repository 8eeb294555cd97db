/* jsonvalid.h — whether a text is one JSON value (RFC 8259), read without building it: the
 * local target checks every Invoke payload, and decoding it with lua-cjson only to know cost
 * ~2.5 k instructions for a small one.
 *
 * le_json_valid(text, len): 1 when text is a JSON value, surrounded by white space at most;
 * 0 when it is not, or when it is one of the few texts lua-cjson may read otherwise (nesting
 * deeper than LE_JSON_VALID_DEPTH, a \u escape of a surrogate or of NUL). A 1 is what lua-cjson would
 * accept as well; a caller that must accept exactly what lua-cjson accepts asks it about the
 * 0s (lua-cjson also takes control bytes in strings, hexadecimal numbers, nan and inf). */
#ifndef LAMBDAENG_JSONVALID_H
#define LAMBDAENG_JSONVALID_H

#include <stddef.h>

#define LE_JSON_VALID_DEPTH 512 /* lua-cjson's limit is 1000 */

int le_json_valid(const char *text, size_t len);

#endif
