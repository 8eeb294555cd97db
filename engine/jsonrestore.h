/* jsonrestore.h — lambdaeng.native.json's mark_empty_arrays and restore (jsonrestore.c),
 * the helpers json.lua runs around cjson's decode; their contract is json.h's. */
#ifndef LAMBDAENG_JSONRESTORE_H
#define LAMBDAENG_JSONRESTORE_H

struct lua_State;

int le_json_mark_empty_arrays(struct lua_State *L);
int le_json_restore(struct lua_State *L);

#endif
