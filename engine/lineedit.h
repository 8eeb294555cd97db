/* lineedit.h — line editing for the REPL, on libedit (BSD licensed).
 *
 * The library is loaded (dlopen, LAMBDAENG_LIBEDIT_FILE) when the module is opened, which
 * only the REPL does: other commands never map it. A library that cannot be loaded makes
 * the opening raise "the REPL needs libedit (FILE): <why>".
 *
 * Lua: lambdaeng.native.lineedit.readline(prompt) -> line, or nil at end of input
 * (Ctrl-D, also one typed while the previous line ran), or false when Ctrl-C
 * interrupted the line; add_history(line);
 * read_history(path); write_history(path); set_completer(fn), where fn(word, line)
 * returns the list of completions of word. The completer runs protected; an error
 * in it completes nothing. */
#ifndef LAMBDAENG_LINEEDIT_H
#define LAMBDAENG_LINEEDIT_H

struct lua_State;

int le_open_lineedit(struct lua_State *L);

#endif
