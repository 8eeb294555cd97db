#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int le_error_set(le_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return LE_FAIL;
}

int le_error_errno(le_error *err, int errno_value, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->message)
      snprintf(err->message + n, sizeof err->message - (size_t)n, ": %s", strerror(errno_value));
  }
  return LE_FAIL;
}
