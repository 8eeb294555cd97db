/* looptimer.h — loop.sleep and loop.timer (looptimer.c), for loop.c's module.
 *
 * le_loop_open_timers(L): adds sleep and timer to the module table on top of L's stack
 *   (and registers the timer handle's class). What they do: loop.h. */
#ifndef LAMBDAENG_LOOPTIMER_H
#define LAMBDAENG_LOOPTIMER_H

struct lua_State;

void le_loop_open_timers(struct lua_State *L);

#endif
