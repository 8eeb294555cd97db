/* luavm.h — what the Lua half asks of the Lua VM itself, done without the garbage the
 * standard library's way makes (a no-op plan of 1,000 functions grew ~43,000 tables
 * key by key, and built a debug.getinfo table for every stack frame a declaration
 * walked).
 *
 * lambdaeng.native.vm:
 *   new(narr, nrec) -> an empty table with room for narr array items and nrec other
 *     keys (lua_createtable): filling it rehashes nothing. Raises on a negative or
 *     non-integer size.
 *   sized_like(t) -> an empty table with room for every entry of t: as many array
 *     items as t's border (#t, raw) and the rest as other keys. For a copy or a
 *     transform of t made key by key.
 *   count(t) -> how many entries t has (raw: every key, array items too).
 *   copy(t[, extra]) -> a new table with t's entries (raw, a shallow copy) made at its
 *     size with room for extra more keys, and whether any of t's values is a table.
 *   frame(level) -> func, currentline of the function running at level (as
 *     debug.getinfo(level, "fl"): 1 is the caller of frame), or nothing when the stack
 *     is not that deep. currentline is -1 for a C function.
 *   equality(unknown) -> equal(a, b): plan.equal without a Lua call or a `pairs` step
 *     per entry: a == b, or both tables, neither == unknown, where b has every key of a
 *     with an equal value and a every key of b (keys and values read as Lua reads
 *     them: __index, __eq). Raises beyond 1,000 levels of nesting (a cycle).
 *   same_entries(a, b) -> whether tables a and b hold the same keys with values that
 *     are == (a table only to itself): equal one level deep. (Both without a metatable:
 *     read raw, and b's keys only counted once a's are all found in b.)
 *   next_change(keys, from, stored, read, kept, watch) -> the first index i >= from of
 *     the list keys whose key k needs a closer look: read[k] ~= kept[k], or stored[k] a
 *     table, or stored[k] not nil with watch[k] true; nothing when none does (a
 *     refresh's merge of 21 arguments: one call, not a Lua loop).
 *   is_name(v) -> whether v is a string that string.match(v, "^[%a_][%w_%-]*$") matches
 *     in the C locale: ASCII letters, digits, _ and -, first a letter or _ (a stack's
 *     names: checked once a declaration). False for anything else, never raises.
 *   is_function_name(v) -> whether v is a string of 1 to 64 bytes that "^[%w_%-]+$" matches
 *     in the C locale (a plain Lambda function name). False for anything else, never raises. */
#ifndef LAMBDAENG_LUAVM_H
#define LAMBDAENG_LUAVM_H

struct lua_State;

int le_open_vm(struct lua_State *L);

#endif
