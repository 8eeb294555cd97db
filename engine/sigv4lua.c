/* sigv4lua.c — lambdaeng.native.sigv4, the Lua binding of sigv4.h: sign (a request's
 * headers or query signed, with the canonical request and string to sign for tests and
 * debugging) and uri_encode. */
#include "sigv4.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

/* Lua binding: sigv4.sign{ method=, path=, query=, headers={{name, value}...}, body=,
 * access_key_id=, secret_access_key=, session_token=, region=, service=, time=,
 * sign_body=, normalize=(default true), single_encode= (S3: the path signed as sent) } -> { headers = {{name, value}...},
 * canonical_request=, string_to_sign=, signature= } */

static const char *opt_field(lua_State *L, int idx, const char *name, size_t *len) {
  lua_getfield(L, idx, name);
  const char *s = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, len);
  lua_pop(L, 1); /* the table keeps the string alive */
  return s;
}

static int l_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  le_sigv4_input in;
  memset(&in, 0, sizeof in);
  size_t len = 0;
  in.method = opt_field(L, 1, "method", &len);
  in.path = opt_field(L, 1, "path", &len);
  in.query = opt_field(L, 1, "query", &len);
  in.body = (const unsigned char *)opt_field(L, 1, "body", &in.body_len);
  in.access_key_id = opt_field(L, 1, "access_key_id", &len);
  in.secret_access_key = opt_field(L, 1, "secret_access_key", &len);
  in.session_token = opt_field(L, 1, "session_token", &len);
  in.region = opt_field(L, 1, "region", &len);
  in.service = opt_field(L, 1, "service", &len);
  if (!in.method || !in.path || !in.access_key_id || !in.secret_access_key || !in.region || !in.service)
    return luaL_error(L, "sigv4.sign: method, path, access_key_id, secret_access_key, region and service are required");
  lua_getfield(L, 1, "time");
  in.timestamp = (time_t)luaL_optinteger(L, -1, (lua_Integer)time(NULL));
  lua_pop(L, 1);
  lua_getfield(L, 1, "sign_body");
  in.sign_body = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "normalize");
  in.normalize_path = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "single_encode");
  in.single_encode = lua_toboolean(L, -1);
  lua_pop(L, 1);

  lua_getfield(L, 1, "headers");
  int hidx = lua_gettop(L);
  size_t n = lua_istable(L, hidx) ? lua_rawlen(L, hidx) : 0;
  le_header *headers = lua_newuserdatauv(L, (n ? n : 1) * sizeof *headers, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, hidx, (lua_Integer)i + 1);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    headers[i].name = luaL_checkstring(L, -2);
    headers[i].value = luaL_checkstring(L, -1);
    lua_pop(L, 3); /* strings stay referenced by the headers table */
  }
  in.headers = headers;
  in.header_count = n;

  le_sigv4_output out;
  le_error err;
  /* Signing fails only when memory runs out, which raises as Lua's own allocations do. */
  if (le_sigv4_sign(&in, &out, &err) != LE_OK) return luaL_error(L, "%s", err.message);
  lua_createtable(L, 0, 4);
  lua_createtable(L, (int)out.add_count, 0);
  for (size_t i = 0; i < out.add_count; i++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, out.add_names[i]);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, out.add_values[i]);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "headers");
  lua_pushstring(L, out.canonical_request);
  lua_setfield(L, -2, "canonical_request");
  lua_pushstring(L, out.string_to_sign);
  lua_setfield(L, -2, "string_to_sign");
  lua_pushstring(L, out.signature);
  lua_setfield(L, -2, "signature");
  le_sigv4_output_free(&out);
  return 1;
}

static int l_uri_encode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char *e = le_uri_encode(s, len, lua_toboolean(L, 2));
  if (!e) return luaL_error(L, "out of memory");
  lua_pushstring(L, e);
  free(e);
  return 1;
}

int le_open_sigv4(lua_State *L) {
  static const luaL_Reg fns[] = {{"sign", l_sign}, {"uri_encode", l_uri_encode}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
