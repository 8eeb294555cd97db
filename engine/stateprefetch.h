/* stateprefetch.h — a state file read and checked ahead, on a thread of its own, while the
 * command does something else: plan and run start it before they evaluate the stack
 * (W3 of issue 19: reading and checking a 1,000-entry file is ~34 M instructions, which
 * then run on the other core). No lock is held while it reads: the open that counts
 * (le_state_open_prefetched, under the lock) reads the file again and takes the prefetched
 * document only when the bytes it read are the very bytes the prefetch read and checked;
 * a file written in between is parsed and checked from what the open read, as without a
 * prefetch, and so is one the prefetch could not read or found wrong (the open then says
 * what is wrong, as always).
 *
 * The thread touches nothing but its own values (jansson's documents are per thread until
 * handed over; the join is the hand-over).
 *
 * Lua: state.prefetch(path) -> a handle for state.open(path, handle), which takes its
 * document once; collected, its thread is joined and what it holds freed. */
#ifndef LAMBDAENG_STATEPREFETCH_H
#define LAMBDAENG_STATEPREFETCH_H

#include <jansson.h>
#include <stddef.h>

#include "statefile.h"

typedef struct le_state_prefetch le_state_prefetch;

/* Starts reading path on a thread; NULL when out of memory or no thread could start
 * (the open then reads as usual). */
le_state_prefetch *le_state_prefetch_start(const char *path);

/* Waits for the prefetch. When it read exactly text[0..len) and that passed the checks,
 * moves its document out (root, the text its kept entries point into, those entries)
 * and returns 1; otherwise 0, and the caller parses text itself. */
int le_state_prefetch_take(le_state_prefetch *p, const char *text, size_t len, json_t **root, char **text_out,
                           le_statefile **file);

/* Waits for it and frees what it still holds. */
void le_state_prefetch_free(le_state_prefetch *p);

#endif
