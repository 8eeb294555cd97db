/* eventstream.h — lambdaeng.native.eventstream: AWS event-stream messages (eventstream.c's
 * header comment describes message()). */
#ifndef LAMBDAENG_EVENTSTREAM_H
#define LAMBDAENG_EVENTSTREAM_H

#include <stddef.h>

struct lua_State;

int le_open_eventstream(struct lua_State *L);

/* messages() over the len bytes at bytes, which need no terminator (nothing past them is
 * read): pushes what messages(bytes) returns, returns how many values it pushed. For the
 * fuzz target, whose copy of an input ends where its guard starts (a Lua string's NUL is
 * inside its allocation). */
int le_eventstream_messages(struct lua_State *L, const void *bytes, size_t len);

#endif
