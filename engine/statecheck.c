/* statecheck.c — the shape checks of a state document (statecheck.h): every resource
 * entry, every output, and the document's own members, each refusal naming the file and
 * what is wrong in it. */
#include "statecheck.h"

#include <string.h>

#include "state.h"

/* The kinds of resource a state entry may hold (the kinds lambdaeng stores), and the
 * argument that names what each one is attached to (always a non-empty string). */
static const struct {
  const char *kind, *name_arg, *what;
} STORED_KINDS[] = {{"func", "function_name", "a function name"},
                    {"invocation", "function_name", "a function name"},
                    {"layer_version", "layer_name", "a layer name"},
                    {"alias", "function_name", "a function name"},
                    {"permission", "function_name", "a function name"},
                    {"function_url", "function_name", "a function name"},
                    {"event_invoke_config", "function_name", "a function name"}};
/* Of an entry's args, the check reads only these (what le_statefile_shape keeps of them). */
const char *const le_state_checked_args[] = {"function_name", "layer_name", NULL};
#define STORED_KIND_LIST "\"func\", \"invocation\", \"layer_version\", \"alias\", \"permission\", \"function_url\", \"event_invoke_config\""

static const char *json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER:
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

#define ENTRY_ERROR(fmt, ...)                                                                        \
  le_error_set(err, "state file %s: resource \"%s\": " fmt "; nothing was changed (fix the entry or restore %s.backup)", \
               path, addr, __VA_ARGS__, path)

/* Checks an optional field: absent, or of the JSON type that test accepts. */
static int field_ok(json_t *entry, const char *name, int (*test)(const json_t *)) {
  json_t *v = json_object_get(entry, name);
  return !v || test(v);
}
static int is_object(const json_t *v) { return json_is_object(v); }
static int is_string(const json_t *v) { return json_is_string(v); }
static int is_bool(const json_t *v) { return json_is_boolean(v); }
/* An empty list may have been written as {} by older versions. */
static int is_list(const json_t *v) { return json_is_array(v) || (json_is_object(v) && json_object_size(v) == 0); }

int le_state_check_entry(const char *path, const char *addr, json_t *entry, le_error *err) {
  if (!json_is_object(entry))
    return ENTRY_ERROR("the entry is %s, expected an object with \"kind\" and \"args\"", json_type_name(entry));
  json_t *kind = json_object_get(entry, "kind");
  if (!json_is_string(kind))
    return ENTRY_ERROR("\"kind\" is %s, expected one of " STORED_KIND_LIST, kind ? json_type_name(kind) : "missing");
  int known = -1;
  for (size_t i = 0; i < sizeof STORED_KINDS / sizeof *STORED_KINDS; i++)
    if (strcmp(json_string_value(kind), STORED_KINDS[i].kind) == 0) known = (int)i;
  if (known < 0)
    return ENTRY_ERROR("unknown kind \"%s\", expected one of " STORED_KIND_LIST, json_string_value(kind));
  json_t *args = json_object_get(entry, "args");
  if (!json_is_object(args))
    return ENTRY_ERROR("\"args\" is %s, expected an object", args ? json_type_name(args) : "missing");
  json_t *name = json_object_get(args, STORED_KINDS[known].name_arg);
  if (!json_is_string(name) || json_string_length(name) == 0)
    return ENTRY_ERROR("args.%s is %s, expected %s (a non-empty string)", STORED_KINDS[known].name_arg,
                       name ? json_type_name(name) : "missing", STORED_KINDS[known].what);
  static const struct {
    const char *name;
    int (*test)(const json_t *);
    const char *want;
  } fields[] = {{"attrs", is_object, "an object"},      {"sensitive", is_object, "an object"},
                {"tags_all", is_object, "an object"},   {"dependencies", is_list, "a list of addresses"},
                {"name", is_string, "a string"},        {"site", is_string, "a string"},
                {"pending", is_string, "a string"},     {"partial", is_bool, "a boolean"},
                {"prevent_destroy", is_bool, "a boolean"}, {"target", is_object, "an object"}};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (!field_ok(entry, fields[i].name, fields[i].test))
      return ENTRY_ERROR("\"%s\" is %s, expected %s", fields[i].name,
                         json_type_name(json_object_get(entry, fields[i].name)), fields[i].want);
  json_t *deps = json_object_get(entry, "dependencies");
  size_t i;
  json_t *d;
  if (json_is_array(deps))
    json_array_foreach(deps, i, d) if (!json_is_string(d))
        return ENTRY_ERROR("dependencies[%zu] is %s, expected an address", i, json_type_name(d));
  return LE_OK;
}

static int check_output(const char *path, const char *name, json_t *out, le_error *err) {
  const char *why = NULL;
  if (!json_is_object(out)) why = "is not an object";
  else if (!field_ok(out, "sensitive", is_bool)) why = "has a \"sensitive\" that is not a boolean";
  else if (!field_ok(out, "value_digest", is_string)) why = "has a \"value_digest\" that is not a string";
  if (why)
    return le_error_set(err, "state file %s: output \"%s\" %s; nothing was changed (fix it or restore %s.backup)",
                        path, name, why, path);
  return LE_OK;
}

/* Validates the whole document, so nothing is acted on from a malformed state (an entry
 * kept in file is checked in its stand-in: statefile.h). */
int le_state_check_document(const char *path, json_t *root, const le_statefile *file, le_error *err) {
  if (!json_is_object(root)) return le_error_set(err, "state file %s: not a JSON object", path);
  json_t *version = json_object_get(root, "version");
  if (!json_is_integer(version) || json_integer_value(version) < 1)
    return le_error_set(err, "state file %s: no \"version\" (a positive integer)", path);
  if (json_integer_value(version) > LE_STATE_FORMAT_VERSION)
    return le_error_set(err, "state file %s: format version %lld is newer than this lambdaeng reads (%d)",
                        path, (long long)json_integer_value(version), LE_STATE_FORMAT_VERSION);
  json_t *serial = json_object_get(root, "serial");
  if (!json_is_integer(serial))
    return le_error_set(err, "state file %s: no integer \"serial\"", path);
  /* The serial goes up by one on each write: it must stay below the largest integer. */
  if (json_integer_value(serial) < 0 || json_integer_value(serial) >= LE_STATE_SERIAL_MAX)
    return le_error_set(err,
                        "state file %s: \"serial\" %lld is out of range (0 to %lld); nothing was changed "
                        "(fix it or restore %s.backup)",
                        path, (long long)json_integer_value(serial), (long long)LE_STATE_SERIAL_MAX - 1, path);
  json_t *lineage = json_object_get(root, "lineage");
  if (!json_is_string(lineage) || json_string_length(lineage) == 0)
    return le_error_set(err, "state file %s: no string \"lineage\"", path);
  const char *objects[] = {"resources", "outputs"};
  for (size_t i = 0; i < 2; i++) {
    json_t *o = json_object_get(root, objects[i]);
    if (!o) json_object_set_new(root, objects[i], json_object());
    else if (!json_is_object(o))
      return le_error_set(err, "state file %s: \"%s\" is not an object", path, objects[i]);
  }
  const char *key;
  json_t *v;
  json_object_foreach(json_object_get(root, "resources"), key, v) {
    json_t *shape = file && json_is_integer(v) ? le_statefile_shape(file, (size_t)json_integer_value(v), le_state_checked_args)
                                               : json_incref(v);
    int rc = shape ? le_state_check_entry(path, key, shape, err) : le_error_set(err, "state file %s: out of memory", path);
    json_decref(shape);
    if (rc != LE_OK) return LE_FAIL;
  }
  json_object_foreach(json_object_get(root, "outputs"), key, v) {
    if (check_output(path, key, v, err) != LE_OK) return LE_FAIL;
  }
  return LE_OK;
}
