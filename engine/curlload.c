/* curlload.c — see curlload.h. */
#define CURL_DISABLE_TYPECHECK /* the forwarders below define curl_easy_setopt and curl_easy_getinfo */
#include "curlload.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#ifndef LAMBDAENG_LIBCURL_FILE
#define LAMBDAENG_LIBCURL_FILE "libcurl.so.4"
#endif
#define LE_CURL_OLDEST 0x075000 /* 7.80.0 */
#define LE_CURL_NOT_LOADED "libcurl is not loaded"

/* Every libcurl function the engine calls, each a field of the table below. */
#define LE_CURL_CALLS(X)                                                                                      \
  X(curl_version_info) X(curl_global_init) X(curl_global_cleanup) X(curl_free) X(curl_easy_init)             \
  X(curl_easy_cleanup) X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_easy_strerror)     \
  X(curl_multi_init) X(curl_multi_cleanup) X(curl_multi_setopt) X(curl_multi_add_handle)                     \
  X(curl_multi_remove_handle) X(curl_multi_socket_action) X(curl_multi_info_read) X(curl_multi_strerror)     \
  X(curl_url) X(curl_url_cleanup) X(curl_url_set) X(curl_url_get) X(curl_url_strerror)

#define LE_CURL_FIELD(name) __typeof__(name) *name;

static struct {
  struct {
    LE_CURL_CALLS(LE_CURL_FIELD)
  } f;
  int loaded, failed;
  char file[256];     /* what was loaded, or tried */
  char failure[512];  /* why it could not be */
} C;

/* The table filled from lib; 0 with C.failure set when a function is missing. */
static int resolve(void *lib) {
#define LE_CURL_RESOLVE(name)                                                                  \
  {                                                                                            \
    void *p = dlsym(lib, #name);                                                               \
    if (!p) {                                                                                  \
      snprintf(C.failure, sizeof C.failure, "it has no %s (libcurl 7.80.0 or later needed)", #name); \
      return 0;                                                                                \
    }                                                                                          \
    memcpy(&C.f.name, &p, sizeof p); /* POSIX: a function's address as dlsym's void * */       \
  }
  LE_CURL_CALLS(LE_CURL_RESOLVE)
#undef LE_CURL_RESOLVE
  const curl_version_info_data *v = C.f.curl_version_info(CURLVERSION_NOW);
  if (!v || v->version_num < LE_CURL_OLDEST) {
    snprintf(C.failure, sizeof C.failure, "it is libcurl %s, and lambdaeng needs 7.80.0 or later",
             v && v->version ? v->version : "(no version)");
    return 0;
  }
  return 1;
}

static void load(void) {
  const char *file = getenv("LAMBDAENG_LIBCURL");
  snprintf(C.file, sizeof C.file, "%s", file && *file ? file : LAMBDAENG_LIBCURL_FILE);
  void *lib = dlopen(C.file, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(C.failure, sizeof C.failure, "%s", why ? why : "dlopen failed");
    C.failed = 1;
    return;
  }
  if (!resolve(lib)) {
    memset(&C.f, 0, sizeof C.f);
    dlclose(lib); /* nothing of it ran but curl_version_info */
    C.failed = 1;
    return;
  }
  C.loaded = 1; /* lib is never closed (curlload.h) */
}

int le_curl_load(const char *url, le_error *err) {
  if (C.loaded) return LE_OK;
  if (!C.failed) load();
  if (C.loaded) return LE_OK;
  const char *why = strncasecmp(url, "https:", 6) == 0 ? "https" : "this request";
  return le_error_code(err, "ENOENT", "%s needs libcurl (%s): %s", why, C.file, C.failure);
}

int le_curl_loaded(void) { return C.loaded; }

/* The forwarders: libcurl's own function once it is loaded, else its failure value. */

CURLcode curl_global_init(long flags) { return C.loaded ? C.f.curl_global_init(flags) : CURLE_FAILED_INIT; }
void curl_global_cleanup(void) {
  if (C.loaded) C.f.curl_global_cleanup();
}
void curl_free(void *p) {
  if (C.loaded) C.f.curl_free(p);
}

CURL *curl_easy_init(void) { return C.loaded ? C.f.curl_easy_init() : NULL; }
void curl_easy_cleanup(CURL *easy) {
  if (C.loaded) C.f.curl_easy_cleanup(easy);
}
void curl_easy_reset(CURL *easy) {
  if (C.loaded) C.f.curl_easy_reset(easy);
}
const char *curl_easy_strerror(CURLcode code) { return C.loaded ? C.f.curl_easy_strerror(code) : LE_CURL_NOT_LOADED; }

/* curl_easy_setopt and curl_multi_setopt: the option's value passed on with the type libcurl
 * reads for it (its number's range says which, as in libcurl's own). */
#define LE_CURL_SETOPT_FORWARDER(name, handle_type, option_type, code_type, failed)                \
  code_type name(handle_type *handle, option_type option, ...) {                                   \
    if (!C.loaded) return failed;                                                                  \
    va_list ap;                                                                                    \
    va_start(ap, option);                                                                          \
    code_type rc = option < CURLOPTTYPE_OBJECTPOINT     ? C.f.name(handle, option, va_arg(ap, long))   \
                   : option < CURLOPTTYPE_FUNCTIONPOINT ? C.f.name(handle, option, va_arg(ap, void *)) \
                   : option < CURLOPTTYPE_OFF_T ? C.f.name(handle, option, va_arg(ap, void (*)(void)))  \
                   : option < CURLOPTTYPE_BLOB  ? C.f.name(handle, option, va_arg(ap, curl_off_t))      \
                                                : C.f.name(handle, option, va_arg(ap, void *));         \
    va_end(ap);                                                                                    \
    return rc;                                                                                     \
  }

LE_CURL_SETOPT_FORWARDER(curl_easy_setopt, CURL, CURLoption, CURLcode, CURLE_FAILED_INIT)
LE_CURL_SETOPT_FORWARDER(curl_multi_setopt, CURLM, CURLMoption, CURLMcode, CURLM_INTERNAL_ERROR)

CURLcode curl_easy_getinfo(CURL *easy, CURLINFO info, ...) {
  if (!C.loaded) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  CURLcode rc = C.f.curl_easy_getinfo(easy, info, va_arg(ap, void *)); /* always a pointer to the answer */
  va_end(ap);
  return rc;
}

CURLM *curl_multi_init(void) { return C.loaded ? C.f.curl_multi_init() : NULL; }
CURLMcode curl_multi_cleanup(CURLM *multi) { return C.loaded ? C.f.curl_multi_cleanup(multi) : CURLM_INTERNAL_ERROR; }

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *easy) {
  return C.loaded ? C.f.curl_multi_add_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *easy) {
  return C.loaded ? C.f.curl_multi_remove_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t fd, int ev_bitmask, int *running) {
  return C.loaded ? C.f.curl_multi_socket_action(multi, fd, ev_bitmask, running) : CURLM_INTERNAL_ERROR;
}
CURLMsg *curl_multi_info_read(CURLM *multi, int *queued) {
  return C.loaded ? C.f.curl_multi_info_read(multi, queued) : NULL;
}
const char *curl_multi_strerror(CURLMcode code) { return C.loaded ? C.f.curl_multi_strerror(code) : LE_CURL_NOT_LOADED; }

CURLU *curl_url(void) { return C.loaded ? C.f.curl_url() : NULL; }
void curl_url_cleanup(CURLU *url) {
  if (C.loaded) C.f.curl_url_cleanup(url);
}
CURLUcode curl_url_set(CURLU *url, CURLUPart what, const char *part, unsigned int flags) {
  return C.loaded ? C.f.curl_url_set(url, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}
CURLUcode curl_url_get(CURLU *url, CURLUPart what, char **part, unsigned int flags) {
  return C.loaded ? C.f.curl_url_get(url, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}
const char *curl_url_strerror(CURLUcode code) { return C.loaded ? C.f.curl_url_strerror(code) : LE_CURL_NOT_LOADED; }
