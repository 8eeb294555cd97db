/* httpserver_refuse.c — the server's own refusals (httpserver_refuse.h): the answer,
 * shaped as Lambda's errors, then the drain of what the client still sends (the body it
 * announced, up to MAX_DRAIN, and the linger's bytes beyond) before the connection closes. */
#include "httpserver_refuse.h"

#include <limits.h>
#include <stdio.h>

#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_response.h"

/* A refused request's body up to this size is read and dropped before the connection
 * closes, so a client that sends its whole body before reading gets the answer rather
 * than a reset; of a larger one (a Content-Length of 10^18) only LE_LINGER_BYTES. */
#define MAX_DRAIN (128 * 1024 * 1024)

/* After a refusal: what the client sends is read and dropped, the body it announced (up
 * to MAX_DRAIN) and LE_LINGER_BYTES beyond, within the time that body may take and the
 * closing deadline (le_conn_maybe_close ends it). */
static void start_drain(le_conn *c, int body_follows) {
  uint64_t len = c->content_length;
  int known = body_follows && !c->chunked && len != LE_NO_LENGTH && len <= MAX_DRAIN;
  c->drain = (known ? len : 0) + LE_LINGER_BYTES;
  le_conn_arm_closing(c, known ? (double)len / LE_MIN_BODY_RATE : 0);
}

/* The server's own refusals (limits, timeouts, malformed requests), shaped as Lambda's
 * errors so that SDKs show the reason; the connection closes after it. */
static void refuse_with_body(le_conn *c, int status, const char *type, const char *message, int body_follows) {
  if (c->closing || c->refused) return;
  c->refused = 1;
  start_drain(c, body_follows);
  char body[512], head[256];
  int bl = snprintf(body, sizeof body, "{\"Type\":\"User\",\"message\":\"%s\"}", message);
  if (bl < 0 || (size_t)bl >= sizeof body) bl = 0;
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nx-amzn-ErrorType: %s\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n",
                    status, le_response_reason(status), type, bl);
  le_buffer out = {0};
  if (hl < 0 || le_buffer_append(&out, head, (size_t)hl) || le_buffer_append(&out, body, (size_t)bl)) {
    le_buffer_free(&out);
    le_conn_close(c);
    return;
  }
  le_conn_send(c, &out, 1);
}

void le_refuse(le_conn *c, int status, const char *type, const char *message) {
  refuse_with_body(c, status, type, message, 0);
}

void le_refuse_on_headers(le_conn *c, int status, const char *type, const char *message) {
  refuse_with_body(c, status, type, message, 1);
}

/* Answers c with the check's status, headers, body at base..base+2, then closes it. */
void le_refuse_with_answer(lua_State *L, le_conn *c, int base) {
  int status = (int)lua_tointeger(L, base);
  size_t blen = 0;
  const char *body = lua_type(L, base + 2) == LUA_TSTRING ? lua_tolstring(L, base + 2, &blen) : "";
  le_buffer out = {0};
  int bad = le_response_build(L, status, lua_istable(L, base + 1) ? base + 1 : 0, body, blen, 1, &out);
  c->refused = 1;
  start_drain(c, 1);
  if (bad) {
    le_buffer_free(&out);
    le_conn_close(c);
  } else {
    le_conn_send(c, &out, 1);
  }
}

/* 413 for a body over the request's limit: the check's error type and message when it
 * gave them (an operation's own), else a generic one. */
void le_refuse_too_large(le_conn *c, int body_follows) {
  char msg[160];
  snprintf(msg, sizeof msg, "Request must be smaller than %zu bytes for this operation", c->body_limit + 1);
  if (c->too_large_type[0])
    refuse_with_body(c, 413, c->too_large_type, c->too_large_message, body_follows);
  else
    refuse_with_body(c, 413, "RequestEntityTooLargeException", msg, body_follows);
}
