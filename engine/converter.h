/* converter.h — Lua values <-> jansson JSON values.
 *
 * Lua tables that are sequences 1..n (n > 0) become arrays, an empty table marked
 * by json.array (its metatable is LE_JSON_ARRAY_MT's) an empty array, other tables
 * objects; an empty array comes back as an empty table so marked (Lua cannot tell
 * [] from {}: the mark is what keeps [] one through state), other arrays and objects
 * as plain tables. Integers stay integers, floats reals; cjson's null (a NULL light
 * userdata) is JSON null both ways. Functions, userdata, non-string keys, keys
 * and strings that are not UTF-8, keys with NUL bytes and non-finite numbers
 * cannot be stored and fail with the path to the offending value. */
#ifndef LAMBDAENG_CONVERTER_H
#define LAMBDAENG_CONVERTER_H

#include <jansson.h>

#include "error.h"

struct lua_State;

/* The registry's name of json.array's metatable (stdlib/lambdaeng/json.lua takes it as
 * native.json's array_mt). */
#define LE_JSON_ARRAY_MT "lambdaeng.json.array"

/* Pushes that metatable, made the first time it is asked for. */
void le_push_json_array_mt(struct lua_State *L);

/* Converts the value at index idx; returns a new reference or NULL with err set. */
json_t *le_lua_to_json(struct lua_State *L, int idx, le_error *err);

/* Pushes the Lua value for v (v may be NULL: pushes nil). */
void le_json_to_lua(struct lua_State *L, const json_t *v);

/* The same, with flags: LE_JSON_INTEGRAL_REALS pushes a real that is integral and below
 * 2^53 in magnitude as an integer (2.0 as 2, as json.decode reads it; state keeps its
 * reals as they were stored). */
#define LE_JSON_INTEGRAL_REALS 1
void le_json_to_lua_as(struct lua_State *L, const json_t *v, int flags);

#endif
