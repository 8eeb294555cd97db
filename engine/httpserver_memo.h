/* httpserver_memo.h — the check's kept answer (option check_memo, httpserver.h): a check
 * whose answer depends only on a request's method, target, peer uid and a few named
 * headers (and the clock) says so, and a later request with the same of all those gets the
 * same answer without the Lua check being called (a client sends the same headers with
 * every request: the local target's guard was ~9 k instructions an Invoke).
 *
 * check_memo = { names = { lower-case header names, at most 8 }, signature = one of them }:
 *   when the check passes a request with nil, limit, type, message, from, until (numbers:
 *   seconds since the epoch), its answer is kept with the request's method, target, peer
 *   uid and the named headers' values (present or absent; a name given twice is not kept).
 *   A later request whose own are equal, while from <= time(NULL) <= until, gets that body
 *   limit and 413's words. The signature header's value may differ in its last 64
 *   characters when they are hex digits (a SigV4 signature: what the check read of it is
 *   the part before, and that the rest are 64 hex digits). Any other answer keeps nothing.
 *   LE_MEMO_SLOTS answers are kept, the least recently given or kept replaced first: clients
 *   that take turns (one key, hence one Authorization, each) each find theirs; with one slot
 *   4 clients in turn had the check called for every request, 1,000 of 1,000.
 * check_memo.any_path = { method names }: for these methods the check's answer depends on the
 *   target's query and not on its path (the local target's guard gives every GET one body
 *   limit: a refresh's GetFunctions, one path each, get the kept answer); the query (from
 *   "?", or none) must still be the kept one's. */
#ifndef LAMBDAENG_HTTPSERVER_MEMO_H
#define LAMBDAENG_HTTPSERVER_MEMO_H

#include "buffer.h"

struct lua_State;
struct le_conn;

#define LE_MEMO_NAMES 8
#define LE_MEMO_SLOTS 8

/* One kept answer and what it was given for. */
typedef struct le_memo_slot {
  int kept;                           /* an answer is kept */
  unsigned long used;                 /* when it was last kept or given (the memo's count) */
  int method;
  long long peer_uid;
  le_buffer target, values[LE_MEMO_NAMES];
  int present[LE_MEMO_NAMES];
  size_t body_limit;
  char type[64], message[192];
  double from, until;
} le_memo_slot;

typedef struct le_check_memo {
  int on;                             /* the option was given */
  size_t nnames;
  char names[LE_MEMO_NAMES][32];      /* lower case */
  size_t name_len[LE_MEMO_NAMES];
  int signature;                      /* index in names, -1: none */
  unsigned any_path;                  /* bit m: method m's answer does not depend on the path */
  le_memo_slot slots[LE_MEMO_SLOTS];
  int last;                           /* the slot last kept or given: asked first */
  unsigned long uses;                 /* answers kept or given so far */
} le_check_memo;

/* The option at idx (a table or nil) into m; raises on a malformed one. */
void le_memo_options(struct lua_State *L, int idx, le_check_memo *m);
/* 1 when c's request gets the kept answer (c->body_limit and its 413's words set), else 0. */
int le_memo_answer(struct le_conn *c);
/* After the check passed c's request: its results from base (nil, limit, type, message,
 * from, until); keeps the answer when from and until are numbers, else forgets any. */
void le_memo_keep(struct lua_State *L, struct le_conn *c, int base);
void le_memo_free(le_check_memo *m);

#endif
