#include "jsonitems.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "jsonlex.h"

#define MAX_DEPTH 100 /* as jsondecode.c: deeper is the decoder's to judge */

typedef struct {
  const unsigned char *p, *end;
} scanner;

static void skip_space(scanner *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static int hex_digit(unsigned c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string after its opening quote, checked as le_jsonlex_unescape checks it (the same
 * texts declined) but without writing it anywhere. 0, or -1 to decline. */
static int skip_string(scanner *s) {
  const unsigned char *p = s->p, *end = s->end;
  while (p < end && *p != '"') {
    unsigned c = *p;
    if (c < 0x20) return -1;
    if (c != '\\') {
      p++;
      continue;
    }
    if (end - p < 2) return -1;
    if (p[1] == 'u') {
      if (end - p < 6 || !hex_digit(p[2]) || !hex_digit(p[3]) || !hex_digit(p[4]) || !hex_digit(p[5])) return -1;
      char hex[5] = {(char)p[2], (char)p[3], (char)p[4], (char)p[5], 0};
      unsigned long cp = strtoul(hex, NULL, 16);
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
      p += 6;
      continue;
    }
    if (!memchr("\"\\/bfnrt", p[1], 8)) return -1;
    p += 2;
  }
  if (p >= end) return -1;
  s->p = p + 1;
  return 0;
}

static int skip_literal(scanner *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return -1;
  s->p += n;
  return 0;
}

static int skip_value(scanner *s, int depth);

/* An array or object after its opening bracket: its items (an object's as "name": value). */
static int skip_container(scanner *s, int depth, unsigned char close) {
  if (depth > MAX_DEPTH) return -1;
  skip_space(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    return 0;
  }
  for (;;) {
    skip_space(s);
    if (close == '}') {
      if (s->p >= s->end || *s->p != '"') return -1;
      s->p++;
      if (skip_string(s) != 0) return -1;
      skip_space(s);
      if (s->p >= s->end || *s->p != ':') return -1;
      s->p++;
      skip_space(s);
    }
    if (skip_value(s, depth) != 0) return -1;
    skip_space(s);
    if (s->p >= s->end) return -1;
    unsigned char c = *s->p++;
    if (c == close) return 0;
    if (c != ',') return -1;
  }
}

static int skip_value(scanner *s, int depth) {
  if (s->p >= s->end) return -1;
  switch (*s->p) {
  case '{': s->p++; return skip_container(s, depth + 1, '}');
  case '[': s->p++; return skip_container(s, depth + 1, ']');
  case '"': s->p++; return skip_string(s);
  case 't': return skip_literal(s, "true");
  case 'f': return skip_literal(s, "false");
  case 'n': return skip_literal(s, "null");
  default: {
    le_jsonlex_num n;
    if (le_jsonlex_number(s->p, s->end, &n) != 0) return -1;
    s->p = n.end;
    return 0;
  }
  }
}

/* Fills starts and ends (at stack indexes 2 and 3) with each item's place; 0, or -1 to decline. */
static int scan_items(lua_State *L, scanner *s, const unsigned char *text, int *all_objects) {
  lua_Integer n = 0;
  *all_objects = 1;
  skip_space(s);
  if (s->p >= s->end || *s->p != '[') return -1;
  s->p++;
  for (;;) {
    skip_space(s);
    const unsigned char *start = s->p;
    if (start < s->end && *start != '{') *all_objects = 0;
    if (skip_value(s, 1) != 0) return -1;
    n++;
    lua_pushinteger(L, start - text + 1);
    lua_rawseti(L, 2, n);
    lua_pushinteger(L, s->p - text);
    lua_rawseti(L, 3, n);
    skip_space(s);
    if (s->p >= s->end) return -1;
    unsigned char c = *s->p++;
    if (c == ']') break;
    if (c != ',') return -1;
  }
  skip_space(s);
  return s->p == s->end ? 0 : -1;
}

int le_json_array_items(lua_State *L) {
  size_t len;
  const unsigned char *text = (const unsigned char *)luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  lua_newtable(L);
  lua_newtable(L);
  scanner s = {text, text + len};
  int all_objects;
  if (scan_items(L, &s, text, &all_objects) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, all_objects);
  return 3;
}
