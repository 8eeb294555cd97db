/* jsonlex.h — the JSON tokens decode_response (jsondecode.c), canonical_response
 * (jsoncanon.c) and the state file's readers (jsonload.c, statefile.c) read the same way,
 * so that they take and decline exactly the same texts.
 *
 * le_jsonlex_unescape(start, from, end, out, &len): the string whose bytes begin at start
 *   (after its opening quote), plain up to from, unescaped into out (room for end - start
 *   bytes); returns the byte after its closing quote, or NULL where the reference may read
 *   it its own way (a control byte, a bad escape, \u0000, a surrogate escape, no closing quote).
 * le_jsonlex_escape(p, end, &cp): the escape at p (a backslash) in a string: its length (2, or
 *   6 for \uXXXX) and the code point it stands for; 0 where the reference may read it its own
 *   way (a bad escape, \u0000, a surrogate), as unescape declines it.
 * le_jsonlex_number(p, end, &n): a number in JSON's grammar at p; 0 with n filled, -1 declines
 *   (a leading zero, a missing digit).
 * le_jsonlex_number_value(&n, &x, &is_integer, &i): a number that is not a short integer read
 *   as the reference reads it (strtod in the C locale's form), is_integer when integral and
 *   below 2^53 (then i is its value); -1 declines (too long, infinite, a locale without '.').
 * le_jsonlex_integer64(&n, &v): an integral number read exactly as a 64-bit integer (as jansson
 *   reads one: 9007199254740993 stays itself); -1 when it is not integral or does not fit.
 * le_jsonlex_real(&n, &x): a number as jansson reads a real (strtod); -1 declines where
 *   jansson may refuse it or read it otherwise (too long, out of range, a locale without '.'). */
#ifndef LAMBDAENG_JSONLEX_H
#define LAMBDAENG_JSONLEX_H

#include <stddef.h>

typedef struct {
  const unsigned char *start, *end; /* the number's text */
  const unsigned char *digits;      /* its integer part's digits */
  size_t ndigits;
  int negative, integral; /* integral: no fraction, no exponent */
} le_jsonlex_num;

/* An integral number of at most 15 digits: exact as a double too, and below 2^53. */
#define LE_JSONLEX_SHORT_INTEGER(n) ((n)->integral && (n)->ndigits <= 15)

const unsigned char *le_jsonlex_unescape(const unsigned char *start, const unsigned char *from,
                                         const unsigned char *end, unsigned char *out, size_t *len);
size_t le_jsonlex_escape(const unsigned char *p, const unsigned char *end, unsigned *cp);
int le_jsonlex_number(const unsigned char *p, const unsigned char *end, le_jsonlex_num *n);
long long le_jsonlex_short_integer(const le_jsonlex_num *n);
int le_jsonlex_number_value(const le_jsonlex_num *n, double *x, int *is_integer, long long *i);
int le_jsonlex_integer64(const le_jsonlex_num *n, long long *v);
int le_jsonlex_real(const le_jsonlex_num *n, double *x);

#endif
