/* httplines.c — see httplines.h. */
#include "httplines.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "error.h"
#include "sigv4.h"

static const char *opt_string(lua_State *L, int t, const char *name, size_t *len) {
  lua_getfield(L, t, name);
  const char *v = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, len);
  lua_pop(L, 1); /* the table keeps the string */
  return v;
}

/* "name: value" written at text, NUL-terminated; returns where the next line goes. */
static char *put_line(char *text, const char *name, const char *value) {
  size_t a = strlen(name), b = strlen(value);
  memcpy(text, name, a);
  memcpy(text + a, ": ", 2);
  memcpy(text + a + 2, value, b + 1);
  return text + a + 2 + b + 1;
}

/* The header lines of a request, pushed as one userdata holding the pointers and the
 * lines themselves: the request's own headers, then
 * with spec.sign what SigV4 adds (signing them with Host first, as aws/client.lua
 * did in Lua), then spec.user_agent. Raises on misuse. Returns the line count. */
size_t le_http_push_lines(lua_State *L, int spec, const char ***lines_out) {
  lua_getfield(L, spec, "headers");
  int hidx = lua_gettop(L);
  size_t n = lua_istable(L, hidx) ? lua_rawlen(L, hidx) : 0;
  luaL_checkstack(L, (int)n * 2 + 16, "request headers");
  le_header *pairs = lua_newuserdatauv(L, (n + 1) * sizeof *pairs, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, hidx, (lua_Integer)i + 1);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    pairs[i + 1].name = luaL_checkstring(L, -2);
    pairs[i + 1].value = luaL_checkstring(L, -1);
    lua_pop(L, 3); /* the strings stay referenced by the headers table */
  }
  le_sigv4_output out;
  memset(&out, 0, sizeof out);
  lua_getfield(L, spec, "sign");
  int sidx = lua_gettop(L);
  if (lua_istable(L, sidx)) {
    le_sigv4_input in;
    memset(&in, 0, sizeof in);
    size_t len;
    pairs[0].name = "Host";
    pairs[0].value = opt_string(L, sidx, "host", &len);
    in.method = opt_string(L, spec, "method", &len);
    in.path = opt_string(L, sidx, "path", &len);
    in.query = opt_string(L, sidx, "query", &len);
    in.body = (const unsigned char *)opt_string(L, spec, "body", &in.body_len);
    in.access_key_id = opt_string(L, sidx, "access_key_id", &len);
    in.secret_access_key = opt_string(L, sidx, "secret_access_key", &len);
    in.session_token = opt_string(L, sidx, "session_token", &len);
    in.region = opt_string(L, sidx, "region", &len);
    in.service = opt_string(L, sidx, "service", &len);
    if (!pairs[0].value || !in.method || !in.path || !in.access_key_id || !in.secret_access_key || !in.region ||
        !in.service)
      luaL_error(L, "http.request: sign needs host, path, access_key_id, secret_access_key, region and service, "
                    "and the request a method");
    lua_getfield(L, sidx, "time");
    in.timestamp = (time_t)luaL_checkinteger(L, -1);
    lua_getfield(L, sidx, "sign_body");
    in.sign_body = lua_toboolean(L, -1);
    lua_getfield(L, sidx, "normalize");
    in.normalize_path = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
    lua_getfield(L, sidx, "single_encode");
    in.single_encode = lua_toboolean(L, -1);
    lua_pop(L, 4);
    in.headers = pairs;
    in.header_count = n + 1;
    le_error err;
    if (le_sigv4_sign(&in, &out, &err) != LE_OK) luaL_error(L, "%s", err.message);
  }
  size_t len;
  const char *agent = opt_string(L, spec, "user_agent", &len);
  size_t count = n + out.add_count + (agent ? 1 : 0);
  /* One userdata: the pointers, then the lines "Name: value" one after the other. */
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += strlen(pairs[i + 1].name) + strlen(pairs[i + 1].value) + 3;
  for (size_t i = 0; i < out.add_count; i++) bytes += strlen(out.add_names[i]) + strlen(out.add_values[i]) + 3;
  if (agent) bytes += strlen("User-Agent") + len + 3;
  const char **lines = lua_newuserdatauv(L, (count ? count : 1) * sizeof *lines + bytes, 0);
  char *text = (char *)(lines + (count ? count : 1));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) lines[k++] = text, text = put_line(text, pairs[i + 1].name, pairs[i + 1].value);
  for (size_t i = 0; i < out.add_count; i++)
    lines[k++] = text, text = put_line(text, out.add_names[i], out.add_values[i]);
  le_sigv4_output_free(&out);
  if (agent) lines[k++] = text, text = put_line(text, "User-Agent", agent);
  *lines_out = lines;
  return count;
}

/* signed_lines(spec) -> { "Name: value", ... }: the header lines http.request sends
 * for spec (its `headers`, `sign` and `user_agent`), for the equivalence test with
 * signing from Lua (sigv4.sign). */
int le_http_lua_signed_lines(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char **lines;
  size_t n = le_http_push_lines(L, 1, &lines);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, lines[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}
