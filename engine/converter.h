/* converter.h — Lua values <-> jansson JSON values.
 *
 * Lua tables that are sequences 1..n (n > 0) become arrays, other tables
 * objects; integers stay integers, floats reals; cjson's null (a NULL light
 * userdata) is JSON null both ways. Functions, userdata, non-string keys, keys
 * and strings that are not UTF-8, keys with NUL bytes and non-finite numbers
 * cannot be stored and fail with the path to the offending value. */
#ifndef LAMBDAENG_CONVERTER_H
#define LAMBDAENG_CONVERTER_H

#include <jansson.h>

#include "error.h"

struct lua_State;

/* Converts the value at index idx; returns a new reference or NULL with err set. */
json_t *le_lua_to_json(struct lua_State *L, int idx, le_error *err);

/* Pushes the Lua value for v (v may be NULL: pushes nil). */
void le_json_to_lua(struct lua_State *L, const json_t *v);

#endif
