/* funcanswer_read.h — a GetFunction answer's members read into spans of its text, for
 * funcanswer.c (which makes func.read's values of them; its header states the contract).
 *
 * le_funcanswer_read(r, text, len): r (zeroed, its L and the two map slots set, those slots
 * nil) filled from the answer: each string member a span (set 1; 2 when null), each integer a
 * number, Architectures' items, each layer's Arn, and the Tags and Environment.Variables maps made as Lua
 * tables in their slots (tags and variables: how many members each took). 0, or -1 when the
 * text is anything the reader does not take (funcanswer.h lists what): then the slots may
 * hold a partly made table, which the caller drops. */
#ifndef LAMBDAENG_FUNCANSWER_READ_H
#define LAMBDAENG_FUNCANSWER_READ_H

#include <stddef.h>

#include <lua.h>

#define LE_FUNCANSWER_MAX_ARCHITECTURES 4
#define LE_FUNCANSWER_MAX_LAYERS 5 /* (Lambda's own limit) */

typedef struct { /* a member's string: its bytes in the text; set 1, or 2: null (absent) */
  const char *s;
  size_t n;
  int set;
} le_funcanswer_span;

typedef struct {
  lua_Integer v;
  int set;
} le_funcanswer_number;

typedef struct {
  const unsigned char *p, *end;
  lua_State *L;
  int tags_slot, variables_slot; /* the stack slots the two maps are made in (nil before) */
  /* Configuration */
  le_funcanswer_span name, arn, runtime, role, handler, description, last_modified, code_sha256, kms,
      package_type, state, signing_job, signing_profile, mode, apply_on, optimization;
  le_funcanswer_number code_size, timeout, memory, size;
  le_funcanswer_span architectures[LE_FUNCANSWER_MAX_ARCHITECTURES];
  int narchitectures, has_architectures;
  le_funcanswer_span layers[LE_FUNCANSWER_MAX_LAYERS]; /* each layer's Arn */
  int nlayers;
  /* Code, Concurrency, Tags */
  le_funcanswer_span image_uri;
  le_funcanswer_number reserved;
  int tags, variables; /* how many members each map took */
  unsigned seen;       /* SEEN_ bits: each member at most once */
} le_funcanswer;

int le_funcanswer_read(le_funcanswer *r, const char *text, size_t len);

#endif
