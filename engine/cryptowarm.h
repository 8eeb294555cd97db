/* cryptowarm.h — OpenSSL's one-time start-up run ahead on a thread of its own.
 *
 * The first SHA-256 of a process (a package's hash while the stack is evaluated, then
 * every signed request) makes OpenSSL 3 load its default provider and fill its algorithm
 * cache: ~4.6 M instructions (W3 of issue 19), once. plan and run start it at the very
 * beginning, where it runs on the other core while the Lua half starts and parses the
 * command line (~35 M instructions), so the loop thread's first fetch finds the cache
 * filled. OpenSSL's initialisation is thread-safe: a fetch that comes while the thread is
 * still at it waits for it or does the same work, never a different one.
 *
 * le_crypto_warm_start() starts the thread (nothing when it cannot: the first fetch then
 * does the work, as without it); le_crypto_warm_join() waits for it, and must be called
 * before the process exits (OpenSSL's clean-up at exit must not run beside it). */
#ifndef LAMBDAENG_CRYPTOWARM_H
#define LAMBDAENG_CRYPTOWARM_H

void le_crypto_warm_start(void);
void le_crypto_warm_join(void);

#endif
