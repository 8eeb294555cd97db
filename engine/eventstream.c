/* eventstream.c — lambdaeng.native.eventstream: messages of the AWS event-stream encoding
 * (application/vnd.amazon.eventstream), as InvokeWithResponseStream answers with them.
 *
 * message(headers, payload) -> the bytes of one message: the prelude (total length,
 * headers' length, both 4-byte big-endian, then the prelude's CRC32), the headers, the
 * payload, then the CRC32 of all that came before. headers is a list of names and
 * values in turn ({ ":event-type", "PayloadChunk", ":message-type", "event" }), each
 * value written as a string header (type 7), in that order. A name over 255 bytes, a
 * value over 65,535, a payload over 16 MiB (what a reader takes: botocore refuses more)
 * or a list of odd length is misuse and raises. CRC32 is zlib's (IEEE 802.3). */
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

int le_open_eventstream(lua_State *L) {
  static const luaL_Reg fns[] = {{"message", l_message}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
