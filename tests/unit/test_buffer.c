/* buffer.c: the byte buffer's appends, and room in typed arrays (le_array_grow),
 * which the graph, the archive lister and the SigV4 query parser grow through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buffer.h"
#include "error.h"

static void appends_keep_every_byte(void **state) {
  (void)state;
  le_buffer b = {0};
  char chunk[100];
  for (int i = 0; i < 20; i++) {
    memset(chunk, 'a' + i, sizeof chunk);
    assert_int_equal(le_buffer_append(&b, chunk, sizeof chunk), LE_OK);
  }
  assert_int_equal(b.len, 2000);
  assert_true(b.cap >= b.len);
  for (int i = 0; i < 20; i++) assert_int_equal(b.data[i * 100 + 99], 'a' + i);
  le_buffer_free(&b);
  assert_null(b.data);
}

static void an_array_grows_from_first_doubling_and_keeps_its_elements(void **state) {
  (void)state;
  int *items = NULL;
  size_t len = 0, cap = 0;
  size_t caps_seen[8], ncaps = 0;
  for (int i = 0; i < 20; i++) {
    int *grown = le_array_grow(items, &cap, len, sizeof *grown, 4);
    assert_non_null(grown);
    if (ncaps == 0 || caps_seen[ncaps - 1] != cap) caps_seen[ncaps++] = cap;
    items = grown;
    items[len++] = i * 3;
  }
  assert_int_equal(ncaps, 4); /* 4, 8, 16, 32 */
  assert_int_equal(caps_seen[0], 4);
  assert_int_equal(caps_seen[3], 32);
  for (int i = 0; i < 20; i++) assert_int_equal(items[i], i * 3);
  free(items);
}

static void an_array_with_room_is_returned_as_it_is(void **state) {
  (void)state;
  size_t cap = 8;
  long *items = calloc(cap, sizeof *items);
  assert_ptr_equal(le_array_grow(items, &cap, 7, sizeof *items, 2), items);
  assert_int_equal(cap, 8);
  free(items);
}

static void a_size_past_memory_fails_and_leaves_the_array(void **state) {
  (void)state;
  size_t cap = 4;
  char *items = malloc(cap);
  items[0] = 'x';
  assert_null(le_array_grow(items, &cap, 4, SIZE_MAX / 8 + 2, 1)); /* 8 of them wrap to 8 bytes */
  assert_int_equal(cap, 4);
  assert_int_equal(items[0], 'x');
  free(items);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(appends_keep_every_byte),
      cmocka_unit_test(an_array_grows_from_first_doubling_and_keeps_its_elements),
      cmocka_unit_test(an_array_with_room_is_returned_as_it_is),
      cmocka_unit_test(a_size_past_memory_fails_and_leaves_the_array),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
