/* statefileshape.c — statefile.h's le_statefile_shape: a kept entry's stand-in for
 * statecheck.c's entry check, made from the text the check passed (jsonwalk.h) with the
 * shared stand-ins le_statefile_read made. */
#include "statefile.h"

#include <stdlib.h>
#include <string.h>

#include "jsonlex.h"
#include "jsonwalk.h"
#include "statefilekept.h"

/* The value at p by its type: shared stand-ins (the check reads only their types). */
static json_t *by_type(const le_statefile *sf, const unsigned char *p, const unsigned char *end) {
  switch (*p) {
  case '"': return json_incref(sf->stand_ins[STAND_IN_STRING]);
  case '{': return json_incref(sf->stand_ins[le_jsonwalk_first(p, end) ? STAND_IN_OBJECT : STAND_IN_EMPTY_OBJECT]);
  case '[': return json_incref(sf->stand_ins[STAND_IN_ARRAY]);
  case 't': return json_true();
  case 'f': return json_false();
  case 'n': return json_null();
  default: return json_incref(sf->stand_ins[STAND_IN_NUMBER]);
  }
}

/* The value at p: a string with its value, anything else by its type. */
static json_t *with_value(const le_statefile *sf, const unsigned char *p, const unsigned char *end) {
  if (*p != '"') return by_type(sf, p, end);
  const unsigned char *close = le_jsonwalk_string_end(p + 1, end);
  size_t n = (size_t)(close - p - 1), len = 0;
  if (!memchr(p + 1, '\\', n)) return json_stringn_nocheck((const char *)p + 1, n);
  unsigned char *out = malloc(n ? n : 1);
  json_t *v = out && le_jsonlex_unescape(p + 1, p + 1, close + 1, out, &len) ? json_stringn_nocheck((char *)out, len) : NULL;
  free(out);
  return v;
}

static int key_is(const unsigned char *key, size_t n, const char *name) {
  return strlen(name) == n && memcmp(key, name, n) == 0;
}

/* The object at p with only its members named in names, with their values. */
static json_t *named_members(const le_statefile *sf, const unsigned char *p, const unsigned char *end,
                             const char *const *names) {
  json_t *o = json_object();
  for (const unsigned char *at = le_jsonwalk_first(p, end); o && at; at = le_jsonwalk_next(le_jsonwalk_member_value(at, end), end)) {
    size_t n = (size_t)(le_jsonwalk_string_end(at + 1, end) - at - 1);
    int wanted = 0;
    for (const char *const *name = names; *name && !wanted; name++) wanted = key_is(at + 1, n, *name);
    if (wanted && json_object_setn_new_nocheck(o, (const char *)at + 1, n, with_value(sf, le_jsonwalk_member_value(at, end), end)) != 0) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

/* The array at p with its items by their types. */
static json_t *items_by_type(const le_statefile *sf, const unsigned char *p, const unsigned char *end) {
  json_t *a = json_array();
  for (const unsigned char *at = le_jsonwalk_first(p, end); a && at; at = le_jsonwalk_next(at, end))
    if (json_array_append_new(a, by_type(sf, at, end)) != 0) {
      json_decref(a);
      a = NULL;
    }
  return a;
}

json_t *le_statefile_shape(const le_statefile *sf, size_t i, const char *const *arg_names) {
  const kept_entry *e = &sf->entries[i];
  const unsigned char *end = sf->text + e->end;
  json_t *o = json_object();
  for (size_t m = e->first_member; o && m < e->first_member + e->members; m++) {
    const member *mb = &sf->members[m];
    const unsigned char *key = sf->text + mb->key, *value = sf->text + mb->value;
    json_t *v;
    if (*value == '[') v = items_by_type(sf, value, end);
    else if (*value == '{' && key_is(key, mb->key_len, "args")) v = named_members(sf, value, end, arg_names);
    else if (key_is(key, mb->key_len, "kind")) v = with_value(sf, value, end);
    else v = by_type(sf, value, end);
    if (!v || json_object_setn_new_nocheck(o, (const char *)key, mb->key_len, v) != 0) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}
