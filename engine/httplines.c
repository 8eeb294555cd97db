/* httplines.c — see httplines.h. */
#include "httplines.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "error.h"
#include "sigv4.h"

/* Where a header's name is not an HTTP token (RFC 9110: no space, colon, control
 * byte or separator), or its value holds a control byte no request can carry (C0 but
 * tab, and DEL: a CR or LF would end the line and start a header of the sender's
 * choosing, a NUL cut it): the offending byte's offset, or -1 when the header is
 * sendable. The same rule as aws/failures.lua's check, as a second guard for every
 * caller of http.request. */
static const char TOKEN_SEPARATORS[] = "\"(),/:;<=>?@[\\]{}";

static long bad_name_byte(const char *name, size_t len) {
  if (len == 0) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    /* (a letter, digit or '-': nearly every byte of a name) */
    if ((unsigned)((c | 32) - 'a') < 26u || c == '-' || (unsigned)(c - '0') < 10u) continue;
    if (c <= ' ' || c >= 127 || strchr(TOKEN_SEPARATORS, c)) return (long)i;
  }
  return -1;
}

/* Whether any of the 8 bytes in w is below 0x20 or is 0x7F (bytes past 0x7F never are):
 * eight bytes a step, so that a value costs ~2 instructions a byte, not ~7. */
static int word_may_hold_control(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  uint64_t del = w ^ (ones * 0x7F);
  return (below_space | ((del - ones) & ~del & highs)) != 0;
}

static long bad_value_byte(const char *value, size_t len) {
  size_t i = 0;
  for (uint64_t w; i + 8 <= len; i += 8) {
    memcpy(&w, value + i, 8);
    if (word_may_hold_control(w)) break; /* (a tab, or the byte itself: found below) */
  }
  for (; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if ((c < ' ' && c != '\t') || c == 127) return (long)i;
  }
  return -1;
}

/* The header's name for a message: at most 64 bytes, control bytes and bytes past ASCII as '?'. */
static void shown_name(char *out, size_t size, const char *name, size_t len) {
  size_t n = len < size - 1 ? len : size - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    out[i] = (c < ' ' || c >= 127) ? '?' : (char)c;
  }
  out[n] = '\0';
}

/* LE_OK, or LE_FAIL with err naming the header (never its value: it may be a secret).
 * check_value: the same for a header whose name is ours (Host, User-Agent, ...). */
static int check_value(const char *name, size_t name_len, const char *value, size_t value_len, le_error *err) {
  long at = bad_value_byte(value, value_len);
  if (at < 0) return LE_OK;
  char shown[65];
  shown_name(shown, sizeof shown, name, name_len);
  return le_error_code(err, "EINVAL", "the header %s holds a line break or control byte (0x%02X at byte %ld), which no HTTP "
                      "request can carry", shown, (unsigned char)value[at], at + 1);
}

static int check_header(const char *name, size_t name_len, const char *value, size_t value_len, le_error *err) {
  long at = bad_name_byte(name, name_len);
  if (at < 0) return check_value(name, name_len, value, value_len, err);
  if (name_len == 0) return le_error_code(err, "EINVAL", "a header has an empty name, which no HTTP request can carry");
  char shown[65];
  shown_name(shown, sizeof shown, name, name_len);
  return le_error_code(err, "EINVAL", "the header name \"%s\" holds a byte no header name may (0x%02X at byte %ld)", shown,
                      (unsigned char)name[at], at + 1);
}

/* The fields of the table at t named in names, each read once and kept on the stack:
 * at[i] is the index of names[i]'s value (nil when missing). A table with no metatable
 * (every caller's) is read raw with the names' strings the calling function holds as
 * upvalues from first_upvalue on (le_http_push_field_names): ~50 instructions a field
 * against ~150 for lua_getfield, which interns its C string each time. (A pass with
 * lua_next was measured slower still: it finds each key again and the tables hold more
 * than the fields read.) */
static void read_fields(lua_State *L, int t, const char *const *names, int count, int first_upvalue, int *at) {
  luaL_checkstack(L, count + LUA_MINSTACK, "request fields"); /* (the caller's LUA_MINSTACK kept) */
  int raw = !lua_getmetatable(L, t);
  if (!raw) lua_pop(L, 1);
  for (int i = 0; i < count; i++) {
    if (raw) {
      lua_pushvalue(L, lua_upvalueindex(first_upvalue + i));
      lua_rawget(L, t);
    } else {
      lua_getfield(L, t, names[i]);
    }
    at[i] = lua_gettop(L);
  }
}

static const char *const SPEC_FIELDS[LE_HTTP_SPEC_FIELDS] = {
    "method", "url", "body", "timeout", "max_body", "lazy_headers", "headers", "sign", "user_agent", "once"};

enum { S_HOST, S_PATH, S_QUERY, S_KEY_ID, S_SECRET, S_TOKEN, S_REGION, S_SERVICE, S_TIME, S_SIGN_BODY,
       S_NORMALIZE, S_SINGLE_ENCODE, S_COUNT };
static const char *const SIGN_FIELDS[S_COUNT] = {
    "host",   "path",    "query", "access_key_id", "secret_access_key", "session_token",
    "region", "service", "time",  "sign_body",     "normalize",         "single_encode"};

int le_http_push_field_names(lua_State *L) {
  luaL_checkstack(L, LE_HTTP_FIELD_NAMES, "request field names");
  for (int i = 0; i < LE_HTTP_SPEC_FIELDS; i++) lua_pushstring(L, SPEC_FIELDS[i]);
  for (int i = 0; i < S_COUNT; i++) lua_pushstring(L, SIGN_FIELDS[i]);
  return LE_HTTP_FIELD_NAMES;
}

void le_http_read_spec(lua_State *L, int spec, int at[LE_HTTP_SPEC_FIELDS]) {
  read_fields(L, spec, SPEC_FIELDS, LE_HTTP_SPEC_FIELDS, 1, at);
}

/* The string at index i (kept on the stack or in its table), or NULL when it is nil. */
static const char *opt_string(lua_State *L, int i, size_t *len) {
  return lua_isnil(L, i) ? NULL : luaL_checklstring(L, i, len);
}

/* "name: value" written at text, NUL-terminated; returns where the next line goes. */
static char *put_line(char *text, const char *name, const char *value) {
  size_t a = strlen(name), b = strlen(value);
  memcpy(text, name, a);
  memcpy(text + a, ": ", 2);
  memcpy(text + a + 2, value, b + 1);
  return text + a + 2 + b + 1;
}

/* A request's header pairs and lines are needed only until le_http_start has copied them
 * (into the request the own transport writes, or libcurl's list) or signed_lines has made
 * its strings of them: two buffers, kept and grown, serve every request (Lua runs on the
 * loop thread alone), where a userdata each cost a request two allocations and the
 * collector's marking and sweeping (~2 k instructions an Invoke, callgrind). */
typedef struct kept_room {
  void *data;
  size_t cap;
} kept_room;
static kept_room pairs_room, lines_room;

/* room's buffer with at least bytes (its old content not kept), or NULL when memory runs out. */
static void *room_for(kept_room *room, size_t bytes) {
  if (bytes > room->cap) {
    size_t cap = room->cap ? room->cap : 1024;
    while (cap < bytes) cap *= 2;
    void *data = malloc(cap);
    if (!data) return NULL;
    free(room->data);
    room->data = data;
    room->cap = cap;
  }
  return room->data;
}

/* The header lines of a request, in a buffer kept for the next request: the pointers,
 * then the lines themselves: the request's own headers, then
 * with spec.sign what SigV4 adds (signing them with Host first, as aws/client.lua
 * did in Lua), then spec.user_agent. Raises on misuse; a header that cannot be sent
 * (check_header) is an error value. Returns the line count, or -1 with err set. */
long le_http_header_lines(lua_State *L, const int at[LE_HTTP_SPEC_FIELDS], const char ***lines_out, le_error *err) {
  int hidx = at[LE_HTTP_SPEC_HEADERS];
  size_t n = lua_istable(L, hidx) ? lua_rawlen(L, hidx) : 0;
  luaL_checkstack(L, 16, "request headers");
  le_header *pairs = room_for(&pairs_room, (n + 1) * sizeof *pairs);
  if (!pairs) return luaL_error(L, "out of memory");
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, hidx, (lua_Integer)i + 1);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    size_t name_len, value_len;
    pairs[i + 1].name = luaL_checklstring(L, -2, &name_len);
    pairs[i + 1].value = luaL_checklstring(L, -1, &value_len);
    lua_pop(L, 3); /* the strings stay referenced by the headers table */
    if (check_header(pairs[i + 1].name, name_len, pairs[i + 1].value, value_len, err) != LE_OK) return -1;
  }
  le_sigv4_output out;
  memset(&out, 0, sizeof out);
  int sidx = at[LE_HTTP_SPEC_SIGN];
  if (lua_istable(L, sidx)) {
    le_sigv4_input in;
    memset(&in, 0, sizeof in);
    int f[S_COUNT];
    read_fields(L, sidx, SIGN_FIELDS, S_COUNT, LE_HTTP_SPEC_FIELDS + 1, f);
    size_t len;
    pairs[0].name = "Host";
    pairs[0].value = opt_string(L, f[S_HOST], &len);
    if (pairs[0].value && check_value("Host", 4, pairs[0].value, len, err) != LE_OK) return -1;
    in.method = opt_string(L, at[LE_HTTP_SPEC_METHOD], &len);
    in.path = opt_string(L, f[S_PATH], &len);
    in.query = opt_string(L, f[S_QUERY], &len);
    in.body = (const unsigned char *)opt_string(L, at[LE_HTTP_SPEC_BODY], &in.body_len);
    in.access_key_id = opt_string(L, f[S_KEY_ID], &len);
    in.secret_access_key = opt_string(L, f[S_SECRET], &len);
    in.session_token = opt_string(L, f[S_TOKEN], &len);
    if (in.session_token && check_value("X-Amz-Security-Token", 20, in.session_token, len, err) != LE_OK) return -1;
    in.region = opt_string(L, f[S_REGION], &len);
    in.service = opt_string(L, f[S_SERVICE], &len);
    if (!pairs[0].value || !in.method || !in.path || !in.access_key_id || !in.secret_access_key || !in.region ||
        !in.service)
      luaL_error(L, "http.request: sign needs host, path, access_key_id, secret_access_key, region and service, "
                    "and the request a method");
    in.timestamp = (time_t)luaL_checkinteger(L, f[S_TIME]);
    in.sign_body = lua_toboolean(L, f[S_SIGN_BODY]);
    in.normalize_path = lua_isnil(L, f[S_NORMALIZE]) ? 1 : lua_toboolean(L, f[S_NORMALIZE]);
    in.single_encode = lua_toboolean(L, f[S_SINGLE_ENCODE]);
    in.headers = pairs;
    in.header_count = n + 1;
    le_error serr;
    if (le_sigv4_sign(&in, &out, &serr) != LE_OK) luaL_error(L, "%s", serr.message);
  }
  size_t len;
  const char *agent = opt_string(L, at[LE_HTTP_SPEC_USER_AGENT], &len);
  if (agent && check_value("User-Agent", 10, agent, len, err) != LE_OK) {
    le_sigv4_output_free(&out);
    return -1;
  }
  size_t count = n + out.add_count + (agent ? 1 : 0);
  /* The pointers, then the lines "Name: value" one after the other. */
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += strlen(pairs[i + 1].name) + strlen(pairs[i + 1].value) + 3;
  for (size_t i = 0; i < out.add_count; i++) bytes += strlen(out.add_names[i]) + strlen(out.add_values[i]) + 3;
  if (agent) bytes += strlen("User-Agent") + len + 3;
  const char **lines = room_for(&lines_room, (count ? count : 1) * sizeof *lines + bytes);
  if (!lines) {
    le_sigv4_output_free(&out);
    return luaL_error(L, "out of memory");
  }
  char *text = (char *)(lines + (count ? count : 1));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) lines[k++] = text, text = put_line(text, pairs[i + 1].name, pairs[i + 1].value);
  for (size_t i = 0; i < out.add_count; i++)
    lines[k++] = text, text = put_line(text, out.add_names[i], out.add_values[i]);
  le_sigv4_output_free(&out);
  if (agent) lines[k++] = text, text = put_line(text, "User-Agent", agent);
  *lines_out = lines;
  return (long)count;
}

/* signed_lines(spec) -> { "Name: value", ... }: the header lines http.request sends
 * for spec (its `headers`, `sign` and `user_agent`), for the equivalence test with
 * signing from Lua (sigv4.sign); nil, message, "unsent", "EINVAL" when a header cannot be sent. */
int le_http_lua_signed_lines(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int at[LE_HTTP_SPEC_FIELDS];
  le_http_read_spec(L, 1, at);
  const char **lines;
  le_error err;
  long n = le_http_header_lines(L, at, &lines, &err);
  if (n < 0) {
    lua_pushnil(L);
    lua_pushstring(L, err.message);
    lua_pushstring(L, "unsent");
    lua_pushstring(L, err.code);
    return 4;
  }
  lua_createtable(L, (int)n, 0);
  for (long i = 0; i < n; i++) {
    lua_pushstring(L, lines[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

_Static_assert(LE_HTTP_SPEC_FIELDS + S_COUNT == LE_HTTP_FIELD_NAMES, "the field names http.request's functions hold");
