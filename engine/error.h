/* error.h — errors as values.
 *
 * Every fallible engine function returns LE_OK (0) or LE_FAIL (-1) and fills a
 * caller-owned le_error with the message the user will see and a code a program
 * can test. The message is complete on its own: it names the thing that failed
 * and why. The code is a static name: the errno name of a failed system call
 * (ENOENT, EACCES, ...), or one of EINVAL (input that is not what the function
 * reads: malformed base64, a file that is not a zip), EFBIG (a size limit
 * passed), EPERM (something the function refuses to do: a zip entry escaping
 * its directory), EBUSY (held by someone else: a lock), EFAIL (anything else).
 *
 * To Lua, a native module reports a runtime failure as nil, message, code
 * (le_push_error) and raises only on misuse (a wrong argument type), as luv does. */
#ifndef LAMBDAENG_ERROR_H
#define LAMBDAENG_ERROR_H

#include <stddef.h>

struct lua_State;

enum { LE_OK = 0, LE_FAIL = -1 };

typedef struct le_error {
  char message[1024];
  const char *code; /* static; set with the message */
} le_error;

/* Sets err->message from a printf-style format (err may be NULL), the code EFAIL,
 * and returns LE_FAIL. */
int le_error_set(le_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As le_error_set with the given code. */
int le_error_code(le_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As le_error_set, appending ": strerror(errno_value)"; the code is errno_value's name. */
int le_error_errno(le_error *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pushes nil, err->message, err->code: a native function's runtime failure. Returns 3. */
int le_push_error(struct lua_State *L, const le_error *err);

#endif
