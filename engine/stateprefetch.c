/* stateprefetch.c — see stateprefetch.h. */
#include "stateprefetch.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "buffer.h"
#include "runtime.h"
#include "state.h"

struct le_state_prefetch {
  uv_thread_t thread;
  int joined;
  char *path;
  /* set by the thread, read after the join */
  int passed; /* read, parsed and checked */
  char *text;
  size_t len;
  json_t *root;
  le_statefile *file;
};

static void prefetch_run(void *arg) {
  le_state_prefetch *p = arg;
  /* (O_NONBLOCK: a FIFO in the state's place must not hold the thread, and the join, forever;
   * it changes nothing for a regular file, and anything else is left to the open) */
  int fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return; /* (a missing file: the open makes a new state; other errors it reports) */
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return;
  }
  le_buffer text = {0};
  int read_ok = le_state_read_whole(fd, &text) == 0;
  close(fd);
  json_error_t jerr;
  if (read_ok) p->root = le_state_parse_text((const char *)text.data, text.len, &jerr, &p->file);
  if (!p->root) {
    le_buffer_free(&text);
    return;
  }
  p->text = (char *)text.data;
  p->len = text.len;
  le_error err;
  p->passed = le_state_check_document(p->path, p->root, p->file, &err) == LE_OK;
}

le_state_prefetch *le_state_prefetch_start(const char *path) {
  le_state_prefetch *p = calloc(1, sizeof *p);
  if (!p || !(p->path = strdup(path))) {
    free(p);
    return NULL;
  }
  if (uv_thread_create(&p->thread, prefetch_run, p) != 0) {
    free(p->path);
    free(p);
    return NULL;
  }
  return p;
}

static void join(le_state_prefetch *p) {
  if (p->joined) return;
  (void)uv_thread_join(&p->thread); /* (fails only for a thread not joinable: never here) */
  p->joined = 1;
}

int le_state_prefetch_take(le_state_prefetch *p, const char *text, size_t len, json_t **root, char **text_out,
                           le_statefile **file) {
  join(p);
  if (!p->passed || p->len != len || memcmp(p->text, text, len) != 0) return 0;
  *root = p->root;
  *text_out = p->text;
  *file = p->file;
  p->root = NULL;
  p->text = NULL;
  p->file = NULL;
  p->passed = 0;
  return 1;
}

void le_state_prefetch_free(le_state_prefetch *p) {
  if (!p) return;
  join(p);
  if (le_runtime_exiting()) return; /* the documents go with the process (runtime.h) */
  json_decref(p->root);
  le_statefile_free(p->file);
  free(p->text);
  free(p->path);
  free(p);
}
