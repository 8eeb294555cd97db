/* statetext.c — the state document's text made from its pieces (statedoc.h's
 * le_state_document_text): each entry's text kept from its put or cut from the file as read, the
 * rest of the document dumped once, spliced in address order, byte for byte what
 * json_dumps of the whole document gives (a save copies unchanged entries' text rather
 * than serialising a thousand of them again). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buffer.h"
#include "statedoc.h"

/* The text of one resource entry as it stands in the document: its key and its value
 * at the depth of the "resources" object (jansson's dump, each line indented by 4 more). */
static json_t *entry_text(const char *addr, json_t *entry) {
  json_t *key = json_string(addr);
  char *key_text = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
  char *value_text = json_dumps(entry, DUMP_FLAGS | JSON_ENCODE_ANY);
  json_decref(key);
  json_t *text = NULL;
  if (key_text && value_text) {
    size_t key_len = strlen(key_text), lines = 0, value_len = 0;
    for (const char *p = value_text; *p; p++, value_len++) lines += *p == '\n';
    size_t len = 4 + key_len + 2 + value_len + 4 * lines;
    char *out = malloc(len);
    if (out) {
      char *w = out;
      memcpy(w, "    ", 4);
      memcpy(w + 4, key_text, key_len);
      memcpy(w + 4 + key_len, ": ", 2);
      w += 6 + key_len;
      for (const char *p = value_text; *p; p++) {
        *w++ = *p;
        if (*p == '\n') {
          memcpy(w, "    ", 4);
          w += 4;
        }
      }
      text = json_stringn_nocheck(out, len);
      free(out);
    }
  }
  free(key_text);
  free(value_text);
  return text;
}

/* The text of the entry at addr in the document: kept from its put, or the file's own
 * when it was kept there as the dump gives it (statefile.h), or made now and kept. */
static int entry_piece(le_state *st, const char *addr, const char **text, size_t *len) {
  json_t *piece = json_object_get(st->entry_texts, addr), *v;
  if (!piece && st->file && json_is_integer(v = json_object_get(resources_of(st), addr)) &&
      le_statefile_text(st->file, (size_t)json_integer_value(v), text, len))
    return LE_OK;
  if (!piece) {
    json_t *entry = le_state_entry_parsed(st, addr);
    piece = entry ? entry_text(addr, entry) : NULL;
    if (!piece || json_object_set_new(st->entry_texts, addr, piece) != 0) return LE_FAIL;
  }
  *text = json_string_value(piece);
  *len = json_string_length(piece);
  return LE_OK;
}

static int compare_addresses(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The document as json_dumps(root, DUMP_FLAGS) gives it, byte for byte, but made from
 * each entry's text, kept from its put: a save of a large state costs a copy, not a
 * new serialisation of every entry (lua.state compares it with json_dumps). NULL when
 * out of memory. */
char *le_state_document_text(le_state *st) {
  json_t *resources = resources_of(st);
  if (!json_is_object(resources)) return json_dumps(st->root, DUMP_FLAGS);
  if (!st->entry_texts && !(st->entry_texts = json_object())) return NULL;
  /* The rest of the document, with a marker where the resources go. */
  json_t *shell = json_copy(st->root);
  if (!shell || json_object_set_new(shell, "resources", json_string("\x01")) != 0) {
    json_decref(shell);
    return NULL;
  }
  char *rest = json_dumps(shell, DUMP_FLAGS);
  json_decref(shell);
  static const char marker[] = "\n  \"resources\": \"\\u0001\"";
  char *at = rest ? strstr(rest, marker) : NULL; /* a top-level key: nothing else is indented by 2 */
  if (!at) {
    free(rest);
    return json_dumps(st->root, DUMP_FLAGS);
  }
  size_t n = json_object_size(resources), i = 0;
  const char **addrs = malloc((n ? n : 1) * sizeof *addrs);
  const char *addr;
  json_t *entry;
  le_buffer b = {0};
  int ok = addrs != NULL;
  if (ok) {
    json_object_foreach(resources, addr, entry) addrs[i++] = addr;
    qsort(addrs, n, sizeof *addrs, compare_addresses);
  }
  size_t head = (size_t)(at - rest) + strlen("\n  \"resources\": ");
  const char *tail = at + strlen(marker);
  size_t total = head + strlen(tail) + 8;
  const char *piece;
  size_t piece_len;
  for (i = 0; ok && i < n; i++) { /* each entry's text, made where it is missing, and the length of all */
    ok = entry_piece(st, addrs[i], &piece, &piece_len) == LE_OK;
    total += ok ? piece_len + 4 : 0;
  }
  ok = ok && le_buffer_reserve(&b, total) == LE_OK && le_buffer_append(&b, rest, head) == LE_OK;
  if (ok && n == 0) ok = le_buffer_append(&b, "{}", 2) == LE_OK;
  else if (ok) ok = le_buffer_append(&b, "{\n", 2) == LE_OK;
  for (i = 0; ok && i < n; i++) {
    ok = entry_piece(st, addrs[i], &piece, &piece_len) == LE_OK && le_buffer_append(&b, piece, piece_len) == LE_OK &&
         le_buffer_append(&b, i + 1 < n ? ",\n" : "\n  }", i + 1 < n ? 2 : 4) == LE_OK;
  }
  ok = ok && le_buffer_append(&b, tail, strlen(tail) + 1) == LE_OK; /* with its NUL */
  free(addrs);
  free(rest);
  if (!ok) {
    le_buffer_free(&b);
    return NULL;
  }
  return (char *)b.data;
}
