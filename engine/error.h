/* error.h — errors as values.
 *
 * Every fallible engine function returns LE_OK (0) or LE_FAIL (-1) and fills a
 * caller-owned le_error with the message the user will see. The message is
 * complete on its own: it names the thing that failed and why. */
#ifndef LAMBDAENG_ERROR_H
#define LAMBDAENG_ERROR_H

#include <stddef.h>

enum { LE_OK = 0, LE_FAIL = -1 };

typedef struct le_error {
  char message[1024];
} le_error;

/* Sets err->message from a printf-style format (err may be NULL) and returns LE_FAIL. */
int le_error_set(le_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As le_error_set, appending ": strerror(errno_value)". */
int le_error_errno(le_error *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
