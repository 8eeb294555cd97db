/* statefile.h — a state file's text read as the engine uses it: the document's shell
 * (version, serial, lineage, outputs, ...) as jansson values, and each resource entry
 * kept as its span of the text, checked but not parsed, until something needs it as a
 * value. A plan reads every entry once into Lua and changes few: parsing all of them
 * into jansson first cost one allocation and one hash insertion per value.
 *
 * (statefile.c reads and keeps; statefilelua.c makes Lua values, statefileshape.c the stand-in.)
 *
 * le_statefile_read(text, len, &root, &sf) -> 0, or -1 when unsure. On 0, root (a new
 *   reference) is what json_loadb(text, len, JSON_REJECT_DUPLICATES) returns, except
 *   that in root.resources an entry may be kept: its value is then an integer, the
 *   entry's index in sf (a real entry is always an object). sf refers to text, which
 *   must outlive it. -1 (nothing made): the text is not plainly what lambdaeng writes
 *   (invalid JSON, keys of an object not in strictly increasing byte order or with
 *   escapes, a surrogate escape, a number jansson may read its own way, nesting deeper
 *   than LE_STATEFILE_MAX_DEPTH, out of memory): the caller reads it the usual way,
 *   which decides and names any problem. An entry with non-ASCII text is not kept but
 *   parsed (jsonload.c checks its UTF-8 as jansson does).
 * le_statefile_text(sf, i, &text, &len): 1 when the file has kept entry i exactly as
 *   state.c writes it (jansson's dump, indented, keys sorted, at its depth), with text and
 *   len its line or lines from the key's indentation to the closing brace; else 0. A save
 *   copies it instead of parsing and serialising the entry again.
 * le_statefile_entry(sf, i): kept entry i as jansson values (a new reference); NULL
 *   when out of memory.
 * le_statefile_shape(sf, i, arg_names): a stand-in for kept entry i with what statecheck.c's
 *   entry check reads, for it to pass or refuse the entry with the message it gives the
 *   entry itself: every member by its type (an object empty or not), "kind" with its
 *   value, an array's items by their types, and of "args" only the members named in
 *   arg_names (NULL-terminated), with their values. NULL when out of memory.
 * le_statefile_push(L, sf, i, field, memo): kept entry i pushed as le_json_to_lua pushes the
 *   entry's jansson value (field not NULL: only that member, or nil without it). memo, when
 *   not 0, is the stack index of a table the caller keeps for this alone: a member that is an object or an
 *   array whose text was pushed before through it is that same table again (made once per
 *   distinct text: every entry's target is one of a few records).
 * le_statefile_push_without(L, sf, i, left, n_left): kept entry i pushed as a table without
 *   its members named in left (n_left names), the others made as le_statefile_push makes them
 *   (a refresh makes the fields it reads back only when they differ: le_statefile_same).
 * le_statefile_push_in(L, sf, i, field, key): kept entry i's field[key] (nil when field is
 *   not an object or has no such key); in an entry as jansson's indented dump writes it, the
 *   member is found by the start of its line, without walking the members before it.
 * le_statefile_same(L, sf, i, field, idx): whether the Lua value at idx is what kept entry
 *   i's member field would be made into (le_jsonwalk_same; nil for a member it has not). */
#ifndef LAMBDAENG_STATEFILE_H
#define LAMBDAENG_STATEFILE_H

#include <jansson.h>
#include <stddef.h>

struct lua_State;
typedef struct le_statefile le_statefile;

#define LE_STATEFILE_MAX_DEPTH 64 /* inside an entry; deeper ones go the usual way */

int le_statefile_read(const char *text, size_t len, json_t **root, le_statefile **sf);
int le_statefile_text(const le_statefile *sf, size_t i, const char **text, size_t *len);
json_t *le_statefile_entry(const le_statefile *sf, size_t i);
json_t *le_statefile_shape(const le_statefile *sf, size_t i, const char *const *arg_names);
void le_statefile_push(struct lua_State *L, const le_statefile *sf, size_t i, const char *field, int memo);
void le_statefile_push_without(struct lua_State *L, const le_statefile *sf, size_t i, const char *const *left,
                               size_t n_left);
void le_statefile_push_in(struct lua_State *L, const le_statefile *sf, size_t i, const char *field, const char *key);
int le_statefile_same(struct lua_State *L, const le_statefile *sf, size_t i, const char *field, int idx);
void le_statefile_free(le_statefile *sf);

#endif
