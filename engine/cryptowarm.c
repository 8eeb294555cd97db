/* cryptowarm.c — see cryptowarm.h. */
#include "cryptowarm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <uv.h>

static uv_thread_t warm_thread;
static int warm_started;

static void warm_run(void *arg) {
  (void)arg;
  /* the same fetch hash.c makes first: the provider loaded, SHA-256 in the cache */
  EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
  EVP_MD_free(md);
}

void le_crypto_warm_start(void) {
  if (warm_started) return;
  warm_started = uv_thread_create(&warm_thread, warm_run, NULL) == 0;
}

void le_crypto_warm_join(void) {
  if (!warm_started) return;
  (void)uv_thread_join(&warm_thread); /* (fails only for a thread not joinable: never here) */
  warm_started = 0;
}
