/* localexec.c — the local target's per-invocation work in C (lambdaeng.native.localexec), each
 * part measured as a cost of every invocation when written in Lua:
 *   uuid_of(s, at) -> the 16 bytes at at in s as a version-4 id: 8-4-4-4-12 hex digits, the
 *     13th "4" and the 17th "a" (localtarget.lua's uuid_of_in_lua is its reference);
 *   next_headers(request_id, timeout, arn[, client_context]) -> the header lines (each ending
 *     in CRLF, for httpserver's respond) of the Runtime API's answer to /next: the request id,
 *     the deadline (now, in epoch milliseconds, plus timeout seconds), the function's ARN,
 *     the trace id (Root=1-<this second in 8 hex digits>-<the id's first 24 hex digits,
 *     dashes dropped>), the JSON content type and the client context; a value with CR or
 *     LF is left out, as respond drops such a field of a table;
 *   respond_next(id, request_id, timeout, arn, client_context | nil, payload): httpserver's
 *     respond(id, 200, next_headers(request_id, timeout, arn, client_context), payload), the
 *     lines built straight into the answer;
 *   is_json(text) -> true when text is one JSON value (jsonvalid.h); false is not certain:
 *     ask lua-cjson, which accepts a little more;
 *   is_hex(s) -> whether s is one or more hex digits and nothing else ("^%x+$"; the guard
 *     reads every request's 64-digit signature);
 *   invoke_name(method, path, query) -> NAME for POST /2015-03-31/functions/NAME/invocations
 *     with no query and a NAME without "/", "%" or ":", else nil (localrequest's plain Invoke);
 *   get_name(method, path, query) -> the same for GET /2015-03-31/functions/NAME (GetFunction:
 *     a refresh's every request; its patterns were ~10 k instructions a GetFunction);
 *   runtime_result(path[, expected]) -> request id, letters: what "^/2018%-06%-01/runtime/
 *     invocation/([^/]+)/(%a+)$" captures (a runtime's /response or /error), else nil; the
 *     id is expected itself when its bytes are expected's (the invocation in progress): a
 *     36-byte id is a short string, hashed and looked up when made (~0.4 k an invocation).
 * The two path readers were ~4 k instructions an invocation as string.find and sub in Lua. */
#include "localexec.h"

#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "httpserver.h"
#include "jsonvalid.h"

static const char HEX[] = "0123456789abcdef";

static int hex_digit(unsigned c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

static char *put_hex(char *o, unsigned long long v, int digits) {
  for (int i = digits - 1; i >= 0; i--) o[i] = HEX[v & 0xf], v >>= 4;
  return o + digits;
}

static unsigned long long big_endian(const unsigned char *b, int n) {
  unsigned long long v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | b[i];
  return v;
}

static int l_uuid_of(lua_State *L) {
  size_t len;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  lua_Integer at = luaL_checkinteger(L, 2);
  luaL_argcheck(L, at >= 1 && (size_t)at + 15 <= len, 2, "16 bytes from there");
  const unsigned char *b = s + at - 1;
  char id[36], *o = id;
  o = put_hex(o, big_endian(b, 4), 8);
  *o++ = '-';
  o = put_hex(o, big_endian(b + 4, 2), 4);
  *o++ = '-';
  *o++ = '4';
  o = put_hex(o, big_endian(b + 6, 2) & 0xfff, 3);
  *o++ = '-';
  *o++ = 'a';
  o = put_hex(o, big_endian(b + 8, 2) & 0xfff, 3);
  *o++ = '-';
  put_hex(o, big_endian(b + 10, 6), 12);
  lua_pushlstring(L, id, sizeof id);
  return 1;
}

static int has_line_break(const char *s, size_t n) { return memchr(s, '\r', n) || memchr(s, '\n', n); }

/* Appends name (a literal) and value n bytes long, and CRLF, onto out, whose room the
 * caller reserved; a value with a line break is left out (a value made here has none). */
#define PUT_FIELD(out, name, value, n) put_field(out, name, sizeof name - 1, value, n)
static void put_field(le_buffer *out, const char *name, size_t nl, const char *value, size_t n) {
  unsigned char *o = out->data + out->len;
  memcpy(o, name, nl);
  memcpy(o + nl, value, n);
  memcpy(o + nl + n, "\r\n", 2);
  out->len += nl + n + 2;
}

/* The /next answer's header lines from next_headers' arguments at first (request id,
 * timeout, ARN, client context or none) onto out; nonzero when out of memory. Its room
 * reserved once, each line copied in place (an append, a strlen and two memchr per line
 * cost ~250 instructions, ~1.2 k an invocation). */
static int next_lines(lua_State *L, int first, le_buffer *out) {
  size_t id_len, arn_len, context_len = 0;
  const char *id = luaL_checklstring(L, first, &id_len);
  lua_Number timeout = luaL_checknumber(L, first + 1);
  const char *arn = luaL_checklstring(L, first + 2, &arn_len);
  const char *context = luaL_optlstring(L, first + 3, NULL, &context_len);
  luaL_argcheck(L, timeout >= 0 && timeout < 1e9, first + 1, "seconds from 0");
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long deadline = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + (long long)(timeout * 1000);
  char digits[24];
  size_t nd = sizeof digits;
  do digits[--nd] = (char)('0' + deadline % 10), deadline /= 10;
  while (deadline > 0);
  char trace[7 + 8 + 1 + 24], *t = trace;
  memcpy(t, "Root=1-", 7);
  t = put_hex(t + 7, (unsigned long long)now.tv_sec & 0xffffffffULL, 8);
  *t++ = '-';
  for (size_t i = 0; i < id_len && t < trace + sizeof trace; i++)
    if (id[i] != '-') *t++ = id[i];
  /* the names (~190 bytes), CRLFs and values */
  if (le_buffer_reserve(out, 256 + id_len + sizeof digits + arn_len + sizeof trace + 16 + context_len)) return 1;
  if (!has_line_break(id, id_len)) PUT_FIELD(out, "Lambda-Runtime-Aws-Request-Id: ", id, id_len);
  PUT_FIELD(out, "Lambda-Runtime-Deadline-Ms: ", digits + nd, sizeof digits - nd);
  if (!has_line_break(arn, arn_len)) PUT_FIELD(out, "Lambda-Runtime-Invoked-Function-Arn: ", arn, arn_len);
  if (!has_line_break(trace, (size_t)(t - trace))) /* (it carries the request id's first digits) */
    PUT_FIELD(out, "Lambda-Runtime-Trace-Id: ", trace, (size_t)(t - trace));
  PUT_FIELD(out, "Content-Type: ", "application/json", 16);
  if (context && !has_line_break(context, context_len))
    PUT_FIELD(out, "Lambda-Runtime-Client-Context: ", context, context_len);
  return 0;
}

/* The lines' buffer, one for every answer (the lines are copied into the answer at once). */
static le_buffer next_space;

static int l_next_headers(lua_State *L) {
  next_space.len = 0;
  if (next_lines(L, 1, &next_space)) return luaL_error(L, "out of memory");
  lua_pushlstring(L, next_space.data ? (const char *)next_space.data : "", next_space.len);
  return 1;
}

/* respond_next(id, request_id, timeout, arn, client_context | nil, payload): httpserver's
 * respond(id, 200, next_headers(...), payload) without the header lines made a Lua string
 * and checked again (~2 k instructions an invocation). */
static int l_respond_next(lua_State *L) {
  long id = (long)luaL_checkinteger(L, 1);
  size_t plen;
  const char *payload = luaL_checklstring(L, 6, &plen);
  next_space.len = 0;
  int bad = next_lines(L, 2, &next_space) ||
            le_httpserver_respond_lines(id, 200, (const char *)next_space.data, next_space.len, payload, plen) != 0;
  if (bad) return luaL_error(L, "out of memory writing a response");
  return 0;
}

static int l_is_json(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  lua_pushboolean(L, le_json_valid(text, len));
  return 1;
}

static int l_is_hex(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  size_t i = 0;
  while (i < len && hex_digit((unsigned char)s[i])) i++;
  lua_pushboolean(L, len > 0 && i == len);
  return 1;
}

/* Pushes NAME when the request is `want` /2015-03-31/functions/NAME<suffix> with no query and
 * a NAME of one or more characters, none of them "/", "%" or ":"; else nil. */
static int plain_function(lua_State *L, const char *want, const char *suffix) {
  static const char PREFIX[] = "/2015-03-31/functions/";
  const size_t np = sizeof PREFIX - 1, ns = strlen(suffix), nw = strlen(want);
  size_t ml, pl, ql;
  const char *method = luaL_checklstring(L, 1, &ml);
  const char *path = luaL_checklstring(L, 2, &pl);
  luaL_checklstring(L, 3, &ql);
  if (ml != nw || memcmp(method, want, nw) != 0 || ql != 0 || pl <= np + ns || memcmp(path, PREFIX, np) != 0 ||
      memcmp(path + pl - ns, suffix, ns) != 0) {
    lua_pushnil(L);
    return 1;
  }
  const char *name = path + np;
  size_t nl = pl - np - ns;
  for (size_t i = 0; i < nl; i++)
    if (name[i] == '/' || name[i] == '%' || name[i] == ':') {
      lua_pushnil(L);
      return 1;
    }
  lua_pushlstring(L, name, nl);
  return 1;
}

static int l_invoke_name(lua_State *L) { return plain_function(L, "POST", "/invocations"); }

static int l_get_name(lua_State *L) { return plain_function(L, "GET", ""); }

static int ascii_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static int l_runtime_result(lua_State *L) {
  static const char PREFIX[] = "/2018-06-01/runtime/invocation/";
  const size_t np = sizeof PREFIX - 1;
  size_t pl;
  const char *path = luaL_checklstring(L, 1, &pl);
  if (pl > np && memcmp(path, PREFIX, np) == 0) {
    const char *id = path + np, *end = path + pl;
    const char *slash = memchr(id, '/', (size_t)(end - id));
    if (slash && slash > id && slash + 1 < end) {
      const char *w = slash + 1;
      while (w < end && ascii_letter((unsigned char)*w)) w++;
      if (w == end) {
        size_t el, il = (size_t)(slash - id);
        const char *expected = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &el) : NULL;
        if (expected && el == il && memcmp(expected, id, il) == 0) lua_pushvalue(L, 2);
        else lua_pushlstring(L, id, il);
        lua_pushlstring(L, slash + 1, (size_t)(end - slash - 1));
        return 2;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

int le_open_localexec(lua_State *L) {
  static const luaL_Reg functions[] = {{"uuid_of", l_uuid_of}, {"next_headers", l_next_headers},
                                       {"is_json", l_is_json},  {"is_hex", l_is_hex},
                                       {"invoke_name", l_invoke_name}, {"get_name", l_get_name},
                                       {"runtime_result", l_runtime_result},
                                       {"respond_next", l_respond_next},
                                       {NULL, NULL}};
  luaL_newlib(L, functions);
  return 1;
}
