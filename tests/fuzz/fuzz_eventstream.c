/* fuzz_eventstream — the event-stream reader (engine/eventstream.c's messages(), which
 * lambdaeng's own client reads an InvokeWithResponseStream answer with), through its Lua
 * face. An input is: one byte of flags (bit 0: each message's two CRCs written right before
 * reading, so that the fuzzer reaches the headers behind them), then the bytes. Checks: the
 * reader never reads past its input, never raises, and returns a list of messages, each
 * payload a string no longer than the input, or nil and a reason. The reader is given a
 * copy of exactly the input's bytes (le_eventstream_messages, what messages() runs on a
 * string's bytes): a Lua string ends in a NUL inside its own allocation, so a read of one
 * byte past the end went unseen; past the copy's end ASan reports it. One Lua state serves
 * every input (made at the first): a fresh state per input cost most of each run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "eventstream.h"

static void put_u32(unsigned char *at, uint32_t v) {
  at[0] = (unsigned char)(v >> 24), at[1] = (unsigned char)(v >> 16), at[2] = (unsigned char)(v >> 8);
  at[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *at) {
  return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

/* Writes the CRCs of every message whose lengths fit in b. */
static void write_crcs(unsigned char *b, size_t len) {
  while (len >= 16) {
    size_t total = get_u32(b);
    if (total < 16 || total > len) return;
    put_u32(b + 8, (uint32_t)crc32(0L, b, 8));
    put_u32(b + total - 4, (uint32_t)crc32(0L, b, (uInt)(total - 4)));
    b += total, len -= total;
  }
}

/* messages() over (light userdata bytes, integer len): le_eventstream_messages on them. */
static int messages_of_copy(lua_State *L) {
  const void *bytes = lua_touserdata(L, 1);
  size_t len = (size_t)lua_tointeger(L, 2);
  lua_settop(L, 0);
  return le_eventstream_messages(L, bytes, len);
}

/* The state, with messages_of_copy at index 1 of its stack: each input's values above it. */
static lua_State *L;

static void open_state(void) {
  L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  lua_settop(L, 0);
  lua_pushcfunction(L, messages_of_copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t len = size - 1;
  unsigned char *b = malloc(len ? len : 1); /* exactly len bytes: the guard starts at b + len */
  if (!b) abort();
  memcpy(b, data + 1, len);
  if (data[0] & 1) write_crcs(b, len);
  if (!L) open_state();
  lua_pushvalue(L, 1);
  lua_pushlightuserdata(L, b);
  lua_pushinteger(L, (lua_Integer)len);
  if (lua_pcall(L, 2, 2, 0) != LUA_OK) { /* bytes are never misuse: it must not raise */
    fprintf(stderr, "fuzz_eventstream: %s\n", lua_tostring(L, -1));
    abort();
  }
  if (lua_isnil(L, -2)) {
    if (!lua_isstring(L, -1)) abort();
  } else {
    if (!lua_istable(L, -2)) abort();
    lua_Integer n = luaL_len(L, -2);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      lua_getfield(L, -1, "payload");
      if (!lua_isstring(L, -1) || luaL_len(L, -1) > (lua_Integer)len) abort();
      lua_pop(L, 2);
    }
  }
  lua_settop(L, 1);
  free(b);
  return 0;
}
