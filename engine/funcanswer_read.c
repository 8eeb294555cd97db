/* funcanswer_read.c — see funcanswer_read.h. A small reader of its own, not the decoder's:
 * it knows the answer's members by name and declines whatever else it meets. */
#include "funcanswer_read.h"

#include "jsonlex.h"

#include <string.h>

#include <lauxlib.h>

#define DECLINE (-1)

static void spaces(le_funcanswer *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

/* The byte c after spaces, taken. */
static int expect(le_funcanswer *r, unsigned char c) {
  spaces(r);
  if (r->p >= r->end || *r->p != c) return DECLINE;
  r->p++;
  return 0;
}

/* 1: a byte that ends a plain run in a string (a quote, a backslash, a control byte). */
static const unsigned char string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};

/* A string without escapes or control bytes, its bytes in *out. */
static int string(le_funcanswer *r, le_funcanswer_span *out) {
  spaces(r);
  if (r->p >= r->end || *r->p != '"') return DECLINE;
  const unsigned char *start = ++r->p, *p = start, *end = r->end;
  while (p < end && !string_stop[*p]) p++;
  r->p = p;
  if (p >= end || *p != '"') return DECLINE;
  out->s = (const char *)start;
  out->n = (size_t)(r->p - start);
  out->set = 1;
  r->p++;
  return 0;
}

/* Whether the value at p (after spaces) is null: then taken. */
static int null(le_funcanswer *r) {
  spaces(r);
  if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
    r->p += 4;
    return 1;
  }
  return 0;
}

/* A plain integer: -?(0|[1-9][0-9]{0,17}), no fraction or exponent. */
static int integer(le_funcanswer *r, le_funcanswer_number *out) {
  spaces(r);
  int negative = r->p < r->end && *r->p == '-';
  const unsigned char *digits = r->p + negative, *q = digits;
  lua_Integer v = 0;
  for (; q < r->end && *q >= '0' && *q <= '9'; q++)
    if (q - digits < 18) v = v * 10 + (*q - '0'); /* (more digits decline below) */
  size_t n = (size_t)(q - digits);
  if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return DECLINE;
  if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E')) return DECLINE;
  out->v = negative ? -v : v;
  out->set = 1;
  r->p = q;
  return 0;
}

/* The string member's value, null (absent) or a string, at most once. */
static int string_member(le_funcanswer *r, le_funcanswer_span *out) {
  if (out->set) return DECLINE;
  if (null(r)) {
    out->set = 2; /* (seen, absent) */
    return 0;
  }
  return string(r, out);
}

static int integer_member(le_funcanswer *r, le_funcanswer_number *out) {
  if (out->set) return DECLINE;
  if (null(r)) {
    out->set = 2;
    return 0;
  }
  return integer(r, out);
}

/* A container's opening byte taken: 1 when it is empty (its closing byte taken too), 0 when
 * items follow, DECLINE. */
static int enter(le_funcanswer *r, unsigned char open, unsigned char close) {
  if (expect(r, open) != 0) return DECLINE;
  spaces(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return 1;
  }
  return 0;
}

/* After an item: 1 at the container's end (taken), 0 when another follows (its comma taken),
 * DECLINE. */
static int after(le_funcanswer *r, unsigned char close) {
  spaces(r);
  if (r->p >= r->end) return DECLINE;
  unsigned char c = *r->p++;
  return c == close ? 1 : c == ',' ? 0 : DECLINE;
}

typedef int (*member_fn)(le_funcanswer *r, const le_funcanswer_span *key);

/* An object's members, each read by fn; null: the object itself is null (absent). */
static int object(le_funcanswer *r, member_fn fn) {
  if (null(r)) return 0;
  int state;
  for (state = enter(r, '{', '}'); state == 0; state = after(r, '}')) {
    le_funcanswer_span key = {0};
    if (string(r, &key) != 0 || expect(r, ':') != 0 || fn(r, &key) != 0) return DECLINE;
  }
  return state == 1 ? 0 : DECLINE;
}

#define KEY(k, lit) ((k)->n == sizeof(lit) - 1 && memcmp((k)->s, lit, sizeof(lit) - 1) == 0)

/* A member that is read but makes nothing (a string of the shape's, or null): escapes are
 * taken where the decoder takes them (jsonlex's), as nothing is made of its bytes (an S3
 * Location may have them). */
static int skipped_string(le_funcanswer *r) {
  if (null(r)) return 0;
  if (expect(r, '"') != 0) return DECLINE;
  const unsigned char *p = r->p, *end = r->end;
  for (;;) {
    while (p < end && !string_stop[*p]) p++;
    if (p >= end || *p < 0x20) return DECLINE;
    if (*p == '"') break;
    unsigned cp;
    size_t n = le_jsonlex_escape(p, end, &cp);
    if (n == 0) return DECLINE;
    p += n;
  }
  r->p = p + 1;
  return 0;
}

/* A map of strings (Tags, Variables) into the table at slot: a null value, or a name twice,
 * declines (the decoder declines the first; the second is the decoder's to order). */
static int map_into(le_funcanswer *r, int slot, int *count) {
  lua_State *L = r->L;
  if (lua_type(L, slot) != LUA_TNIL) return DECLINE; /* the map twice */
  if (null(r)) return 0;
  lua_newtable(L);
  lua_replace(L, slot);
  int state;
  for (state = enter(r, '{', '}'); state == 0; state = after(r, '}')) {
    le_funcanswer_span key = {0}, value = {0};
    if (string(r, &key) != 0 || expect(r, ':') != 0 || string(r, &value) != 0) return DECLINE;
    lua_pushlstring(L, key.s, key.n);
    if (lua_rawget(L, slot) != LUA_TNIL) return DECLINE;
    lua_pop(L, 1);
    lua_pushlstring(L, key.s, key.n);
    lua_pushlstring(L, value.s, value.n);
    lua_rawset(L, slot);
    (*count)++;
  }
  return state == 1 ? 0 : DECLINE;
}

static int variables_member(le_funcanswer *r, const le_funcanswer_span *k) {
  return KEY(k, "Variables") ? map_into(r, r->variables_slot, &r->variables) : DECLINE;
}

static int ephemeral_member(le_funcanswer *r, const le_funcanswer_span *k) {
  return KEY(k, "Size") ? integer_member(r, &r->size) : DECLINE;
}

static int tracing_member(le_funcanswer *r, const le_funcanswer_span *k) {
  return KEY(k, "Mode") ? string_member(r, &r->mode) : DECLINE;
}

static int snap_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "ApplyOn")) return string_member(r, &r->apply_on);
  if (KEY(k, "OptimizationStatus")) return string_member(r, &r->optimization);
  return DECLINE;
}

/* Architectures: strings (a null item declines, as the decoder's). */
static int architectures(le_funcanswer *r) {
  if (r->has_architectures) return DECLINE;
  r->has_architectures = 1;
  if (null(r)) return 0;
  int state;
  for (state = enter(r, '[', ']'); state == 0; state = after(r, ']'))
    if (r->narchitectures == LE_FUNCANSWER_MAX_ARCHITECTURES || string(r, &r->architectures[r->narchitectures++]) != 0)
      return DECLINE;
  return state == 1 ? 0 : DECLINE;
}

/* A layer's members: its Arn (from_api's layers take it), the others checked and dropped. */
static int layer_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "Arn")) return string_member(r, &r->layers[r->nlayers - 1]);
  if (KEY(k, "CodeSize")) {
    le_funcanswer_number ignored = {0};
    return integer_member(r, &ignored);
  }
  if (KEY(k, "SigningProfileVersionArn") || KEY(k, "SigningJobArn")) return skipped_string(r);
  return DECLINE;
}

/* Layers: objects, each with an Arn (a null layer, or one without an Arn, declines: from_api
 * would leave a hole in its list). */
static int layers(le_funcanswer *r) {
  if (null(r)) return 0;
  int state;
  for (state = enter(r, '[', ']'); state == 0; state = after(r, ']')) {
    if (r->nlayers == LE_FUNCANSWER_MAX_LAYERS) return DECLINE;
    r->nlayers++;
    if (object(r, layer_member) != 0 || r->layers[r->nlayers - 1].set != 1) return DECLINE;
  }
  return state == 1 ? 0 : DECLINE;
}

/* VpcConfig only as AWS writes it for a function outside a VPC (from_api makes nothing of
 * it): no subnets, no security groups (null or []), any VpcId, no IPv6 (null or false). */
static int empty_list(le_funcanswer *r) {
  if (null(r)) return 0;
  return enter(r, '[', ']') == 1 ? 0 : DECLINE;
}

static int no_vpc_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "SubnetIds") || KEY(k, "SecurityGroupIds")) return empty_list(r);
  if (KEY(k, "VpcId")) return skipped_string(r);
  if (KEY(k, "Ipv6AllowedForDualStack")) {
    if (null(r)) return 0;
    if (r->end - r->p < 5 || memcmp(r->p, "false", 5) != 0) return DECLINE;
    r->p += 5;
    return 0;
  }
  return DECLINE;
}

/* Members the read shape skips (func.lua's READ_SHAPE: the decoder checks and drops them):
 * strings or null, by name; anything else declines. */
static int error_detail_member(le_funcanswer *r, const le_funcanswer_span *k) {
  return KEY(k, "ErrorCode") || KEY(k, "Message") ? skipped_string(r) : DECLINE;
}

static int logging_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "LogFormat") || KEY(k, "LogGroup") || KEY(k, "ApplicationLogLevel") || KEY(k, "SystemLogLevel"))
    return skipped_string(r);
  return DECLINE;
}

static int runtime_version_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "RuntimeVersionArn")) return skipped_string(r);
  if (KEY(k, "Error")) return object(r, error_detail_member);
  return DECLINE;
}

/* Members read at most once (besides those with a span or number of their own). */
enum { SEEN_VERSION = 1, SEEN_MASTER = 2, SEEN_REVISION = 4, SEEN_REASON = 8, SEEN_REASON_CODE = 16,
       SEEN_UPDATE = 32, SEEN_UPDATE_REASON = 64, SEEN_UPDATE_CODE = 128, SEEN_ENVIRONMENT = 256,
       SEEN_EPHEMERAL = 512, SEEN_TRACING = 1024, SEEN_SNAP = 2048, SEEN_LAYERS = 4096,
       SEEN_CONFIGURATION = 8192, SEEN_CODE = 16384, SEEN_CONCURRENCY = 32768, SEEN_REPOSITORY = 65536,
       SEEN_LOCATION = 131072, SEEN_RESOLVED = 262144, SEEN_LOGGING = 524288, SEEN_RUNTIME_VERSION = 1048576,
       SEEN_VPC = 2097152 };
static int once(le_funcanswer *r, unsigned bit) {
  if (r->seen & bit) return DECLINE;
  r->seen |= bit;
  return 0;
}

static int configuration_member(le_funcanswer *r, const le_funcanswer_span *k) {
#define NAMED(lit) lit, sizeof(lit) - 1
  static const struct { const char *name; size_t len, offset; } STRINGS[] = {
      {NAMED("FunctionName"), offsetof(le_funcanswer, name)}, {NAMED("FunctionArn"), offsetof(le_funcanswer, arn)},
      {NAMED("Runtime"), offsetof(le_funcanswer, runtime)}, {NAMED("Role"), offsetof(le_funcanswer, role)},
      {NAMED("Handler"), offsetof(le_funcanswer, handler)},
      {NAMED("Description"), offsetof(le_funcanswer, description)},
      {NAMED("LastModified"), offsetof(le_funcanswer, last_modified)},
      {NAMED("CodeSha256"), offsetof(le_funcanswer, code_sha256)},
      {NAMED("KMSKeyArn"), offsetof(le_funcanswer, kms)}, {NAMED("PackageType"), offsetof(le_funcanswer, package_type)},
      {NAMED("State"), offsetof(le_funcanswer, state)}, {NAMED("SigningJobArn"), offsetof(le_funcanswer, signing_job)},
      {NAMED("SigningProfileVersionArn"), offsetof(le_funcanswer, signing_profile)}};
  static const struct { const char *name; size_t len; unsigned bit; } SKIPPED[] = {
      {NAMED("Version"), SEEN_VERSION}, {NAMED("MasterArn"), SEEN_MASTER}, {NAMED("RevisionId"), SEEN_REVISION},
      {NAMED("StateReason"), SEEN_REASON}, {NAMED("StateReasonCode"), SEEN_REASON_CODE},
      {NAMED("LastUpdateStatus"), SEEN_UPDATE}, {NAMED("LastUpdateStatusReason"), SEEN_UPDATE_REASON},
      {NAMED("LastUpdateStatusReasonCode"), SEEN_UPDATE_CODE}};
#undef NAMED
  for (size_t i = 0; i < sizeof STRINGS / sizeof *STRINGS; i++)
    if (k->n == STRINGS[i].len && memcmp(k->s, STRINGS[i].name, k->n) == 0)
      return string_member(r, (le_funcanswer_span *)((char *)r + STRINGS[i].offset));
  for (size_t i = 0; i < sizeof SKIPPED / sizeof *SKIPPED; i++)
    if (k->n == SKIPPED[i].len && memcmp(k->s, SKIPPED[i].name, k->n) == 0)
      return once(r, SKIPPED[i].bit) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "CodeSize")) return integer_member(r, &r->code_size);
  if (KEY(k, "Timeout")) return integer_member(r, &r->timeout);
  if (KEY(k, "MemorySize")) return integer_member(r, &r->memory);
  if (KEY(k, "Architectures")) return architectures(r);
  if (KEY(k, "Layers")) return once(r, SEEN_LAYERS) != 0 ? DECLINE : layers(r);
  if (KEY(k, "VpcConfig")) return once(r, SEEN_VPC) != 0 ? DECLINE : object(r, no_vpc_member);
  if (KEY(k, "LoggingConfig")) return once(r, SEEN_LOGGING) != 0 ? DECLINE : object(r, logging_member);
  if (KEY(k, "RuntimeVersionConfig"))
    return once(r, SEEN_RUNTIME_VERSION) != 0 ? DECLINE : object(r, runtime_version_member);
  if (KEY(k, "Environment")) return once(r, SEEN_ENVIRONMENT) != 0 ? DECLINE : object(r, variables_member);
  if (KEY(k, "EphemeralStorage")) return once(r, SEEN_EPHEMERAL) != 0 ? DECLINE : object(r, ephemeral_member);
  if (KEY(k, "TracingConfig")) return once(r, SEEN_TRACING) != 0 ? DECLINE : object(r, tracing_member);
  if (KEY(k, "SnapStart")) return once(r, SEEN_SNAP) != 0 ? DECLINE : object(r, snap_member);
  return DECLINE;
}

static int code_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "ImageUri")) return string_member(r, &r->image_uri);
  if (KEY(k, "RepositoryType")) return once(r, SEEN_REPOSITORY) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "Location")) return once(r, SEEN_LOCATION) != 0 ? DECLINE : skipped_string(r);
  if (KEY(k, "ResolvedImageUri")) return once(r, SEEN_RESOLVED) != 0 ? DECLINE : skipped_string(r);
  return DECLINE;
}

static int concurrency_member(le_funcanswer *r, const le_funcanswer_span *k) {
  return KEY(k, "ReservedConcurrentExecutions") ? integer_member(r, &r->reserved) : DECLINE;
}

static int answer_member(le_funcanswer *r, const le_funcanswer_span *k) {
  if (KEY(k, "Configuration")) {
    /* required: a null one is the decoder's to refuse */
    if (once(r, SEEN_CONFIGURATION) != 0 || null(r)) return DECLINE;
    return object(r, configuration_member);
  }
  if (KEY(k, "Code")) return once(r, SEEN_CODE) != 0 ? DECLINE : object(r, code_member);
  if (KEY(k, "Concurrency")) return once(r, SEEN_CONCURRENCY) != 0 ? DECLINE : object(r, concurrency_member);
  if (KEY(k, "Tags")) return map_into(r, r->tags_slot, &r->tags);
  return DECLINE;
}

static int is_set(const le_funcanswer_span *s) { return s->set == 1; }

int le_funcanswer_read(le_funcanswer *r, const char *text, size_t len) {
  r->p = (const unsigned char *)text;
  r->end = r->p + len;
  int ok = object(r, answer_member) == 0 && (r->seen & SEEN_CONFIGURATION) && is_set(&r->name) && is_set(&r->arn);
  spaces(r);
  return ok && r->p == r->end ? 0 : DECLINE;
}
