/* httpserver_memo.c — the check's kept answer (httpserver_memo.h): the request's named
 * header values found in one pass over its header lists (names as they came, compared
 * without case), then compared with the kept ones. */
#include "httpserver_memo.h"

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "httpserver_conn.h"
#include "httpserver_head.h"

#define SIGNATURE_DIGITS 64

/* check_memo.any_path (nil, or a list of method names) into m->any_path. */
static void any_path_options(lua_State *L, int idx, le_check_memo *m) {
  lua_getfield(L, idx, "any_path");
  luaL_argcheck(L, lua_isnil(L, -1) || lua_istable(L, -1), idx, "check_memo.any_path: a list of method names");
  if (lua_istable(L, -1)) {
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
      const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      int code = -1;
      for (int k = 0; name && k < 32 && le_method_name(k)[0]; k++)
        if (strcmp(le_method_name(k), name) == 0) code = k;
      luaL_argcheck(L, code >= 0, idx, "check_memo.any_path: a method's name (GET, PUT...)");
      m->any_path |= 1u << code;
      lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the nil after the last */
  }
  lua_pop(L, 1);
}

void le_memo_options(lua_State *L, int idx, le_check_memo *m) {
  memset(m, 0, sizeof *m);
  m->signature = -1;
  if (lua_isnoneornil(L, idx)) return;
  luaL_argcheck(L, lua_istable(L, idx), idx, "check_memo: a table");
  idx = lua_absindex(L, idx);
  lua_getfield(L, idx, "names");
  luaL_argcheck(L, lua_istable(L, -1), idx, "check_memo.names: a list of header names");
  lua_getfield(L, idx, "signature");
  const char *signature = lua_tostring(L, -1);
  for (lua_Integer i = 1; lua_rawgeti(L, -2, i) != LUA_TNIL; i++) {
    size_t n = 0;
    const char *name = lua_tolstring(L, -1, &n);
    luaL_argcheck(L, name && n > 0 && n < sizeof m->names[0] && m->nnames < LE_MEMO_NAMES, idx,
                  "check_memo.names: at most 8 header names");
    for (size_t k = 0; k < n; k++) luaL_argcheck(L, name[k] < 'A' || name[k] > 'Z', idx, "check_memo.names: lower case");
    if (signature && strcmp(signature, name) == 0) m->signature = (int)m->nnames;
    memcpy(m->names[m->nnames], name, n + 1);
    m->name_len[m->nnames++] = n;
    lua_pop(L, 1);
  }
  luaL_argcheck(L, !signature || m->signature >= 0, idx, "check_memo.signature: one of its names");
  lua_pop(L, 3);
  any_path_options(L, idx, m);
  m->on = 1;
}

/* The index in m->names of the header name n (length nl, any case), or -1. */
static int memo_index(const le_check_memo *m, const char *n, size_t nl) {
  for (size_t j = 0; j < m->nnames; j++)
    if (m->name_len[j] == nl && m->names[j][0] == (n[0] | 0x20) && strncasecmp(m->names[j], n, nl) == 0)
      return (int)j;
  return -1;
}

/* Finds c's values of m's names (NULL: absent); -1 when one of them is given twice. */
static int find_values(const le_check_memo *m, const le_conn *c, const char **vals, size_t *lens) {
  for (size_t j = 0; j < m->nnames; j++) vals[j] = NULL;
  const char *n = (const char *)c->names.data, *v = (const char *)c->values.data;
  for (size_t i = 0; i < c->nheaders && n && v; i++) {
    size_t nl = strlen(n), vl = strlen(v);
    int j = memo_index(m, n, nl);
    if (j >= 0) {
      if (vals[j]) return -1;
      vals[j] = v;
      lens[j] = vl;
    }
    n += nl + 1;
    v += vl + 1;
  }
  return 0;
}

/* Whether each of s's n characters is a hex digit (a table: three range tests a character
 * were ~700 instructions a signature). */
static int all_hex(const char *s, size_t n) {
  static const unsigned char HEX[256] = {
      ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
      ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
      ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1};
  unsigned char ok = 1;
  for (size_t i = 0; i < n; i++) ok &= HEX[(unsigned char)s[i]];
  return ok;
}

/* Whether value (len) is what name j kept: equal, or for the signature header the same
 * before its last 64 characters, which are hex digits. */
static int same_value(const le_check_memo *m, const le_memo_slot *s, size_t j, const char *value, size_t len) {
  const le_buffer *kept = &s->values[j];
  if (len != kept->len) return 0;
  if ((int)j != m->signature) return memcmp(value, kept->data, len) == 0;
  if (len < SIGNATURE_DIGITS) return 0;
  size_t head = len - SIGNATURE_DIGITS;
  return memcmp(value, kept->data, head) == 0 && all_hex(value + head, SIGNATURE_DIGITS);
}

/* The query of a target (from its "?"; none: the empty text at its end). */
static const char *query_of(const le_buffer *target, size_t *len) {
  const char *t = target->data ? (const char *)target->data : "";
  const char *q = target->len ? memchr(t, '?', target->len) : NULL;
  *len = q ? target->len - (size_t)(q - t) : 0;
  return q ? q : t + target->len;
}

/* Whether c's target is the kept one, or for an any_path method has the kept one's query. */
static int same_target(const le_check_memo *m, const le_memo_slot *s, const le_conn *c) {
  if (c->method >= 0 && c->method < 32 && (m->any_path >> c->method & 1u)) {
    size_t ql, kl;
    const char *q = query_of(&c->url, &ql), *k = query_of(&s->target, &kl);
    return ql == kl && (ql == 0 || memcmp(q, k, ql) == 0);
  }
  return c->url.len == s->target.len && (c->url.len == 0 || memcmp(c->url.data, s->target.data, c->url.len) == 0);
}

/* Whether slot s holds the answer for c's request, whose named values are vals (lens). */
static int slot_fits(const le_check_memo *m, const le_memo_slot *s, const char **vals, const size_t *lens) {
  for (size_t j = 0; j < m->nnames; j++) {
    if ((vals[j] != NULL) != s->present[j]) return 0;
    if (vals[j] && !same_value(m, s, j, vals[j], lens[j])) return 0;
  }
  double now = (double)time(NULL);
  return now >= s->from && now <= s->until;
}

int le_memo_answer(le_conn *c) {
  le_check_memo *m = &c->srv->memo;
  const char *vals[LE_MEMO_NAMES];
  size_t lens[LE_MEMO_NAMES];
  int found = 0;
  for (int k = 0; m->on && k < LE_MEMO_SLOTS; k++) { /* the last one given first: one client's */
    int i = (m->last + k) % LE_MEMO_SLOTS;
    le_memo_slot *s = &m->slots[i];
    if (!s->kept || c->method != s->method || c->peer_uid != s->peer_uid || !same_target(m, s, c)) continue;
    if (!found && find_values(m, c, vals, lens) < 0) return 0;
    found = 1;
    if (!slot_fits(m, s, vals, lens)) continue;
    c->body_limit = s->body_limit;
    memcpy(c->too_large_type, s->type, sizeof s->type);
    memcpy(c->too_large_message, s->message, sizeof s->message);
    s->used = ++m->uses;
    m->last = i;
    return 1;
  }
  return 0;
}

/* The slot a new answer goes to: one empty, else the least recently kept or given. */
static int slot_to_replace(const le_check_memo *m) {
  int oldest = 0;
  for (int i = 0; i < LE_MEMO_SLOTS; i++) {
    if (!m->slots[i].kept) return i;
    if (m->slots[i].used < m->slots[oldest].used) oldest = i;
  }
  return oldest;
}

/* Copies s (a plain text the check gave, or "") into dst of size bytes, cut to fit. */
static void copy_words(char *dst, size_t size, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n >= size) n = size - 1;
  if (n) memcpy(dst, s, n);
  dst[n] = '\0';
}

void le_memo_keep(lua_State *L, le_conn *c, int base) {
  le_check_memo *m = &c->srv->memo;
  if (!m->on) return;
  if (!lua_isnumber(L, base + 4) || !lua_isnumber(L, base + 5)) return;
  const char *vals[LE_MEMO_NAMES];
  size_t lens[LE_MEMO_NAMES];
  if (find_values(m, c, vals, lens) < 0) return;
  int i = slot_to_replace(m);
  le_memo_slot *s = &m->slots[i];
  s->kept = 0;
  s->target.len = 0;
  if (le_buffer_append(&s->target, c->url.data ? (const char *)c->url.data : "", c->url.len)) return;
  for (size_t j = 0; j < m->nnames; j++) {
    s->values[j].len = 0;
    s->present[j] = vals[j] != NULL;
    if (vals[j] && le_buffer_append(&s->values[j], vals[j], lens[j])) return;
  }
  s->method = c->method;
  s->peer_uid = c->peer_uid;
  s->body_limit = c->body_limit;
  /* the words as run_check keeps them: only plain text (it checked them, or they are "") */
  copy_words(s->type, sizeof s->type, c->too_large_type[0] ? c->too_large_type : NULL);
  copy_words(s->message, sizeof s->message, c->too_large_message[0] ? c->too_large_message : NULL);
  s->from = lua_tonumber(L, base + 4);
  s->until = lua_tonumber(L, base + 5);
  s->used = ++m->uses;
  s->kept = 1;
  m->last = i;
}

void le_memo_free(le_check_memo *m) {
  for (int i = 0; i < LE_MEMO_SLOTS; i++) {
    le_buffer_free(&m->slots[i].target);
    for (size_t j = 0; j < LE_MEMO_NAMES; j++) le_buffer_free(&m->slots[i].values[j]);
  }
}
