/* eventstream.h — lambdaeng.native.eventstream: AWS event-stream messages (eventstream.c's
 * header comment describes message()). */
#ifndef LAMBDAENG_EVENTSTREAM_H
#define LAMBDAENG_EVENTSTREAM_H

struct lua_State;

int le_open_eventstream(struct lua_State *L);

#endif
