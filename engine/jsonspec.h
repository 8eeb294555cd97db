/* jsonspec.h — a response's shape (one of aws/shape.lua's tables) read into C once, for
 * the two one-pass readers of API answers: the decoder (jsondecode.c) and the canonical
 * writer (jsoncanon.c).
 *
 * A node holds what those readers would otherwise look up in the spec table at every
 * value: its kind, an array's item or a map's value, an object's fields whose spec is a
 * table (found by le_spec_find_field through a small hash table) and its required names. Each name
 * also has its place in the names table (the compiled userdata's user value), which holds
 * the spec's own string for it: the decoder pushes a member's key from there instead of
 * making (hashing, interning) a Lua string of the text's bytes.
 *
 * le_spec_compiled(L, idx, cache, mt): the spec table at idx compiled, or taken from cache
 * (a table with weak keys at stack index cache: a node lives as long as its spec table);
 * the compiled userdata (metatable mt, which le_spec_push_metatable makes: its __gc frees
 * the nodes) is left on the stack. NULL when memory runs out or the specs nest deeper than
 * any value can (nothing is then left on the stack): the caller declines. A change made
 * to a spec table after its first use is not seen (shape.lua's are constants). */
#ifndef LAMBDAENG_JSONSPEC_H
#define LAMBDAENG_JSONSPEC_H

#include <stddef.h>

struct lua_State;

#define LE_SPEC_MAX_DEPTH 100 /* the readers' value depth; a spec nests at most one deeper */

typedef struct le_spec_node le_spec_node;
typedef struct {
  char *name;
  size_t len;
  le_spec_node *spec; /* NULL for a required name */
  int name_index;     /* the name's place in the names table */
} le_spec_field;
struct le_spec_node {
  int kind;                 /* the kind's first byte; '?' when it has none */
  int skip;                 /* spec.skip: a member the reader does not read (jsondecode.c checks its
                             * value as the kind says, and makes nothing of it) */
  le_spec_node *child;      /* an array's item, a map's value; NULL: none */
  le_spec_field *fields;    /* an object's fields whose spec is a table, sorted by name */
  size_t nfields;
  le_spec_field *required;  /* an object's required names */
  size_t nrequired;
  int required_unnamed;     /* a required entry that is not a string: no object has it */
  unsigned *slots;          /* the fields by a hash of their names (a field's place + 1; 0: empty) */
  size_t slot_mask;
};

const le_spec_node *le_spec_compiled(struct lua_State *L, int idx, int cache, int mt);
void le_spec_push_metatable(struct lua_State *L);
/* The field of object node n with the name, or NULL. */
const le_spec_field *le_spec_find_field(const le_spec_node *n, const char *name, size_t len);

#endif
