/* eventstream.c — lambdaeng.native.eventstream: messages of the AWS event-stream encoding
 * (application/vnd.amazon.eventstream), as InvokeWithResponseStream answers with them.
 *
 * message(headers, payload) -> the bytes of one message: the prelude (total length,
 * headers' length, both 4-byte big-endian, then the prelude's CRC32), the headers, the
 * payload, then the CRC32 of all that came before. headers is a list of names and
 * values in turn ({ ":event-type", "PayloadChunk", ":message-type", "event" }), each
 * value written as a string header (type 7), in that order. A name over 255 bytes, a
 * value over 65,535, a payload over 16 MiB (what a reader takes: botocore refuses more)
 * or a list of odd length is misuse and raises. CRC32 is zlib's (IEEE 802.3).
 *
 * messages(bytes) reads such messages back, as lambdaeng's own client reads an
 * InvokeWithResponseStream answer: each message's two CRCs checked, its headers of any
 * type (booleans, integers of 1 to 8 bytes and timestamps as integers, byte arrays,
 * strings and UUIDs as strings). */
#include "eventstream.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include <lauxlib.h>
#include <lua.h>

#define PRELUDE_BYTES 12
#define MAX_PAYLOAD (16 * 1024 * 1024)
#define MAX_HEADERS_BYTES (128 * 1024)
#define STRING_HEADER 7

static void put_u32(unsigned char *at, uint32_t v) {
  at[0] = (unsigned char)(v >> 24);
  at[1] = (unsigned char)(v >> 16);
  at[2] = (unsigned char)(v >> 8);
  at[3] = (unsigned char)v;
}

/* The bytes the headers of the list at index 1 take, each checked (a misuse raises
 * before anything is allocated). */
static size_t headers_size(lua_State *L) {
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n % 2 == 0, 1, "names and values in turn (an even count)");
  size_t size = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len = 0;
    lua_rawgeti(L, 1, i);
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "header names and values are strings");
    lua_tolstring(L, -1, &len);
    lua_pop(L, 1);
    if (i % 2 == 1) luaL_argcheck(L, len > 0 && len <= 255, 1, "a header name is 1 to 255 bytes");
    else luaL_argcheck(L, len <= 65535, 1, "a header value is at most 65,535 bytes");
    size += len + (i % 2 == 1 ? 1 : 3); /* name: its length byte; value: its type and length */
  }
  luaL_argcheck(L, size <= MAX_HEADERS_BYTES, 1, "headers of at most 128 KiB");
  return size;
}

/* Writes the headers (checked by headers_size) at `at`. */
static void write_headers(lua_State *L, unsigned char *at) {
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len = 0;
    lua_rawgeti(L, 1, i);
    const char *s = lua_tolstring(L, -1, &len);
    if (i % 2 == 1) {
      *at++ = (unsigned char)len;
    } else {
      *at++ = STRING_HEADER;
      *at++ = (unsigned char)(len >> 8);
      *at++ = (unsigned char)len;
    }
    memcpy(at, s, len);
    at += len;
    lua_pop(L, 1);
  }
}

static int l_message(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t plen = 0;
  const char *payload = luaL_optlstring(L, 2, "", &plen);
  luaL_argcheck(L, plen <= MAX_PAYLOAD, 2, "a payload of at most 16 MiB");
  size_t headers_len = headers_size(L), total = PRELUDE_BYTES + headers_len + plen + 4;
  luaL_Buffer b;
  unsigned char *m = (unsigned char *)luaL_buffinitsize(L, &b, total);
  put_u32(m, (uint32_t)total);
  put_u32(m + 4, (uint32_t)headers_len);
  put_u32(m + 8, (uint32_t)crc32(0L, m, 8));
  write_headers(L, m + PRELUDE_BYTES);
  if (plen) memcpy(m + PRELUDE_BYTES + headers_len, payload, plen);
  put_u32(m + total - 4, (uint32_t)crc32(0L, m, (uInt)(total - 4)));
  luaL_pushresultsize(&b, total);
  return 1;
}

static uint32_t get_u32(const unsigned char *at) {
  return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static uint64_t get_u64(const unsigned char *at) { return (uint64_t)get_u32(at) << 32 | get_u32(at + 4); }

/* Pushes the value of the header at h (end: the headers' end) and returns the bytes it
 * took, or 0 when it does not fit or its type is unknown (nothing pushed). */
static size_t push_header_value(lua_State *L, const unsigned char *h, const unsigned char *end) {
  static const size_t fixed[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16}; /* by type; 6 and 7 have a length */
  if (h >= end || *h > 9) return 0;
  unsigned type = *h++;
  size_t n = fixed[type];
  if (type == 6 || type == 7) {
    if (end - h < 2) return 0;
    n = 2 + ((size_t)h[0] << 8 | h[1]);
  }
  if ((size_t)(end - h) < n) return 0;
  switch (type) {
    case 0: case 1: lua_pushboolean(L, type == 0); break;
    case 2: lua_pushinteger(L, (int8_t)h[0]); break;
    case 3: lua_pushinteger(L, (int16_t)((uint16_t)h[0] << 8 | h[1])); break;
    case 4: lua_pushinteger(L, (int32_t)get_u32(h)); break;
    case 5: case 8: lua_pushinteger(L, (lua_Integer)(int64_t)get_u64(h)); break;
    case 6: case 7: lua_pushlstring(L, (const char *)h + 2, n - 2); break;
    default: lua_pushlstring(L, (const char *)h, n); break; /* a UUID's 16 bytes */
  }
  return 1 + n;
}

/* Reads one message at m (len bytes left) into a table { headers = { name = value },
 * payload = bytes } pushed on the stack; returns its length, or 0 with *why set. */
static size_t read_message(lua_State *L, const unsigned char *m, size_t len, const char **why) {
  if (len < PRELUDE_BYTES + 4) return *why = "a message cut short", 0;
  size_t total = get_u32(m), headers_len = get_u32(m + 4);
  if (total < PRELUDE_BYTES + 4 || total > len || headers_len > total - PRELUDE_BYTES - 4)
    return *why = total > len ? "a message cut short" : "a message's lengths do not add up", 0;
  if (get_u32(m + 8) != (uint32_t)crc32(0L, m, 8)) return *why = "a message's prelude CRC does not match", 0;
  if (get_u32(m + total - 4) != (uint32_t)crc32(0L, m, (uInt)(total - 4))) return *why = "a message's CRC does not match", 0;
  lua_createtable(L, 0, 2);
  lua_newtable(L);
  const unsigned char *h = m + PRELUDE_BYTES, *end = h + headers_len;
  while (h < end) {
    size_t name_len = *h++;
    if (name_len == 0 || (size_t)(end - h) < name_len) return lua_pop(L, 2), *why = "a header cut short", 0;
    lua_pushlstring(L, (const char *)h, name_len);
    size_t took = push_header_value(L, h + name_len, end);
    if (!took) return lua_pop(L, 3), *why = "a header of an unknown type or cut short", 0;
    lua_rawset(L, -3);
    h += name_len + took;
  }
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, (const char *)end, total - PRELUDE_BYTES - headers_len - 4);
  lua_setfield(L, -2, "payload");
  return total;
}

/* messages(bytes) -> { { headers = { name = value }, payload = bytes }, ... } in order |
 * nil, why the bytes are not whole messages (a CRC, a length, a header). */
int le_eventstream_messages(lua_State *L, const void *bytes, size_t len) {
  const unsigned char *base = bytes, *at = base;
  lua_newtable(L);
  for (lua_Integer i = 1; len > 0; i++) {
    const char *why = NULL;
    size_t took = read_message(L, at, len, &why);
    if (!took) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s (message %d, byte %d)", why, (int)i, (int)(at - base));
      return 2;
    }
    lua_rawseti(L, -2, i);
    at += took;
    len -= took;
  }
  return 1;
}

static int l_messages(lua_State *L) {
  size_t len = 0;
  const char *bytes = luaL_checklstring(L, 1, &len);
  return le_eventstream_messages(L, bytes, len);
}

int le_open_eventstream(lua_State *L) {
  static const luaL_Reg fns[] = {{"message", l_message}, {"messages", l_messages}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
