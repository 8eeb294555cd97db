/* httpfailure.c — see httpfailure.h. */
#include "httpfailure.h"

#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(((le_http_response *)0)->error) >= CURL_ERROR_SIZE,
               "the response's error is libcurl's error buffer");

/* What a permanent TLS failure is, for its message; NULL when code is none. */
static const char *tls_failure(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return "TLS certificate verification failed for";
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE: return "the CA certificates cannot be loaded to verify";
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED: return "TLS cannot be set up for";
    default: return NULL;
  }
}

static const char *kind_of(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "connect";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return "reset";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN: return "unsupported";
    default: return tls_failure(code) ? "tls" : "error";
  }
}

/* A message cut to the response's buffer ends with "...", so that it reads as cut. */
static void mark_if_cut(le_http_response *r, int written) {
  if (written >= (int)sizeof r->error) memcpy(r->error + sizeof r->error - 4, "...", 4);
}

void le_http_failure(le_http_response *r, CURLcode code, const char *host) {
  char detail[sizeof r->error];
  snprintf(detail, sizeof detail, "%s", r->error[0] ? r->error : curl_easy_strerror(code));
  r->error_kind = kind_of(code);
  const char *tls = tls_failure(code);
  if (tls) {
    mark_if_cut(r, snprintf(r->error, sizeof r->error, "%s %s: %s", tls, host, detail));
  } else if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT || code == CURLE_NOT_BUILT_IN) {
    snprintf(r->error, sizeof r->error, "%s", detail);
  } else {
    snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(code)); /* (the messages callers have known) */
  }
}

const char *le_http_option_field(const char *option) {
  static const struct {
    const char *option, *field;
  } fields[] = {
      {"CURLOPT_URL", "URL"},           {"CURLOPT_CURLU", "URL"},          {"CURLOPT_CUSTOMREQUEST", "method"},
      {"CURLOPT_HTTPGET", "method"},    {"CURLOPT_NOBODY", "method"},      {"CURLOPT_COPYPOSTFIELDS", "body"},
      {"CURLOPT_POSTFIELDSIZE_LARGE", "body"}, {"CURLOPT_HTTPHEADER", "headers"}, {"CURLOPT_TIMEOUT_MS", "timeout"},
      {"CURLOPT_CAINFO", "CA bundle"},  {"CURLOPT_CAPATH", "CA bundle"},
  };
  if (!option) return "options";
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (strcmp(fields[i].option, option) == 0) return fields[i].field;
  return option;
}
