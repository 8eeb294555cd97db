#include "lineedit.h"

#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>
#include <lua.h>

#include "loop.h"

#ifndef LAMBDAENG_LIBEDIT_FILE
#define LAMBDAENG_LIBEDIT_FILE "libedit.so.2"
#endif

/* libedit is loaded when the REPL opens this module, not linked: only the REPL edits lines,
 * and the library with libtinfo cost every command's start ~0.5 M instructions of loading.
 * Its functions and the variables it is configured by, from dlsym, as E.name (a variable's
 * address: *E.name). */
#define LE_EDIT_NAMES(X)                                                                                    \
  X(readline) X(add_history) X(read_history) X(write_history) X(history_truncate_file) X(using_history)    \
  X(rl_completion_matches) X(rl_line_buffer) X(rl_attempted_completion_over)                                \
  X(rl_completion_append_character) X(rl_attempted_completion_function) X(rl_basic_word_break_characters) \
  X(rl_catch_signals) X(rl_readline_name) X(rl_getc_function)
#define LE_EDIT_FIELD(name) __typeof__(name) *name;
static struct {
  LE_EDIT_NAMES(LE_EDIT_FIELD)
} E;

/* NULL once every name is resolved, else why not (the library is then not kept). */
static const char *load_libedit(void) {
  static char failure[512];
  static int loaded;
  if (loaded) return NULL;
  void *lib = dlopen(LAMBDAENG_LIBEDIT_FILE, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(failure, sizeof failure, "%s", why ? why : "dlopen failed");
    return failure;
  }
#define LE_EDIT_RESOLVE(name)                                                       \
  {                                                                                 \
    void *p = dlsym(lib, #name);                                                    \
    if (!p) {                                                                       \
      snprintf(failure, sizeof failure, "it has no %s", #name);                     \
      dlclose(lib);                                                                 \
      return failure;                                                               \
    }                                                                               \
    memcpy(&E.name, &p, sizeof p); /* POSIX: a function's address as dlsym's void * */ \
  }
  LE_EDIT_NAMES(LE_EDIT_RESOLVE)
#undef LE_EDIT_RESOLVE
  loaded = 1; /* never closed: its history and settings live for the process */
  return NULL;
}

static lua_State *completer_state;
static int completer_ref = LUA_NOREF;
static volatile sig_atomic_t interrupted;

static char **candidates;
static size_t ncandidates, next_candidate;

static void free_candidates(void) {
  for (size_t i = next_candidate; i < ncandidates; i++) free(candidates[i]);
  free(candidates);
  candidates = NULL;
  ncandidates = next_candidate = 0;
}

static char *generator(const char *text, int state) {
  (void)text;
  (void)state;
  if (next_candidate < ncandidates) return candidates[next_candidate++]; /* readline frees it */
  return NULL;
}

/* Asks the Lua completer for the completions of the word being typed. */
static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  free_candidates();
  lua_State *L = completer_state;
  if (!L || completer_ref == LUA_NOREF) return NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, completer_ref);
  lua_pushstring(L, text);
  lua_pushstring(L, *E.rl_line_buffer ? *E.rl_line_buffer : "");
  if (le_callback_call(L, 2, 1, "completion") != LUA_OK) return NULL; /* reported after the line */
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  size_t n = lua_rawlen(L, -1);
  candidates = calloc(n ? n : 1, sizeof *candidates);
  for (size_t i = 0; candidates && i < n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    const char *s = lua_tostring(L, -1);
    if (s) candidates[ncandidates++] = strdup(s);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  *E.rl_attempted_completion_over = 1; /* never fall back to file names */
  *E.rl_completion_append_character = '\0'; /* "invoke" then "(": no space between */
  if (ncandidates == 0) return NULL;
  return E.rl_completion_matches(text, generator);
}

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

/* A Ctrl-D typed while the previous line ran waits in the cooked terminal as an
 * end-of-file mark with nothing before it (readable, yet no bytes to read), which
 * libedit's switch to its raw mode would turn into a NUL it ignores: 1 when there is
 * one (it is consumed: the end of input). */
static int pending_eof(void) {
  struct termios t;
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t) != 0 || !(t.c_lflag & ICANON)) return 0;
  struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
  if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) return 0;
  int queued = 0;
  if (ioctl(STDIN_FILENO, FIONREAD, &queued) != 0 || queued != 0) return 0;
  char c;
  return read(STDIN_FILENO, &c, 1) == 0;
}

/* libedit prints the prompt before it switches the terminal to raw mode, so a Ctrl-D
 * typed as soon as the prompt shows can still land in the cooked terminal, where the
 * switch turns its end-of-file mark into a NUL. A NUL as the first key of a line is
 * therefore read as that line's Ctrl-D (a real Ctrl-@ there has nothing to act on). */
static int keys_read;    /* keys this readline call has read so far */
static int eof_key = 4;  /* the terminal's VEOF character, read in cooked mode */

static int read_key(FILE *in) {
  mbstate_t state;
  memset(&state, 0, sizeof state);
  for (;;) {
    char c;
    ssize_t n = read(fileno(in), &c, 1);
    if (n == 0 || (n < 0 && (errno != EINTR || interrupted))) return EOF;
    if (n < 0) continue;
    int first = keys_read++ == 0;
    if (c == 0) return first ? eof_key : 0;
    wchar_t w;
    size_t used = mbrtowc(&w, &c, 1, &state);
    if (used == (size_t)-2) continue; /* the middle of a multibyte character */
    if (used == (size_t)-1) return (unsigned char)c; /* not the locale's encoding: the byte */
    return (int)w;
  }
}

static int l_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "> ");
  struct termios t;
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ICANON) &&
      t.c_cc[VEOF] != _POSIX_VDISABLE)
    eof_key = t.c_cc[VEOF];
  keys_read = 0;
  if (pending_eof()) {
    fputs(prompt, stdout); /* as if typed at the prompt */
    fflush(stdout);
    lua_pushnil(L);
    return 1;
  }
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* no SA_RESTART: Ctrl-C ends the read */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  interrupted = 0;
  char *line = E.readline(prompt);
  sigaction(SIGINT, &old, NULL);
  if (interrupted) {
    free(line);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!line) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

static int l_add_history(lua_State *L) {
  E.add_history(luaL_checkstring(L, 1));
  return 0;
}

static int l_read_history(lua_State *L) {
  lua_pushboolean(L, E.read_history(luaL_checkstring(L, 1)) == 0);
  return 1;
}

static int l_write_history(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int rc = E.write_history(path);
  if (rc == 0) E.history_truncate_file(path, 1000);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int l_set_completer(lua_State *L) {
  luaL_unref(L, LUA_REGISTRYINDEX, completer_ref);
  completer_ref = LUA_NOREF;
  if (!lua_isnil(L, 1)) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    completer_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  completer_state = le_main_thread(L);
  *E.rl_attempted_completion_function = complete;
  *E.rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^#~[]";
  return 0;
}

int le_open_lineedit(lua_State *L) {
  const char *failure = load_libedit();
  if (failure) return luaL_error(L, "the REPL needs libedit (%s): %s", LAMBDAENG_LIBEDIT_FILE, failure);
  *E.rl_catch_signals = 0;
  *E.rl_readline_name = "lambdaeng";
  *E.rl_getc_function = read_key; /* before the first readline, which installs it */
  setlocale(LC_CTYPE, "");         /* typed characters in the user's encoding (UTF-8) */
  E.using_history();
  static const luaL_Reg fns[] = {{"readline", l_readline},         {"add_history", l_add_history},
                                 {"read_history", l_read_history}, {"write_history", l_write_history},
                                 {"set_completer", l_set_completer}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
