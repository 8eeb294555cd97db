/* prompt.h — asking the person at the terminal for a secret (an MFA code).
 *
 * Lua: lambdaeng.native.prompt.secret(text) writes text to the controlling
 * terminal and reads one line from it with echo off (libbsd's readpassphrase:
 * the terminal is restored however the read ends, and a signal received
 * meanwhile is delivered after the restore). Returns the line, or nil and a
 * message when there is no terminal (RPP_REQUIRE_TTY) or the read fails. It is
 * called before the event loop runs anything, so waiting on the person blocks
 * nothing else.
 *
 * line(text) writes text to standard output and reads one line from standard
 * input (the confirmation of run and destroy): the line without its newline, nil
 * at end of input, or false when Ctrl-C (or SIGTERM) interrupted the read (its
 * own handler, without SA_RESTART, is installed for the read and the previous one
 * restored after, so the signal is not also seen by the event loop). */
#ifndef LAMBDAENG_PROMPT_H
#define LAMBDAENG_PROMPT_H

struct lua_State;

int le_open_prompt(struct lua_State *L);

#endif
