/* statefilelua.c — statefile.h's kept entries made into Lua values (le_statefile_push,
 * _push_without, _push_in, _same), trusting the text the check passed (jsonwalk.h). */
#include "statefile.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "jsonwalk.h"
#include "statefilekept.h"

/* The object or array at value (its text up to end), from memo (a table at stack index memo)
 * when the same text was made into a table before, else made and kept there: memo[text] =
 * the table; memo[1], memo[2]: the last text and its table. The text at value is the last
 * one when it begins with it (a whole JSON value ends where its text says): then neither
 * its end is looked for nor its text made into a string (most entries share one target). */
static void push_shared(lua_State *L, int memo, const unsigned char *value, const unsigned char *end) {
  size_t n;
  lua_rawgeti(L, memo, 1);
  const char *last = lua_tolstring(L, -1, &n);
  int same = last && (size_t)(end - value) >= n && memcmp(last, value, n) == 0;
  lua_pop(L, 1);
  if (same) {
    lua_rawgeti(L, memo, 2);
    return;
  }
  const unsigned char *after = le_jsonwalk_skip(value, end);
  lua_pushlstring(L, (const char *)value, (size_t)(after - value));
  lua_pushvalue(L, -1);
  if (lua_rawget(L, memo) == LUA_TNIL) {
    lua_pop(L, 1);
    le_jsonwalk_push(L, value, end);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, memo);
  }
  lua_pushvalue(L, -2);
  lua_rawseti(L, memo, 1);
  lua_pushvalue(L, -1);
  lua_rawseti(L, memo, 2);
  lua_remove(L, -2); /* the text */
}

/* The value of kept entry e's member field (n bytes), or NULL without it. */
static const unsigned char *member_value(const le_statefile *sf, const kept_entry *e, const char *field, size_t n) {
  for (size_t m = e->first_member; m < e->first_member + e->members; m++) {
    const member *mb = &sf->members[m];
    if (mb->key_len == n && memcmp(sf->text + mb->key, field, n) == 0) return sf->text + mb->value;
  }
  return NULL;
}

void le_statefile_push(lua_State *L, const le_statefile *sf, size_t i, const char *field, int memo) {
  const kept_entry *e = &sf->entries[i];
  const unsigned char *end = sf->text + e->end;
  luaL_checkstack(L, 6, "reading a state entry");
  if (!field) {
    le_jsonwalk_push(L, sf->text + e->start, end);
    return;
  }
  const unsigned char *value = member_value(sf, e, field, strlen(field));
  if (!value) lua_pushnil(L);
  else if (memo && (*value == '{' || *value == '[')) push_shared(L, memo, value, end);
  else le_jsonwalk_push(L, value, end);
}

void le_statefile_push_without(lua_State *L, const le_statefile *sf, size_t i, const char *const *left, size_t n_left) {
  const kept_entry *e = &sf->entries[i];
  const unsigned char *end = sf->text + e->end;
  luaL_checkstack(L, 4, "reading a state entry");
  lua_createtable(L, 0, (int)e->members);
  for (size_t m = e->first_member; m < e->first_member + e->members; m++) {
    const member *mb = &sf->members[m];
    int skip = 0;
    for (size_t k = 0; k < n_left && !skip; k++)
      skip = strlen(left[k]) == mb->key_len && memcmp(left[k], sf->text + mb->key, mb->key_len) == 0;
    if (skip) continue;
    lua_pushlstring(L, (const char *)sf->text + mb->key, mb->key_len);
    le_jsonwalk_push(L, sf->text + mb->value, end);
    lua_rawset(L, -3);
  }
}

/* The key (n bytes) of the member of the object at obj, or NULL without it, when the text is
 * jansson's indented dump: each member then begins a line at the first one's indentation, a
 * string holds no raw newline, a nested value's lines are deeper and the object's closing line
 * is the first one with no space just before that indentation ("}" two less deep): so only the
 * lines' starts are looked at, not every member's value walked (a refresh's attrs.version is
 * the last of ~12 members: ~220 instructions each that way, ~40 a line this way). */
static const unsigned char *dumped_member(const unsigned char *obj, const unsigned char *end, const char *key,
                                          size_t n) {
  const unsigned char *at = le_jsonwalk_first(obj, end);
  if (!at) return NULL;
  size_t indent = 0;
  while (at - indent > obj && at[-1 - (ptrdiff_t)indent] == ' ') indent++;
  if (indent == 0) return NULL;
  for (;;) { /* at: a member's key */
    if ((size_t)(end - at) > n + 1 && at[n + 1] == '"' && memcmp(at + 1, key, n) == 0) return at;
    do { /* the next line at the members' depth that begins with a key */
      at = memchr(at, '\n', (size_t)(end - at));
      if (!at || (size_t)(end - at) <= indent + 1 || at[indent] != ' ') return NULL; /* the closing line */
      at += indent + 1;
    } while (*at != '"');
  }
}

void le_statefile_push_in(lua_State *L, const le_statefile *sf, size_t i, const char *field, const char *key) {
  const kept_entry *e = &sf->entries[i];
  const unsigned char *end = sf->text + e->end;
  const unsigned char *value = member_value(sf, e, field, strlen(field));
  luaL_checkstack(L, 2, "reading a state entry");
  size_t n = strlen(key);
  if (value && *value == '{' && e->canonical) {
    const unsigned char *at = dumped_member(value, end, key, n);
    if (at) le_jsonwalk_push(L, le_jsonwalk_member_value(at, end), end);
    else lua_pushnil(L);
    return;
  }
  if (value && *value == '{')
    for (const unsigned char *at = le_jsonwalk_first(value, end); at; at = le_jsonwalk_next(value, end)) {
      const unsigned char *close = memchr(at + 1, '"', (size_t)(end - at - 1)); /* (a kept key has no escape) */
      value = le_jsonwalk_space(le_jsonwalk_space(close + 1, end) + 1, end);
      if ((size_t)(close - at - 1) == n && memcmp(at + 1, key, n) == 0) {
        le_jsonwalk_push(L, value, end);
        return;
      }
    }
  lua_pushnil(L);
}

int le_statefile_same(lua_State *L, const le_statefile *sf, size_t i, const char *field, int idx) {
  const kept_entry *e = &sf->entries[i];
  const unsigned char *value = member_value(sf, e, field, strlen(field));
  if (!value) return lua_isnil(L, idx);
  return le_jsonwalk_same(L, value, sf->text + e->end, idx);
}
