/* curlload.h — libcurl, loaded the first time a request needs it, not at every start.
 * Linked, its dependency tree (44 shared objects with the program's own: gnutls through
 * librtmp, krb5, ldap, ssh2, idn2, psl...) cost every command ~12 M instructions of
 * relocation before main, while a command that talks plain http to a local endpoint never
 * calls it (the own transport, httpown.h, sends those requests; httpurl_plain.h reads their
 * URLs). le_curl_load dlopens it (the build's LAMBDAENG_LIBCURL_FILE, libcurl.so.4, or the
 * file the variable LAMBDAENG_LIBCURL names), checks its version (7.80.0 or later:
 * curl_url_strerror is the newest call the engine makes) and resolves the curl_* functions the engine calls into one table. Those functions, declared
 * by <curl/curl.h> as usual, are defined in curlload.c as forwarders through the table, so
 * the call sites read as libcurl's and the compiler checks them against its prototypes.
 * Before a load succeeded a forwarder calls nothing and returns its failure value (NULL,
 * CURLE_FAILED_INIT, CURLM_INTERNAL_ERROR, CURLUE_OUT_OF_MEMORY, a text saying libcurl is
 * not loaded; a void one does nothing): never a crash. Once loaded, the library stays for
 * the process (OpenSSL, which it brings in, registers exit handlers in its own code; what
 * the loader allocated stays reachable, so LeakSanitizer reports nothing). A failed load is
 * not tried again. Loop thread only. */
#ifndef LAMBDAENG_CURLLOAD_H
#define LAMBDAENG_CURLLOAD_H

#include "error.h"

/* The library loaded for a request to url (LE_OK), or err set to "https needs libcurl
 * (<file>): <what failed>" ("this request needs ..." when url is not https). */
int le_curl_load(const char *url, le_error *err);
/* Whether it is loaded. */
int le_curl_loaded(void);

#endif
