#include "jsondecode.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "jsonlex.h"
#include "jsonspan.h"
#include "jsonspec.h"

/* The stack of a call: the arguments, then the spec compiled (engine/jsonspec.h) and its
 * names table (nil and nil without a spec), then the scratch buffer strings with escapes
 * are unescaped into (a userdata, made on first need). The upvalues: the compiled specs
 * by spec table (weak keys), and their metatable. */
enum { ARG_TEXT = 1, ARG_NULL, ARG_ARRAY_MT, ARG_SPEC, COMPILED, NAMES, SCRATCH };
enum { UP_SPECS = 1, UP_SPEC_MT };

#define MAX_DEPTH LE_SPEC_MAX_DEPTH /* deeper: the reference's (cjson allows 1000) */
#define DECLINE (-1)
#define GOT_VALUE 0
#define GOT_NULL 1 /* the null pushed; what it means is the container's to decide */

typedef struct {
  lua_State *L;
  const unsigned char *p, *end;
  size_t text_len;
  unsigned char *scratch;
  /* decode_items' reading of user input (all 0 for decode_response): nulls kept, and the top
   * object's member raw_name, when not a string, as its text (integers within 64 bits are
   * exact for both) */
  int user_input;
  const char *raw_name;
  size_t raw_len;
} decoder;

static void skip_space(decoder *d) { /* JSON's four; \v and \f are the reference's to judge */
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t')) d->p++;
}

/* 1: a byte that ends a plain run in a string (a quote, a backslash, a control byte). */
static const unsigned char string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};

/* The string whose opening quote is at p: its bytes, unescaped (in the scratch buffer
 * when it has escapes, so valid until the next string with escapes). */
static int string_bytes(decoder *d, const char **s, size_t *len) {
  const unsigned char *start = ++d->p, *p = start, *end = d->end;
  while (p < end && !string_stop[*p]) p++;
  if (p >= end || *p < 0x20) return DECLINE;
  if (*p == '"') { /* no escape: the text's own bytes */
    *s = (const char *)start;
    *len = (size_t)(p - start);
    d->p = p + 1;
    return GOT_VALUE;
  }
  if (!d->scratch) { /* an unescaped string is never longer than the text */
    d->scratch = lua_newuserdatauv(d->L, d->text_len, 0);
    lua_replace(d->L, SCRATCH);
  }
  const unsigned char *after = le_jsonlex_unescape(start, p, end, d->scratch, len);
  if (!after) return DECLINE;
  *s = (const char *)d->scratch;
  d->p = after;
  return GOT_VALUE;
}

/* The string whose opening quote is at p, pushed. */
static int parse_string(decoder *d) {
  const char *s;
  size_t len;
  if (string_bytes(d, &s, &len) != GOT_VALUE) return DECLINE;
  lua_pushlstring(d->L, s, len);
  return GOT_VALUE;
}

/* An object member's name pushed: the spec's own string for a field it names (no Lua
 * string made of the text's bytes), else a new one; *field: that field, or NULL. */
static int parse_key(decoder *d, const le_spec_node *object, const le_spec_field **field) {
  const char *s;
  size_t len;
  if (string_bytes(d, &s, &len) != GOT_VALUE) return DECLINE;
  *field = object ? le_spec_find_field(object, s, len) : NULL;
  if (*field) lua_rawgeti(d->L, NAMES, (*field)->name_index);
  else lua_pushlstring(d->L, s, len);
  return GOT_VALUE;
}

/* A number in JSON's grammar, read: an integral one as an integer (*i, 1 returned), exactly when
 * it fits 64 bits (as decode_exact and jansson read it: 9007199254740993 stays itself), one past
 * 64 bits declines (the caller's slower path decides: a shape's integer refuses it by name); a
 * real (*x, 0 returned) read as the reference reads it (an integral one below 2^53 an integer).
 * want_integer: anything but an integer declines. */
static int read_number(decoder *d, int want_integer, lua_Integer *i, double *x) {
  le_jsonlex_num n;
  if (le_jsonlex_number(d->p, d->end, &n) != 0) return DECLINE;
  d->p = n.end;
  if (LE_JSONLEX_SHORT_INTEGER(&n)) {
    *i = (lua_Integer)le_jsonlex_short_integer(&n);
    return 1;
  }
  long long exact;
  if (n.integral) {
    if (le_jsonlex_integer64(&n, &exact) != 0) return DECLINE;
    *i = (lua_Integer)exact;
    return 1;
  }
  int is_integer;
  if (le_jsonlex_number_value(&n, x, &is_integer, &exact) != 0) return DECLINE;
  if (is_integer) {
    *i = (lua_Integer)exact;
    return 1;
  }
  return want_integer ? DECLINE : 0;
}

/* The number at p pushed (read_number's). */
static int parse_number(decoder *d, int want_integer) {
  lua_Integer i;
  double x;
  int got = read_number(d, want_integer, &i, &x);
  if (got == DECLINE) return DECLINE;
  if (got) lua_pushinteger(d->L, i);
  else lua_pushnumber(d->L, x);
  return GOT_VALUE;
}

static int literal(decoder *d, const char *word, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return DECLINE;
  d->p += n;
  return GOT_VALUE;
}

/* The container whose opening byte is at p entered (its spaces passed): 1 when it is empty
 * (its closing byte passed too), else 0. */
static int enter_empty(decoder *d, unsigned char close) {
  d->p++;
  skip_space(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
    return 1;
  }
  return 0;
}

/* The ':' after a member's name, with the spaces around it: GOT_VALUE, or DECLINE. */
static int colon(decoder *d) {
  skip_space(d);
  if (d->p >= d->end || *d->p != ':') return DECLINE;
  d->p++;
  skip_space(d);
  return GOT_VALUE;
}

/* After a member or an item: 1 when a ',' follows (passed), 0 when the closing byte does
 * (passed), DECLINE otherwise. */
static int after_one(decoder *d, unsigned char close) {
  skip_space(d);
  if (d->p < d->end && *d->p == ',') {
    d->p++;
    return 1;
  }
  if (d->p < d->end && *d->p == close) {
    d->p++;
    return 0;
  }
  return DECLINE;
}

/* --- a member the reader skips (spec->skip): its value checked as parse_value reads it, the
 * same values declined, and nothing made (a refresh's GetFunction: ~a fifth of the answer) --- */

static int check_value(decoder *d, const le_spec_node *spec, int depth);

/* The object at p (spec: an object's fields, or a map's value). One with required names is
 * declined (the reference path checks it; no member a reader skips is such an object). */
static int check_object(decoder *d, const le_spec_node *spec, int kind, int depth) {
  const le_spec_node *object = kind == 'o' ? spec : NULL, *map_value = kind == 'm' ? spec->child : NULL;
  if ((kind == 'm' && !map_value) || (object && (object->nrequired || object->required_unnamed))) return DECLINE;
  if (enter_empty(d, '}')) return GOT_VALUE;
  for (int more = 1; more;) {
    const char *name;
    size_t len;
    skip_space(d);
    if (d->p >= d->end || *d->p != '"' || string_bytes(d, &name, &len) != GOT_VALUE) return DECLINE;
    const le_spec_field *field = object ? le_spec_find_field(object, name, len) : NULL;
    if (colon(d) == DECLINE) return DECLINE;
    int got = check_value(d, field ? field->spec : map_value, depth + 1);
    if (got == DECLINE || (got == GOT_NULL && map_value) || (more = after_one(d, '}')) == DECLINE) return DECLINE;
  }
  return GOT_VALUE;
}

/* The array at p (spec: an array's item). */
static int check_array(decoder *d, const le_spec_node *spec, int depth) {
  if (enter_empty(d, ']')) return GOT_VALUE;
  const le_spec_node *item = spec ? spec->child : NULL;
  if (spec && !item) return DECLINE;
  for (int more = 1; more;) {
    skip_space(d);
    int got = check_value(d, item, depth + 1);
    if (got == DECLINE || (got == GOT_NULL && item) || (more = after_one(d, ']')) == DECLINE) return DECLINE;
  }
  return GOT_VALUE;
}

/* The value at p (after its spaces) checked; spec NULL: none. */
static int check_value(decoder *d, const le_spec_node *spec, int depth) {
  if (d->p >= d->end || depth > MAX_DEPTH) return DECLINE;
  int kind = spec ? spec->kind : 0;
  const char *bytes;
  size_t len;
  lua_Integer i;
  double x;
  switch (*d->p) {
  case '{': return (!spec || kind == 'o' || kind == 'm') ? check_object(d, spec, kind, depth) : DECLINE;
  case '[': return (!spec || kind == 'a') ? check_array(d, spec, depth) : DECLINE;
  case '"': return (!spec || kind == 's') ? string_bytes(d, &bytes, &len) : DECLINE;
  case 't': return (!spec || kind == 'b') ? literal(d, "true", 4) : DECLINE;
  case 'f': return (!spec || kind == 'b') ? literal(d, "false", 5) : DECLINE;
  case 'n': return literal(d, "null", 4) == GOT_VALUE ? GOT_NULL : DECLINE;
  default:
    if (*d->p != '-' && !(*d->p >= '0' && *d->p <= '9')) return DECLINE;
    if (spec && kind != 'i' && kind != 'n') return DECLINE;
    return read_number(d, kind == 'i', &i, &x) == DECLINE ? DECLINE : GOT_VALUE;
  }
}

static int parse_value(decoder *d, const le_spec_node *spec, int depth);

/* The members of the object are left on the stack, key and value, and the table is
 * made at the end at its size (growing it member by member rehashes it each time its
 * size doubles); then they are set in the text's order, so that a name given twice
 * keeps its last value, as cjson's. */
static int set_members(lua_State *L, int first, int count, int narr) {
  lua_createtable(L, narr, narr ? 0 : count);
  int t = lua_gettop(L);
  if (narr) {
    for (int i = 0; i < count; i++) {
      lua_pushvalue(L, first + i);
      lua_rawseti(L, t, i + 1);
    }
  } else {
    for (int i = 0; i < count; i++) {
      lua_pushvalue(L, first + 2 * i);
      lua_pushvalue(L, first + 2 * i + 1);
      lua_rawset(L, t);
    }
  }
  return t;
}

/* Whether the object t has every required name of spec (a null member is absent). */
static int has_required(lua_State *L, const le_spec_node *spec, int t) {
  if (spec->required_unnamed) return 0; /* no object has it */
  for (size_t i = 0; i < spec->nrequired; i++) {
    lua_rawgeti(L, NAMES, spec->required[i].name_index);
    int type = lua_rawget(L, t);
    lua_pop(L, 1);
    if (type == LUA_TNIL) return 0;
  }
  return 1;
}

/* Whether the key just pushed is decode_items' raw_name. (This and push_raw are kept out of
 * parse_object, which decode_response runs for every member: inlined, they cost a GetFunction's
 * decode +1.1 % in instructions, out of line +0.3 %.) */
__attribute__((noinline)) static int is_raw_name(decoder *d) {
  size_t len;
  const char *key = lua_tolstring(d->L, -1, &len);
  return len == d->raw_len && memcmp(key, d->raw_name, len) == 0;
}

/* The value at p pushed as its text, as written (a null too). */
__attribute__((noinline)) static int push_raw(decoder *d) {
  const unsigned char *start = d->p, *after = le_json_skip_value(d->p, d->end);
  if (!after) return DECLINE;
  lua_pushlstring(d->L, (const char *)start, (size_t)(after - start));
  d->p = after;
  return GOT_VALUE;
}

/* The object at p (spec: an object's fields and required, or a map's value). */
static int parse_object(decoder *d, const le_spec_node *spec, int kind, int depth) {
  lua_State *L = d->L;
  const le_spec_node *object = kind == 'o' ? spec : NULL, *map_value = kind == 'm' ? spec->child : NULL;
  if (kind == 'm' && !map_value) return DECLINE;
  int first = lua_gettop(L) + 1, count = 0;
  for (int more = !enter_empty(d, '}'); more;) {
    luaL_checkstack(L, 6, "json.decode_response");
    skip_space(d);
    const le_spec_field *field;
    if (d->p >= d->end || *d->p != '"' || parse_key(d, object, &field) != GOT_VALUE) return DECLINE;
    int raw = d->raw_name && depth == 0 && is_raw_name(d), skipped = field && field->spec->skip;
    if (colon(d) == DECLINE) return DECLINE;
    if (skipped) lua_pop(L, 1); /* (its key) */
    int got = skipped ? check_value(d, field->spec, depth + 1)
              : raw && d->p < d->end && *d->p != '"' ? push_raw(d)
                                                     : parse_value(d, field ? field->spec : map_value, depth + 1);
    if (got == DECLINE) return DECLINE;
    if (got == GOT_NULL && !d->user_input && !skipped) {
      if (map_value) return DECLINE; /* a map's value is never null */
      lua_pop(L, 1);
      lua_pushnil(L); /* a null member is absent (and ends an earlier one of its name) */
    }
    count += !skipped;
    if ((more = after_one(d, '}')) == DECLINE) return DECLINE;
  }
  int t = set_members(L, first, count, 0);
  if (object && !has_required(L, object, t)) return DECLINE;
  lua_copy(L, t, first);
  lua_settop(L, first);
  return GOT_VALUE;
}

/* The array at p (spec: an array's item). */
static int parse_array(decoder *d, const le_spec_node *spec, int depth) {
  lua_State *L = d->L;
  if (enter_empty(d, ']')) {
    lua_newtable(L);
    lua_pushvalue(L, ARG_ARRAY_MT);
    lua_setmetatable(L, -2);
    return GOT_VALUE;
  }
  const le_spec_node *item = spec ? spec->child : NULL;
  if (spec && !item) return DECLINE;
  int first = lua_gettop(L) + 1, count = 0;
  for (int more = 1; more;) {
    luaL_checkstack(L, 4, "json.decode_response");
    skip_space(d);
    int got = parse_value(d, item, depth + 1);
    if (got == DECLINE || (got == GOT_NULL && item)) return DECLINE;
    count++;
    if ((more = after_one(d, ']')) == DECLINE) return DECLINE;
  }
  int t = set_members(L, first, count, count);
  lua_copy(L, t, first);
  lua_settop(L, first);
  return GOT_VALUE;
}

/* The value at p (after its spaces), pushed; spec NULL: none. */
static int parse_value(decoder *d, const le_spec_node *spec, int depth) {
  if (d->p >= d->end || depth > MAX_DEPTH) return DECLINE;
  int kind = spec ? spec->kind : 0;
  switch (*d->p) {
  case '{': return (!spec || kind == 'o' || kind == 'm') ? parse_object(d, spec, kind, depth) : DECLINE;
  case '[': return (!spec || kind == 'a') ? parse_array(d, spec, depth) : DECLINE;
  case '"': return (!spec || kind == 's') ? parse_string(d) : DECLINE;
  case 't':
  case 'f': {
    int is_true = *d->p == 't';
    if (spec && kind != 'b') return DECLINE;
    if (is_true ? literal(d, "true", 4) : literal(d, "false", 5)) return DECLINE;
    lua_pushboolean(d->L, is_true);
    return GOT_VALUE;
  }
  case 'n':
    if (literal(d, "null", 4)) return DECLINE;
    lua_pushvalue(d->L, ARG_NULL);
    return GOT_NULL;
  default:
    if (*d->p != '-' && !(*d->p >= '0' && *d->p <= '9')) return DECLINE;
    if (spec && kind != 'i' && kind != 'n') return DECLINE;
    return parse_number(d, kind == 'i');
  }
}

static int decode_response(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, ARG_TEXT, &len);
  luaL_checktype(L, ARG_NULL, LUA_TLIGHTUSERDATA);
  luaL_checktype(L, ARG_ARRAY_MT, LUA_TTABLE);
  int has_spec = lua_istable(L, ARG_SPEC);
  lua_settop(L, ARG_SPEC);
  const le_spec_node *spec = NULL;
  if (has_spec) {
    spec = le_spec_compiled(L, ARG_SPEC, lua_upvalueindex(UP_SPECS), lua_upvalueindex(UP_SPEC_MT));
    if (!spec) { /* memory, or specs nested deeper than any value: the reference path decides */
      lua_pushboolean(L, 0);
      return 1;
    }
    lua_getiuservalue(L, COMPILED, 1); /* NAMES */
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_pushnil(L); /* SCRATCH */
  decoder d = {.L = L, .p = (const unsigned char *)text, .end = (const unsigned char *)text + len, .text_len = len};
  skip_space(&d);
  int got = parse_value(&d, spec, 0);
  if (got == DECLINE || (got == GOT_NULL && spec)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  skip_space(&d);
  if (d.p != d.end) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -2);
  return 2;
}

/* decode_items(text, null, array_mt, from, to[, raw_name]): its stack is laid out as
 * decode_response's (ARG_SPEC, COMPILED and NAMES hold from, to and raw_name, read first;
 * no spec is used), SCRATCH above them. */
int le_json_decode_items(lua_State *L) {
  size_t len, raw_len = 0;
  const char *text = luaL_checklstring(L, ARG_TEXT, &len);
  luaL_checktype(L, ARG_NULL, LUA_TLIGHTUSERDATA);
  luaL_checktype(L, ARG_ARRAY_MT, LUA_TTABLE);
  lua_Integer from = luaL_checkinteger(L, 4), to = luaL_checkinteger(L, 5);
  const char *raw_name = luaL_optlstring(L, 6, NULL, &raw_len);
  luaL_argcheck(L, from >= 1 && from <= to + 1 && to <= (lua_Integer)len, 4, "not a span of the text");
  lua_settop(L, 6);
  lua_pushnil(L); /* SCRATCH */
  decoder d = {.L = L, .p = (const unsigned char *)text + from - 1, .end = (const unsigned char *)text + to,
               .text_len = len, .user_input = 1, .raw_name = raw_name, .raw_len = raw_len};
  lua_newtable(L);
  int items = lua_gettop(L);
  for (lua_Integer n = 1;; n++) {
    skip_space(&d);
    if (d.p >= d.end || parse_value(&d, NULL, 0) == DECLINE) break;
    lua_rawseti(L, items, n);
    skip_space(&d);
    if (d.p == d.end) return 1;
    if (*d.p != ',') break;
    d.p++;
  }
  lua_pushboolean(L, 0);
  return 1;
}

int le_json_push_decode_response(lua_State *L) {
  lua_newtable(L); /* the compiled specs, by spec table */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  le_spec_push_metatable(L);
  lua_pushcclosure(L, decode_response, 2);
  return 1;
}
