#include "jsonspan.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "jsonlex.h"

typedef struct {
  const unsigned char *p, *end;
} cursor;

static void skip_space(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

/* A string after its opening quote: to the byte after its closing quote. 0, or -1 at the end. */
static int skip_string(cursor *c) {
  const unsigned char *p = c->p, *end = c->end;
  while (p < end) {
    if (*p == '\\') {
      if (end - p < 2) return -1;
      p += 2;
      continue;
    }
    if (*p++ == '"') {
      c->p = p;
      return 0;
    }
  }
  return -1;
}

/* Whether b ends a number or a literal (written as the decoder took it). */
static int ends_scalar(unsigned char b) {
  switch (b) {
  case ',': case ']': case '}': case ' ': case '\n': case '\r': case '\t': return 1;
  default: return 0;
  }
}

/* Any value: a container to its closing bracket (the brackets counted, strings skipped),
 * anything else to the first byte that ends it. 0, or -1 at the end or before a value. */
static int skip_value(cursor *c) {
  if (c->p >= c->end) return -1;
  unsigned char first = *c->p;
  if (first != '{' && first != '[') {
    if (first == '"') {
      c->p++;
      return skip_string(c);
    }
    const unsigned char *start = c->p;
    while (c->p < c->end && !ends_scalar(*c->p)) c->p++;
    return c->p > start ? 0 : -1;
  }
  size_t depth = 0;
  while (c->p < c->end) {
    unsigned char b = *c->p++;
    if (b == '"') {
      if (skip_string(c) != 0) return -1;
    } else if (b == '{' || b == '[') {
      depth++;
    } else if ((b == '}' || b == ']') && --depth == 0) {
      return 0;
    }
  }
  return -1;
}

const unsigned char *le_json_skip_value(const unsigned char *p, const unsigned char *end) {
  cursor c = {.p = p, .end = end};
  return skip_value(&c) == 0 ? c.p : NULL;
}

/* Whether the key whose bytes lie in [k, k_end) (its closing quote at k_end) reads as name. */
static int key_is(const unsigned char *k, const unsigned char *k_end, const char *name, size_t name_len) {
  size_t n = (size_t)(k_end - k);
  if (!memchr(k, '\\', n)) return n == name_len && memcmp(k, name, n) == 0;
  unsigned char out[256];
  size_t len;
  if (n > 6 * name_len || n >= sizeof out) return 0; /* each byte of name written as at most \uXXXX */
  if (!le_jsonlex_unescape(k, k, k_end + 1, out, &len)) return 0; /* \u0000, a surrogate: not a name's byte */
  return len == name_len && memcmp(out, name, len) == 0;
}

int le_json_member_span(lua_State *L) {
  size_t len, name_len;
  const unsigned char *text = (const unsigned char *)luaL_checklstring(L, 1, &len);
  const char *name = luaL_checklstring(L, 2, &name_len);
  lua_Integer from = luaL_optinteger(L, 3, 1);
  luaL_argcheck(L, from >= 1 && (size_t)from <= len + 1, 3, "out of the text");
  cursor c = {text + from - 1, text + len};
  const unsigned char *found = NULL, *found_end = NULL;
  skip_space(&c);
  if (c.p >= c.end || *c.p != '{') return 0;
  c.p++;
  skip_space(&c);
  if (c.p < c.end && *c.p == '}') return 0;
  for (;;) {
    if (c.p >= c.end || *c.p != '"') return 0;
    const unsigned char *key = ++c.p;
    if (skip_string(&c) != 0) return 0;
    const unsigned char *key_end = c.p - 1;
    skip_space(&c);
    if (c.p >= c.end || *c.p != ':') return 0;
    c.p++;
    skip_space(&c);
    const unsigned char *value = c.p;
    if (skip_value(&c) != 0) return 0;
    if (key_is(key, key_end, name, name_len)) found = value, found_end = c.p;
    skip_space(&c);
    if (c.p >= c.end) return 0;
    unsigned char sep = *c.p++;
    if (sep == '}') break;
    if (sep != ',') return 0;
    skip_space(&c);
  }
  if (!found) return 0;
  lua_pushinteger(L, found - text + 1);
  lua_pushinteger(L, found_end - text);
  return 2;
}

int le_json_item_starts(lua_State *L) {
  size_t len;
  const unsigned char *text = (const unsigned char *)luaL_checklstring(L, 1, &len);
  cursor c = {text, text + len};
  skip_space(&c);
  if (c.p >= c.end || *c.p != '[') return 0;
  c.p++;
  lua_newtable(L);
  skip_space(&c);
  if (c.p < c.end && *c.p == ']') return 1;
  for (lua_Integer n = 1;; n++) {
    lua_pushinteger(L, c.p - text + 1);
    lua_rawseti(L, -2, n);
    if (skip_value(&c) != 0) return 0;
    skip_space(&c);
    if (c.p >= c.end) return 0;
    unsigned char sep = *c.p++;
    if (sep == ']') return 1;
    if (sep != ',') return 0;
    skip_space(&c);
  }
}
