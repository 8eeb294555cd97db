#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "loop.h"
#include "runtime.h"

#define PROCESS_MT "lambdaeng.process"

typedef struct child {
  uv_process_t proc;
  uv_pipe_t out, err;
  uv_timer_t grace; /* after exit, how long to wait for the pipes' last bytes */
  uv_poll_t channel; /* our end of the child's fd 3, when asked for: a socket it sends us */
  int channel_fd, channel_open;
  lua_State *L;
  int output_ref, exit_ref, socket_ref;
  int pid;
  int exited, open_pipes, open_handles, finished;
  int64_t exit_status;
  int term_signal;
  struct child **box; /* the Lua handle's pointer to us, cleared when we are freed */
  struct child *next;
} child;

static child *children; /* live ones, killed at exit */
static int atexit_registered;

static void kill_all_at_exit(void) {
  for (child *c = children; c; c = c->next)
    if (!c->exited && c->pid > 0) kill(-c->pid, SIGKILL);
}

static void unlink_child(child *c) {
  for (child **p = &children; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      return;
    }
}

static void release(child *c) {
  lua_State *L = c->L;
  luaL_unref(L, LUA_REGISTRYINDEX, c->output_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->exit_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->socket_ref);
  if (c->box) *c->box = NULL;
  free(c);
}

static void handle_closed(uv_handle_t *h) {
  child *c = h->data;
  if (--c->open_handles == 0) release(c);
}

/* A child that never started: closes the first n of its handles out, err, grace,
 * proc (those initialised); it is released once they are closed. */
static void abandon(child *c, int n) {
  uv_handle_t *handles[] = {(uv_handle_t *)&c->out, (uv_handle_t *)&c->err, (uv_handle_t *)&c->grace,
                            (uv_handle_t *)&c->proc};
  c->finished = 1;
  c->open_handles = n;
  if (n == 0) release(c);
  for (int i = 0; i < n; i++) uv_close(handles[i], handle_closed);
}

/* nil, "cannot start FILE: why", code: a spawn that failed at a libuv call. */
static int push_failure(lua_State *L, const char *file, int rc) {
  lua_pushnil(L);
  lua_pushfstring(L, "cannot start %s: %s", file, uv_strerror(rc));
  lua_pushstring(L, uv_err_name(rc));
  return 3;
}

static void close_channel(child *c) {
  if (!c->channel_open) return;
  c->channel_open = 0;
  le_uv_check(uv_poll_stop(&c->channel), "a process's socket channel");
  uv_close((uv_handle_t *)&c->channel, handle_closed);
  close(c->channel_fd);
}

/* The child sent a descriptor (or closed its end): hand it to on_socket(fd), once. */
static void channel_cb(uv_poll_t *p, int status, int events) {
  child *c = p->data;
  (void)events;
  int fd = -1;
  if (status == 0) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(c->channel_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  }
  close_channel(c);
  if (fd < 0) return;
  if (c->socket_ref == LUA_NOREF || c->finished) {
    close(fd);
    return;
  }
  lua_State *L = c->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->socket_ref);
  lua_pushinteger(L, fd);
  le_callback_call(L, 1, 0, "process socket handler");
}

static void call_exit(child *c) {
  if (c->finished) return;
  c->finished = 1;
  unlink_child(c);
  le_uv_check(uv_timer_stop(&c->grace), "a process's grace timer");
  lua_State *L = c->L;
  if (c->exit_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->exit_ref);
    lua_pushinteger(L, (lua_Integer)c->exit_status);
    lua_pushinteger(L, c->term_signal);
    le_callback_call(L, 2, 0, "process exit handler");
  }
  close_channel(c);
  uv_close((uv_handle_t *)&c->proc, handle_closed);
  uv_close((uv_handle_t *)&c->grace, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&c->out)) uv_close((uv_handle_t *)&c->out, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&c->err)) uv_close((uv_handle_t *)&c->err, handle_closed);
}

static void grace_cb(uv_timer_t *t) { call_exit(t->data); }

static void on_exit_cb(uv_process_t *p, int64_t status, int signal) {
  child *c = p->data;
  c->exited = 1;
  c->exit_status = status;
  c->term_signal = signal;
  if (c->pid > 0) kill(-c->pid, SIGKILL); /* what the process left behind in its group */
  /* a grandchild may hold the pipes open: their last bytes get a moment, no more */
  if (c->open_pipes == 0 || le_uv_check(uv_timer_start(&c->grace, grace_cb, 100, 0), "a process's grace timer") < 0)
    call_exit(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  child *c = s->data;
  if (nread > 0 && c->output_ref != LUA_NOREF && !c->finished) {
    lua_State *L = c->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->output_ref);
    lua_pushlstring(L, buf->base, (size_t)nread);
    lua_pushstring(L, s == (uv_stream_t *)&c->out ? "stdout" : "stderr");
    le_callback_call(L, 2, 0, "process output handler");
  }
  free(buf->base);
  if (nread < 0) {
    le_uv_check(uv_read_stop(s), "a process's output");
    c->open_pipes--;
    if (c->exited && c->open_pipes == 0) call_exit(c);
  }
}

/* Reads a list of strings at index idx into a NULL-terminated array (on the heap). */
static char **string_list(lua_State *L, int idx, const char *first) {
  size_t n = idx ? lua_rawlen(L, idx) : 0;
  char **out = calloc(n + 2, sizeof *out);
  size_t k = 0;
  if (first) out[k++] = (char *)first;
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i);
    out[k++] = (char *)lua_tostring(L, -1); /* kept alive by the table */
    lua_pop(L, 1);
  }
  return out;
}

/* Marks every descriptor above stderr close-on-exec, so that a child starts with the
 * ones uv_spawn gives it and nothing else: libuv cannot close the others in the child,
 * and some are not ours to open close-on-exec (libcurl's unix sockets, files Lua opened,
 * what our own caller passed us). The loop is single-threaded and this runs right
 * before the fork. Without /proc, the descriptors below the soft limit are walked. */
static void close_on_exec_all(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    int own = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      char *end;
      long fd = strtol(de->d_name, &end, 10);
      if (*end || end == de->d_name || fd <= 2 || fd == own) continue;
      int flags = fcntl((int)fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(d);
    return;
  }
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

/* The child's handles (stdout, stderr, the kill's grace timer): 0, or libuv's error with
 * *handles saying how many were initialised. */
static int init_handles(child *c, int *handles) {
  *handles = 0;
  int rc = uv_pipe_init(le_loop(), &c->out, 0);
  if (rc == 0) {
    *handles = 1;
    rc = uv_pipe_init(le_loop(), &c->err, 0);
  }
  if (rc == 0) {
    *handles = 2;
    rc = uv_timer_init(le_loop(), &c->grace);
  }
  if (rc == 0) *handles = 3;
  c->out.data = c->err.data = c->grace.data = c->proc.data = c;
  return rc;
}

/* Starts the child: file with the arguments at args_idx (argv[0]: file) and the
 * environment at env_idx (0: ours), in cwd, stdout and stderr piped to c, fd 3 the
 * channel's end when there is one (channel_fd >= 0). uv_spawn's result. */
static int spawn_child(lua_State *L, child *c, const char *file, int args_idx, int env_idx, const char *cwd,
                       int channel_fd) {
  char **argv = string_list(L, args_idx, file);
  char **envp = env_idx ? string_list(L, env_idx, NULL) : NULL;
  uv_stdio_container_t stdio[4];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&c->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&c->err;
  uv_process_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.file = file;
  opts.args = argv;
  opts.env = envp;
  opts.cwd = cwd;
  opts.exit_cb = on_exit_cb;
  /* Its own process group, so a kill reaches what a bootstrap script started. */
  opts.flags = UV_PROCESS_DETACHED;
  opts.stdio_count = 3;
  opts.stdio = stdio;
  if (channel_fd >= 0) {
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = channel_fd;
    opts.stdio_count = 4;
  }
  close_on_exec_all();
  int rc = uv_spawn(le_loop(), &c->proc, &opts);
  free(argv);
  free(envp);
  return rc;
}

/* The spawned child watched: its pipes read, its channel (channel_fd, ours; -1: none)
 * polled, its handles unref'd when asked; listed for the kill at exit. */
static void watch_child(child *c, int channel_fd, int unref) {
  c->pid = c->proc.pid;
  c->open_handles = 4;
  c->open_pipes = 2;
  /* A pipe that cannot be read counts as closed, so the exit is still reported. */
  if (le_uv_check(uv_read_start((uv_stream_t *)&c->out, le_alloc_read_buffer, read_cb), "a process's stdout") < 0)
    c->open_pipes--;
  if (le_uv_check(uv_read_start((uv_stream_t *)&c->err, le_alloc_read_buffer, read_cb), "a process's stderr") < 0)
    c->open_pipes--;
  if (channel_fd >= 0) {
    c->channel_fd = channel_fd;
    if (uv_poll_init(le_loop(), &c->channel, channel_fd) == 0) {
      c->channel.data = c;
      c->channel_open = 1;
      c->open_handles++;
      if (le_uv_check(uv_poll_start(&c->channel, UV_READABLE | UV_DISCONNECT, channel_cb), "a process's socket channel") < 0)
        close_channel(c);
      else if (unref)
        uv_unref((uv_handle_t *)&c->channel);
    } else {
      close(channel_fd);
    }
  }
  if (unref) {
    uv_unref((uv_handle_t *)&c->proc);
    uv_unref((uv_handle_t *)&c->out);
    uv_unref((uv_handle_t *)&c->err);
    uv_unref((uv_handle_t *)&c->grace);
  }
  c->next = children;
  children = c;
  if (!atexit_registered) {
    atexit(kill_all_at_exit);
    atexit_registered = 1;
  }
}

/* spawn{ file, args = {...}, env = {"K=V", ...}, cwd, on_output = fn(chunk, stream),
 *        on_exit = fn(status, signal), unref = bool, on_socket = fn(fd) } -> process | nil, message
 * With on_socket, the child's fd 3 is a unix socket over which it may send one
 * descriptor (SCM_RIGHTS); on_socket receives it (ours to close from then on). */
static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "file");
  const char *file = luaL_checkstring(L, -1);
  lua_getfield(L, 1, "args");
  int args_idx = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_getfield(L, 1, "env");
  int env_idx = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_getfield(L, 1, "cwd");
  const char *cwd = lua_tostring(L, -1);
  lua_getfield(L, 1, "unref");
  int unref = lua_toboolean(L, -1);

  child *c = calloc(1, sizeof *c);
  if (!c) return luaL_error(L, "out of memory");
  c->L = le_main_thread(L);
  c->output_ref = c->exit_ref = c->socket_ref = LUA_NOREF;
  lua_getfield(L, 1, "on_output");
  c->output_ref = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
  lua_getfield(L, 1, "on_exit");
  c->exit_ref = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
  lua_getfield(L, 1, "on_socket");
  c->socket_ref = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
  int pair[2] = {-1, -1};
  if (c->socket_ref != LUA_NOREF && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    int e = errno;
    release(c);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot start %s: socketpair: %s", file, strerror(e));
    lua_pushstring(L, strerrorname_np(e));
    return 3;
  }

  int handles; /* of out, err, grace: how many are initialised */
  int rc = init_handles(c, &handles);
  if (rc != 0) {
    if (pair[0] >= 0) close(pair[0]);
    if (pair[1] >= 0) close(pair[1]);
    abandon(c, handles);
    return push_failure(L, file, rc);
  }
  rc = spawn_child(L, c, file, args_idx, env_idx, cwd, pair[1]);
  if (pair[1] >= 0) close(pair[1]);
  if (rc != 0 && pair[0] >= 0) close(pair[0]);
  if (rc != 0) {
    abandon(c, 4); /* uv_spawn failed: the process handle still has to be closed */
    return push_failure(L, file, rc);
  }
  watch_child(c, pair[0], unref);
  child **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = c;
  c->box = ud;
  luaL_setmetatable(L, PROCESS_MT);
  return 1;
}

static child *check_child(lua_State *L) {
  child **ud = luaL_checkudata(L, 1, PROCESS_MT);
  return *ud;
}

/* process:kill([signal]) — SIGKILL to the whole process group by default. */
static int l_kill(lua_State *L) {
  child *c = check_child(L);
  int sig = (int)luaL_optinteger(L, 2, SIGKILL);
  if (c && !c->exited && c->pid > 0) kill(-c->pid, sig);
  return 0;
}

static int l_pid(lua_State *L) {
  child *c = check_child(L);
  if (c) lua_pushinteger(L, c->pid);
  else lua_pushnil(L);
  return 1;
}

static int l_running(lua_State *L) {
  child *c = check_child(L);
  lua_pushboolean(L, c && !c->exited);
  return 1;
}

static int l_gc(lua_State *L) {
  child **ud = luaL_checkudata(L, 1, PROCESS_MT);
  if (*ud) (*ud)->box = NULL;
  *ud = NULL;
  return 0;
}

int le_open_process(lua_State *L) {
  static const luaL_Reg methods[] = {{"kill", l_kill}, {"pid", l_pid}, {"running", l_running}, {NULL, NULL}};
  le_new_class(L, PROCESS_MT, methods, l_gc);
  static const luaL_Reg fns[] = {{"spawn", l_spawn}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
