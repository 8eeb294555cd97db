/* sigv4_suite DIR — runs AWS's SigV4 test suite: for every case folder in DIR,
 * signs request.txt with context.json, header and query style, and compares the
 * canonical request, string to sign and signature with the expected files byte
 * for byte, and the header style's Authorization value with header-signed-request.txt's. Ends with "N passed, N failed"; exits 0 only when none failed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sigv4.h"

static char *slurp(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  fclose(f);
  s[got] = '\0';
  if (len) *len = got;
  return s;
}

typedef struct request {
  char *text;
  char *method, *path, *query;
  le_header headers[32];
  size_t nheaders;
  const unsigned char *body;
  size_t body_len;
} request;

/* Splits request.txt in place: "METHOD TARGET HTTP/1.1", header lines, blank line, body. */
static int parse_request(char *text, size_t len, request *r) {
  memset(r, 0, sizeof *r);
  r->text = text;
  char *end = text + len;
  char *line_end = strchr(text, '\n');
  if (!line_end) return -1;
  *line_end = '\0';
  r->method = text;
  char *sp = strchr(text, ' ');
  if (!sp) return -1;
  *sp = '\0';
  char *target = sp + 1;
  char *proto = strstr(target, " HTTP/");
  if (!proto) return -1;
  *proto = '\0';
  char *q = strchr(target, '?');
  if (q) {
    *q = '\0';
    r->query = q + 1;
  }
  r->path = target;
  char *p = line_end + 1;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *stop = nl ? nl : end;
    if (stop == p) { /* blank line: the body follows */
      r->body = (const unsigned char *)(nl ? nl + 1 : end);
      r->body_len = (size_t)(end - (char *)r->body);
      break;
    }
    *stop = '\0';
    if ((*p == ' ' || *p == '\t') && r->nheaders > 0) {
      /* a folded line continues the previous header's value */
      char *prev = (char *)r->headers[r->nheaders - 1].value;
      size_t a = strlen(prev), b = strlen(p);
      char *joined = malloc(a + b + 2);
      snprintf(joined, a + b + 2, "%s %s", prev, p);
      r->headers[r->nheaders - 1].value = joined; /* leaked on purpose: a test program */
    } else {
      char *colon = strchr(p, ':');
      if (!colon || r->nheaders == 32) return -1;
      *colon = '\0';
      r->headers[r->nheaders].name = p;
      r->headers[r->nheaders].value = colon + 1;
      r->nheaders++;
    }
    if (!nl) break;
    p = nl + 1;
  }
  return 0;
}

static int compare(const char *dir, const char *file, const char *got, char *why, size_t cap) {
  char *want = slurp(dir, file, NULL);
  if (!want) {
    snprintf(why, cap, "%s missing", file);
    return 0;
  }
  int same = strcmp(want, got) == 0;
  if (!same) snprintf(why, cap, "%s differs:\n--- expected\n%s\n--- got\n%s", file, want, got);
  free(want);
  return same;
}

/* The Authorization header signing added, against header-signed-request.txt's. */
static int compare_authorization(const char *dir, const le_sigv4_output *out, char *why, size_t cap) {
  char *text = slurp(dir, "header-signed-request.txt", NULL);
  if (!text) {
    snprintf(why, cap, "header-signed-request.txt missing");
    return 0;
  }
  const char *got = NULL;
  for (size_t i = 0; i < out->add_count; i++)
    if (strcmp(out->add_names[i], "Authorization") == 0) got = out->add_values[i];
  char *want = strstr(text, "\nAuthorization:");
  if (want) {
    want += strlen("\nAuthorization:");
    want[strcspn(want, "\r\n")] = '\0';
  }
  int same = want && got && strcmp(want, got) == 0;
  if (!same)
    snprintf(why, cap, "header-signed-request.txt: Authorization differs:\n--- expected\n%s\n--- got\n%s",
             want ? want : "(none)", got ? got : "(none)");
  free(text);
  return same;
}

static int run_case(const char *dir, char *why, size_t cap) {
  size_t len;
  char *ctx_text = slurp(dir, "context.json", NULL);
  char *req_text = slurp(dir, "request.txt", &len);
  if (!ctx_text || !req_text) {
    snprintf(why, cap, "context.json or request.txt missing");
    free(ctx_text);
    free(req_text);
    return 0;
  }
  json_t *ctx = json_loads(ctx_text, 0, NULL);
  request r;
  int ok = ctx && parse_request(req_text, len, &r) == 0;
  if (!ok) snprintf(why, cap, "cannot parse the case");
  for (int query = 0; ok && query <= 1; query++) {
    json_t *creds = json_object_get(ctx, "credentials");
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    strptime(json_string_value(json_object_get(ctx, "timestamp")), "%Y-%m-%dT%H:%M:%SZ", &tm);
    le_sigv4_input in = {
        .method = r.method,
        .path = r.path,
        .query = r.query,
        .headers = r.headers,
        .header_count = r.nheaders,
        .body = r.body,
        .body_len = r.body_len,
        .access_key_id = json_string_value(json_object_get(creds, "access_key_id")),
        .secret_access_key = json_string_value(json_object_get(creds, "secret_access_key")),
        .session_token = json_string_value(json_object_get(creds, "token")),
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .timestamp = timegm(&tm),
        .normalize_path = json_is_true(json_object_get(ctx, "normalize")),
        .sign_body = json_is_true(json_object_get(ctx, "sign_body")),
        .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
        .query_signing = query,
        .expires = (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds")),
    };
    le_sigv4_output out;
    le_error err;
    if (le_sigv4_sign(&in, &out, &err) != LE_OK) {
      snprintf(why, cap, "%s", err.message);
      ok = 0;
      break;
    }
    const char *prefix = query ? "query" : "header";
    char name[64];
    snprintf(name, sizeof name, "%s-canonical-request.txt", prefix);
    ok = compare(dir, name, out.canonical_request, why, cap);
    snprintf(name, sizeof name, "%s-string-to-sign.txt", prefix);
    if (ok) ok = compare(dir, name, out.string_to_sign, why, cap);
    snprintf(name, sizeof name, "%s-signature.txt", prefix);
    if (ok) ok = compare(dir, name, out.signature, why, cap);
    if (ok && !query) ok = compare_authorization(dir, &out, why, cap);
    le_sigv4_output_free(&out);
  }
  json_decref(ctx);
  free(ctx_text);
  free(req_text);
  return ok;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Each case of the suite at suite_dir, in name order: PASS or FAIL printed for each and
 * counted; 2 when the directory cannot be read, else 0. */
static int run_suite(const char *suite_dir, int *passed, int *failed) {
  DIR *d = opendir(suite_dir);
  if (!d) {
    perror(suite_dir);
    return 2;
  }
  char *names[512];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 512)
    if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    char dir[4096], why[8192] = "";
    snprintf(dir, sizeof dir, "%s/%s", suite_dir, names[i]);
    if (run_case(dir, why, sizeof why)) {
      printf("PASS %s\n", names[i]);
      (*passed)++;
    } else {
      printf("FAIL %s: %s\n", names[i], why);
      (*failed)++;
    }
    free(names[i]);
  }
  return 0;
}

/* The signing key is cached per secret, date, region and service: interleaved
 * secrets and dates must each get their own signature. */
static int key_cache_per_secret_and_date(void) {
  const char *secrets[] = {"secret-a", "secret-b", "secret-a"};
  time_t times[] = {1440938160, 1440938160, 1441024560};
  char sig[3][65], again[65];
  for (int k = 0; k < 4; k++) {
    le_header h[] = {{"Host", "example.amazonaws.com"}};
    le_sigv4_input in = {.method = "GET", .path = "/", .headers = h, .header_count = 1, .access_key_id = "AKID",
                         .secret_access_key = secrets[k % 3], .region = "us-east-1", .service = "service",
                         .timestamp = k == 3 ? times[0] : times[k % 3], .normalize_path = 1};
    le_sigv4_output out;
    le_error err;
    if (le_sigv4_sign(&in, &out, &err) != LE_OK) return -1;
    snprintf(k == 3 ? again : sig[k], 65, "%s", out.signature);
    le_sigv4_output_free(&out);
  }
  return strcmp(sig[0], sig[1]) != 0 && strcmp(sig[0], sig[2]) != 0 && strcmp(sig[0], again) == 0;
}

/* The cache recognises its secret by length and fingerprint, not by address: a secret
 * changed in place (the same buffer, the same length, one byte or two swapped) is
 * another secret, and each of its signatures is the one a fresh derivation gives. */
static int key_cache_secret_changed_in_place(void) {
  char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const char *variants[] = {"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
                            "JwalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  char sig[4][65];
  int ok = 1;
  for (int k = 0; k < 4; k++) {
    memcpy(secret, variants[k], sizeof secret);
    le_header h[] = {{"Host", "example.amazonaws.com"}};
    le_sigv4_input in = {.method = "GET", .path = "/", .headers = h, .header_count = 1, .access_key_id = "AKID",
                         .secret_access_key = secret, .region = "us-east-1", .service = "service",
                         .timestamp = 1440938160, .normalize_path = 1};
    le_sigv4_output out;
    le_error err;
    if (le_sigv4_sign(&in, &out, &err) != LE_OK) return -1;
    snprintf(sig[k], 65, "%s", out.signature);
    le_sigv4_output_free(&out);
    /* the same signature from a copy of the secret at another address, signed after another key */
    char copy[sizeof secret];
    memcpy(copy, variants[k], sizeof copy);
    le_sigv4_input other = in;
    other.secret_access_key = "another secret";
    if (le_sigv4_sign(&other, &out, &err) != LE_OK) return -1;
    le_sigv4_output_free(&out);
    in.secret_access_key = copy;
    if (le_sigv4_sign(&in, &out, &err) != LE_OK) return -1;
    ok = ok && strcmp(out.signature, sig[k]) == 0;
    le_sigv4_output_free(&out);
  }
  ok = ok && strcmp(sig[0], sig[1]) != 0 && strcmp(sig[0], sig[2]) != 0 && strcmp(sig[1], sig[2]) != 0 &&
       strcmp(sig[0], sig[3]) == 0;
  return ok;
}

/* The SHA-256 states kept for a canonical request's leading blocks: two texts whose first
 * block differs and whose second is the same ("POST\n" and the path's first 59 bytes make
 * the first block; the paths differ there alone) are each hashed from their own first
 * block, whatever was signed before. */
static int kept_blocks_after_their_own_first(void) {
  char p1[128], p2[128], p3[128];
  snprintf(p1, sizeof p1, "/%s/same-tail-of-the-path", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  snprintf(p2, sizeof p2, "/%s/same-tail-of-the-path", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  snprintf(p3, sizeof p3, "/%s/another-tail", "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
  const char *order[2][4] = {{p1, p1, p2, p2}, {p1, p1, p3, p2}};
  const char *bodies[4] = {"{}", "{\"a\":1}", "{}", "{\"b\":2}"};
  char last[2][65];
  for (int o = 0; o < 2; o++) {
    for (int k = 0; k < 4; k++) {
      le_header h[] = {{"Host", "example.amazonaws.com"}};
      le_sigv4_input in = {.method = "POST", .path = order[o][k], .headers = h, .header_count = 1,
                           .body = (const unsigned char *)bodies[k], .body_len = strlen(bodies[k]),
                           .access_key_id = "AKID", .secret_access_key = "secret", .region = "us-east-1",
                           .service = "service", .timestamp = 1440938160, .normalize_path = 1};
      le_sigv4_output out;
      le_error err;
      if (le_sigv4_sign(&in, &out, &err) != LE_OK) return -1;
      snprintf(last[o], 65, "%s", out.signature);
      le_sigv4_output_free(&out);
    }
  }
  return strcmp(last[0], last[1]) == 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SUITE_DIR\n", argv[0]);
    return 2;
  }
  int passed = 0, failed = 0;
  if (run_suite(argv[1], &passed, &failed) != 0) return 2;
  static const struct {
    int (*check)(void); /* 1 passed, 0 failed, -1 signing failed */
    const char *what;
  } checks[] = {
      {key_cache_per_secret_and_date,
       "signing-key cache: other secret or date, other signature; same inputs, same signature"},
      {key_cache_secret_changed_in_place, "signing-key cache: a secret changed in place is another secret"},
      {kept_blocks_after_their_own_first,
       "canonical request's kept blocks: a later block is used only after its own first block"},
  };
  for (size_t k = 0; k < sizeof checks / sizeof *checks; k++) {
    int ok = checks[k].check();
    if (ok < 0) return 1;
    printf("%s %s\n", ok ? "PASS" : "FAIL", checks[k].what);
    ok ? passed++ : failed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
