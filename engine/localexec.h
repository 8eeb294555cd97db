/* localexec.h — lambdaeng.native.localexec: the local target's per-invocation work in C
 * (request ids, the Runtime API's /next header lines, the payload's JSON check); its
 * functions are described in localexec.c's header comment. */
#ifndef LAMBDAENG_LOCALEXEC_H
#define LAMBDAENG_LOCALEXEC_H

struct lua_State;

int le_open_localexec(struct lua_State *L);

#endif
