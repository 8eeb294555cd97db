#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>

static void format(le_error *err, const char *code, const char *fmt, va_list ap) {
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  err->code = code;
}

int le_error_set(le_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    format(err, "EFAIL", fmt, ap);
    va_end(ap);
  }
  return LE_FAIL;
}

int le_error_code(le_error *err, const char *code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    format(err, code, fmt, ap);
    va_end(ap);
  }
  return LE_FAIL;
}

int le_error_errno(le_error *err, int errno_value, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    const char *name = strerrorname_np(errno_value);
    format(err, name ? name : "EFAIL", fmt, ap);
    va_end(ap);
    size_t n = strlen(err->message);
    if (n < sizeof err->message)
      snprintf(err->message + n, sizeof err->message - n, ": %s", strerror(errno_value));
  }
  return LE_FAIL;
}

int le_push_error(struct lua_State *L, const le_error *err) {
  lua_pushnil(L);
  lua_pushstring(L, err->message);
  lua_pushstring(L, err->code ? err->code : "EFAIL");
  return 3;
}
