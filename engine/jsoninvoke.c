#include "jsoninvoke.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "error.h"
#include "hash.h"
#include "json.h"

/* The members in the order json.encode_plain sorts them (byte order of the keys), each
 * key written as it is printed; the arguments come in this order too. */
static const char *const KEYS[] = {"\"executed_version\":", "\"function_error\":", "\"log_result\":",
                                   "\"payload\":", "\"status_code\":"};
static const char *const NAMES[] = {"executed_version", "function_error", "log_result", "payload", "status_code"};
enum { N_MEMBERS = 5, PAYLOAD = 3, STATUS_CODE = 4 };
static const int ARG[] = {5, 3, 4, 2, 1}; /* (status_code, payload, function_error, log_result, executed_version) */

typedef struct {
  const char *s; /* NULL: absent */
  size_t n;
} member;

static int put_key(le_buffer *b, int i) {
  if (b->len > 1 && le_buffer_append(b, ",", 1) != LE_OK) return LE_FAIL; /* after "{" and a member */
  return le_buffer_append(b, KEYS[i], strlen(KEYS[i]));
}

/* The payload's bytes as text, or, when they are not UTF-8, as payload_base64. */
static int put_payload(le_buffer *b, member p) {
  size_t mark = b->len;
  if (put_key(b, PAYLOAD) != LE_OK) return LE_FAIL;
  if (le_json_put_string(b, p.s, p.n) == 0) return LE_OK;
  b->len = mark; /* not UTF-8 (or no memory: then the base64 fails too) */
  size_t len;
  char *encoded = le_base64_encode(p.s, p.n, &len);
  if (!encoded) return LE_FAIL;
  static const char key[] = "\"payload_base64\":\"";
  int ok = (b->len == 1 || le_buffer_append(b, ",", 1) == LE_OK) && le_buffer_append(b, key, sizeof key - 1) == LE_OK &&
           le_buffer_append(b, encoded, len) == LE_OK && le_buffer_append(b, "\"", 1) == LE_OK;
  free(encoded);
  return ok ? LE_OK : LE_FAIL;
}

/* The arguments read (and their types checked) before anything is allocated: a misuse
 * raises without leaving a buffer behind. The strings stay the caller's. */
static size_t read_members(lua_State *L, member *m, lua_Integer *status) {
  size_t total = 0;
  for (int i = 0; i < N_MEMBERS; i++) {
    int arg = ARG[i], type = lua_type(L, arg);
    m[i].s = NULL;
    if (type == LUA_TNIL || type == LUA_TNONE) continue; /* left out, as the encoder leaves out a nil */
    if (i == STATUS_CODE) {
      if (!lua_isinteger(L, arg)) luaL_argerror(L, arg, "status_code: an integer expected");
      *status = lua_tointeger(L, arg);
      m[i].s = "";
    } else {
      if (type != LUA_TSTRING) luaL_argerror(L, arg, lua_pushfstring(L, "%s: a string expected", NAMES[i]));
      m[i].s = lua_tolstring(L, arg, &m[i].n);
      total += m[i].n;
    }
  }
  return total;
}

int le_json_invoke_printed(lua_State *L) {
  member m[N_MEMBERS];
  lua_Integer status = 0;
  size_t total = read_members(L, m, &status);
  le_buffer b = {0};
  /* room for the usual text at once: keys, an integer, the strings with a few escapes */
  int rc = le_buffer_reserve(&b, 128 + total + total / 8) == LE_OK ? le_buffer_append(&b, "{", 1) : LE_FAIL;
  const char *not_utf8 = NULL;
  for (int i = 0; rc == LE_OK && i < N_MEMBERS; i++) {
    if (!m[i].s) continue;
    if (i == PAYLOAD) {
      rc = put_payload(&b, m[i]);
    } else if (i == STATUS_CODE) {
      rc = put_key(&b, i) == LE_OK ? le_json_put_integer(&b, (long long)status) : LE_FAIL;
    } else if (put_key(&b, i) != LE_OK || le_json_put_string(&b, m[i].s, m[i].n) != 0) {
      not_utf8 = NAMES[i]; /* (or no memory) */
      rc = LE_FAIL;
    }
  }
  if (rc == LE_OK) rc = le_buffer_append(&b, "}", 1);
  if (rc == LE_OK) lua_pushlstring(L, (const char *)b.data, b.len);
  le_buffer_free(&b);
  if (rc == LE_OK) return 1;
  lua_pushnil(L);
  if (not_utf8) lua_pushfstring(L, "the answer's %s is not valid UTF-8", not_utf8);
  else lua_pushliteral(L, "out of memory");
  return 2;
}
